/**
 * The states of a circuit, the snapshot a store returns, and the transitions
 * a breaker reports.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * The five states. `FORCED_OPEN` and `FORCED_CLOSED` are sticky admin states:
 * they hold until `reset`.
 *
 * @example
 * ```ts
 * import { CircuitState } from "effect-circuit-breaker-redis"
 * import { Schema } from "effect"
 *
 * const state = Schema.decodeUnknownSync(CircuitState.State)("HALF_OPEN")
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export const State = Schema.Literals(["CLOSED", "OPEN", "HALF_OPEN", "FORCED_OPEN", "FORCED_CLOSED"])

/**
 * @example
 * ```ts
 * import type { CircuitState } from "effect-circuit-breaker-redis"
 *
 * const sticky: ReadonlyArray<CircuitState.State> = ["FORCED_OPEN", "FORCED_CLOSED"]
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type State = typeof State.Type

/**
 * What a store knows of a circuit at one instant. Times are epoch
 * milliseconds; `version` grows with every transition and admin action.
 *
 * @example
 * ```ts
 * import { CircuitState } from "effect-circuit-breaker-redis"
 * import { Schema } from "effect"
 *
 * const isSnapshot = Schema.is(CircuitState.Snapshot)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export const Snapshot = Schema.Struct({
  state: State,
  version: Schema.Number,
  /** Consecutive re-opens: the exponent of the backoff. */
  openCount: Schema.Number,
  /** When the circuit last opened (0 if never). */
  openedAt: Schema.Number,
  /** When an open circuit lets its first probe through (0 unless OPEN). */
  retryAt: Schema.Number,
  /** When the state last changed. */
  changedAt: Schema.Number,
  /** Failures in the sliding window. */
  failures: Schema.Number,
  /** Calls (successes and failures) in the sliding window. */
  calls: Schema.Number,
  /** Probe successes so far in HALF_OPEN. */
  halfOpenSuccesses: Schema.Number,
  /** Probe permits currently leased across the fleet. */
  probes: Schema.Number
})

/**
 * @example
 * ```ts
 * import { CircuitBreaker, type CircuitState } from "effect-circuit-breaker-redis"
 * import { Effect } from "effect"
 *
 * declare const breaker: CircuitBreaker.CircuitBreaker
 *
 * const state = Effect.map(breaker.snapshot, (snapshot: CircuitState.Snapshot) => snapshot.state)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Snapshot extends Schema.Schema.Type<typeof Snapshot> {}

/**
 * A change of state, as one instance saw it.
 *
 * @example
 * ```ts
 * import { CircuitState } from "effect-circuit-breaker-redis"
 * import { Schema } from "effect"
 *
 * const encode = Schema.encodeSync(CircuitState.Transition)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export const Transition = Schema.Struct({
  service: Schema.String,
  from: State,
  to: State,
  /** Epoch milliseconds, from the instance's `Clock`. */
  at: Schema.Number,
  version: Schema.Number
})

/**
 * @example
 * ```ts
 * import { CircuitBreaker, type CircuitState } from "effect-circuit-breaker-redis"
 * import { Effect, Stream } from "effect"
 *
 * declare const breaker: CircuitBreaker.CircuitBreaker
 *
 * const logged = breaker.stateChanges.pipe(
 *   Stream.runForEach((t: CircuitState.Transition) => Effect.log(`${t.from} -> ${t.to}`))
 * )
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Transition extends Schema.Schema.Type<typeof Transition> {}

/**
 * Whether a state lets ordinary calls run without a permit.
 *
 * @example
 * ```ts
 * import { CircuitBreaker, CircuitState } from "effect-circuit-breaker-redis"
 * import { Effect } from "effect"
 *
 * declare const breaker: CircuitBreaker.CircuitBreaker
 *
 * const closed = Effect.map(breaker.state, CircuitState.isClosed)
 * ```
 *
 * @since 0.1.0
 * @category predicates
 */
export const isClosed = (state: State): state is "CLOSED" | "FORCED_CLOSED" =>
  state === "CLOSED" || state === "FORCED_CLOSED"
