/**
 * The machinery behind `src/promise.ts`: one lazily built `ManagedRuntime` per
 * `Instance`, a `CircuitBreakers` registry that knows the configs the Promise
 * side asked for, `RedisClient`s over a user's own Redis instance, and the
 * conversion of Effect exits into Promise outcomes.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import type * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import * as RuntimeFlags from "effect/RuntimeFlags"
import type * as Tracer from "effect/Tracer"
import type { CircuitBreaker } from "../CircuitBreaker.js"
import { isCircuitOpen, isServiceUnavailable } from "../CircuitBreakerError.js"
import * as CircuitBreakerMonitoring from "../CircuitBreakerMonitoring.js"
import * as CircuitBreakersApi from "../CircuitBreakers.js"
import { CircuitBreakers } from "../CircuitBreakers.js"
import type * as CircuitConfig from "../CircuitConfig.js"
import { CircuitStore } from "../CircuitStore.js"
import * as RedisCircuitStore from "../RedisCircuitStore.js"
import { RedisClient } from "../RedisClient.js"
import { CircuitBreakerImpl } from "./circuitBreaker.js"
import { classify } from "./redisErrors.js"

// ---------------------------------------------------------------------------
// errors
// ---------------------------------------------------------------------------

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

/** Thrown when a runtime is used after `dispose()`. */
const disposedError = (label: string): Error =>
  new Error(`circuit breaker runtime (${label}) was disposed; make a new one, or call configureCircuitBreakers()`)

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
      if (isCircuitOpen(error)) {
        return new CircuitBreakerError({
          code: "CIRCUIT_OPEN",
          serviceName: error.service,
          message: error.message,
          retryAfter: Math.ceil(Duration.toMillis(error.retryAfter)),
          state: error.state,
          cause: error
        })
      }
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

// ---------------------------------------------------------------------------
// running effects as Promises
// ---------------------------------------------------------------------------

/**
 * Runs an effect on a runtime and settles a Promise with its outcome: one
 * fiber, one Promise, no `FiberFailure` wrapping.
 *
 * @internal
 */
export const runPromise = <A, E, R>(
  runtime: Runtime.Runtime<R>,
  effect: Effect.Effect<A, E, R>,
  mapError: (cause: Cause.Cause<E>) => unknown
): Promise<A> =>
  new Promise<A>((resolve, reject) => {
    Runtime.runFork(runtime, effect).addObserver((exit) => {
      if (exit._tag === "Success") resolve(exit.value)
      else reject(mapError(exit.cause))
    })
  })

/** Effect's default tracer (read once, on first need). */
let defaultTracer: Tracer.Tracer | undefined = undefined
const isDefaultTracer = (tracer: Tracer.Tracer): boolean => tracer === (defaultTracer ??= Effect.runSync(Effect.tracer))

/** The services every Promise-side runtime provides. */
export type Services = CircuitStore | CircuitBreakers | CircuitBreakerMonitoring.CircuitBreakerMonitoring

interface Claimed {
  readonly input: CircuitConfig.Input | undefined
  readonly decoded: CircuitConfig.CircuitConfig
  warned: boolean
}

/** The fields that differ between two decoded configs (functions compare by identity or source). */
const differences = (a: CircuitConfig.CircuitConfig, b: CircuitConfig.CircuitConfig): Array<string> => {
  const fields: Array<string> = []
  for (const key of Object.keys(a) as Array<keyof CircuitConfig.CircuitConfig>) {
    const x = a[key]
    const y = b[key]
    if (x === y) continue
    if (typeof x === "function" && typeof y === "function" && x.toString() === y.toString()) continue
    fields.push(key)
  }
  return fields
}

/**
 * A `CircuitBreakers` registry whose configs come from the Promise side:
 * `createCircuitBreaker(name, config)` claims `config` for `name` before the
 * first `get(name)`. Monitoring reads this registry, so it sees every breaker
 * (its config, its local counts, whether it runs on the local fallback).
 *
 * @internal
 */
