/**
 * How the CLI prints circuits: tables, durations, and the JSON shapes of
 * `--json`.
 *
 * @internal
 */
import type { CircuitMetrics } from "../../CircuitBreakerMonitoring.js"

/**
 * A duration in ms, short: `850ms`, `12s`, `4m05s`, `2h03m`.
 *
 * @internal
 */
export const duration = (ms: number): string => {
  if (ms < 1_000) return `${Math.max(0, Math.round(ms))}ms`
  const s = Math.floor(ms / 1_000)
  if (s < 60) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m${String(s % 60).padStart(2, "0")}s`
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`
}

/**
 * When an OPEN circuit lets its next probe through, from `now`: `12s`, `due`
 * (its retry time has passed: the next call probes), or `-`.
 *
 * @internal
 */
export const retryIn = (m: CircuitMetrics, now: number): string =>
  m.retryAt === null ? "-" : m.retryAt <= now ? "due" : duration(m.retryAt - now)

/**
 * Left-aligned columns, two spaces apart.
 *
 * @internal
 */
export const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? "").length)))
  const line = (cells: ReadonlyArray<string>) =>
    cells.map((cell, i) => i === cells.length - 1 ? cell : cell.padEnd(widths[i]!)).join("  ").trimEnd()
  return [line(header), ...rows.map(line)].join("\n")
}

/**
 * The `list` table.
 *
 * @internal
 */
export const circuitsTable = (circuits: ReadonlyArray<readonly [string, CircuitMetrics]>, now: number): string =>
  table(
    ["CIRCUIT", "STATE", "STATUS", "WINDOW FAIL/CALLS", "OPENS", "RETRY IN", "FLEET CALLS", "FAILURE RATE"],
    circuits.map(([name, m]) => [
      name,
      m.state,
      m.status,
      `${m.windowFailures}/${m.windowCalls}`,
      String(m.openCount),
      retryIn(m, now),
      String(m.fleet.calls),
      m.fleet.failureRate === null ? "-" : `${(m.fleet.failureRate * 100).toFixed(1)}%`
    ])
  )

/**
 * One circuit, for `list --json` and `show --json`.
 *
 * @internal
 */
export const circuitJson = (name: string, m: CircuitMetrics, now: number) => ({
  name,
  service: m.service,
  state: m.state,
  status: m.status,
  windowFailures: m.windowFailures,
  windowCalls: m.windowCalls,
  openCount: m.openCount,
  retryAt: m.retryAt,
  retryInMs: m.retryAt === null ? null : Math.max(0, m.retryAt - now),
  lastTransitionAt: m.lastTransitionAt,
  fleet: m.fleet
})

/**
 * The `show` text.
 *
 * @internal
 */
export const circuitDetails = (name: string, m: CircuitMetrics, now: number): string => {
  const at = (t: number | null) => t === null ? "-" : `${new Date(t).toISOString()} (${duration(Math.abs(now - t))} ${t <= now ? "ago" : "from now"})`
  const rows: Array<readonly [string, string]> = [
    ["circuit", name],
    ["service", m.service],
    ["state", m.state],
    ["status", m.status],
    ["window", `${m.windowFailures} failures in ${m.windowCalls} calls`],
    ["re-opens in a row", String(m.openCount)],
    ["retry at", m.retryAt === null ? "-" : `${at(m.retryAt)}${m.retryAt <= now ? ": the next call probes" : ""}`],
    ["last transition", at(m.lastTransitionAt)],
    [
      "fleet calls",
      `${m.fleet.calls} (${m.fleet.successes} succeeded, ${m.fleet.failures} failed), ${m.fleet.rejections} rejected, ` +
      `${m.fleet.probes} probes, opened ${m.fleet.opens} times`
    ],
    ["fleet failure rate", m.fleet.failureRate === null ? "-" : `${(m.fleet.failureRate * 100).toFixed(1)}%`]
  ]
  const width = Math.max(...rows.map(([k]) => k.length))
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join("\n")
}
