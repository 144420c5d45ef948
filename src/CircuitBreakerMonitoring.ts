/**
 * Fleet-wide monitoring: every circuit the store knows (for Redis: created by
 * any instance), with its state and the fleet's counts, alerts, health, and
 * a reset of everything.
 *
 * @example
 * ```ts
 * import { CircuitBreakerMonitoring, CircuitBreakers, CircuitStore } from "effect-circuit-breaker-redis"
 * import { Effect, Layer } from "effect"
 *
 * const Monitoring = CircuitBreakerMonitoring.layer().pipe(
 *   Layer.provideMerge(CircuitBreakers.layer()),
 *   Layer.provideMerge(CircuitStore.layerMemory)
 * )
 *
 * const report = Effect.gen(function*() {
 *   const monitoring = yield* CircuitBreakerMonitoring.CircuitBreakerMonitoring
 *   const health = yield* monitoring.health // { overall, services, timestamp }
 *   const alerts = yield* monitoring.getAlerts
 * }).pipe(Effect.provide(Monitoring))
 * ```
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import type { CircuitBreaker, Health, HealthStatus, Metrics } from "./CircuitBreaker.js"
import { CircuitBreakers } from "./CircuitBreakers.js"
import * as CircuitConfig from "./CircuitConfig.js"
import type { Snapshot, State } from "./CircuitState.js"
import { CircuitStore, type CircuitStoreError, type FleetCounts } from "./CircuitStore.js"
import { CircuitBreakerImpl, statusOf } from "./internal/circuitBreaker.js"

/**
 * One circuit as the fleet sees it.
 *
 * @since 0.1.0
 * @category models
 */
export interface CircuitMetrics {
  readonly service: string
  readonly state: State
  readonly status: HealthStatus
  /** Failures and calls in the circuit's sliding window. */
  readonly windowFailures: number
  readonly windowCalls: number
  /** Consecutive re-opens (the backoff exponent). */
  readonly openCount: number
  /** When an OPEN circuit lets its first probe through (epoch ms), else null. */
  readonly retryAt: number | null
  readonly lastTransitionAt: number | null
  /** What every instance did with it (within `metricsTtl` for Redis). */
  readonly fleet: FleetCounts & {
    readonly calls: number
    /** failures / calls, or null with no calls. */
    readonly failureRate: number | null
  }
  /** This instance's own counts, when it has a breaker for the circuit. */
  readonly instance: Metrics | null
  /** True while this instance runs the circuit on its local fallback (store unavailable). */
  readonly storeUnavailable: boolean
}

/**
 * @since 0.1.0
 * @category models
 */
export type AlertSeverity = "critical" | "warning"

/**
 * @since 0.1.0
 * @category models
 */
