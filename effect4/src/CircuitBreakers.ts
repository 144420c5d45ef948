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
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
// modules that effect 3 does not have, read through the barrel (see internal/effect4.ts)
import * as Effect4 from "effect"
import type { CircuitBreaker } from "./CircuitBreaker.js"
import * as CircuitConfig from "./CircuitConfig.js"
import { CircuitStore } from "./CircuitStore.js"
import * as internal from "./internal/breaker/circuitBreaker.js"
import { perBuild } from "./internal/layerPerBuild.js"
import { defaultIdleTtl, IdleSweep, idleTtlMillis } from "./internal/store/idleSweep.js"

/**
 * The registry service.
 *
 * @example
 * ```ts
 * import { CircuitBreakers } from "effect-circuit-breaker-redis"
 * import { Effect } from "effect"
 *
 * declare const charge: Effect.Effect<string, Error>
 *
 * const program = Effect.gen(function*() {
 *   const breakers = yield* CircuitBreakers.CircuitBreakers
 *   const payments = yield* breakers.get("payments")
 *   return yield* payments.protect(charge)
 * })
 * ```
 *
 * @since 0.1.0
 * @category tags
 */
export class CircuitBreakers extends Context.Service<CircuitBreakers, {
  /** The breaker for `name`, made on first use. */
  readonly get: (name: string) => Effect.Effect<CircuitBreaker, CircuitConfig.CircuitConfigError>
  /** Every breaker made so far. */
  readonly all: Effect.Effect<ReadonlyArray<CircuitBreaker>>
}>()("effect-circuit-breaker-redis/CircuitBreakers") {}

/**
 * @example
 * ```ts
 * import { CircuitBreakers } from "effect-circuit-breaker-redis"
 *
 * const options: CircuitBreakers.Options = {
 *   defaults: { failureThreshold: 5 },
 *   circuits: { payments: { failureThreshold: 3 } },
 *   configFor: (name) => name.startsWith("tenant-") ? { recoveryTimeout: "1 minute" } : undefined,
 *   idleTtl: "30 minutes"
 * }
 * const Breakers = CircuitBreakers.layer(options)
 * ```
 *
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
  /**
   * A breaker no call used for this long (and with no `stateChanges`
   * subscriber, and not running on its local fallback) leaves the registry;
   * the next use of its name makes a new one, on the circuit's state in the
   * store. A breaker already handed out keeps working. Default 10 minutes;
   * `Duration.infinity` keeps every breaker.
   */
  readonly idleTtl?: Duration.Input | undefined
}

/**
 * Makes a registry. Every config in `options` is decoded up front, so a bad
 * one fails here rather than at the first call.
 *
 * @example
 * ```ts
 * import { CircuitBreakers, CircuitStore } from "effect-circuit-breaker-redis"
 * import { Effect } from "effect"
 *
 * const names = Effect.gen(function*() {
 *   const breakers = yield* CircuitBreakers.make({ circuits: { payments: { failureThreshold: 3 } } })
 *   yield* breakers.get("payments")
 *   const all = yield* breakers.all
 *   return all.map((breaker) => breaker.name)
 * }).pipe(Effect.provide(CircuitStore.layerMemory))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options = {}
): Effect.Effect<CircuitBreakers["Service"], CircuitConfig.CircuitConfigError, CircuitStore> =>
  Effect.map(makeRegistry(options), (registry) => registry.service)

/** The registry, and how to let go of every breaker it holds. */
const makeRegistry = (
  options: Options
): Effect.Effect<
  { readonly service: CircuitBreakers["Service"]; readonly clear: () => void },
  CircuitConfig.CircuitConfigError,
  CircuitStore
> =>
  Effect.gen(function*() {
    const circuits = options.circuits ?? {}
    yield* CircuitConfig.decode("defaults", options.defaults ?? {})
    for (const [name, input] of Object.entries(circuits)) {
      yield* CircuitConfig.decode(name, input)
    }
    const store = yield* CircuitStore
    const breakers = new Map<string, internal.CircuitBreakerImpl>()
    const lock = yield* Effect4.Semaphore.make(1)
    // the time of a call (or of a creation) sweeps once a sweep is due (`IdleSweep`); so does a
    // call through a breaker the registry made (kept by its caller, not asked for again)
    const idleTtl = yield* idleTtlMillis("CircuitBreakers", options.idleTtl, defaultIdleTtl)
    const sweeper = new IdleSweep(idleTtl, yield* Clock.currentTimeMillis, (now) => {
      for (const [name, breaker] of breakers) {
        if (breaker.idle(now, idleTtl)) {
          breakers.delete(name)
          // its next call (its holder still has it) puts it back
          breaker.sweeper = { next: -Infinity, sweep: (at) => revive(breaker, at) }
        }
      }
    })
    const revive = (breaker: internal.CircuitBreakerImpl, now: number) => {
      breaker.sweeper = sweeper
      if (!breakers.has(breaker.name)) breakers.set(breaker.name, breaker)
      sweeper.used(now)
    }
    const create = (name: string) =>
      lock.withPermits(1)(Effect.suspend(() => {
        const existing = breakers.get(name)
        if (existing !== undefined) return Effect.succeed(existing)
        const named = Object.hasOwn(circuits, name)
        const input = named ? circuits[name] : options.configFor?.(name) ?? options.defaults
        // circuits made on demand (one per tenant, say) keep their metrics off Effect's registry
        return internal.make(name, input, named).pipe(
          Effect.provideService(CircuitStore, store),
          Effect.tap((breaker) =>
            Effect.sync(() => {
              sweeper.used(breaker.usedAt)
              breaker.sweeper = sweeper
              breakers.set(name, breaker)
            })
          )
        )
      }))
    const service = CircuitBreakers.of({
      get: (name) => {
        const existing = breakers.get(name)
        if (existing === undefined) return create(name)
        // the time of this breaker's last call stands for now (never later than now)
        sweeper.used(existing.usedAt)
        return Effect.succeed(existing)
      },
      all: Effect.sync(() => Array.from(breakers.values()))
    })
    return { service, clear: () => breakers.clear() }
  })

/**
 * The registry as a layer (needs a `CircuitStore`). When the layer's scope
 * closes the registry lets go of its breakers (a disposed `ManagedRuntime`
 * kept by the application then holds none). Each build of a layer graph
 * (`Effect.provide`, `ManagedRuntime.make`) makes a registry of its own, also
 * inside another build that made one.
 *
 * @example
 * ```ts
 * import { CircuitBreaker, CircuitBreakers, CircuitStore } from "effect-circuit-breaker-redis"
 * import { Effect, Layer } from "effect"
 *
 * const Breakers = CircuitBreakers.layer({ defaults: { failureThreshold: 3 } }).pipe(
 *   Layer.provide(CircuitStore.layerMemory)
 * )
 * const program = Effect.succeed("ok").pipe(CircuitBreaker.protect("search"), Effect.provide(Breakers))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options?: Options
): Layer.Layer<CircuitBreakers, CircuitConfig.CircuitConfigError, CircuitStore> =>
  perBuild(Layer.effect(
    CircuitBreakers,
    Effect.map(
      Effect.acquireRelease(makeRegistry(options ?? {}), (registry) => Effect.sync(registry.clear)),
      (registry) => registry.service
    )
  ))
