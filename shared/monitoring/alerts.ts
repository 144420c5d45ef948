/**
 * The alerts of monitoring: the rules for one circuit (`alertsFor`), and
 * those of a whole read (`alertsOf`), which adds one when the store could not
 * be read entirely.
 *
 * @internal
 */
import type { Alert, AlertOptions, CircuitMetrics, FleetRead } from "../model.js"

/**
 * The alerts for one circuit (the rules of `getAlerts`).
 *
 * @internal
 */
export const alertsFor = (metrics: CircuitMetrics, now: number, options: AlertOptions = {}): Array<Alert> => {
  const alerts: Array<Alert> = []
  const service = metrics.service
  const since = metrics.lastTransitionAt ?? now
  if (metrics.state === "OPEN") {
    alerts.push({
      kind: "open",
      severity: "critical",
      service,
      message: `circuit ${JSON.stringify(service)} is OPEN${
        metrics.openCount === 0 ? "" : ` (re-opened ${times(metrics.openCount)} without closing)`
      }`,
      since
    })
  } else if (metrics.state === "FORCED_OPEN") {
    alerts.push({
      kind: "forced-open",
      severity: "warning",
      service,
      message: `circuit ${JSON.stringify(service)} is held open by an operator`,
      since
    })
  }
  const rate = metrics.fleet.failureRate
  const threshold = options.failureRateAlert ?? 0.5
  if (rate !== null && metrics.fleet.calls >= (options.failureRateMinimumCalls ?? 20) && rate >= threshold) {
    alerts.push({
      kind: "failure-rate",
      severity: "warning",
      service,
      message: `failure rate of ${JSON.stringify(service)} is ${
        (rate * 100).toFixed(1)
      }% over ${metrics.fleet.calls} calls`,
      since: now
    })
  }
  if (metrics.openCount >= (options.flappingReopens ?? 3)) {
    alerts.push({
      kind: "flapping",
      severity: "warning",
      service,
      message: `circuit ${JSON.stringify(service)} re-opened ${times(metrics.openCount)} without closing`,
      since
    })
  }
  if (metrics.storeUnavailable) {
    alerts.push({
      kind: "store-unavailable",
      severity: "critical",
      service,
      message: `the circuit store is unavailable: ${JSON.stringify(service)} runs on this instance's local breaker`,
      since: now
    })
  }
  return alerts
}

const times = (n: number) => (n === 1 ? "once" : `${n} times`)

/**
 * The alerts of every circuit of `fleet`, after one for a read that is not complete.
 *
 * @internal
 */
export const alertsOf = (fleet: FleetRead, now: number, options: AlertOptions): Array<Alert> => {
  const alerts = fleet.circuits.flatMap((metrics) => alertsFor(metrics, now, options))
  if (!fleet.complete) {
    alerts.unshift({
      kind: "store-unreadable",
      severity: "critical",
      service: "*",
      message: `the circuit store could not be read: ${fleet.unreadable} circuit(s) unknown (${fleet.reason})`,
      since: now
    })
  }
  return alerts
}
