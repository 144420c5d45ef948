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
 * The service is a `Context.Service` (its shape is
 * `CircuitBreakerMonitoring["Service"]`); `layer` is built with
 * `Layer.effect`, so its reads run within the layer's scope.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type { CircuitBreakers } from "./CircuitBreakers.js"
import type * as CircuitConfig from "./CircuitConfig.js"
import type { CircuitStore } from "./CircuitStore.js"
import * as internal from "./internal/monitoring/monitoring.js"
import type { Alert, CircuitMetrics, FleetRead, FleetSnapshot, OverallHealth, ReadOptions } from "../../shared/model.js"

/**
 * What monitoring reports: plain types shared by both editions (`shared/model.ts`, where each is documented).
 *
 * @example
 * ```ts
 * import { CircuitBreakerMonitoring } from "effect-circuit-breaker-redis"
 * import { Effect } from "effect"
 *
 * const openCircuits = Effect.gen(function*() {
 *   const monitoring = yield* CircuitBreakerMonitoring.CircuitBreakerMonitoring
 *   const page: CircuitBreakerMonitoring.FleetRead = yield* monitoring.read({ state: ["OPEN"], limit: 50 })
 *   return page.circuits.map((circuit: CircuitBreakerMonitoring.CircuitMetrics) => circuit.name)
 * })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type {
  Alert,
  AlertSeverity,
  CircuitMetrics,
  FleetRead,
  FleetSnapshot,
  OverallHealth,
  OverallStatus,
  ReadOptions
} from "../../shared/model.js"

/**
 * @example
 * ```ts
 * import { CircuitBreakerMonitoring } from "effect-circuit-breaker-redis"
 * import { Effect } from "effect"
 *
 * const failedResets = Effect.gen(function*() {
 *   const monitoring = yield* CircuitBreakerMonitoring.CircuitBreakerMonitoring
 *   const results: ReadonlyArray<CircuitBreakerMonitoring.ResetResult> = yield* monitoring.resetAll
 *   return results.filter((result) => !result.success)
 * })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface ResetResult {
  readonly service: string
  readonly success: boolean
  readonly error?: string
}

/**
 * @example
 * ```ts
 * import { CircuitBreakerMonitoring } from "effect-circuit-breaker-redis"
 *
 * const options: CircuitBreakerMonitoring.Options = {
 *   failureRateAlert: 0.25,
 *   failureRateMinimumCalls: 50,
 *   flappingReopens: 5,
 *   snapshotTtl: "5 seconds"
 * }
 * const Monitoring = CircuitBreakerMonitoring.layer(options)
 * ```
 *
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
  /**
   * How long one `snapshot` serves every request (default 1 second): any
   * number of requests costs the store at most one fleet read per interval.
   * `0` reads again for each request that does not find a read in flight.
   */
  readonly snapshotTtl?: Duration.Input | undefined
}

/**
 * The monitoring service.
 *
 * @example
 * ```ts
 * import { CircuitBreakerMonitoring } from "effect-circuit-breaker-redis"
 * import { Effect } from "effect"
 *
 * const critical = Effect.gen(function*() {
 *   const monitoring = yield* CircuitBreakerMonitoring.CircuitBreakerMonitoring
 *   const alerts = yield* monitoring.getAlerts
 *   return alerts.filter((alert) => alert.severity === "critical")
 * })
 * ```
 *
 * @since 0.1.0
 * @category tags
 */
export class CircuitBreakerMonitoring extends Context.Service<
  CircuitBreakerMonitoring,
  {
    /**
     * Every circuit known to the store, by name. While the store is
     * unavailable: this instance's circuits, from their local fallback.
     */
    readonly getAllMetrics: Effect.Effect<Readonly<Record<string, CircuitMetrics>>>
    /**
     * The circuits, filtered and paged, with whether the read is complete:
     * a circuit that cannot be read (after retries) is counted in
     * `unreadable`, never left out silently.
     */
    readonly read: (options?: ReadOptions) => Effect.Effect<FleetRead>
    /** Alerts of every circuit, and `store-unreadable` when the read was not complete. */
    readonly getAlerts: Effect.Effect<ReadonlyArray<Alert>>
    /** Resets every circuit known to the store; one result per circuit. */
    readonly resetAll: Effect.Effect<ReadonlyArray<ResetResult>>
    readonly health: Effect.Effect<OverallHealth>
    /**
     * The shared snapshot of the fleet (what the HTTP routes answer from):
     * read again once it is older than `snapshotTtl`; callers that come while
     * it is read wait for that one read.
     */
    readonly snapshot: Effect.Effect<FleetSnapshot>
    /** Drops the snapshot: the next `snapshot` reads the store (after an admin action). */
    readonly invalidate: Effect.Effect<void>
  }
>()("effect-circuit-breaker-redis/CircuitBreakerMonitoring") {}

/**
 * The alerts for one circuit (the rules of `getAlerts`).
 *
 * @example
 * ```ts
 * import { CircuitBreakerMonitoring } from "effect-circuit-breaker-redis"
 * import { Clock, Effect } from "effect"
 *
 * declare const metrics: CircuitBreakerMonitoring.CircuitMetrics
 *
 * const alerts = Effect.map(Clock.currentTimeMillis, (now) =>
 *   CircuitBreakerMonitoring.alertsFor(metrics, now, { flappingReopens: 5 }))
 * ```
 *
 * @since 0.1.0
 * @category alerts
 */
export const alertsFor: (metrics: CircuitMetrics, now: number, options?: Options) => Array<Alert> = internal.alertsFor

/**
 * Makes the service. Needs the store and the `CircuitBreakers` registry (for
 * the configs and local counts of this instance's breakers); its reads run
 * within the scope (closing it stops them).
 *
 * @example
 * ```ts
 * import { CircuitBreakerMonitoring, CircuitBreakers, CircuitConfig, CircuitStore } from "effect-circuit-breaker-redis"
 * import { Effect, Layer } from "effect"
 *
 * const health: Effect.Effect<CircuitBreakerMonitoring.OverallHealth, CircuitConfig.CircuitConfigError> = Effect.gen(
 *   function*() {
 *     const monitoring = yield* CircuitBreakerMonitoring.make({ snapshotTtl: 0 })
 *     return yield* monitoring.health
 *   }
 * ).pipe(Effect.scoped, Effect.provide(CircuitBreakers.layer().pipe(Layer.provideMerge(CircuitStore.layerMemory))))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options = {}
): Effect.Effect<
  CircuitBreakerMonitoring["Service"],
  CircuitConfig.CircuitConfigError,
  CircuitStore | CircuitBreakers | Scope.Scope
> => internal.make(options)

/**
 * The service as a layer.
 *
 * @example
 * ```ts
 * import { CircuitBreakerMonitoring, CircuitBreakers, CircuitStore } from "effect-circuit-breaker-redis"
 * import { Layer } from "effect"
 *
 * const Monitoring = CircuitBreakerMonitoring.layer({ failureRateAlert: 0.25 }).pipe(
 *   Layer.provide(CircuitBreakers.layer()),
 *   Layer.provide(CircuitStore.layerMemory)
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options?: Options
): Layer.Layer<CircuitBreakerMonitoring, CircuitConfig.CircuitConfigError, CircuitStore | CircuitBreakers> =>
  Layer.effect(CircuitBreakerMonitoring)(make(options))
