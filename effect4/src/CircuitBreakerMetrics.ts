/**
 * Effect `Metric`s of every breaker, all named `circuit_breaker_*` and with
 * the attribute `service`. They count what this instance did; the fleet's
 * counts come from `CircuitBreakerMonitoring`. The metrics of breakers made
 * with `CircuitBreaker.make` or named in a `CircuitBreakers` config (at most
 * `setMaxTaggedServices` services) are registered in the
 * `Metric.MetricRegistry` of the context the breaker was made in, so any
 * exporter reading it (OpenTelemetry) sees them; those of circuits made on
 * demand (one per tenant, say) are counted on their breakers and exported by
 * `snapshot` (the Prometheus route of `CircuitBreakerHttp`, the CLI), so that
 * the registry does not grow with every name.
 *
 * @example
 * ```ts
 * import { CircuitBreakerMetrics } from "effect-circuit-breaker-redis"
 * import { Effect, Metric } from "effect"
 *
 * const rejected = Metric.value(
 *   CircuitBreakerMetrics.calls.pipe(Metric.withAttributes({ service: "payments", outcome: "rejected" }))
 * )
 * ```
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import type * as Metric from "effect/Metric"
import type { State } from "./CircuitState.js"
import * as internal from "./internal/monitoring/metrics.js"

/**
 * Redis's clock minus this instance's clock, in milliseconds, as the Redis
 * store last measured it (`timeSource: "server"`, the default). The store
 * runs on Redis's clock whatever this is; a large value says this machine's
 * clock is wrong.
 *
 * @example
 * ```ts
 * import { CircuitBreakerMetrics } from "effect-circuit-breaker-redis"
 * import { Effect, Metric } from "effect"
 *
 * const skewMillis = Metric.value(
 *   CircuitBreakerMetrics.clockSkew.pipe(Metric.withAttributes({ service: "payments" }))
 * ).pipe(Effect.map((gauge) => gauge.value))
 * ```
 *
 * @since 0.1.0
 * @category metrics
 */
export const clockSkew: Metric.Gauge<number> = internal.clockSkew

/**
 * Calls by `outcome`: `success`, `failure` (slow calls included), `rejected`
 * (by an open circuit), `probe` (half-open probes let through).
 *
 * @example
 * ```ts
 * import { CircuitBreakerMetrics } from "effect-circuit-breaker-redis"
 * import { Metric } from "effect"
 *
 * const probes = Metric.value(
 *   CircuitBreakerMetrics.calls.pipe(Metric.withAttributes({ service: "payments", outcome: "probe" }))
 * )
 * ```
 *
 * @since 0.1.0
 * @category metrics
 */
export const calls: Metric.Counter<number> = internal.calls

/**
 * State transitions seen by this instance, tagged `from` and `to`.
 *
 * @example
 * ```ts
 * import { CircuitBreakerMetrics } from "effect-circuit-breaker-redis"
 * import { Metric } from "effect"
 *
 * const trips = Metric.value(
 *   CircuitBreakerMetrics.transitions.pipe(Metric.withAttributes({ service: "payments", from: "CLOSED", to: "OPEN" }))
 * )
 * ```
 *
 * @since 0.1.0
 * @category metrics
 */
export const transitions: Metric.Counter<number> = internal.transitions

/**
 * The current state as a number: see `stateValue`.
 *
 * @example
 * ```ts
 * import { CircuitBreakerMetrics } from "effect-circuit-breaker-redis"
 * import { Effect, Metric } from "effect"
 *
 * const isOpen = Metric.value(CircuitBreakerMetrics.state.pipe(Metric.withAttributes({ service: "payments" }))).pipe(
 *   Effect.map((gauge) => gauge.value === CircuitBreakerMetrics.stateValue.OPEN)
 * )
 * ```
 *
 * @since 0.1.0
 * @category metrics
 */
export const state: Metric.Gauge<number> = internal.state

/**
 * Duration of the calls that ran, in milliseconds.
 *
 * @example
 * ```ts
 * import { CircuitBreakerMetrics } from "effect-circuit-breaker-redis"
 * import { Metric } from "effect"
 *
 * const histogram = Metric.value(CircuitBreakerMetrics.latency.pipe(Metric.withAttributes({ service: "payments" })))
 * ```
 *
 * @since 0.1.0
 * @category metrics
 */
