/**
 * A circuit breaker whose state lives in a `CircuitStore`: in memory for one
 * process, in Redis for a fleet.
 *
 * @example
 * ```ts
 * import { CircuitBreaker, CircuitStore } from "effect-circuit-breaker-redis"
 * import { Effect } from "effect"
 *
 * declare const charge: Effect.Effect<string, Error>
 *
 * const program = Effect.gen(function*() {
 *   const breaker = yield* CircuitBreaker.make("payments", { failureThreshold: 5 })
 *   return yield* charge.pipe(CircuitBreaker.protect(breaker))
 *   //            ^? Effect<string, Error | CircuitOpen | ServiceUnavailable>
 * }).pipe(Effect.provide(CircuitStore.layerMemory))
 * ```
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Schedule from "effect/Schedule"
import type * as Stream from "effect/Stream"
import type { CircuitOpen, ServiceUnavailable } from "./CircuitBreakerError.js"
import { isCircuitOpen } from "./CircuitBreakerError.js"
import { CircuitBreakers } from "./CircuitBreakers.js"
import type * as CircuitConfig from "./CircuitConfig.js"
import type { Snapshot, State, Transition } from "./CircuitState.js"
import type { CircuitStore, CircuitStoreError } from "./CircuitStore.js"
import * as internal from "./internal/breaker/circuitBreaker.js"
import type { Health, Metrics } from "../../shared/model.js"

/**
 * A breaker's metrics and health: plain types shared by both editions (`shared/model.ts`, where each is documented).
 *
 * @example
 * ```ts
 * import type { CircuitBreaker } from "effect-circuit-breaker-redis"
 * import { Effect } from "effect"
 *
 * declare const breaker: CircuitBreaker.CircuitBreaker
 *
 * const status = Effect.map(breaker.health, (health: CircuitBreaker.Health): CircuitBreaker.HealthStatus => health.status)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type { Health, HealthStatus, Metrics } from "../../shared/model.js"

/**
 * @example
 * ```ts
 * import { CircuitBreaker } from "effect-circuit-breaker-redis"
 *
 * declare const value: object
 *
 * const isBreaker = CircuitBreaker.TypeId in value
 * ```
 *
 * @since 0.1.0
 * @category type ids
 */
export const TypeId: typeof internal.TypeId = internal.TypeId

/**
 * @example
 * ```ts
 * import { CircuitBreaker } from "effect-circuit-breaker-redis"
 *
 * declare const breaker: CircuitBreaker.CircuitBreaker
 *
 * const id: CircuitBreaker.TypeId = breaker[CircuitBreaker.TypeId]
 * ```
 *
 * @since 0.1.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * A circuit breaker for one protected service.
 *
 * @example
 * ```ts
 * import { CircuitBreaker } from "effect-circuit-breaker-redis"
 * import { Effect } from "effect"
 *
 * declare const fetchPrice: Effect.Effect<number, Error>
 *
 * const program = Effect.gen(function*() {
 *   const breaker: CircuitBreaker.CircuitBreaker = yield* CircuitBreaker.make("prices")
 *   const price = yield* breaker.protect(fetchPrice)
 *   const state = yield* breaker.state
 *   return { price, state }
 * })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface CircuitBreaker {
  readonly [TypeId]: TypeId
  /** The circuit's name (its key in the store). */
  readonly name: string
  /** The decoded configuration. */
  readonly config: CircuitConfig.CircuitConfig
  /** This instance, as it appears in probe leases and metrics. */
  readonly instanceId: string
  /** Runs `self` if the circuit lets it through, and records how it ended. */
  readonly protect: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | CircuitOpen | ServiceUnavailable, R>
  /** The circuit's state now (from the local fallback while the store is unavailable). */
  readonly state: Effect.Effect<State>
  /** The store's full view of the circuit (or the local fallback's). */
  readonly snapshot: Effect.Effect<Snapshot>
  /** Local counts and the circuit's window. */
  readonly metrics: Effect.Effect<Metrics>
  /** Status, state and metrics; `degraded` while the store is unavailable. */
  readonly health: Effect.Effect<Health>
  /** Whether a call made now would be let through (takes no permit). */
  readonly isAvailable: Effect.Effect<boolean>
  /**
   * Back to CLOSED with an empty window and backoff. Admin actions apply to
   * this instance even when the store is unavailable, and then fail with the
   * store's error, since the fleet did not hear of them.
   */
  readonly reset: Effect.Effect<void, CircuitStoreError>
  /** Sticky: reject every call until `reset`. */
  readonly forceOpen: Effect.Effect<void, CircuitStoreError>
  /** Sticky: run every call (outcomes still counted, never trips) until `reset`. */
  readonly forceClose: Effect.Effect<void, CircuitStoreError>
  /** The transitions this instance sees, from the moment of subscription. */
  readonly stateChanges: Stream.Stream<Transition>
}

