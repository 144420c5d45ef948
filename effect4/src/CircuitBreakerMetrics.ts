/**
 * Effect `Metric`s of every breaker, all named `circuit_breaker_*` and tagged
 * with `service`. They count what this instance did; the fleet's counts come
 * from `CircuitBreakerMonitoring`. The metrics of breakers made with
 * `CircuitBreaker.make` or named in a `CircuitBreakers` config (at most
 * `setMaxTaggedServices` services) live in Effect's global metric registry,
 * so any exporter reading it (OpenTelemetry) sees them; those of circuits
 * made on demand (one per tenant, say) are counted on their breakers and
 * exported by `snapshot` (the Prometheus route of `CircuitBreakerHttp`, the
 * CLI), so that the registry does not grow with every name.
 *
 * @example
 * ```ts
 * import { CircuitBreakerMetrics } from "effect-circuit-breaker-redis"
 * import { Effect, Metric } from "effect"
 *
 * const rejected = Metric.value(
 *   CircuitBreakerMetrics.calls.pipe(Metric.tagged("service", "payments"), Metric.tagged("outcome", "rejected"))
 * )
 * ```
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import type * as MetricPair from "effect/MetricPair"
import type { State } from "./CircuitState.js"
import * as internal from "./internal/monitoring/metrics.js"

/**
 * Redis's clock minus this instance's clock, in milliseconds, as the Redis
 * store last measured it (`timeSource: "server"`, the default). The store
 * runs on Redis's clock whatever this is; a large value says this machine's
 * clock is wrong.
 *
 * @since 0.1.0
 * @category metrics
 */
export const clockSkew = Metric.fromMetricKey(internal.clockSkewKey)

/**
 * Calls by `outcome`: `success`, `failure` (slow calls included), `rejected`
 * (by an open circuit), `probe` (half-open probes let through).
 *
 * @since 0.1.0
 * @category metrics
 */
export const calls = Metric.fromMetricKey(internal.callsKey)

/**
 * State transitions seen by this instance, tagged `from` and `to`.
 *
 * @since 0.1.0
 * @category metrics
 */
export const transitions = Metric.fromMetricKey(internal.transitionsKey)

/**
 * The current state as a number: see `stateValue`.
 *
 * @since 0.1.0
 * @category metrics
 */
export const state = Metric.fromMetricKey(internal.stateKey)

/**
 * Duration of the calls that ran, in milliseconds.
 *
 * @since 0.1.0
 * @category metrics
 */
export const latency = Metric.fromMetricKey(internal.latencyKey)

/**
 * Store operations that failed (Redis unreachable, timed out, bad reply).
 *
 * @since 0.1.0
 * @category metrics
 */
export const storeErrors = Metric.fromMetricKey(internal.storeErrorsKey)

/**
 * Round trips made to the store (Redis script calls).
 *
 * @since 0.1.0
 * @category metrics
 */
export const storeRoundTrips = Metric.fromMetricKey(internal.storeRoundTripsKey)

/**
 * The number the `state` gauge shows for each state.
 *
 * @since 0.1.0
 * @category metrics
 */
export const stateValue: Readonly<Record<State, number>> = internal.stateValue

/**
 * Sets how many services, at most, have their metrics in Effect's global
 * metric registry (default 100). Every distinct tag set is a registry entry
 * that is never removed; the metrics of any other service are counted on its
 * breakers and exported by `snapshot` while a breaker of it is alive. Services
 * already in the registry stay there.
 *
 * @since 0.1.0
 * @category metrics
 */
export const setMaxTaggedServices: (max: number) => void = internal.setMaxTaggedServices

/**
 * Every `circuit_breaker_*` metric of this instance, as `Metric.snapshot`
 * gives them, plus those counted on live breakers rather than in Effect's
 * registry (see `setMaxTaggedServices`): what the Prometheus route and the
 * CLI export.
 *
 * @since 0.1.0
 * @category metrics
 */
export const unsafeSnapshot: () => Array<MetricPair.MetricPair.Untyped> = internal.unsafeSnapshot

/**
 * `unsafeSnapshot` as an effect.
 *
 * @since 0.1.0
 * @category metrics
 */
export const snapshot: Effect.Effect<Array<MetricPair.MetricPair.Untyped>> = Effect.sync(internal.unsafeSnapshot)

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
