/**
 * What monitoring makes of a scan of the store: the circuits that match a
 * read's filters, paged (`summarize`), and the shared snapshot's views of a
 * whole scan (`snapshotOf`).
 *
 * @internal
 */
import type {
  AlertOptions,
  CircuitMetrics,
  FleetRead,
  FleetSnapshot,
  NotificationStatus,
  ReadOptions
} from "../model.js"
import { alertsOf } from "./alerts.js"
import { healthOf } from "./health.js"

/**
 * One circuit as read: its metrics, or why it could not be read.
 *
 * @internal
 */
export interface ReadResult {
  readonly name: string
  readonly metrics: CircuitMetrics | undefined
  readonly error: string | null
  /** Its state is gone (expired): not part of the fleet any more. */
  readonly missing: boolean
}

/**
 * One pass over the store: the circuits from a cursor on (or only a page of them), each read or not.
 *
 * @internal
 */
export interface Scan {
  readonly candidates: number
  readonly afterCursor: number
  readonly results: ReadonlyArray<ReadResult>
  readonly listError: string | null
}

/**
 * The circuits of `scanned` that match the filters, paged, with what could not be read.
 *
 * @internal
 */
export const summarize = (scanned: Scan, { limit, state: states }: ReadOptions): FleetRead => {
  let unreadable = scanned.listError === null ? 0 : 1
  let reason = scanned.listError
  const matching: Array<CircuitMetrics> = []
  for (const result of scanned.results) {
    if (result.missing) continue // expired: gone from the fleet, and from the registry
    if (result.metrics === undefined || result.error !== null) {
      unreadable++
      reason ??= `circuit ${JSON.stringify(result.name)}: ${result.error}`
    }
    if (result.metrics !== undefined && (states === undefined || states.includes(result.metrics.state))) {
      matching.push(result.metrics)
    }
  }
  const page = limit === undefined ? matching : matching.slice(0, limit)
  // more after this page: read past the limit, or not read at all (paging without a state filter)
  const hasMore = limit !== undefined && (matching.length > limit || scanned.afterCursor > scanned.results.length)
  // with a state filter only what was read can be counted: the circuits from the cursor on
  const total = states === undefined ? scanned.candidates : matching.length
  return {
    circuits: page,
    total,
    nextCursor: hasMore && page.length > 0 ? page[page.length - 1]!.name : null,
    complete: unreadable === 0,
    unreadable,
    reason
  }
}

/**
 * The circuits of a read by name.
 *
 * @internal
 */
export const metricsByName = ({ circuits }: FleetRead): Record<string, CircuitMetrics> => {
  const all: Record<string, CircuitMetrics> = Object.create(null)
  for (const metrics of circuits) all[metrics.name] = metrics
  return all
}

/**
 * A snapshot of a whole scan: every view computed from it once, when first asked for.
 *
 * @internal
 */
export const snapshotOf = (
  scanned: Scan,
  takenAt: number,
  options: AlertOptions,
  instanceId: string,
  notifications: NotificationStatus | undefined
): FleetSnapshot => {
  const all = summarize(scanned, {})
  let metrics: FleetSnapshot["metrics"] | undefined
  let alerts: FleetSnapshot["alerts"] | undefined
  let health: FleetSnapshot["health"] | undefined
  return {
    takenAt,
    read: (readOptions = {}) => {
      const { cursor, limit, prefix, state } = readOptions
      if (prefix === undefined && cursor === undefined) {
        return limit === undefined && state === undefined ? all : summarize(scanned, readOptions)
      }
      // the results are in name order: the names with a prefix, and those after a cursor, are a range
      const names = scanned.results
      const from = prefix === undefined ? 0 : firstAtLeast(names, prefix)
      let to = names.length
      if (prefix !== undefined) {
        to = from
        while (to < names.length && names[to]!.name.startsWith(prefix)) to++
      }
      const candidates = names.slice(from, to)
      const results = cursor === undefined ? candidates : candidates.slice(firstAfter(candidates, cursor))
      return summarize(
        { candidates: candidates.length, afterCursor: results.length, results, listError: scanned.listError },
        readOptions
      )
    },
    get metrics() {
      return (metrics ??= metricsByName(all))
    },
    get alerts() {
      return (alerts ??= alertsOf(all, takenAt, options))
    },
    get health() {
      return (health ??= healthOf(all, takenAt, instanceId, notifications))
    }
  }
}

/** The index of the first result whose name is at least `name` (results in name order). */
const firstAtLeast = (results: ReadonlyArray<{ readonly name: string }>, name: string): number => {
  let lo = 0
  let hi = results.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (results[mid]!.name < name) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** The index of the first result whose name comes after `name`. */
const firstAfter = (results: ReadonlyArray<{ readonly name: string }>, name: string): number => {
  const at = firstAtLeast(results, name)
  return at < results.length && results[at]!.name === name ? at + 1 : at
}
