/**
 * The Promise API's errors, `CircuitBreakerError` with its codes and `HttpResponseError`: plain
 * JavaScript errors, the same for every edition (each turns its breaker's
 * rejections into them).
 *
 * @internal
 */

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