export const registryLayer = (
  configs: ReadonlyMap<string, Claimed>
): Layer.Layer<CircuitBreakers, never, CircuitStore> =>
  // the configs were decoded when they were claimed: the registry cannot fail on them
  Layer.orDie(CircuitBreakersApi.layer({ configFor: (name) => configs.get(name)?.input }))

/** @internal */
export interface InstanceOptions {
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
export class Instance {
  /** Set once the runtime is built (and cleared by `dispose`): the hot path reads it synchronously. */
  rt: Runtime.Runtime<Services> | undefined = undefined
  /** The runtime's clock (what `protect` reads), once built. */
  clock: Clock.Clock | undefined = undefined
  /**
   * Whether an operation's name is worth a fiber: debug logs are on, or a
   * tracer other than the default one is installed. Otherwise a named call
   * takes the same path as an unnamed one.
   */
  traced = false
  disposed = false
  private managed: ManagedRuntime.ManagedRuntime<Services, unknown> | undefined = undefined
  private building: Promise<Runtime.Runtime<Services>> | undefined = undefined
  private readonly configs = new Map<string, Claimed>()
  private readonly layer: Layer.Layer<Services, unknown>

  constructor(readonly options: InstanceOptions) {
    const layer = CircuitBreakerMonitoring.layer(options.monitoring).pipe(
      Layer.provideMerge(registryLayer(this.configs)),
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
        // Effect's own fiber metrics (effect_fiber_*) cost ~0.3 µs per fiber, one fiber per call here;
        // a failed call is handed to its caller, not logged as an "unhandled error" of its fiber
        const rt = Runtime.setFiberRef(
          Runtime.disableRuntimeFlag(exit.value, RuntimeFlags.RuntimeMetrics),
          FiberRef.unhandledErrorLogLevel,
          Option.none()
        )
        this.clock = Runtime.runSync(rt, Effect.clock)
        const minimum = Runtime.runSync(rt, FiberRef.get(FiberRef.currentMinimumLogLevel))
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
    if (rt !== undefined) return runPromise(rt, effect, mapError)
    return this.runtime().then((runtime) => runPromise(runtime, effect, mapError))
  }

  /**
   * The breaker for `name`. The first config claimed for a name in this
   * runtime is the one its breaker is made with; a different one given later
   * is reported once, as a warning, and ignored (a handle made without a
   * config uses the breaker as it is, silently).
   */
  breaker(
    name: string,
    input: CircuitConfig.Input | undefined,
    decoded: CircuitConfig.CircuitConfig
  ): Promise<CircuitBreaker> {
    const claimed = this.configs.get(name)
    if (claimed === undefined) {
      this.configs.set(name, { input, decoded, warned: false })
    }
    let warning: Effect.Effect<void> | undefined = undefined
    // a handle made without a config takes the circuit as it is; one with a different config is reported
    if (claimed !== undefined && input !== undefined && claimed.decoded !== decoded && !claimed.warned) {
      const fields = differences(claimed.decoded, decoded)
      if (fields.length > 0) {
        claimed.warned = true
        warning = Effect.logWarning(
          `circuit breaker ${JSON.stringify(name)} already exists in this runtime with another configuration ` +
            `(differs in ${fields.join(", ")}); the first configuration is kept`
        )
      }
    }
    // the registry keeps the breaker while it is used, and lets an idle one go (bounded memory)
    const get = Effect.flatMap(CircuitBreakers, (registry) => registry.get(name))
    return this.run(warning === undefined ? get : Effect.zipRight(warning, get))
  }

  /** Closes the runtime: the Redis store flushes what it batched; clients it opened are closed. */
  dispose(): Promise<void> {
    this.disposed = true
    this.rt = undefined
    const managed = this.managed
    this.managed = undefined
    return managed === undefined ? Promise.resolve() : managed.dispose()
  }
}

// ---------------------------------------------------------------------------
// execute
// ---------------------------------------------------------------------------

/**
 * Whether a result is a thenable. Reading `then` runs a getter if there is
 * one: callers do it where a throw counts as the operation's failure.
 */
const isThenable = (u: unknown): u is PromiseLike<unknown> =>
  (typeof u === "object" || typeof u === "function") && u !== null &&
  typeof (u as { readonly then?: unknown }).then === "function"

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
      resume(Effect.failCause(Cause.fail(error)))
      return
    }
    if (thenable) {
      // Promise.resolve adopts the thenable and turns a `then` that throws into a rejection
      Promise.resolve(result).then(
        (value) => resume(Effect.succeed(value as T)),
        // not `Effect.fail`: inside a span it would hand on a Proxy of the error, not the error
        (error: unknown) => resume(Effect.failCause(Cause.fail(error)))
      )
      return
    }
    resume(Effect.succeed(result as T))
  })

