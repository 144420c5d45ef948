/**
 * The health of monitoring: the fleet's overall status from a read, and each
 * circuit's, with this instance's counts for it or the fleet's.
 *
 * @internal
 */
import type {
  CircuitMetrics,
  FleetRead,
  Health,
  HealthStatus,
  Metrics,
  NotificationStatus,
  OverallHealth,
  OverallStatus
} from "../model.js"

/** A circuit's fleet counts as `Metrics`, for a circuit this instance has no breaker for. */
const fleetOnly = (m: CircuitMetrics, instanceId: string): Metrics => ({
  service: m.service,
  // the instance that read it (the counts are the fleet's)
  instanceId,
  state: m.state,
  calls: m.fleet.calls,
  successes: m.fleet.successes,
  failures: m.fleet.failures,
  rejections: m.fleet.rejections,
  probes: m.fleet.probes,
  slowCalls: 0,
  storeErrors: 0,
  windowFailures: m.windowFailures,
  windowCalls: m.windowCalls,
  openCount: m.openCount,
  retryAt: m.retryAt,
  lastTransitionAt: m.lastTransitionAt,
  lastSuccessAt: null,
  lastFailureAt: null
})

/**
 * The fleet's health: every circuit's status, and the worst of them (`unknown`
 * when the read is not complete and nothing is unhealthy).
 *
 * @internal
 */
export const healthOf = (
  fleet: FleetRead,
  now: number,
  instanceId: string,
  notifications: NotificationStatus | undefined
): OverallHealth => {
  const services: Record<string, Pick<Health, "status" | "state" | "metrics">> = Object.create(null)
  let worst: HealthStatus = "healthy"
  for (const metrics of fleet.circuits) {
    services[metrics.name] = {
      status: metrics.status,
      state: metrics.state,
      metrics: metrics.instance ?? fleetOnly(metrics, instanceId)
    }
    if (metrics.status === "unhealthy") worst = "unhealthy"
    else if (metrics.status === "degraded" && worst === "healthy") worst = "degraded"
  }
  const overall: OverallStatus = worst === "unhealthy" ? "unhealthy" : fleet.complete ? worst : "unknown"
  return {
    overall,
    complete: fleet.complete,
    unreadable: fleet.unreadable,
    reason: fleet.reason,
    services,
    timestamp: now,
    ...(notifications !== undefined ? { notifications } : {})
  }
}
