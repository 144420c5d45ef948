/**
 * The failures `protect` adds to an effect's error channel.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import { formatMillis } from "../shared/breaker/formatMillis.js"

/**
 * The circuit would not let the call through. `retryAfter` is how long until a
 * probe may be sent (for `HALF_OPEN` with every permit taken: a short wait;
 * for `FORCED_OPEN`: `recoveryTimeout`, as a hint).
 *
 * @example
 * ```ts
 * import { CircuitBreaker } from "effect-circuit-breaker-redis"
 * import { Effect } from "effect"
 *
 * declare const breaker: CircuitBreaker.CircuitBreaker
 * declare const fetchPrice: Effect.Effect<number, Error>
 *
 * const price = fetchPrice.pipe(
 *   CircuitBreaker.protect(breaker),
 *   Effect.catchTag("CircuitOpen", (e) => Effect.succeed(-1)) // e.retryAfter: Duration
 * )
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class CircuitOpen extends Schema.TaggedError<CircuitOpen>("effect-circuit-breaker-redis/CircuitOpen")(
  "CircuitOpen",
  {
    service: Schema.String,
    state: Schema.Literal("OPEN", "HALF_OPEN", "FORCED_OPEN"),
    retryAfter: Schema.DurationFromMillis
  }
) {
  override get message(): string {
    return `Circuit for ${JSON.stringify(this.service)} is ${this.state}; retry after ${format(this.retryAfter)}`
  }
}

/**
 * `Duration.format`, without its `bigint` arithmetic for a whole number of
 * milliseconds (what a rejection's `retryAfter` is): the same text.
 */
const format = (duration: Duration.Duration): string => {
  const value = duration.value
  return (value._tag === "Millis" ? formatMillis(value.millis) : undefined) ?? Duration.format(duration)
}

/**
 * The breaker could not decide (its store is unavailable and the policy is
 * `"fail-closed"`), so the call was not run. `reason` never holds a secret.
 *
 * @since 0.1.0
 * @category errors
 */
export class ServiceUnavailable extends Schema.TaggedError<ServiceUnavailable>(
  "effect-circuit-breaker-redis/ServiceUnavailable"
)("ServiceUnavailable", {
  service: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `Service ${JSON.stringify(this.service)} is unavailable: ${this.reason}`
  }
}

/**
 * @since 0.1.0
 * @category refinements
 */
export const isCircuitOpen = (u: unknown): u is CircuitOpen =>
  Predicate.isTagged(u, "CircuitOpen") && u instanceof CircuitOpen

/**
 * @since 0.1.0
 * @category refinements
 */
export const isServiceUnavailable = (u: unknown): u is ServiceUnavailable =>
  Predicate.isTagged(u, "ServiceUnavailable") && u instanceof ServiceUnavailable
