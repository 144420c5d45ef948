/**
 * How the CLI prints circuits: tables, durations, and the JSON shapes of
 * `--json`.
 *
 * @internal
 */
import type { CircuitMetrics } from "../model.js"

/**
 * Characters a terminal acts on or hides: C0 controls (ESC, CR, BEL…), DEL,
 * C1 controls (U+009B is a one-character CSI), line and paragraph
 * separators, and the invisible format characters that reorder or hide text
 * (bidi embeddings, overrides and isolates, zero-width spaces and joiners,
 * the BOM).
 */
const unsafe =
  /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u115f\u1160\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\u3164\ufeff\ufff9-\ufffb]/g

const escapeOne = (c: string): string => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`

/**
 * `text` with every character a terminal would act on or hide written as a
 * `\uXXXX` escape, newlines too: what the CLI prints of any string it did not
 * write itself (names, errors, hosts). In JSON text the escape is JSON's
 * own, so a JSON document stays the same document.
 *
 * @internal
 */
export const printable = (text: string): string => text.replace(unsafe, escapeOne)

/**
 * `text` as `printable` does, but its newlines kept: every line the CLI
 * prints passes through it, whatever it holds.
 *
 * @internal
 */
export const printableLines = (text: string): string => text.split("\n").map(printable).join("\n")

/**
 * A glob as `--match` takes it: `*` stands for any characters (none too);
 * every other character, `?`, `[` and `\\` included, stands for itself.
 * Each literal part of the pattern is found leftmost, after the one before
 * it: a `*` never needs to take back what it skipped, so a match takes at
 * most the name's length times the pattern's, whatever the pattern (no
 * backtracking).
 *
 * @internal
 */
export const globMatcher = (glob: string): (name: string) => boolean => {
  const parts = glob.split("*")
  if (parts.length === 1) return (name) => name === glob
  const first = parts[0]!
  const last = parts[parts.length - 1]!
  const middle = parts.slice(1, -1).filter((part) => part.length > 0)
  return (name) => {
    if (name.length < first.length + last.length || !name.startsWith(first) || !name.endsWith(last)) return false
    const end = name.length - last.length
    let at = first.length
    for (const part of middle) {
      const found = name.indexOf(part, at)
      if (found === -1 || found + part.length > end) return false
      at = found + part.length
    }
    return true
  }
}

/**
 * The literal start of a glob (before its first `*`): the circuits to read
 * at all.
 *
 * @internal
 */
export const globPrefix = (glob: string): string => glob.split("*")[0]!

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
 * Left-aligned columns, two spaces apart; every cell `printable`.
 *
 * @internal
 */
export const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const printed = rows.map((row) => row.map(printable))
  const widths = header.map((h, i) => Math.max(h.length, ...printed.map((row) => (row[i] ?? "").length)))
  const line = (cells: ReadonlyArray<string>) =>
    cells.map((cell, i) => i === cells.length - 1 ? cell : cell.padEnd(widths[i]!)).join("  ").trimEnd()
  return [line(header), ...printed.map(line)].join("\n")
}

/** Whether the circuit counts calls in a window: CLOSED and FORCED_CLOSED (it is emptied when the circuit opens). */
const counting = (m: CircuitMetrics): boolean => m.state === "CLOSED" || m.state === "FORCED_CLOSED"

/**
 * Opens in a row: for an OPEN or HALF_OPEN circuit, the current open and
 * the re-opens before it (`openCount + 1`); else `openCount`.
 *
 * @internal
 */
export const opensInRow = (m: CircuitMetrics): number =>
  m.state === "OPEN" || m.state === "HALF_OPEN" ? m.openCount + 1 : m.openCount

/**
 * The `list` table: the window `-` while the circuit does not count one,
 * OPENS the opens in a row (`opensInRow`).
 *
 * @internal
 */
export const circuitsTable = (circuits: ReadonlyArray<CircuitMetrics>, now: number): string =>
  table(
    ["CIRCUIT", "STATE", "STATUS", "WINDOW FAIL/CALLS", "OPENS", "RETRY IN", "FLEET CALLS", "FAILURE RATE"],
    circuits.map((m) => [
      m.name,
      m.state,
      m.status,
      counting(m) ? `${m.windowFailures}/${m.windowCalls}` : "-",
      String(opensInRow(m)),
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
export const circuitJson = (m: CircuitMetrics, now: number) => ({
  name: m.name,
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
export const circuitDetails = (m: CircuitMetrics, now: number): string => {
  const at = (t: number | null) =>
    t === null ? "-" : `${new Date(t).toISOString()} (${duration(Math.abs(now - t))} ${t <= now ? "ago" : "from now"})`
  const rows: Array<readonly [string, string]> = [
    ["circuit", m.name],
    ["service", m.service],
    ["state", m.state],
    ["status", m.status],
    [
      "window",
      counting(m)
        ? `${m.windowFailures} failures in ${m.windowCalls} calls`
        : `none while ${m.state} (emptied when it opened; it counts again once closed)`
    ],
    ["opens in a row", `${opensInRow(m)} (${m.openCount} re-opens)`],
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
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${printable(v)}`).join("\n")
}
