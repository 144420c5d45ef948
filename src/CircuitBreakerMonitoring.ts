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
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type { Health, HealthStatus, Metrics } from "./CircuitBreaker.js"
import type { CircuitBreakers } from "./CircuitBreakers.js"
import type * as CircuitConfig from "./CircuitConfig.js"
import type { State } from "./CircuitState.js"
import type { CircuitStore, FleetCounts, NotificationStatus } from "./CircuitStore.js"
import * as internal from "./internal/monitoring/monitoring.js"

/**
 * One circuit as the fleet sees it.
 *
 * @since 0.1.0
 * @category models
 */
export interface CircuitMetrics {
  /** The circuit's name (its key in the store). */
  readonly name: string
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
  /** `store-unreadable`: the read could not see every circuit (its `service` is `"*"`). */
  readonly kind: "open" | "forced-open" | "failure-rate" | "flapping" | "store-unavailable" | "store-unreadable"
  readonly severity: AlertSeverity
  readonly service: string
  readonly message: string
  /** Since when the condition holds, epoch ms (for a rate: the read time). */
  readonly since: number
}

/**
 * A health status, or `unknown`: the store could not be read (entirely or in
 * part), so nothing says the fleet is healthy.
 *
 * @since 0.1.0
 * @category models
 */
export type OverallStatus = HealthStatus | "unknown"

/**
 * @since 0.1.0
 * @category models
 */
export interface OverallHealth {
  /**
   * `unhealthy` when any circuit read is OPEN or FORCED_OPEN; else `unknown`
   * when the read was not complete; else `degraded` when any circuit is
   * HALF_OPEN or running locally because the store is unavailable; else
   * `healthy` (also with no circuits, after a complete read).
   */
  readonly overall: OverallStatus
  /** Whether every circuit the store knows was read. */
  readonly complete: boolean
  /** Circuits that could not be read (the registry itself counts as one when it cannot be read). */
  readonly unreadable: number
  /** Why the read is not complete, or null. */
  readonly reason: string | null
  /** By circuit name (an object without prototype: any name, `__proto__` too, is an own key). */
  readonly services: Readonly<Record<string, Pick<Health, "status" | "state" | "metrics">>>
  readonly timestamp: number
  /**
   * Whether this instance hears of other instances' transitions at once
   * (Redis store over ioredis): `lost` while its subscription is down. Absent
   * when the store cannot tell (memory, Upstash, `notifications: false`).
   */
  readonly notifications?: NotificationStatus
}

/**
 * Filters and paging for `read`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ReadOptions {
  /** Only circuits in these states. */
  readonly state?: ReadonlyArray<State> | undefined
  /** Only circuits whose name starts with this. */
  readonly prefix?: string | undefined
  /** At most this many circuits (by name order), from `cursor` on. */
  readonly limit?: number | undefined
  /** The `nextCursor` of the previous page. */
  readonly cursor?: string | undefined
}

/**
 * One read of the fleet's circuits: what could be read, and whether that is
 * everything.
 *
 * @since 0.1.0
 * @category models
 */
export interface FleetRead {
  /** The circuits read, in name order, filtered and paged. */
  readonly circuits: ReadonlyArray<CircuitMetrics>
  /** Circuits that match the filters: all pages (with a `state` filter, from the cursor on). */
  readonly total: number
  /** Where the next page starts, or null on the last one. */
  readonly nextCursor: string | null
  readonly complete: boolean
  readonly unreadable: number
  readonly reason: string | null
}

/**
 * One read of every circuit, shared: the HTTP routes answer from it, whatever
 * their filters, cursors and limits. A new one is read at most once per
 * `snapshotTtl`; requests that arrive while it is read wait for that read.
 *
 * @since 0.1.0
 * @category models
 */
export interface FleetSnapshot {
  /** When the read began (epoch ms): an answer's age is measured from it. */
  readonly takenAt: number
  /** The circuits, filtered and paged as `read` does it, from this snapshot. */
  readonly read: (options?: ReadOptions) => FleetRead
  /** Every circuit, by name (as `getAllMetrics`). */
  readonly metrics: Readonly<Record<string, CircuitMetrics>>
  /** The alerts (as `getAlerts`). */
  readonly alerts: ReadonlyArray<Alert>
  /** The fleet's health (as `health`); its `timestamp` is `takenAt`. */
  readonly health: OverallHealth
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
  /**
   * How long one `snapshot` serves every request (default 1 second): any
   * number of requests costs the store at most one fleet read per interval.
   * `0` reads again for each request that does not find a read in flight.
   */
  readonly snapshotTtl?: Duration.DurationInput | undefined
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
>() {}

/**
 * The alerts for one circuit (the rules of `getAlerts`).
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
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options = {}
): Effect.Effect<
  CircuitBreakerMonitoring["Type"],
  CircuitConfig.CircuitConfigError,
  CircuitStore | CircuitBreakers | Scope.Scope
> => internal.make(options)

/**
 * The service as a layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options?: Options
): Layer.Layer<CircuitBreakerMonitoring, CircuitConfig.CircuitConfigError, CircuitStore | CircuitBreakers> =>
  Layer.scoped(CircuitBreakerMonitoring, make(options))
