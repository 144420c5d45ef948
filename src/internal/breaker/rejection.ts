/**
 * The error of a rejected call, made without capturing a stack trace: a
 * rejection is the hot path during an outage, and its stack would only show
 * the breaker's own frames.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import { CircuitOpen } from "../../CircuitBreakerError.js"
import { bareError } from "../../../shared/breaker/withoutStack.js"

/** @internal */
export { withoutStack } from "../../../shared/breaker/withoutStack.js"

/**
 * A `CircuitOpen` with the fields and own properties the class's constructor
 * gives one (`service`, `state`, `retryAfter`, `_tag`), a native `Error`
 * whose prototype is `CircuitOpen.prototype` (so `instanceof`,
 * `isCircuitOpen`, `Effect.catchTag` and the `message` getter hold), without
 * the constructor's validation (the fields are known valid) or stack trace.
 *
 * @internal
 */
export const circuitOpen = (
  service: string,
  state: CircuitOpen["state"],
  retryAfterMillis: number
): CircuitOpen => {
  const error = bareError<{ -readonly [K in keyof CircuitOpen]: CircuitOpen[K] }>(CircuitOpen)
  error.service = service
  error.state = state
  error.retryAfter = Duration.millis(retryAfterMillis)
  error._tag = "CircuitOpen"
  return error
}