export const latency: Metric.Histogram<number> = internal.latency

/**
 * Store operations that failed (Redis unreachable, timed out, bad reply).
 *
 * @example
 * ```ts
 * import { CircuitBreakerMetrics } from "effect-circuit-breaker-redis"
 * import { Metric } from "effect"
 *
 * const errors = Metric.value(CircuitBreakerMetrics.storeErrors.pipe(Metric.withAttributes({ service: "payments" })))
 * ```
 *
 * @since 0.1.0
 * @category metrics
 */
export const storeErrors: Metric.Counter<number> = internal.storeErrors

/**
 * Round trips made to the store (Redis script calls).
 *
 * @example
 * ```ts
 * import { CircuitBreakerMetrics } from "effect-circuit-breaker-redis"
 * import { Metric } from "effect"
 *
 * const roundTrips = Metric.value(
 *   CircuitBreakerMetrics.storeRoundTrips.pipe(Metric.withAttributes({ service: "payments" }))
 * )
 * ```
 *
 * @since 0.1.0
 * @category metrics
 */
export const storeRoundTrips: Metric.Counter<number> = internal.storeRoundTrips

/**
 * The number the `state` gauge shows for each state.
 *
 * @example
 * ```ts
 * import { CircuitBreakerMetrics } from "effect-circuit-breaker-redis"
 *
 * const open = CircuitBreakerMetrics.stateValue.OPEN
 * ```
 *
 * @since 0.1.0
 * @category metrics
 */
export const stateValue: Readonly<Record<State, number>> = internal.stateValue

/**
 * Sets how many services, at most, have their metrics in one metric
 * registry (default 100). Every distinct attribute set is a registry entry
 * that is never removed; the metrics of any other service are counted on its
 * breakers and exported by `snapshot` while a breaker of it is alive. Services
 * already in the registry stay there.
 *
 * @example
 * ```ts
 * import { CircuitBreakerMetrics } from "effect-circuit-breaker-redis"
 *
 * // at start-up, before the first breaker is made
 * CircuitBreakerMetrics.setMaxTaggedServices(500)
 * ```
 *
 * @since 0.1.0
 * @category metrics
 */
export const setMaxTaggedServices: (max: number) => void = internal.setMaxTaggedServices

/**
 * Every metric of the default metric registry, as `Metric.snapshot` gives
 * them, plus the `circuit_breaker_*` metrics counted on live breakers rather
 * than in a registry (see `setMaxTaggedServices`).
 *
 * @example
 * ```ts
 * import { CircuitBreakerMetrics } from "effect-circuit-breaker-redis"
 *
 * const names = CircuitBreakerMetrics.unsafeSnapshot().map((metric) => metric.id)
 * ```
 *
 * @since 0.1.0
 * @category metrics
 */
export const unsafeSnapshot: () => Array<Metric.Metric.Snapshot> = internal.unsafeSnapshot

/**
 * Every metric of the context's metric registry, as `Metric.snapshot` gives
 * them, plus the `circuit_breaker_*` metrics counted on live breakers rather
 * than in a registry (see `setMaxTaggedServices`): what the Prometheus route
 * and the CLI export.
 *
 * @example
 * ```ts
 * import { CircuitBreakerMetrics } from "effect-circuit-breaker-redis"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const metrics = yield* CircuitBreakerMetrics.snapshot
 *   return metrics.filter((metric) => metric.id.startsWith("circuit_breaker_"))
 * })
 * ```
 *
 * @since 0.1.0
 * @category metrics
 */
export const snapshot: Effect.Effect<Array<Metric.Metric.Snapshot>> = Effect.map(
  Effect.context<never>(),
  internal.snapshotOf
)

/**
 * The hooks of a service's metrics (used by the stores).
 *
 * @internal
 */
export const hooksFor: typeof internal.hooksFor = internal.hooksFor

/** @internal */
export type Hooks = internal.Hooks

/** @internal */
export const serviceCounts: typeof internal.serviceCounts = internal.serviceCounts
