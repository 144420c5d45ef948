/**
 * The errors a Promise of the Promise API rejects with when the breaker, its
 * store or its runtime kept an operation from running: made from the
 * breaker's own errors, the same for every edition.
 *
 * @internal
 */
import { withoutStack } from "../breaker/withoutStack.js"
import { CircuitBreakerError } from "./errors.js"

/**
 * What the Promise side reads of a breaker's error (`CircuitOpen`,
 * `ServiceUnavailable`, `CircuitStoreError`).
 *
 * @internal
 */
export interface BreakerErrorFields {
  readonly service: string
  readonly message: string
}

/**
 * The `CIRCUIT_OPEN` error of a rejection by `open` (a `CircuitOpen`),
 * without a stack trace (as the `CircuitOpen` it wraps has none):
 * rejections are the hot path during an outage.
 *
 * @internal
 */
export const circuitOpenError = (
  open: BreakerErrorFields & { readonly state: "OPEN" | "HALF_OPEN" | "FORCED_OPEN" },
  retryAfterMillis: number
): CircuitBreakerError =>
  withoutStack(() =>
    new CircuitBreakerError({
      code: "CIRCUIT_OPEN",
      serviceName: open.service,
      message: open.message,
      retryAfter: Math.ceil(retryAfterMillis),
      state: open.state,
      cause: open
    })
  )

/**
 * The `SERVICE_UNAVAILABLE` error of a call the store could not decide
 * (`unavailable`, a `ServiceUnavailable`).
 *
 * @internal
 */
export const serviceUnavailableError = (unavailable: BreakerErrorFields): CircuitBreakerError =>
  new CircuitBreakerError({
    code: "SERVICE_UNAVAILABLE",
    serviceName: unavailable.service,
    message: unavailable.message,
    cause: unavailable
  })

/**
 * What a call rejects with when it was interrupted (its runtime was disposed).
 *
 * @internal
 */
export const interruptedError = (): Error =>
  new Error("the circuit breaker call was interrupted (its runtime was disposed)")

/**
 * Thrown when a runtime is used after `dispose()`.
 *
 * @internal
 */
export const disposedError = (label: string): Error =>
  new Error(`circuit breaker runtime (${label}) was disposed; make a new one, or call configureCircuitBreakers()`)

const isCircuitStoreError = (u: unknown): u is Error =>
  u instanceof Error && (u as { readonly _tag?: unknown })._tag === "CircuitStoreError"

/**
 * What an admin action (`reset`, `forceOpen`, `forceClose`) of `serviceName`
 * rejects with, given what its Effect failed with (`rejection`): a store
 * error (the store did not hear of it) becomes a `SERVICE_UNAVAILABLE` (the
 * change still applied to this instance); anything else is handed on.
 *
 * @internal
 */
export const adminRejection = (rejection: unknown, serviceName: string): unknown =>
  isCircuitStoreError(rejection)
    ? new CircuitBreakerError({
      code: "SERVICE_UNAVAILABLE",
      serviceName,
      message: `${rejection.message} (the change applies to this instance only)`,
      cause: rejection
    })
    : rejection