const describeError = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : typeof error === "string" ? error : typeof error

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
        // a stack trace per call costs tens of microseconds
        captureStackTrace: false
      }),
      Effect.annotateLogs({ service, operation })
    )
  })

/** An effect that is already done (`Effect.succeed`, `Effect.failCause` are `Exit`s), or undefined. */
const exitOf = <A, E>(effect: Effect.Effect<A, E>): Exit.Exit<A, E> | undefined =>
  Exit.isExit(effect) ? (effect as Exit.Exit<A, E>) : undefined

/** Settles a Promise with an effect's outcome: at once when it is already an `Exit`, else on a fiber. */
const settle = <A>(
  runtime: Runtime.Runtime<Services>,
  effect: Effect.Effect<A, unknown>,
  breakerMayReject: boolean,
  resolve: (value: A) => void,
  reject: (error: unknown) => void
): void => {
  const exit = exitOf(effect)
  if (exit !== undefined) {
    if (exit._tag === "Success") resolve(exit.value)
    else reject(rejectionOf(exit.cause, breakerMayReject))
    return
  }
  Runtime.runFork(runtime, effect).addObserver((exit) => {
    if (exit._tag === "Success") resolve(exit.value)
    else reject(rejectionOf(exit.cause, breakerMayReject))
  })
}

/** `breaker.protect(operation)` on a fiber of its own: every path of the breaker. */
const executeOnFiber = <T>(
  instance: Instance,
  runtime: Runtime.Runtime<Services>,
  breaker: CircuitBreaker,
  operation: () => PromiseLike<T> | T,
  operationName: string | undefined
): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    let ran = false
    let effect: Effect.Effect<T, unknown> = breaker.protect(fromOperation(operation, () => {
      ran = true
    }))
    if (operationName !== undefined && instance.traced) {
      effect = traced(effect, breaker.config.serviceName, operationName)
    }
    Runtime.runFork(runtime, effect).addObserver((exit) => {
      if (exit._tag === "Success") resolve(exit.value)
      else reject(rejectionOf(exit.cause, !ran))
    })
  })

/**
 * Runs `operation` through the breaker. Rejects with the operation's own
 * error when it ran and failed, with a `CircuitBreakerError` when the breaker
 * did not let it run.
 *
 * The common case, a call the circuit admits from local knowledge (CLOSED,
 * cache fresh), takes no fiber: it is `protect`'s own fast path — the same
 * `acquireLocal`, the same version check, the same success and failure
 * handlers of the breaker — with the operation's Promise in place of the
 * `matchCauseEffect` around it. A fiber costs ~1-3 µs per call, several times
 * what opossum adds. Whatever needs the store (an expired cache, a failure
 * to record, a probe) runs as an Effect, on a fiber, exactly as `protect`
 * runs it.
 *
 * @internal
 */
