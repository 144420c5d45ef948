/**
 * The failures `protect` adds to an effect's error channel.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import { formatMillis } from "../../shared/breaker/formatMillis.js"

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

// the error's name is its tag, as its stack and logs show it (the class's identifier is namespaced)
Object.defineProperty(CircuitOpen.prototype, "name", { value: "CircuitOpen", writable: true, configurable: true })

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
 *   Effect.catchTag("ServiceUnavailable", (e) => Effect.fail(new Error(e.message))) // e.reason: string
 * )
 * ```
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

// the error's name is its tag, as its stack and logs show it (the class's identifier is namespaced)
Object.defineProperty(ServiceUnavailable.prototype, "name", {
  value: "ServiceUnavailable",
  writable: true,
  configurable: true
})

/**
 * @example
 * ```ts
 * import { CircuitBreakerError } from "effect-circuit-breaker-redis"
 *
 * declare const error: unknown
 *
 * const retryAfter = CircuitBreakerError.isCircuitOpen(error) ? error.retryAfter : undefined
 * ```
 *
 * @since 0.1.0
 * @category refinements
 */
export const isCircuitOpen = (u: unknown): u is CircuitOpen =>
  Predicate.isTagged(u, "CircuitOpen") && u instanceof CircuitOpen

/**
 * @example
 * ```ts
 * import { CircuitBreakerError } from "effect-circuit-breaker-redis"
 *
 * declare const error: unknown
 *
 * const reason = CircuitBreakerError.isServiceUnavailable(error) ? error.reason : undefined
 * ```
 *
 * @since 0.1.0
 * @category refinements
 */
export const isServiceUnavailable = (u: unknown): u is ServiceUnavailable =>
  Predicate.isTagged(u, "ServiceUnavailable") && u instanceof ServiceUnavailable
