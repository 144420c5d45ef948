/**
 * What the admit step hands a call it lets run (`Handlers`): the handlers of
 * a call whose duration is measured (`Call`), the ones shared by the calls
 * whose duration is not (`Untimed`), and which calls are measured
 * (`Sampler`, shared/breaker/sampler.ts).
 *
 * @internal
 */
import type * as Cause from "effect/Cause"
import type * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import type { CircuitOpen } from "../../CircuitBreakerError.js"
import type { Circuit } from "../../CircuitStore.js"

/**
 * What a call admitted without asking the store hands its outcome to: the
 * `matchCauseEffect` options of `protect`. Each gives back an effect that is
 * already complete (an `Exit`) unless the store must hear of the outcome.
 *
 * @internal
 */
export interface Handlers<A, E> {
  /** Tells handlers from a rejection (an `Exit`) with one field read. */
  readonly _tag: "Run"
  readonly onSuccess: (a: A) => Effect.Effect<A>
  readonly onFailure: (cause: Cause.Cause<E>) => Effect.Effect<never, E>
}

/**
 * What the admit step decided: the failure of a rejected call (an `Exit`),
 * the handlers of a call that may run now, or `undefined` when the store must
 * be asked.
 *
 * @internal
 */
export type Admission<A, E> = Exit.Failure<never, CircuitOpen> | Handlers<A, E> | undefined

/**
 * What the handlers report a call's outcome to: the breaker.
 *
 * @internal
 */
export interface CallOwner {
  readonly circuit: Circuit
  callSucceeded<A>(a: A, start: number, circuit: Circuit, probe: string | undefined): Effect.Effect<A>
  callFailed<E>(
    cause: Cause.Cause<E>,
    start: number | undefined,
    circuit: Circuit,
    probe: string | undefined
  ): Effect.Effect<never, E>
  untimedSuccess<A>(a: A): Effect.Effect<A>
}

/**
 * The handlers of one admitted call whose duration is measured (it started
 * at `start`). The functions are assigned in the
 * constructor (one closure context per call) rather than written in an object
 * literal: an arrow function there gets a name, and esbuild's `keepNames`
 * (tsx, some bundlers) then wraps it on every call.
 *
 * @internal
 */
export class Call<A, E> implements Handlers<A, E> {
  readonly _tag = "Run"
  readonly onSuccess: (a: A) => Effect.Effect<A>
  readonly onFailure: (cause: Cause.Cause<E>) => Effect.Effect<never, E>
  constructor(breaker: CallOwner, start: number, circuit: Circuit, probe: string | undefined) {
    this.onSuccess = (a) => breaker.callSucceeded(a, start, circuit, probe)
    this.onFailure = (cause) => breaker.callFailed(cause, start, circuit, probe)
  }
}

/**
 * The handlers shared by every call a breaker admits without a permit and
 * without measuring its duration (see `Sampler`): nothing of the call is
 * needed, so nothing is allocated per call. A success is stamped with a
 * recent time (no clock read); a failure reads the clock.
 *
 * @internal
 */
export class Untimed<A, E> implements Handlers<A, E> {
  readonly _tag = "Run"
  readonly onSuccess: (a: A) => Effect.Effect<A>
  readonly onFailure: (cause: Cause.Cause<E>) => Effect.Effect<never, E>
  constructor(breaker: CallOwner) {
    this.onSuccess = (a) => breaker.untimedSuccess(a)
    this.onFailure = (cause) => breaker.callFailed(cause, undefined, breaker.circuit, undefined)
  }
}

/** @internal */
export { Sampler } from "../../../../shared/breaker/sampler.js"
