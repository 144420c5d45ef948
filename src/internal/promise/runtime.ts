/**
 * The Promise API's runtimes: one lazily built `ManagedRuntime` per
 * `PromiseRuntime` (a store, a `CircuitBreakers` registry that knows the
 * configs the Promise side asked for, monitoring), and the one place where an
 * Effect becomes a Promise (`toPromise`).
 *
 * @internal
 */
import type * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import type * as Tracer from "effect/Tracer"
// modules that effect 4 does not have, read through the barrel (see internal/effect3.ts)
import * as Effect3 from "effect"
import type { CircuitBreaker } from "../../CircuitBreaker.js"
import * as CircuitBreakerMonitoring from "../../CircuitBreakerMonitoring.js"
import * as CircuitBreakersApi from "../../CircuitBreakers.js"
import { CircuitBreakers } from "../../CircuitBreakers.js"
import type * as CircuitConfig from "../../CircuitConfig.js"
import type { CircuitStore } from "../../CircuitStore.js"
import { rejectionOf } from "./error.js"
import { configConflict } from "../../../shared/promise/api.js"
import { disposedError } from "../../../shared/promise/rejections.js"

/**
 * Settles a Promise with an effect's outcome: at once when the effect is
 * already an `Exit` (`Effect.succeed`, `Effect.fail` are), else on a fiber of
 * `runtime`; a failure rejects with `mapError(cause)` (no `FiberFailure`
 * wrapping).
 *
 * @internal
 */
export const toPromise = <A, E, R>(
  runtime: Runtime.Runtime<R>,
  effect: Effect.Effect<A, E, R>,
  mapError: (cause: Cause.Cause<E>) => unknown
): Promise<A> => {
  if (Exit.isExit(effect)) {
    const exit = effect as Exit.Exit<A, E>
    return exit._tag === "Success" ? Promise.resolve(exit.value) : Promise.reject(mapError(exit.cause))
  }
  return new Promise<A>((resolve, reject) => {
    Runtime.runFork(runtime, effect).addObserver((exit) => {
      if (exit._tag === "Success") resolve(exit.value)
      else reject(mapError(exit.cause))
    })
  })
}

/** Effect's default tracer (read once per process, on first need). */
const defaultTracer = Effect3.GlobalValue.globalValue(
  Symbol.for("effect-circuit-breaker-redis/promise/defaultTracer"),
  (): { tracer: Tracer.Tracer | undefined } => ({ tracer: undefined })
)
const isDefaultTracer = (tracer: Tracer.Tracer): boolean =>
  tracer === (defaultTracer.tracer ??= Effect.runSync(Effect.tracer))

/** The services every Promise-side runtime provides. */
export type Services = CircuitStore | CircuitBreakers | CircuitBreakerMonitoring.CircuitBreakerMonitoring

/**
 * A `CircuitBreakers` registry whose configs come from the Promise side: a
 * handle that asks for a breaker the registry does not hold claims its config
 * for the name until the registry has made it (`claims`). Monitoring reads
 * this registry, so it sees every breaker (its config, its local counts,
 * whether it runs on the local fallback).
 *
 * @internal
 */
export const registryLayer = (
  claims: ReadonlyMap<string, CircuitConfig.Input | undefined>
): Layer.Layer<CircuitBreakers, never, CircuitStore> =>
  // the configs were decoded when the handles were made: the registry cannot fail on them
  Layer.orDie(CircuitBreakersApi.layer({ configFor: (name) => claims.get(name) }))

/** @internal */
export interface PromiseRuntimeOptions {
  /** The store layer. */
  readonly store: Layer.Layer<CircuitStore, unknown>
  readonly monitoring?: CircuitBreakerMonitoring.Options | undefined
  readonly logLevel?: LogLevel.Literal | undefined
  /** For error messages: where the store lives. */
  readonly label: string
}

/**
 * One Promise-side runtime: a `ManagedRuntime` over the store, the registry
 * and monitoring, built on first use and kept until `dispose`.
 *
 * @internal
 */
export class PromiseRuntime {
  /** Set once the runtime is built (and cleared by `dispose`): the hot path reads it synchronously. */
  rt: Runtime.Runtime<Services> | undefined = undefined
  /**
   * Whether an operation's name is worth a fiber: debug logs are on, or a
   * tracer other than the default one is installed. Otherwise a named call
   * takes the same path as an unnamed one.
   */
  traced = false
  disposed = false
  private managed: ManagedRuntime.ManagedRuntime<Services, unknown> | undefined = undefined
  private building: Promise<Runtime.Runtime<Services>> | undefined = undefined
  /**
   * The config of each name whose breaker is being made: set by the handle
   * that asks first, read by the registry when it makes the breaker, removed
   * once that handle has it. The made breaker then carries the config
   * (`breaker.config`), so nothing here outlives it.
   */
  private readonly claims = new Map<string, CircuitConfig.Input | undefined>()
  /** The breakers a different config was already reported for (once per breaker). */
  private readonly warned = new WeakSet<CircuitBreaker>()
  private readonly layer: Layer.Layer<Services, unknown>