/**
 * @example
 * ```ts
 * import { CircuitBreaker } from "effect-circuit-breaker-redis"
 *
 * declare const value: unknown
 *
 * const name = CircuitBreaker.isCircuitBreaker(value) ? value.name : undefined
 * ```
 *
 * @since 0.1.0
 * @category refinements
 */
export const isCircuitBreaker = (u: unknown): u is CircuitBreaker => typeof u === "object" && u !== null && TypeId in u

/**
 * Creates a breaker for the circuit `name`. The config is decoded with
 * `CircuitConfig.decode`: a bad value fails with a `CircuitConfigError` naming the
 * field and the rule. The breaker keeps the `Clock` of the fiber that made it
 * and reads its time from it, synchronously (under `TestClock`: make the
 * breaker inside the test).
 *
 * @example
 * ```ts
 * import { CircuitBreaker, CircuitStore } from "effect-circuit-breaker-redis"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const breaker = yield* CircuitBreaker.make("payments", {
 *     failureThreshold: 3,
 *     recoveryTimeout: "10 seconds",
 *     isFailure: (error: Error) => error.name !== "NotFound"
 *   })
 *   return yield* breaker.state // "CLOSED"
 * }).pipe(Effect.provide(CircuitStore.layerMemory))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <E = unknown>(
  name: string,
  config?: CircuitConfig.Input<E>
): Effect.Effect<CircuitBreaker, CircuitConfig.CircuitConfigError, CircuitStore> => internal.make(name, config)

/**
 * Protects an effect with a breaker, given directly or by name (taken from
 * the `CircuitBreakers` registry in context). Data-first and data-last.
 *
 * @example
 * ```ts
 * import { CircuitBreaker } from "effect-circuit-breaker-redis"
 * import { Effect } from "effect"
 *
 * declare const breaker: CircuitBreaker.CircuitBreaker
 * declare const query: Effect.Effect<number, Error>
 *
 * query.pipe(CircuitBreaker.protect(breaker))
 * CircuitBreaker.protect(query, breaker)
 * query.pipe(CircuitBreaker.protect("database")) // needs CircuitBreakers
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const protect: {
  (breaker: CircuitBreaker): <A, E, R>(
    self: Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | CircuitOpen | ServiceUnavailable, R>
  (name: string): <A, E, R>(
    self: Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | CircuitOpen | ServiceUnavailable | CircuitConfig.CircuitConfigError, R | CircuitBreakers>
  <A, E, R>(self: Effect.Effect<A, E, R>, breaker: CircuitBreaker): Effect.Effect<
    A,
    E | CircuitOpen | ServiceUnavailable,
    R
  >
  <A, E, R>(self: Effect.Effect<A, E, R>, name: string): Effect.Effect<
    A,
    E | CircuitOpen | ServiceUnavailable | CircuitConfig.CircuitConfigError,
    R | CircuitBreakers
  >
} = dual(
  2,
  <A, E, R>(
    self: Effect.Effect<A, E, R>,
    breaker: CircuitBreaker | string
  ): Effect.Effect<A, E | CircuitOpen | ServiceUnavailable | CircuitConfig.CircuitConfigError, R | CircuitBreakers> =>
    typeof breaker === "string"
      ? Effect.flatMap(
        CircuitBreakers,
        (registry) => Effect.flatMap(registry.get(breaker), (resolved) => resolved.protect(self))
      )
      : breaker.protect(self)
)

/**
 * Makes a retry schedule breaker-aware: when the error is `CircuitOpen`, the
 * next attempt waits at least its `retryAfter` instead of hammering an open
 * circuit; otherwise the caller's schedule decides alone. Every attempt,
 * rejected or not, counts as one recurrence of `schedule`.
 *
 * @example
 * ```ts
 * import { CircuitBreaker } from "effect-circuit-breaker-redis"
 * import { Effect, Schedule } from "effect"
 *
 * declare const breaker: CircuitBreaker.CircuitBreaker
 * declare const call: Effect.Effect<string, Error>
 *
 * const resilient = call.pipe(
 *   CircuitBreaker.protect(breaker),
 *   Effect.retry(CircuitBreaker.retrySchedule(
 *     Schedule.exponential("100 millis").pipe(Schedule.upTo({ times: 5 }))
 *   ))
 * )
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const retrySchedule = <Out, In, E, R>(
  schedule: Schedule.Schedule<Out, In, E, R>
): Schedule.Schedule<Out, In, E, R> =>
  Schedule.modifyDelay(
    schedule,
    ({ duration, input }) => Effect.succeed(isCircuitOpen(input) ? Duration.max(duration, input.retryAfter) : duration)
  )
