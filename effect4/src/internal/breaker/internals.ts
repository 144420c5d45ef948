/**
 * What the library's own modules know of a breaker beyond its public
 * interface: its type ids, its internals (`Internal`, reached with
 * `internalOf`), and the registry's idle sweep it runs (`Sweeper`).
 *
 * @internal
 */
import type * as Clock from "effect/Clock"
import type * as Effect from "effect/Effect"
import type { CircuitBreaker, Metrics } from "../../CircuitBreaker.js"
import type { Snapshot, State } from "../../CircuitState.js"
import type { Circuit } from "../../CircuitStore.js"
import type { Admission } from "./call.js"
import type { RecentTime } from "./recentTime.js"

/** @internal */
export const TypeId: unique symbol = Symbol.for("effect-circuit-breaker-redis/CircuitBreaker")

/** @internal */
export type TypeId = typeof TypeId

/** @internal */
export const InternalTypeId: unique symbol = Symbol.for("effect-circuit-breaker-redis/CircuitBreaker/internal")

/** @internal */
export type InternalTypeId = typeof InternalTypeId

/**
 * What the library's own modules (monitoring, the Promise API) use of a
 * breaker beyond its public interface; reached with `internalOf`.
 *
 * @internal
 */
export interface Internal extends CircuitBreaker {
  readonly circuit: Circuit
  /** The clock the breaker reads, captured when it was made. */
  readonly clock: Clock.Clock
  /** The time of a call on that clock (a recent time, or a clock read). */
  readonly time: RecentTime
  /** True while the last store operation failed and the local fallback is in use. */
  readonly degraded: boolean
  /** When a call last asked this breaker (its clock; a recent time, see `RecentTime`). */
  readonly usedAt: number
  /** The admit step (see `Admission`). */
  admit<A, E>(): Admission<A, E>
  /** Notes the state and version the store reported at `at`. */
  observe(state: State, version: number, at: number): void
  /** This instance's counts, with the circuit's `snapshot`. */
  metricsFrom(snapshot: Snapshot): Metrics
  /** The local fallback's view, without asking the store. */
  localSnapshot(now: number): Effect.Effect<Snapshot>
}

/**
 * The internals of a breaker this library made, or `undefined` for any other
 * object implementing `CircuitBreaker`.
 *
 * @internal
 */
export const internalOf = (breaker: CircuitBreaker): Internal | undefined =>
  (breaker as { readonly [InternalTypeId]?: Internal })[InternalTypeId]

/**
 * What a breaker the `CircuitBreakers` registry made calls in its admit step
 * once `next` (the callers' clock) is reached: the registry's idle sweep, so
 * that a process that keeps the breakers it uses, and asks the registry for
 * no other, still lets the idle ones go. A breaker the sweep let go holds
 * one due at once, which puts it back in the registry (unless the registry
 * made another for its name meanwhile): a breaker still called is never
 * missing from it.
 *
 * @internal
 */
export interface Sweeper {
  readonly next: number
  readonly sweep: (now: number) => void
}
