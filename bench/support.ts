/**
 * Helpers shared by the benches: env parsing, statistics, table printing, and
 * a typed handle on opossum (a CommonJS package shipped without types).
 */
import { createRequire } from "node:module"
import * as os from "node:os"

// ---------------------------------------------------------------------------
// opossum, typed locally (no ambient `declare module`, so nothing leaks into
// the rest of the project's type-checking)
// ---------------------------------------------------------------------------

/** The subset of opossum's options the benches use. */
export interface OpossumOptions {
  /** `false` disables the per-call timeout timer. */
  readonly timeout?: number | false
  readonly resetTimeout?: number
  readonly errorThresholdPercentage?: number
  readonly name?: string
}

/** The subset of an opossum `CircuitBreaker` the benches use. */
export interface OpossumBreaker<A> {
  fire(): Promise<A>
  shutdown(): void
  readonly closed: boolean
  readonly opened: boolean
}

export type OpossumConstructor = new<A>(action: () => Promise<A>, options?: OpossumOptions) => OpossumBreaker<A>

const require = createRequire(import.meta.url)

/** opossum's `CircuitBreaker` class. */
export const Opossum = require("opossum") as OpossumConstructor

// ---------------------------------------------------------------------------
// env
// ---------------------------------------------------------------------------

/** A positive integer from the environment (underscores allowed: `200_000`). */
export const envInt = (name: string, fallback: number): number => {
  const raw = process.env[name]
  if (raw === undefined || raw.trim() === "") return fallback
  const value = Number(raw.replaceAll("_", ""))
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`${name} must be a positive integer (got ${JSON.stringify(raw)})`)
  }
  return value
}

// ---------------------------------------------------------------------------
// statistics
// ---------------------------------------------------------------------------

/** The `q`-quantile (0..1) of `xs`, linearly interpolated. */
export const quantile = (xs: ReadonlyArray<number>, q: number): number => {
  if (xs.length === 0) return Number.NaN
  const sorted = [...xs].sort((a, b) => a - b)
  const pos = (sorted.length - 1) * q
  const lo = Math.floor(pos)
  const hi = Math.ceil(pos)
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo)
}

export const median = (xs: ReadonlyArray<number>): number => quantile(xs, 0.5)

// ---------------------------------------------------------------------------
// formatting
// ---------------------------------------------------------------------------

export const fmt = (n: number, digits = 1): string =>
  Number.isFinite(n)
    ? n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : "n/a"

/** A markdown table with right-aligned numeric columns (every column but the first). */
export const markdownTable = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)))
  const line = (cells: ReadonlyArray<string>) =>
    "| " + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(" | ") + " |"
  const rule = "| " + widths.map((w, i) => (i === 0 ? "-".repeat(w) : "-".repeat(w - 1) + ":")).join(" | ") + " |"
  return [line(header), rule, ...rows.map(line)].join("\n")
}

/** One line describing the machine and runtime, for the record. */
export const environment = (): string => {
  const cpus = os.cpus()
  const model = cpus[0]?.model.trim() ?? "unknown CPU"
  return `node ${process.version}, ${os.platform()}/${os.arch()}, ${cpus.length} × ${model}`
}

/**
 * Whether the sources were compiled with esbuild's `keepNames` (tsx always
 * sets it): then every function expression gets wrapped in `__name(fn, "…")`,
 * an `Object.defineProperty`, each time it is created. Every bench module is
 * loaded the same way, so this module's own compilation tells.
 */
export const keepNames = ((): boolean => {
  const outer = () => {
    const inner = () => 0
    return inner
  }
  return outer.toString().includes("__name")
})()

/** How the sources were loaded, for the report. */
export const transform = keepNames
  ? "esbuild with keepNames (tsx): each closure created per call pays an Object.defineProperty"
  : "no keepNames (TypeScript transpile via bench/register.mjs, or another loader)"
