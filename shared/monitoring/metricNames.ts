/**
 * The metrics every breaker reports, by name, help text and (for the
 * latency histogram) bucket boundaries: the same series for every edition,
 * each of which builds its metric keys from these.
 *
 * @internal
 */

/** A metric's name and its help text. @internal */
export interface MetricName {
  readonly name: string
  readonly help: string
}

/** Counter: calls by outcome. @internal */
export const calls: MetricName = {
  name: "circuit_breaker_calls_total",
  help: "Calls through the circuit breaker, by outcome"
}

/** Counter: state transitions. @internal */
export const transitions: MetricName = {
  name: "circuit_breaker_transitions_total",
  help: "State transitions seen by this instance"
}

/** Gauge: the state as a number (`stateValue`). @internal */
export const state: MetricName = {
  name: "circuit_breaker_state",
  help: "Circuit state: 0 CLOSED, 1 HALF_OPEN, 2 OPEN, 3 FORCED_OPEN, 4 FORCED_CLOSED"
}

/** Histogram: the duration of the calls that ran, with `latencyBoundaries`. @internal */
export const latency: MetricName = {
  name: "circuit_breaker_call_duration_ms",
  help: "Duration of the calls that ran, in milliseconds"
}

/** The latency histogram's bucket boundaries, in milliseconds. @internal */
export const latencyBoundaries: ReadonlyArray<number> = [1, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000]

/** Counter: failed store operations. @internal */
export const storeErrors: MetricName = {
  name: "circuit_breaker_store_errors_total",
  help: "Circuit store operations that failed"
}

/** Counter: round trips to the store. @internal */
export const storeRoundTrips: MetricName = {
  name: "circuit_breaker_store_round_trips_total",
  help: "Round trips made to the circuit store"
}

/** Gauge: Redis's clock minus this instance's. @internal */
export const clockSkew: MetricName = {
  name: "circuit_breaker_clock_skew_ms",
  help: "Redis's clock minus this instance's, in milliseconds, as learned from Redis TIME"
}