export const execute = <T>(
  instance: Instance,
  runtime: Runtime.Runtime<Services>,
  breaker: CircuitBreaker,
  operation: () => PromiseLike<T> | T,
  operationName: string | undefined
): Promise<T> => {
  const clock = instance.clock
  if (
    clock === undefined || !(breaker instanceof CircuitBreakerImpl) ||
    (operationName !== undefined && instance.traced)
  ) {
    return executeOnFiber(instance, runtime, breaker, operation, operationName)
  }
  // what `protect` does in its `withFiberRuntime`, step for step
  const now = clock.unsafeCurrentTimeMillis()
  const circuit = breaker.circuit
  const decision = breaker.admitLocal(now)
  if (decision === undefined) return executeOnFiber(instance, runtime, breaker, operation, operationName)
  if (decision._tag === "Reject") {
    const rejected = breaker.reject(decision)
    return new Promise<T>((resolve, reject) => settle<T>(runtime, rejected, true, resolve, reject))
  }
  // what `run` does around the operation (the failure handler is made only for a failure)
  breaker.started()
  const onSuccess = breaker.onSuccess<T>(clock, now, circuit, undefined)
  const failed = (error: unknown): T | Promise<T> =>
    outcome(runtime, breaker.onFailure<unknown>(clock, now, circuit, undefined)(Cause.fail(error)))
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
    return Promise.resolve(result).then((value) => outcome(runtime, onSuccess(value as T)), failed)
  }
  return settled(() => outcome(runtime, onSuccess(result as T)))
}

/**
 * What the breaker's handler decided, for a `then` callback: the value, a
 * thrown rejection, or (when the store must hear of it) a Promise of either.
 */
const outcome = <A>(runtime: Runtime.Runtime<Services>, effect: Effect.Effect<A, unknown>): A | Promise<A> => {
  const exit = exitOf(effect)
  if (exit !== undefined) {
    if (exit._tag === "Success") return exit.value
    throw rejectionOf(exit.cause, false)
  }
  return new Promise<A>((resolve, reject) => settle(runtime, effect, false, resolve, reject))
}

const settled = <A>(f: () => A | Promise<A>): Promise<A> => {
  try {
    return Promise.resolve(f())
  } catch (error) {
    return Promise.reject(error)
  }
}

// ---------------------------------------------------------------------------
// a RedisClient over a user's own Redis instance
// ---------------------------------------------------------------------------

/** What `@upstash/redis`'s HTTP client looks like from outside (its `client` field). */
interface UpstashRequester {
  readonly request: (req: {
    readonly body: unknown
    readonly upstashSyncToken?: string | undefined
    readonly signal?: AbortSignal | undefined
  }) => Promise<{ readonly result?: unknown; readonly error?: string | undefined }>
  readonly upstashSyncToken?: string | undefined
  readonly headers?: Record<string, string> | undefined
  readonly baseUrl?: string | undefined
}

interface IORedisLike {
  readonly call: (command: string, ...args: Array<string>) => Promise<unknown>
  readonly sendCommand: (...args: Array<unknown>) => unknown
  readonly options?: {
    readonly host?: string
    readonly port?: number
    readonly password?: string | undefined
    readonly redisOptions?: { readonly password?: string | undefined }
  }
  readonly startupNodes?: ReadonlyArray<unknown>
}

interface UpstashLike {
  readonly exec: (command: [string, ...Array<string>]) => Promise<unknown>
}

const isObject = (u: unknown): u is Record<string, unknown> =>
  (typeof u === "object" || typeof u === "function") && u !== null

const asIORedis = (u: unknown): IORedisLike | undefined =>
  isObject(u) && typeof u.call === "function" && typeof u.sendCommand === "function"
    ? (u as unknown as IORedisLike)
    : undefined

const requesterOf = (u: unknown): UpstashRequester | undefined => {
  if (!isObject(u)) return undefined
  const client = u.client
  return isObject(client) && typeof client.request === "function" ? (client as unknown as UpstashRequester) : undefined
}

