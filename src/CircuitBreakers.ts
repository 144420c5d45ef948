/**
 * A registry of breakers by name, so code can write
 * `effect.pipe(CircuitBreaker.protect("payments"))` without passing a breaker
 * around. Breakers are made on first use, with the config given for their
 * name, or the defaults.
 *
 * @example
 * ```ts
 * import { CircuitBreaker, CircuitBreakers, CircuitStore } from "effect-circuit-breaker-redis"
 * import { Effect, Layer } from "effect"
 *
 * declare const charge: Effect.Effect<string, Error>
 *
 * const Breakers = CircuitBreakers.layer({
 *   circuits: { payments: { failureThreshold: 3, recoveryTimeout: "10 seconds" } }
 * }).pipe(Layer.provide(CircuitStore.layerMemory))
 *
 * const program = charge.pipe(CircuitBreaker.protect("payments"), Effect.provide(Breakers))
 * ```
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { CircuitBreaker } from "./CircuitBreaker.js"
import * as CircuitConfig from "./CircuitConfig.js"
import { CircuitStore } from "./CircuitStore.js"
import * as internal from "./internal/circuitBreaker.js"

/**
 * The registry service.
 *
 * @since 0.1.0
 * @category tags
 */
export class CircuitBreakers extends Context.Tag("effect-circuit-breaker-redis/CircuitBreakers")<CircuitBreakers, {
  /** The breaker for `name`, made on first use. */
  readonly get: (name: string) => Effect.Effect<CircuitBreaker, CircuitConfig.CircuitConfigError>
  /** Every breaker made so far. */
  readonly all: Effect.Effect<ReadonlyArray<CircuitBreaker>>
}>() {}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The config of any circuit not named in `circuits`. */
  readonly defaults?: CircuitConfig.Input | undefined
  /** Per-circuit configs; each is decoded when the registry is made. */
  readonly circuits?: Readonly<Record<string, CircuitConfig.Input>> | undefined
  /**
   * Configs known only at run time: asked when a circuit not named in
   * `circuits` is first used (`undefined`: the defaults).
   */
  readonly configFor?: ((name: string) => CircuitConfig.Input | undefined) | undefined
}

/**
 * Makes a registry. Every config in `options` is decoded up front, so a bad
 * one fails here rather than at the first call.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options = {}
): Effect.Effect<CircuitBreakers["Type"], CircuitConfig.CircuitConfigError, CircuitStore> =>
  Effect.gen(function*() {
    const circuits = options.circuits ?? {}
    yield* CircuitConfig.decode("defaults", options.defaults ?? {})
    for (const [name, input] of Object.entries(circuits)) {
      yield* CircuitConfig.decode(name, input)
    }
    const store = yield* CircuitStore
    const breakers = new Map<string, CircuitBreaker>()
    const lock = yield* Effect.makeSemaphore(1)
    const create = (name: string) =>
      lock.withPermits(1)(Effect.suspend(() => {
        const existing = breakers.get(name)
        if (existing !== undefined) return Effect.succeed(existing)
        const input = Object.hasOwn(circuits, name)
          ? circuits[name]
          : options.configFor?.(name) ?? options.defaults
        return internal.make(name, input).pipe(
          Effect.provideService(CircuitStore, store),
          Effect.tap((breaker) => Effect.sync(() => breakers.set(name, breaker)))
        )
      }))
    return CircuitBreakers.of({
      get: (name) => {
        const existing = breakers.get(name)
        return existing !== undefined ? Effect.succeed(existing) : create(name)
      },
      all: Effect.sync(() => Array.from(breakers.values()))
    })
  })

/**
 * The registry as a layer (needs a `CircuitStore`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: Options): Layer.Layer<CircuitBreakers, CircuitConfig.CircuitConfigError, CircuitStore> =>
  Layer.effect(CircuitBreakers, make(options))
