/**
 * The Promise API's errors: `CircuitBreakerError` and `HttpResponseError`
 * (shared/promise/errors.ts), and what a Promise rejects with given how an Effect
 * failed.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import { type CircuitOpen, isCircuitOpen, isServiceUnavailable } from "../../CircuitBreakerError.js"
import type { CircuitBreakerError } from "../../../../shared/promise/errors.js"
import {
  circuitOpenError as openError,
  interruptedError,
  serviceUnavailableError
} from "../../../../shared/promise/rejections.js"

/** @internal */
export {
  CircuitBreakerError,
  type ErrorCode,
  type ErrorOptions,
  HttpResponseError
} from "../../../../shared/promise/errors.js"

/**
 * The `CIRCUIT_OPEN` error of a rejection, without a stack trace (as the
 * `CircuitOpen` it wraps has none): rejections are the hot path during an
 * outage.
 *
 * @internal
 */
export const circuitOpenError = (error: CircuitOpen): CircuitBreakerError =>
  openError(error, Duration.toMillis(error.retryAfter))

/**
 * What a Promise rejects with, given how the Effect failed: the breaker's own
 * errors become `CircuitBreakerError`s, anything else is handed on as it was.
 *
 * @internal
 */
export const rejectionOf = (cause: Cause.Cause<unknown>, breakerMayReject: boolean): unknown => {
  const failure = Cause.findErrorOption(cause)
  if (failure._tag === "Some") {
    const error = failure.value
    if (breakerMayReject) {
      if (isCircuitOpen(error)) return circuitOpenError(error)
      if (isServiceUnavailable(error)) return serviceUnavailableError(error)
    }
    return error
  }
  if (Cause.hasInterruptsOnly(cause)) {
    return interruptedError()
  }
  return Cause.squash(cause)
}