export interface Alert {
  readonly kind: "open" | "forced-open" | "failure-rate" | "flapping" | "store-unavailable"
  readonly severity: AlertSeverity
  readonly service: string
  readonly message: string
  /** Since when the condition holds, epoch ms (for a rate: the read time). */
  readonly since: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface OverallHealth {
  /**
   * `unhealthy` when any circuit is OPEN or FORCED_OPEN; `degraded` when any
   * is HALF_OPEN or running locally because the store is unavailable;
   * `healthy` otherwise (also with no circuits).
   */
  readonly overall: HealthStatus
  readonly services: Readonly<Record<string, Pick<Health, "status" | "state" | "metrics">>>
  readonly timestamp: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ResetResult {
  readonly service: string
  readonly success: boolean
  readonly error?: string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Alert when the fleet's failure rate reaches this fraction (default 0.5)… */
  readonly failureRateAlert?: number | undefined
  /** …over at least this many calls (default 20). */
  readonly failureRateMinimumCalls?: number | undefined
  /** Alert as flapping after this many consecutive re-opens (default 3). */
  readonly flappingReopens?: number | undefined
  /** The config used to read circuits this instance has no breaker for. */
  readonly defaults?: CircuitConfig.Input | undefined
}

/**
 * The monitoring service.
 *
 * @since 0.1.0
 * @category tags
 */
export class CircuitBreakerMonitoring extends Context.Tag("effect-circuit-breaker-redis/CircuitBreakerMonitoring")<
  CircuitBreakerMonitoring,
  {
    /**
     * Every circuit known to the store, by name. While the store is
     * unavailable: this instance's circuits, from their local fallback.
     */
    readonly getAllMetrics: Effect.Effect<Readonly<Record<string, CircuitMetrics>>>
    readonly getAlerts: Effect.Effect<ReadonlyArray<Alert>>
    /** Resets every circuit known to the store; one result per circuit. */
    readonly resetAll: Effect.Effect<ReadonlyArray<ResetResult>>
    readonly health: Effect.Effect<OverallHealth>
  }
>() {}

/**
 * The alerts for one circuit (the rules of `getAlerts`).
 *
 * @since 0.1.0
 * @category alerts
 */
export const alertsFor = (metrics: CircuitMetrics, now: number, options: Options = {}): Array<Alert> => {
  const alerts: Array<Alert> = []
  const service = metrics.service
  const since = metrics.lastTransitionAt ?? now
  if (metrics.state === "OPEN") {
    alerts.push({
      kind: "open",
      severity: "critical",
      service,
      message: `circuit ${JSON.stringify(service)} is OPEN (re-opened ${metrics.openCount} times in a row)`,
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
      message: `failure rate of ${JSON.stringify(service)} is ${(rate * 100).toFixed(1)}% over ${metrics.fleet.calls} calls`,
      since: now
    })
  }
  if (metrics.openCount >= (options.flappingReopens ?? 3)) {
    alerts.push({
      kind: "flapping",
      severity: "warning",
      service,
      message: `circuit ${JSON.stringify(service)} re-opened ${metrics.openCount} times without closing`,
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

/**
 * Makes the service. Needs the store and the `CircuitBreakers` registry (for
 * the configs and local counts of this instance's breakers).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options = {}
): Effect.Effect<CircuitBreakerMonitoring["Type"], CircuitConfig.CircuitConfigError, CircuitStore | CircuitBreakers> =>
  Effect.gen(function*() {
    const store = yield* CircuitStore
    const registry = yield* CircuitBreakers
    // decoded once: a circuit with no breaker here is read with this config and its own name
    const defaultConfig = yield* CircuitConfig.decode("defaults", options.defaults ?? {})

    /** Every known circuit, with this instance's breaker for it if any. */
    const circuits = Effect.gen(function*() {
      // while the store is unavailable, this instance's own circuits are still reported
      const names = yield* Effect.orElseSucceed(store.names, (): ReadonlyArray<string> => [])
      const local = new Map<string, CircuitBreaker>()
      for (const breaker of yield* registry.all) local.set(breaker.name, breaker)
      const all = new Set([...names, ...local.keys()])
      const result: Array<{
        readonly name: string
        readonly read: (now: number) => Effect.Effect<readonly [Snapshot, FleetCounts], CircuitStoreError>
        readonly breaker?: CircuitBreakerImpl
      }> = []
      for (const name of all) {
        const breaker = local.get(name)
        if (breaker instanceof CircuitBreakerImpl) {
          result.push({ name, read: (now) => breaker.circuit.fleet(now), breaker })
          continue
        }
        if (CircuitConfig.serviceNameProblem(name) !== undefined) continue // a name no breaker could have made
        const config = { ...defaultConfig, serviceName: name }
        result.push({ name, read: (now) => store.inspect(name, config, now) })
      }
      return result
    })

    const getAllMetrics = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const entries = yield* Effect.forEach(yield* circuits, ({ breaker, name, read: readCircuit }) =>
        Effect.gen(function*() {
          const read = yield* Effect.either(readCircuit(now))
          if (Either.isLeft(read) && breaker === undefined) return undefined
          const [snapshot, fleet] = Either.isRight(read)
            ? read.right
            : [yield* breaker!.localSnapshot(now), { successes: 0, failures: 0, rejections: 0, probes: 0, opens: 0 }] as const
          if (breaker !== undefined && Either.isRight(read)) breaker.observe(snapshot.state, snapshot.version, now)
          const instance = breaker === undefined ? null : breaker.metricsFrom(snapshot)
          const storeUnavailable = Either.isLeft(read) || (breaker?.degraded ?? false)
          const calls = fleet.successes + fleet.failures
          const metrics: CircuitMetrics = {
            service: breaker?.config.serviceName ?? name,
            state: snapshot.state,
            status: storeUnavailable && statusOf(snapshot.state) === "healthy" ? "degraded" : statusOf(snapshot.state),
            windowFailures: snapshot.failures,
            windowCalls: snapshot.calls,
            openCount: snapshot.openCount,
            retryAt: snapshot.state === "OPEN" ? snapshot.retryAt : null,
            lastTransitionAt: snapshot.changedAt > 0 ? snapshot.changedAt : null,
            fleet: { ...fleet, calls, failureRate: calls === 0 ? null : fleet.failures / calls },
            instance,
            storeUnavailable
          }
          return [name, metrics] as const
        }), { concurrency: 8 })
      return Object.fromEntries(entries.filter((entry) => entry !== undefined)) as Record<string, CircuitMetrics>
    })

    const getAlerts = Effect.gen(function*() {
      const all = yield* getAllMetrics
      const now = yield* Clock.currentTimeMillis
      return Object.values(all).flatMap((metrics) => alertsFor(metrics, now, options))
    })

    const health = Effect.gen(function*() {
      const all = yield* getAllMetrics
      const services: Record<string, Pick<Health, "status" | "state" | "metrics">> = {}
      let overall: HealthStatus = "healthy"
      for (const [name, metrics] of Object.entries(all)) {
        services[name] = { status: metrics.status, state: metrics.state, metrics: metrics.instance ?? fleetOnly(metrics) }
        if (metrics.status === "unhealthy") overall = "unhealthy"
        else if (metrics.status === "degraded" && overall === "healthy") overall = "degraded"
      }
      return { overall, services, timestamp: yield* Clock.currentTimeMillis }
    })

    const resetAll = Effect.flatMap(circuits, (all) =>
      Effect.forEach(all, ({ breaker, name }) =>
        (breaker !== undefined
          ? breaker.reset
          : Effect.flatMap(store.circuit(name, { ...defaultConfig, serviceName: name }), (circuit) =>
            Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.asVoid(circuit.reset(now))))).pipe(
            Effect.match({
              onFailure: (error): ResetResult => ({ service: name, success: false, error: error.message }),
              onSuccess: (): ResetResult => ({ service: name, success: true })
            })
          ), { concurrency: 8 }))

    return CircuitBreakerMonitoring.of({ getAllMetrics, getAlerts, resetAll, health })
  })

/** The metrics shape for a circuit this instance has no breaker for. */
const fleetOnly = (m: CircuitMetrics): Metrics => ({
  service: m.service,
  instanceId: "",
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
 * The service as a layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options?: Options
): Layer.Layer<CircuitBreakerMonitoring, CircuitConfig.CircuitConfigError, CircuitStore | CircuitBreakers> =>
  Layer.effect(CircuitBreakerMonitoring, make(options))
