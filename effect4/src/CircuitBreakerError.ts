/**
 * The failures `protect` adds to an effect's error channel.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"

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
    state: Schema.Literals(["OPEN", "HALF_OPEN", "FORCED_OPEN"]),
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
  if (value._tag !== "Millis" || !Number.isSafeInteger(value.millis) || value.millis <= 0) {
    return Duration.format(duration)
  }
  let ms = value.millis
  const days = Math.floor(ms / 86_400_000)
  ms -= days * 86_400_000
  const hours = Math.floor(ms / 3_600_000)
  ms -= hours * 3_600_000
  const minutes = Math.floor(ms / 60_000)
  ms -= minutes * 60_000
  const seconds = Math.floor(ms / 1_000)
  ms -= seconds * 1_000
  let text = ""
  if (days !== 0) text = `${days}d`
  if (hours !== 0) text = text === "" ? `${hours}h` : `${text} ${hours}h`
  if (minutes !== 0) text = text === "" ? `${minutes}m` : `${text} ${minutes}m`
  if (seconds !== 0) text = text === "" ? `${seconds}s` : `${text} ${seconds}s`
  if (ms !== 0) text = text === "" ? `${ms}ms` : `${text} ${ms}ms`
  return text
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
