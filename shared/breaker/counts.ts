/**
 * What a breaker counts of its own calls, and what it reports from them and
 * its circuit's snapshot: its `Metrics`, its health status, whether a call
 * would be let through. The same in every edition.
 *
 * @internal
 */
import type { HealthStatus, Metrics, Snapshot, State } from "../model.js"

/** A breaker's counts of its own calls. @internal */
export interface LocalCounts {
  calls: number
  successes: number
  failures: number
  rejections: number
  probes: number
  slowCalls: number
  storeErrors: number
  lastSuccessAt: number
  lastFailureAt: number
}

/** Counts of a breaker that ran no call. @internal */
export const emptyCounts = (): LocalCounts => ({
  calls: 0,
  successes: 0,
  failures: 0,
  rejections: 0,
  probes: 0,
  slowCalls: 0,
  storeErrors: 0,
  lastSuccessAt: 0,
  lastFailureAt: 0
})

/**
 * How healthy a circuit in `state` is; a healthy one is `degraded` while its
 * store is unavailable (this instance runs on its local fallback).
 *
 * @internal
 */
export const statusOf = (state: State, storeUnavailable: boolean): HealthStatus =>
  state === "CLOSED" || state === "FORCED_CLOSED"
    ? (storeUnavailable ? "degraded" : "healthy")
    : state === "HALF_OPEN"
    ? "degraded"
    : "unhealthy"

/** A breaker's counts with its circuit's `snapshot`, as `Metrics`. @internal */
export const metricsOf = (
  serviceName: string,
  instanceId: string,
  c: LocalCounts,
  snapshot: Snapshot
): Metrics => ({
  service: serviceName,
  instanceId,
  state: snapshot.state,
  calls: c.calls,
  successes: c.successes,
  failures: c.failures,
  rejections: c.rejections,
  probes: c.probes,
  slowCalls: c.slowCalls,
  storeErrors: c.storeErrors,
  windowFailures: snapshot.failures,
  windowCalls: snapshot.calls,
  openCount: snapshot.openCount,
  retryAt: snapshot.state === "OPEN" ? snapshot.retryAt : null,
  lastTransitionAt: snapshot.changedAt > 0 ? snapshot.changedAt : null,
  lastSuccessAt: c.lastSuccessAt > 0 ? c.lastSuccessAt : null,
  lastFailureAt: c.lastFailureAt > 0 ? c.lastFailureAt : null
})

/** Whether a call made at `now` on a circuit in `snapshot` would be let through (taking no permit). @internal */
export const isAvailableAt = (snapshot: Snapshot, now: number, halfOpenMaxProbes: number): boolean => {
  switch (snapshot.state) {
    case "CLOSED":
    case "FORCED_CLOSED":
      return true
    case "FORCED_OPEN":
      return false
    case "OPEN":
      return now >= snapshot.retryAt
    case "HALF_OPEN":
      return snapshot.probes < halfOpenMaxProbes
  }
}
