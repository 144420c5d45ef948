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
 * @since 0.1.0
 * @category models
 */
export const State = Schema.Literals(["CLOSED", "OPEN", "HALF_OPEN", "FORCED_OPEN", "FORCED_CLOSED"])

/**
 * @since 0.1.0
 * @category models
 */
export type State = typeof State.Type

/**
 * What a store knows of a circuit at one instant. Times are epoch
 * milliseconds; `version` grows with every transition and admin action.
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
 * @since 0.1.0
 * @category models
 */
export interface Snapshot extends Schema.Schema.Type<typeof Snapshot> {}

/**
 * A change of state, as one instance saw it.
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
 * @since 0.1.0
 * @category models
 */
export interface Transition extends Schema.Schema.Type<typeof Transition> {}

/**
 * Whether a state lets ordinary calls run without a permit.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isClosed = (state: State): state is "CLOSED" | "FORCED_CLOSED" =>
  state === "CLOSED" || state === "FORCED_CLOSED"
