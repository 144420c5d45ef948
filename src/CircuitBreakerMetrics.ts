/**
 * Effect `Metric`s of every breaker, all named `circuit_breaker_*` and tagged
 * with `service`. They live in Effect's global metric registry, so any
 * exporter reading it (OpenTelemetry, the Prometheus route of
 * `CircuitBreakerHttp`) sees them. They count what this instance did; the
 * fleet's counts come from `CircuitBreakerMonitoring`.
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
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import type * as MetricHook from "effect/MetricHook"
import * as MetricKey from "effect/MetricKey"
import type { State } from "./CircuitState.js"

const callsKey = MetricKey.counter("circuit_breaker_calls_total", {
  description: "Calls through the circuit breaker, by outcome",
  incremental: true
})
const transitionsKey = MetricKey.counter("circuit_breaker_transitions_total", {
  description: "State transitions seen by this instance",
  incremental: true
})
const stateKey = MetricKey.gauge("circuit_breaker_state", {
  description: "Circuit state: 0 CLOSED, 1 HALF_OPEN, 2 OPEN, 3 FORCED_OPEN, 4 FORCED_CLOSED"
})
const latencyKey = MetricKey.histogram(
  "circuit_breaker_call_duration_ms",
  MetricBoundaries.fromIterable([1, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000]),
  "Duration of the calls that ran, in milliseconds"
)
const storeErrorsKey = MetricKey.counter("circuit_breaker_store_errors_total", {
  description: "Circuit store operations that failed",
  incremental: true
})
const storeRoundTripsKey = MetricKey.counter("circuit_breaker_store_round_trips_total", {
  description: "Round trips made to the circuit store",
  incremental: true
})
const clockSkewKey = MetricKey.gauge("circuit_breaker_clock_skew_ms", {
  description: "Redis's clock minus this instance's, in milliseconds, as learned from Redis TIME"
})

/**
 * Redis's clock minus this instance's clock, in milliseconds, as the Redis
 * store last measured it (`timeSource: "server"`, the default). The store
 * runs on Redis's clock whatever this is; a large value says this machine's
 * clock is wrong.
 *
 * @since 0.1.0
 * @category metrics
 */
export const clockSkew = Metric.fromMetricKey(clockSkewKey)

/**
 * Calls by `outcome`: `success`, `failure` (slow calls included), `rejected`
 * (by an open circuit), `probe` (half-open probes let through).
 *
 * @since 0.1.0
 * @category metrics
 */
export const calls = Metric.fromMetricKey(callsKey)

/**
 * State transitions seen by this instance, tagged `from` and `to`.
 *
 * @since 0.1.0
 * @category metrics
 */
export const transitions = Metric.fromMetricKey(transitionsKey)

/**
 * The current state as a number: see `stateValue`.
 *
 * @since 0.1.0
 * @category metrics
 */
export const state = Metric.fromMetricKey(stateKey)

/**
 * Duration of the calls that ran, in milliseconds.
 *
 * @since 0.1.0
 * @category metrics
 */
export const latency = Metric.fromMetricKey(latencyKey)

/**
 * Store operations that failed (Redis unreachable, timed out, bad reply).
 *
 * @since 0.1.0
 * @category metrics
 */
export const storeErrors = Metric.fromMetricKey(storeErrorsKey)

/**
 * Round trips made to the store (Redis script calls).
 *
 * @since 0.1.0
 * @category metrics
 */
export const storeRoundTrips = Metric.fromMetricKey(storeRoundTripsKey)

/**
 * The number the `state` gauge shows for each state.
 *
 * @since 0.1.0
 * @category metrics
 */
export const stateValue: Readonly<Record<State, number>> = {
  CLOSED: 0,
  HALF_OPEN: 1,
  OPEN: 2,
  FORCED_OPEN: 3,
  FORCED_CLOSED: 4
}

const hook = <K extends MetricKey.MetricKey<any>>(
  key: K,
  tags: ReadonlyArray<readonly [string, string]>
): MetricHook.MetricHook<number, unknown> =>
  Metric.globalMetricRegistry.get(
    tags.reduce((k, [tag, value]) => MetricKey.tagged(k, tag, value), key as MetricKey.MetricKey<any>)
  ) as MetricHook.MetricHook<number, unknown>

/**
 * The registry hooks of one service's metrics. Updating a hook directly
 * costs a few nanoseconds, where `Metric.increment` with tags looks the key
 * up on every call: this is what keeps the hot path of `protect` cheap.
 *
 * @internal
 */
export class Hooks {
  constructor(readonly service: string) {}
  // made on first use: an idle breaker costs no registry entry
  private success: MetricHook.MetricHook<number, unknown> | undefined
  private failure: MetricHook.MetricHook<number, unknown> | undefined
  private rejected: MetricHook.MetricHook<number, unknown> | undefined
  private probe: MetricHook.MetricHook<number, unknown> | undefined
  private latencyHook: MetricHook.MetricHook<number, unknown> | undefined
  private stateHook: MetricHook.MetricHook<number, unknown> | undefined
  private storeErrorsHook: MetricHook.MetricHook<number, unknown> | undefined
  private storeRoundTripsHook: MetricHook.MetricHook<number, unknown> | undefined

  call(outcome: "success" | "failure" | "rejected" | "probe"): MetricHook.MetricHook<number, unknown> {
    const cached = this[outcome]
    if (cached !== undefined) return cached
    return (this[outcome] = hook(callsKey, [["service", this.service], ["outcome", outcome]]))
  }
  get latency(): MetricHook.MetricHook<number, unknown> {
    return this.latencyHook ?? (this.latencyHook = hook(latencyKey, [["service", this.service]]))
  }
  get state(): MetricHook.MetricHook<number, unknown> {
    return this.stateHook ?? (this.stateHook = hook(stateKey, [["service", this.service]]))
  }
  get storeErrors(): MetricHook.MetricHook<number, unknown> {
    return this.storeErrorsHook ?? (this.storeErrorsHook = hook(storeErrorsKey, [["service", this.service]]))
  }
  get storeRoundTrips(): MetricHook.MetricHook<number, unknown> {
    return this.storeRoundTripsHook ??
      (this.storeRoundTripsHook = hook(storeRoundTripsKey, [["service", this.service]]))
  }
  transition(from: State, to: State): void {
    hook(transitionsKey, [["service", this.service], ["from", from], ["to", to]]).update(1)
  }
}

const hooksByService = new Map<string, Hooks>()

/**
 * The hooks of `service`, made once per service.
 *
 * @internal
 */
export const hooksFor = (service: string): Hooks => {
  let hooks = hooksByService.get(service)
  if (hooks === undefined) {
    hooks = new Hooks(service)
    hooksByService.set(service, hooks)
  }
  return hooks
}