const hostOf = (url: string | undefined): string => {
  if (url === undefined) return "?"
  try {
    return new URL(url).host
  } catch {
    return "?"
  }
}

/**
 * What `@upstash/redis`'s automatic deserialization did to a member of
 * `ZRANGE` (the circuit registry), undone where it can be: numbers,
 * booleans and null print back as they were; objects as compact JSON.
 */
const undeserialized = (u: unknown): unknown =>
  typeof u === "string" ? u : u === null || typeof u !== "object" ? String(u) : JSON.stringify(u)

/**
 * A `RedisClient` over a Redis instance the user made:
 *
 * - `@upstash/redis` `Redis`: commands go through the instance's own HTTP
 *   client (its URL, token, retries, encoding), but its replies are taken
 *   raw, as the instance's automatic JSON deserialization would turn a
 *   circuit named `"123"` into the number 123. Each request is aborted when
 *   the store gives up on it (`storeTimeout`), which also stops the client's
 *   retries. An object with only `exec` is driven through `exec`.
 * - `ioredis` `Redis` or `Cluster`: `call`. The client stays the user's: it is
 *   not closed when the runtime is disposed.
 *
 * Throws a `TypeError` for anything else.
 *
 * @internal
 */
export const clientFor = (redis: unknown): RedisClient["Type"] => {
  const io = asIORedis(redis)
  if (io !== undefined) {
    const secrets = [io.options?.password, io.options?.redisOptions?.password].filter(
      (s): s is string => typeof s === "string" && s.length > 0
    )
    return RedisClient.of({
      description: io.startupNodes !== undefined
        ? "redis cluster (ioredis, user's client)"
        : `redis ${io.options?.host ?? "?"}:${io.options?.port ?? "?"} (ioredis, user's client)`,
      send: (command) =>
        Effect.tryPromise({
          try: () => io.call(command[0]!, ...command.slice(1)),
          catch: (cause) => classify(cause, secrets)
        })
    })
  }
  const requester = requesterOf(redis)
  if (requester !== undefined) {
    const authorization = requester.headers?.authorization ?? requester.headers?.Authorization ?? ""
    const token = authorization.replace(/^Bearer\s+/i, "")
    const secrets = token.length > 0 ? [token] : []
    return RedisClient.of({
      description: `upstash ${hostOf(requester.baseUrl)} (user's client)`,
      send: (command) =>
        Effect.tryPromise({
          try: async (signal) => {
            const reply = await requester.request({
              body: command,
              upstashSyncToken: requester.upstashSyncToken,
              signal
            })
            if (reply.error !== undefined && reply.error !== null) throw new Error(reply.error)
            if (reply.result === undefined) throw new TypeError("Request did not return a result")
            return reply.result
          },
          catch: (cause) => classify(cause, secrets)
        })
    })
  }
  if (isObject(redis) && typeof redis.exec === "function") {
    const upstash = redis as unknown as UpstashLike
    return RedisClient.of({
      description: "upstash (user's client, exec)",
      send: (command) =>
        Effect.tryPromise({
          try: () => upstash.exec(command as [string, ...Array<string>]),
          catch: (cause) => classify(cause, [])
        }).pipe(
          Effect.map((reply) =>
            command[0] === "ZRANGE" && Array.isArray(reply) ? reply.map(undeserialized) : reply
          )
        )
    })
  }
  throw new TypeError(
    "expected an @upstash/redis Redis instance, or an ioredis Redis or Cluster instance (got " +
      (redis === null ? "null" : typeof redis) + ")"
  )
}

/**
 * The Redis store over a user's Redis instance.
 *
 * @internal
 */
export const storeLayerFor = (
  redis: unknown,
  options?: RedisCircuitStore.Options
): Layer.Layer<CircuitStore, CircuitConfig.CircuitConfigError> =>
  RedisCircuitStore.layer(options).pipe(Layer.provide(Layer.succeed(RedisClient, clientFor(redis))))
