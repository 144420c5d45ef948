/**
 * The Promise API's `execute`: an operation run through a breaker, without a
 * fiber when the breaker's admit step lets it run at once.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Runtime from "effect/Runtime"
import type { CircuitBreaker } from "../../CircuitBreaker.js"
import { isCircuitOpen, isServiceUnavailable } from "../../CircuitBreakerError.js"
import { internalOf } from "../breaker/circuitBreaker.js"
import { circuitOpenError, rejectionOf } from "./error.js"
import { type PromiseRuntime, type Services, toPromise } from "./runtime.js"
import { describeError, isThenable } from "../../../shared/promise/api.js"

/**
 * The operation as an Effect: its result, or its own error untouched. A
 * function that returns a plain value (not a Promise) is accepted too; one
 * that throws synchronously fails the same way as one that rejects.
 */
const fromOperation = <T>(operation: () => PromiseLike<T> | T, onStart: () => void): Effect.Effect<T, unknown> =>
  Effect.async<T, unknown>((resume) => {
    onStart()
    let result: PromiseLike<T> | T
    let thenable: boolean
    try {
      result = operation()
      // a `then` getter that throws is the operation failing, as a throwing operation is
      thenable = isThenable(result)
    } catch (error) {
      resume(Exit.failCause(Cause.fail(error)))
      return
    }
    if (thenable) {
      // Promise.resolve adopts the thenable and turns a `then` that throws into a rejection
      Promise.resolve(result).then(
        (value) => resume(Exit.succeed(value as T)),
        // not `Effect.fail`: inside a span it would hand on a Proxy of the error, not the error
        (error: unknown) => resume(Exit.failCause(Cause.fail(error)))
      )
      return
    }
    resume(Exit.succeed(result as T))
  })

/** Debug logs and a span for a named operation. */
const traced = <A>(
  effect: Effect.Effect<A, unknown>,
  service: string,
  operation: string
): Effect.Effect<A, unknown> =>
  Effect.suspend(() => {
    const start = Date.now()
    return effect.pipe(
      Effect.onExit((exit) => {
        const ms = Date.now() - start
        if (Exit.isSuccess(exit)) return Effect.logDebug(`operation ${JSON.stringify(operation)} succeeded in ${ms} ms`)
        const failure = Cause.failureOption(exit.cause)
        if (failure._tag === "Some" && (isCircuitOpen(failure.value) || isServiceUnavailable(failure.value))) {
          return Effect.logDebug(`operation ${JSON.stringify(operation)} not run: ${failure.value.message}`)
        }
        return Effect.logDebug(
          `operation ${JSON.stringify(operation)} failed after ${ms} ms: ${
            failure._tag === "Some" ? describeError(failure.value) : "interrupted or defect"
          }`
        )
      }),
      Effect.withSpan(`circuit-breaker.execute ${operation}`, {
        attributes: { "circuit_breaker.service": service, "circuit_breaker.operation": operation },
        // a stack trace is captured on every call otherwise
        captureStackTrace: false
      }),
      Effect.annotateLogs({ service, operation })
    )
  })

/** `breaker.protect(operation)` on a fiber of its own: every path of the breaker. */
const executeOnFiber = <T>(
  runtime: PromiseRuntime,
  rt: Runtime.Runtime<Services>,
  breaker: CircuitBreaker,
  operation: () => PromiseLike<T> | T,
  operationName: string | undefined
): Promise<T> => {
  let ran = false
  let effect: Effect.Effect<T, unknown> = breaker.protect(fromOperation(operation, () => {
    ran = true
  }))
  if (operationName !== undefined && runtime.traced) {
    effect = traced(effect, breaker.config.serviceName, operationName)
  }
  // an error of the operation is handed on as it is; the breaker's own become CircuitBreakerErrors
  return toPromise(rt, effect, (cause) => rejectionOf(cause, !ran))
}

/**
 * Runs `operation` through the breaker. Rejects with the operation's own
 * error when it ran and failed, with a `CircuitBreakerError` when the breaker
 * did not let it run.
 *
 * The common case, a call the breaker's admit step lets run at once (CLOSED,
 * cache fresh), takes no fiber: the operation's Promise stands where
 * `protect` has its `matchCauseEffect`, and its outcome goes to the same
 * handlers, without the cost of a fiber per call.
 * Whatever needs the store (an expired cache, a failure to record, a probe)
 * runs as an Effect, on a fiber, exactly as `protect` runs it.
 *
 * @internal
 */
export const execute = <T>(
  runtime: PromiseRuntime,
  rt: Runtime.Runtime<Services>,
  breaker: CircuitBreaker,
  operation: () => PromiseLike<T> | T,
  operationName: string | undefined
): Promise<T> => {
  const internal = internalOf(breaker)
  if (internal === undefined || (operationName !== undefined && runtime.traced)) {
    return executeOnFiber(runtime, rt, breaker, operation, operationName)
  }
  const admitted = internal.admit<T, unknown>()
  if (admitted === undefined) return executeOnFiber(runtime, rt, breaker, operation, operationName)
  if (admitted._tag !== "Run") {
    const cause = admitted.cause
    return Promise.reject(cause._tag === "Fail" ? circuitOpenError(cause.error) : rejectionOf(cause, true))
  }
  const failed = (error: unknown): T | Promise<T> => outcome(rt, admitted.onFailure(Cause.fail(error)))
  let result: PromiseLike<T> | T
  let thenable: boolean
  try {
    result = operation()
    // a `then` getter that throws is the operation failing, as a throwing operation is
    thenable = isThenable(result)
  } catch (error) {
    return settled(() => failed(error))
  }
  if (thenable) {
    return Promise.resolve(result).then((value) => outcome(rt, admitted.onSuccess(value as T)), failed)
  }
  return settled(() => outcome(rt, admitted.onSuccess(result as T)))
}

/**
 * What a handler decided, for a `then` callback: the value, a thrown
 * rejection, or (when the store must hear of the outcome) a Promise of either.
 */
const outcome = <A>(rt: Runtime.Runtime<Services>, effect: Effect.Effect<A, unknown>): A | Promise<A> => {
  if (Exit.isExit(effect)) {
    const exit = effect as Exit.Exit<A, unknown>
    if (exit._tag === "Success") return exit.value
    throw rejectionOf(exit.cause, false)
  }
  return toPromise(rt, effect, (cause) => rejectionOf(cause, false))
}

const settled = <A>(f: () => A | Promise<A>): Promise<A> => {
  try {
    return Promise.resolve(f())
  } catch (error) {
    return Promise.reject(error)
  }
}
