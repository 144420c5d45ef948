/**
 * The Promise API's errors: `CircuitBreakerError`, `HttpResponseError`, and
 * what a Promise rejects with given how an Effect failed.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import { type CircuitOpen, isCircuitOpen, isServiceUnavailable } from "../../CircuitBreakerError.js"
import { withoutStack } from "../breaker/rejection.js"

/** @internal */
export type ErrorCode = "CIRCUIT_OPEN" | "SERVICE_UNAVAILABLE"

/** @internal */
export interface ErrorOptions {
  readonly code: ErrorCode
  readonly serviceName: string
  readonly message: string
  readonly retryAfter?: number | undefined
  readonly state?: "OPEN" | "HALF_OPEN" | "FORCED_OPEN" | undefined
  readonly cause?: unknown
}

/**
 * The Promise side's breaker error (re-exported as `CircuitBreakerError`).
 *
 * @internal
 */
export class CircuitBreakerError extends Error {
  override readonly name = "CircuitBreakerError"
  /** `CIRCUIT_OPEN`: the circuit rejected the call. `SERVICE_UNAVAILABLE`: the store could not decide. */
  readonly code: ErrorCode
  /** The protected service. */
  readonly serviceName: string
  /** For `CIRCUIT_OPEN`: milliseconds until a call may be let through. */
  readonly retryAfter?: number
  /** For `CIRCUIT_OPEN`: the state that rejected the call. */
  readonly state?: "OPEN" | "HALF_OPEN" | "FORCED_OPEN"

  constructor(options: ErrorOptions) {
    super(options.message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = options.code
    this.serviceName = options.serviceName
    if (options.retryAfter !== undefined) this.retryAfter = options.retryAfter
    if (options.state !== undefined) this.state = options.state
  }

  /** A plain object for logs and JSON bodies (no cause, no stack). */
  toJSON(): {
    readonly name: string
    readonly code: ErrorCode
    readonly serviceName: string
    readonly message: string
    readonly retryAfter?: number
    readonly state?: string
  } {
    return {
      name: this.name,
      code: this.code,
      serviceName: this.serviceName,
      message: this.message,
      ...(this.retryAfter !== undefined ? { retryAfter: this.retryAfter } : {}),
      ...(this.state !== undefined ? { state: this.state } : {})
    }
  }
}

/**
 * The `CIRCUIT_OPEN` error of a rejection, without a stack trace (as the
 * `CircuitOpen` it wraps has none): rejections are the hot path during an
 * outage.
 *
 * @internal
 */
export const circuitOpenError = (error: CircuitOpen): CircuitBreakerError =>
  withoutStack(() =>
    new CircuitBreakerError({
      code: "CIRCUIT_OPEN",
      serviceName: error.service,
      message: error.message,
      retryAfter: Math.ceil(Duration.toMillis(error.retryAfter)),
      state: error.state,
      cause: error
    })
  )

/**
 * What a Promise rejects with, given how the Effect failed: the breaker's own
 * errors become `CircuitBreakerError`s, anything else is handed on as it was.
 *
 * @internal
 */
export const rejectionOf = (cause: Cause.Cause<unknown>, breakerMayReject: boolean): unknown => {
  const failure = Cause.failureOption(cause)
  if (failure._tag === "Some") {
    // an error failed with `Effect.fail` inside a span is a Proxy of the original
    const error = Cause.originalError(failure.value)
    if (breakerMayReject) {
      if (isCircuitOpen(error)) return circuitOpenError(error)
      if (isServiceUnavailable(error)) {
        return new CircuitBreakerError({
          code: "SERVICE_UNAVAILABLE",
          serviceName: error.service,
          message: error.message,
          cause: error
        })
      }
    }
    return error
  }
  if (Cause.isInterruptedOnly(cause)) {
    return new Error("the circuit breaker call was interrupted (its runtime was disposed)")
  }
  return Cause.squash(cause)
}

/**
 * The failure recorded for a handler's 5xx response under
 * `withCircuitBreaker` (re-exported as `HttpResponseError`).
 *
 * @internal
 */
export class HttpResponseError extends Error {
  override readonly name = "HttpResponseError"
  constructor(readonly response: Response) {
    super(`handler answered ${response.status}${response.statusText ? ` ${response.statusText}` : ""}`)
  }
}