  constructor(readonly options: PromiseRuntimeOptions) {
    const layer = CircuitBreakerMonitoring.layer(options.monitoring).pipe(
      Layer.provideMerge(registryLayer(this.claims)),
      Layer.provideMerge(options.store)
    )
    this.layer = options.logLevel === undefined
      ? layer
      : Layer.provide(layer, Logger.minimumLogLevel(LogLevel.fromLiteral(options.logLevel)))
  }

  /** The runtime, built on the first call. A failed build fails every later call the same way. */
  runtime(): Promise<Runtime.Runtime<Services>> {
    if (this.rt !== undefined) return Promise.resolve(this.rt)
    if (this.disposed) return Promise.reject(disposedError(this.options.label))
    if (this.building === undefined) {
      const managed = ManagedRuntime.make(this.layer)
      this.managed = managed
      this.building = Effect.runPromiseExit(managed.runtimeEffect).then((exit) => {
        if (Exit.isFailure(exit)) throw rejectionOf(exit.cause, false)
        if (this.disposed) throw disposedError(this.options.label)
        // Effect's own fiber metrics (effect_fiber_*) are off: they cost per fiber, and a call may take one;
        // a failed call is handed to its caller, not logged as an "unhandled error" of its fiber
        const rt = Runtime.setFiberRef(
          Runtime.disableRuntimeFlag(exit.value, Effect3.RuntimeFlags.RuntimeMetrics),
          Effect3.FiberRef.unhandledErrorLogLevel,
          Option.none()
        )
        const minimum = Runtime.runSync(rt, Effect3.FiberRef.get(Effect3.FiberRef.currentMinimumLogLevel))
        this.traced = LogLevel.lessThanEqual(minimum, LogLevel.Debug) ||
          !isDefaultTracer(Runtime.runSync(rt, Effect.tracer))
        this.rt = rt
        return rt
      })
    }
    return this.building
  }

  /** Runs an effect on the runtime (building it first if needed). */
  run<A, E>(
    effect: Effect.Effect<A, E, Services>,
    mapError: (cause: Cause.Cause<E>) => unknown = (cause) => rejectionOf(cause, false)
  ): Promise<A> {
    const rt = this.rt
    if (rt !== undefined) return toPromise(rt, effect, mapError)
    return this.runtime().then((runtime) => toPromise(runtime, effect, mapError))
  }

  /**
   * The breaker for `name`. The config of the handle that makes the
   * registry's breaker for a name is the one it keeps while the registry
   * holds it; a different one given meanwhile is reported once per breaker,
   * as a warning, and ignored (a handle made without a config uses the
   * breaker as it is, silently). Once the registry let an idle breaker go,
   * the next handle makes a new one with its own config.
   */
  breaker(
    name: string,
    input: CircuitConfig.Input | undefined,
    decoded: CircuitConfig.CircuitConfig
  ): Promise<CircuitBreaker> {
    return this.run(Effect.flatMap(CircuitBreakers, (registry) => {
      // claimed and read in the same step as the registry's look-up: no sweep comes in between
      const claimed = !this.claims.has(name)
      if (claimed) this.claims.set(name, input)
      const got = registry.get(name)
      return (claimed ? Effect.ensuring(got, Effect.sync(() => this.claims.delete(name))) : got).pipe(
        Effect.tap((breaker) => this.differs(breaker, input, decoded))
      )
    }))
  }

  /** Reports, once per breaker, a handle's config that differs from the breaker's own. */
  private differs(
    breaker: CircuitBreaker,
    input: CircuitConfig.Input | undefined,
    decoded: CircuitConfig.CircuitConfig
  ): Effect.Effect<void> {
    const warning = configConflict(this.warned, breaker, input, decoded)
    return warning === undefined ? Effect.void : Effect.logWarning(warning)
  }

  /** Closes the runtime: the Redis store flushes what it batched; clients it opened are closed. */
  dispose(): Promise<void> {
    this.disposed = true
    this.rt = undefined
    // the built runtime goes with it: nothing of the closed store stays reachable from this object
    this.building = undefined
    const managed = this.managed
    this.managed = undefined
    return managed === undefined ? Promise.resolve() : managed.dispose()
  }
}
