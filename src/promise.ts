/**
 * The Promise side, for code that does not use Effect: the API of the
 * original README (`createCircuitBreaker`, `CircuitBreakers.redis`,
 * `withCircuitBreaker`, `getCircuitBreakerHealth`, ...), on the same breakers,
 * stores and monitoring as the Effect API.
 *
 * Everything here runs on ONE runtime, built on first use, whose store comes
 * from the environment (`RedisCircuitStore.layerFromEnv`):
 * `UPSTASH_REDIS_REST_URL` + `UPSTASH_REDIS_REST_TOKEN` (Upstash over REST,
 * Edge-safe), else `REDIS_URL` (Redis over TCP), else an in-memory store, with
 * one warning that the state is not shared between instances. Use
 * `configureCircuitBreakers` to choose the store (or pass your own Redis)
 * explicitly, and `disposeCircuitBreakers` to shut down.
 *
 * This module is the package subpath `/promise`; it is not re-exported from
 * the index, since some of its names are Promise twins of Effect services.
 *
 * Cost: a call the circuit admits from local knowledge (CLOSED, state cached)
 * runs without an Effect fiber and adds ~0.3 µs (less than opossum's
 * `fire()`, see `bench/promise.bench.ts`); everything else (probes, failures
 * to record, an expired cache, named calls while logging at Debug or
 * tracing) runs `breaker.protect` on a fiber of its own (a few µs). The
 * runtime's fibers do not update Effect's own `effect_fiber_*` metrics.
 *
 * @example
 * ```ts
 * import { createCircuitBreaker, CircuitBreakerError } from "effect-circuit-breaker-redis/promise"
 *
 * const payments = createCircuitBreaker("payments", { failureThreshold: 5, recoveryTimeout: 30_000 })
 *
 * try {
 *   const charge = await payments.execute(() => fetch("https://api.example.com/charge").then((r) => r.json()), "charge")
 * } catch (error) {
 *   if (error instanceof CircuitBreakerError && error.code === "CIRCUIT_OPEN") {
 *     // fail fast: retry in error.retryAfter ms
 *   }
 * }
 * ```
 *
 * @since 0.1.0
 */
// first: fails with a clear message when the installed effect is not 3.x
import "./internal/effect3.js"
import type * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as LogLevel from "effect/LogLevel"
import type * as Runtime from "effect/Runtime"
// modules that effect 4 does not have, read through the barrel (see internal/effect3.ts)
import * as Effect3 from "effect"
import type { CircuitBreaker } from "./CircuitBreaker.js"
import * as Monitoring from "./CircuitBreakerMonitoring.js"
import * as CircuitConfig from "./CircuitConfig.js"
import type { State } from "./CircuitState.js"
import type { CircuitStore, CircuitStoreError } from "./CircuitStore.js"
import type * as CircuitBreakerApi from "./CircuitBreaker.js"
import { type Internal, internalOf } from "./internal/breaker/circuitBreaker.js"
import { execute } from "./internal/promise/execute.js"
import * as promiseError from "./internal/promise/error.js"
import { PromiseRuntime, type Services, toPromise } from "./internal/promise/runtime.js"
import * as RedisCircuitStore from "./RedisCircuitStore.js"
import { fromClient, RedisClient } from "./RedisClient.js"

// ---------------------------------------------------------------------------
// models
// ---------------------------------------------------------------------------

/**
 * A breaker's configuration. Every field is optional (defaults in
 * `CircuitConfig.defaults`: the original README's `DEFAULT_CONFIG`);
 * durations are milliseconds, or Effect `Duration` inputs such as
 * `"30 seconds"`. A bad value makes `createCircuitBreaker` throw a
 * `CircuitConfigError` naming the field and the rule.
 *
 * `isFailure` decides which errors count as failures (default: every error);
 * it sees the operation's error as thrown, or, under `withCircuitBreaker`, an
 * `HttpResponseError` for a 5xx response.
 *
 * @example
 * ```ts
 * import type { PersistentCircuitBreakerConfig } from "effect-circuit-breaker-redis/promise"
 *
 * const prodConfig: PersistentCircuitBreakerConfig = {
 *   failureThreshold: 10,
 *   successThreshold: 5,
 *   recoveryTimeout: 120_000,
 *   monitoringPeriod: 600_000
 * }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface PersistentCircuitBreakerConfig extends CircuitConfig.Input<unknown> {}

/**
 * `CLOSED`, `OPEN`, `HALF_OPEN`, and the sticky admin states `FORCED_OPEN`
 * and `FORCED_CLOSED` (held until `reset()`).
 *
 * @example
 * ```ts
 * import { CircuitBreakers, type CircuitBreakerState } from "effect-circuit-breaker-redis/promise"
 *
 * const state: CircuitBreakerState = await CircuitBreakers.redis.getCurrentState() // "CLOSED"
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type CircuitBreakerState = State

/**
 * `healthy` (CLOSED, FORCED_CLOSED), `degraded` (HALF_OPEN, or running on the
 * local fallback because Redis is unavailable), `unhealthy` (OPEN,
 * FORCED_OPEN).
 *
 * @since 0.1.0
 * @category models
 */
export type HealthStatus = CircuitBreakerApi.HealthStatus

/**
 * What `getMetrics()` returns: this instance's counts (`calls`, `successes`,
 * `failures`, `rejections`, ...) and the circuit's window from the store
 * (`windowFailures`, `windowCalls`, `openCount`, `retryAt`, ...).
 *
 * @example
 * ```ts
 * import { CircuitBreakers } from "effect-circuit-breaker-redis/promise"
 *
 * const { calls, failures, state, retryAt } = await CircuitBreakers.database.getMetrics()
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type CircuitBreakerMetrics = CircuitBreakerApi.Metrics

/**
 * What `getHealth()` returns: `{ service, status, state, metrics, timestamp }`.
 *
 * @example
 * ```ts
 * import { CircuitBreakers } from "effect-circuit-breaker-redis/promise"
 *
 * const { status } = await CircuitBreakers.api.getHealth() // "healthy" | "degraded" | "unhealthy"
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type CircuitBreakerHealth = CircuitBreakerApi.Health

/**
 * What `getCircuitBreakerHealth()` returns:
 * `{ overall, services: { [name]: { status, state, metrics } }, timestamp }`.
 *
 * @example
 * ```ts
 * import { getCircuitBreakerHealth } from "effect-circuit-breaker-redis/promise"
 *
 * const { overall, services } = await getCircuitBreakerHealth()
 * const redisState = services["redis"]?.state // "CLOSED"
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type OverallHealth = Monitoring.OverallHealth

/**
 * One circuit in `CircuitBreakerMonitoring.getAllMetrics()`: its state, its
 * window, the fleet's counts (`fleet`: every instance sharing the store) and
 * this instance's own (`instance`).
 *
 * @since 0.1.0
 * @category models
 */
export type CircuitMetrics = Monitoring.CircuitMetrics

/**
 * An alert from `CircuitBreakerMonitoring.getAlerts()`: `kind` is `open`,
 * `forced-open`, `failure-rate`, `flapping` or `store-unavailable`.
 *
 * @example
 * ```ts
 * import { CircuitBreakerMonitoring } from "effect-circuit-breaker-redis/promise"
 *
 * const critical = (await CircuitBreakerMonitoring.getAlerts()).filter((a) => a.severity === "critical")
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Alert = Monitoring.Alert

/**
 * One circuit's outcome in `CircuitBreakerMonitoring.resetAll()`.
 *
 * @since 0.1.0
 * @category models
 */
export type ResetResult = Monitoring.ResetResult

/**
 * A Redis client of your own: an `@upstash/redis` `Redis`, or an `ioredis`
 * `Redis` or `Cluster`. It stays yours: nothing here closes it. The type is
 * the shape of those clients, so that this module's types need neither
 * package installed.
 *
 * @example
 * ```ts
 * import { getCircuitBreaker } from "effect-circuit-breaker-redis/promise"
 * import { Redis } from "ioredis"
 *
 * const breaker = getCircuitBreaker("search", new Redis(process.env.REDIS_URL!))
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type RedisInstance =
  | {
    /** `@upstash/redis`: `redis.exec(["CMD", ...args])`. */
    readonly exec: (command: [string, ...Array<string>]) => Promise<unknown>
  }
  | {
    /** `ioredis` (`Redis` or `Cluster`): `redis.call("CMD", ...args)`. */
    readonly call: (command: string, ...args: Array<string>) => Promise<unknown>
  }

/**
 * `"CIRCUIT_OPEN"` or `"SERVICE_UNAVAILABLE"`: see `CircuitBreakerError`.
 *
 * @since 0.1.0
 * @category errors
 */
export type CircuitBreakerErrorCode = promiseError.ErrorCode

/**
 * What a breaker rejects with when it did not run the operation:
 *
 * - `code: "CIRCUIT_OPEN"`: the circuit is OPEN (or FORCED_OPEN, or HALF_OPEN
 *   with every probe taken). `retryAfter` is how many milliseconds until a
 *   call may be let through; `state` says which state rejected it.
 * - `code: "SERVICE_UNAVAILABLE"`: Redis could not be reached and the
 *   breaker's `onStoreUnavailable` policy is `"fail-closed"` (the default,
 *   `"local"`, keeps protecting with an in-memory breaker instead). Admin
 *   calls (`reset`, `forceOpen`, `forceClose`) reject with it too when Redis
 *   did not hear of them (they still apply to this instance).
 *
 * `cause` is the Effect error (`CircuitOpen`, `ServiceUnavailable`,
 * `CircuitStoreError`). An operation's own errors are never wrapped.
 *
 * @example
 * ```ts
 * import { CircuitBreakerError, createCircuitBreaker } from "effect-circuit-breaker-redis/promise"
 *
 * declare const getCachedData: () => string
 * const breaker = createCircuitBreaker("catalog")
 *
 * export async function items(): Promise<string> {
 *   try {
 *     return await breaker.execute(() => fetch("https://catalog.internal/items").then((r) => r.text()))
 *   } catch (error) {
 *     if (error instanceof CircuitBreakerError && error.code === "CIRCUIT_OPEN") return getCachedData()
 *     throw error
 *   }
 * }
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export const CircuitBreakerError: typeof promiseError.CircuitBreakerError = promiseError.CircuitBreakerError

/**
 * @since 0.1.0
 * @category errors
 */
export type CircuitBreakerError = promiseError.CircuitBreakerError

/**
 * What `createCircuitBreaker` (and the other constructors) throw for an
 * invalid service name or configuration; `message` names every bad field and
 * its rule, e.g. `backoffJitter must be between 0 and 1 (got 1.5)`.
 *
 * @example
 * ```ts
 * import { CircuitConfigError, createCircuitBreaker } from "effect-circuit-breaker-redis/promise"
 *
 * try {
 *   createCircuitBreaker("payments", { failureThreshold: 0 })
 * } catch (error) {
 *   error instanceof CircuitConfigError // true: "failureThreshold must be a positive integer at most 1000000000 (got 0)"
 * }
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export const CircuitConfigError: typeof CircuitConfig.CircuitConfigError = CircuitConfig.CircuitConfigError

/**
 * @since 0.1.0
 * @category errors
 */
export type CircuitConfigError = CircuitConfig.CircuitConfigError

/**
 * Under `withCircuitBreaker`: the failure recorded for a handler's 5xx
 * response (the response itself is returned to the client unchanged). An
 * `isFailure` predicate may look at `response.status` to excuse some.
 *
 * @example
 * ```ts
 * import { HttpResponseError, withCircuitBreaker } from "effect-circuit-breaker-redis/promise"
 *
 * export const GET = withCircuitBreaker(async () => new Response("nope", { status: 501 }), "legacy", {
 *   isFailure: (error) => !(error instanceof HttpResponseError && error.response.status === 501)
 * })
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class HttpResponseError extends Error {
  override readonly name = "HttpResponseError"
  constructor(readonly response: Response) {
    super(`handler answered ${response.status}${response.statusText ? ` ${response.statusText}` : ""}`)
  }
}

/**
 * A circuit breaker for one service. Every method returns a Promise, and is
 * bound (`const { execute } = breaker` works).
 *
 * @example
 * ```ts
 * import { createCircuitBreaker } from "effect-circuit-breaker-redis/promise"
 *
 * const breaker = createCircuitBreaker("geo")
 * const city = await breaker.execute(() => fetch("https://geo.internal/city").then((r) => r.text()), "lookup-city")
 * if (!(await breaker.isAvailable())) console.warn("geo is failing fast")
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface PersistentCircuitBreaker {
  /** The circuit's name (its key in Redis). */
  readonly serviceName: string
  /**
   * The configuration this handle was made with, decoded (every field
   * present, durations in ms). Within one runtime, a circuit's breaker keeps
   * the configuration it was made with until it is let go idle (see
   * `createCircuitBreaker`).
   */
  readonly config: CircuitConfig.CircuitConfig
  /**
   * Runs `operation` if the circuit lets it through and records how it
   * ended. Resolves with its result; rejects with the operation's own error
   * when it fails (not wrapped), or with a `CircuitBreakerError` when the
   * breaker did not run it. `operationName` names the call in debug logs and
   * its tracing span (never required).
   */
  readonly execute: <T>(operation: () => PromiseLike<T> | T, operationName?: string) => Promise<T>
  /** The circuit's state now. */
  readonly getCurrentState: () => Promise<CircuitBreakerState>
  /** This instance's counts and the circuit's window. */
  readonly getMetrics: () => Promise<CircuitBreakerMetrics>
  /** Status, state and metrics. */
  readonly getHealth: () => Promise<CircuitBreakerHealth>
  /** Back to CLOSED, with an empty window and backoff, for the whole fleet. */
  readonly reset: () => Promise<void>
  /** Sticky: reject every call (fleet-wide) until `reset()`. */
  readonly forceOpen: () => Promise<void>
  /** Sticky: run every call (outcomes still counted, never trips) until `reset()`. */
  readonly forceClose: () => Promise<void>
  /** Whether a call made now would be let through. */
  readonly isAvailable: () => Promise<boolean>
}

/**
 * The four pre-configured breakers, made on first access with
 * `CircuitConfig.presets` (circuits named `redis`, `database`, `api`, `auth`).
 *
 * @since 0.1.0
 * @category models
 */
export interface PresetCircuitBreakers {
  /** A cache or Redis: fails fast (3 failures), recovers fast (10 s). */
  readonly redis: PersistentCircuitBreaker
  /** A primary database: the defaults (5 failures, 30 s). */
  readonly database: PersistentCircuitBreaker
  /** A third-party HTTP API: tolerates more noise (10 failures), backs off longer (60 s). */
  readonly api: PersistentCircuitBreaker
  /** An auth provider: opens early (3 failures), needs 5 successes to close. */
  readonly auth: PersistentCircuitBreaker
}

/**
 * Fleet-wide monitoring: every circuit known to the store (for Redis: made by
 * any instance of the fleet, not only this one).
 *
 * @since 0.1.0
 * @category models
 */
export interface CircuitBreakerMonitoringApi {
  /** Every known circuit by name: state, window, the fleet's counts, this instance's counts. */
  readonly getAllMetrics: () => Promise<Record<string, CircuitMetrics>>
  /** Alerts for open, forced-open, failing, flapping circuits and an unavailable store. */
  readonly getAlerts: () => Promise<Array<Alert>>
  /** Resets every known circuit; one result per circuit. */
  readonly resetAll: () => Promise<Array<ResetResult>>
}

/**
 * The signature of `withCircuitBreaker`: the handler's own request type
 * (e.g. Next.js's `NextRequest`) and extra arguments are kept.
 *
 * @since 0.1.0
 * @category models
 */
export type WithCircuitBreaker = <Req extends Request, Rest extends Array<unknown>>(
  handler: (request: Req, ...rest: Rest) => Response | PromiseLike<Response>,
  serviceName: string,
  config?: PersistentCircuitBreakerConfig
) => (request: Req, ...rest: Rest) => Promise<Response>

/**
 * How a runtime finds its store.
 *
 * @example
 * ```ts
 * import { configureCircuitBreakers } from "effect-circuit-breaker-redis/promise"
 * import { Redis } from "@upstash/redis"
 *
 * await configureCircuitBreakers({ redis: Redis.fromEnv(), prefix: "shop", logLevel: "Debug" })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface CircuitBreakerRuntimeOptions {
  /**
   * A store layer of your own (e.g. `CircuitStore.layerMemory`, or
   * `RedisCircuitStore.layer(...)` over a `RedisClient` layer).
   */
  readonly store?: Layer.Layer<CircuitStore, unknown> | undefined
  /** A Redis client of your own to keep the state in (`@upstash/redis` or `ioredis`). */
  readonly redis?: RedisInstance | undefined
  /** The Redis key prefix (default `"cb"`), for `redis` and for a store from the environment. */
  readonly prefix?: string | undefined
  /** Alert thresholds and the config used to read circuits no breaker of this runtime made. */
  readonly monitoring?: Monitoring.Options | undefined
  /**
   * The minimum level of the runtime's logs (default `"Info"`). `"Debug"`
   * logs every named operation (`execute(op, "name")`) and its outcome.
   */
  readonly logLevel?: LogLevel.Literal | undefined
}

/**
 * An independent set of breakers on one store, with its own runtime: what
 * the module-level functions are, for the default runtime.
 *
 * @example
 * ```ts
 * import { makeCircuitBreakerRuntime } from "effect-circuit-breaker-redis/promise"
 * import { CircuitStore } from "effect-circuit-breaker-redis"
 *
 * const local = makeCircuitBreakerRuntime({ store: CircuitStore.layerMemory })
 * await local.CircuitBreakers.api.execute(() => fetch("https://api.example.com/ping"))
 * await local.dispose()
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface CircuitBreakerRuntime {
  /** See the module-level `createCircuitBreaker`. */
  readonly createCircuitBreaker: (serviceName: string, config?: PersistentCircuitBreakerConfig) => PersistentCircuitBreaker
  /** See the module-level `withCircuitBreaker`. */
  readonly withCircuitBreaker: WithCircuitBreaker
  /** See the module-level `getCircuitBreakerHealth`. */
  readonly getCircuitBreakerHealth: () => Promise<OverallHealth>
  /** The pre-configured breakers of this runtime. */
  readonly CircuitBreakers: PresetCircuitBreakers
  /** Fleet-wide monitoring, read through this runtime's store. */
  readonly CircuitBreakerMonitoring: CircuitBreakerMonitoringApi
  /**
   * Closes the runtime: batched success counts are sent to Redis, clients the
   * runtime opened itself are closed (yours are not). Later calls reject.
   */
  readonly dispose: () => Promise<void>
}

// ---------------------------------------------------------------------------
// breakers
// ---------------------------------------------------------------------------

/** An admin action the store did not hear of: a `SERVICE_UNAVAILABLE` (it still applied to this instance). */
const adminError = (cause: Cause.Cause<CircuitStoreError>, serviceName: string): unknown => {
  const rejection = promiseError.rejectionOf(cause, false)
  if (isCircuitStoreError(rejection)) {
    return new promiseError.CircuitBreakerError({
      code: "SERVICE_UNAVAILABLE",
      serviceName,
      message: `${rejection.message} (the change applies to this instance only)`,
      cause: rejection
    })
  }
  return rejection
}

const isCircuitStoreError = (u: unknown): u is CircuitStoreError =>
  u instanceof Error && (u as { readonly _tag?: unknown })._tag === "CircuitStoreError"

/**
 * How long (ms of the breaker's clock) a handle keeps using the breaker it
 * got before asking its runtime's registry again: a handle whose breaker was
 * let go idle takes the registry's new one, so that a name has one breaker
 * in a runtime (the one monitoring and the admin routes see).
 */
const recheckEvery = 1_000

/** A handle's breaker, and until when (the last call's time) it uses it without asking the registry. */
interface Cached {
  readonly instance: PromiseRuntime
  readonly breaker: CircuitBreaker
  readonly internal: Internal | undefined
  readonly until: number
}

/** Whether a handle may use the breaker it has without asking the registry. */
const fresh = (cached: Cached | undefined, instance: PromiseRuntime): cached is Cached =>
  cached !== undefined && cached.instance === instance &&
  (cached.internal === undefined || cached.internal.usedAt < cached.until)

class Breaker implements PersistentCircuitBreaker {
  readonly config: CircuitConfig.CircuitConfig
  private cached: Cached | undefined = undefined

  constructor(
    readonly serviceName: string,
    private readonly input: PersistentCircuitBreakerConfig | undefined,
    private readonly instanceOf: () => PromiseRuntime
  ) {
    const decoded = CircuitConfig.decodeEither(serviceName, input ?? {})
    if (Effect3.Either.isLeft(decoded)) throw decoded.left
    this.config = decoded.right
  }

  private with<A>(f: (runtime: Runtime.Runtime<Services>, breaker: CircuitBreaker) => Promise<A>): Promise<A> {
    const instance = this.instanceOf()
    const cached = this.cached
    const rt = instance.rt
    if (rt !== undefined && fresh(cached, instance)) return f(rt, cached.breaker)
    return instance.breaker(this.serviceName, this.input, this.config).then((breaker) => {
      const internal = internalOf(breaker)
      const until = internal === undefined ? 0 : internal.clock.unsafeCurrentTimeMillis() + recheckEvery
      this.cached = { instance, breaker, internal, until }
      return instance.runtime().then((runtime) => f(runtime, breaker))
    })
  }

  private admin(select: (breaker: CircuitBreaker) => Effect.Effect<void, CircuitStoreError>): Promise<void> {
    return this.with((runtime, breaker) =>
      toPromise(runtime, select(breaker), (cause) => adminError(cause, breaker.config.serviceName))
    )
  }

  private read<A>(select: (breaker: CircuitBreaker) => Effect.Effect<A>): Promise<A> {
    return this.with((runtime, breaker) =>
      toPromise(runtime, select(breaker), (cause) => promiseError.rejectionOf(cause, false))
    )
  }

  readonly execute = <T>(operation: () => PromiseLike<T> | T, operationName?: string): Promise<T> => {
    if (typeof operation !== "function") {
      return Promise.reject(new TypeError(`execute expects a function (got ${typeof operation})`))
    }
    const instance = this.instanceOf()
    const cached = this.cached
    const rt = instance.rt
    if (rt !== undefined && fresh(cached, instance)) return execute(instance, rt, cached.breaker, operation, operationName)
    return this.with((runtime, breaker) => execute(instance, runtime, breaker, operation, operationName))
  }

  readonly getCurrentState = (): Promise<CircuitBreakerState> => this.read((b) => b.state)
  readonly getMetrics = (): Promise<CircuitBreakerMetrics> => this.read((b) => b.metrics)
  readonly getHealth = (): Promise<CircuitBreakerHealth> => this.read((b) => b.health)
  readonly isAvailable = (): Promise<boolean> => this.read((b) => b.isAvailable)
  readonly reset = (): Promise<void> => this.admin((b) => b.reset)
  readonly forceOpen = (): Promise<void> => this.admin((b) => b.forceOpen)
  readonly forceClose = (): Promise<void> => this.admin((b) => b.forceClose)
}

/** The Retry-After header value: seconds, rounded up, at least 1. */
const retryAfterSeconds = (ms: number): string => String(Math.max(1, Math.ceil(ms / 1000)))

const unavailable = (error: promiseError.CircuitBreakerError): Response => {
  const headers: Record<string, string> = {
    "Content-Type": "application/json",
    "Cache-Control": "no-store"
  }
  if (error.retryAfter !== undefined) headers["Retry-After"] = retryAfterSeconds(error.retryAfter)
  return new Response(
    JSON.stringify({
      error: "Service Unavailable",
      code: error.code,
      service: error.serviceName,
      ...(error.retryAfter !== undefined ? { retryAfter: error.retryAfter } : {})
    }),
    { status: 503, headers }
  )
}

const operationNameOf = (request: Request): string => {
  try {
    return `${request.method} ${new URL(request.url).pathname}`
  } catch {
    return request.method
  }
}

const presetNames = ["redis", "database", "api", "auth"] as const

/** The whole Promise API over one way of finding the runtime. */
const makeApi = (instanceOf: () => PromiseRuntime) => {
  const createCircuitBreaker = (serviceName: string, config?: PersistentCircuitBreakerConfig): PersistentCircuitBreaker =>
    new Breaker(serviceName, config, instanceOf)

  const made: Partial<Record<(typeof presetNames)[number], PersistentCircuitBreaker>> = {}
  const preset = (name: (typeof presetNames)[number]): PersistentCircuitBreaker =>
    made[name] ??= createCircuitBreaker(name, CircuitConfig.presets[name])
  const CircuitBreakers: PresetCircuitBreakers = {
    get redis() {
      return preset("redis")
    },
    get database() {
      return preset("database")
    },
    get api() {
      return preset("api")
    },
    get auth() {
      return preset("auth")
    }
  }

  const withCircuitBreaker: WithCircuitBreaker = (handler, serviceName, config) => {
    const breaker = createCircuitBreaker(serviceName, config)
    return async (request, ...rest) => {
      // the 5xx answer this call recorded as a failure, if any
      const own: { failed: HttpResponseError | undefined } = { failed: undefined }
      try {
        return await breaker.execute(async () => {
          const response = await handler(request, ...rest)
          if (response.status >= 500) throw (own.failed = new HttpResponseError(response))
          return response
        }, operationNameOf(request))
      } catch (error) {
        if (own.failed !== undefined && error === own.failed) return own.failed.response
        if (error instanceof promiseError.CircuitBreakerError) return unavailable(error)
        throw error
      }
    }
  }

  const monitoring = <A>(select: (service: Monitoring.CircuitBreakerMonitoring["Type"]) => Effect.Effect<A>) =>
    instanceOf().run(Effect.flatMap(Monitoring.CircuitBreakerMonitoring, select))

  const getCircuitBreakerHealth = (): Promise<OverallHealth> => monitoring((m) => m.health)

  const CircuitBreakerMonitoring: CircuitBreakerMonitoringApi = {
    getAllMetrics: () => monitoring((m) => m.getAllMetrics) as Promise<Record<string, CircuitMetrics>>,
    getAlerts: () => monitoring((m) => m.getAlerts) as Promise<Array<Alert>>,
    resetAll: () => monitoring((m) => m.resetAll) as Promise<Array<ResetResult>>
  }

  return { createCircuitBreaker, CircuitBreakers, withCircuitBreaker, getCircuitBreakerHealth, CircuitBreakerMonitoring }
}

// ---------------------------------------------------------------------------
// runtimes
// ---------------------------------------------------------------------------

const makeInstance = (options: CircuitBreakerRuntimeOptions): PromiseRuntime => {
  if (options.store !== undefined && options.redis !== undefined) {
    throw new TypeError("circuit breaker runtime: give either `store` or `redis`, not both")
  }
  const storeOptions = options.prefix === undefined ? undefined : { prefix: options.prefix }
  const store = options.store ?? (options.redis !== undefined
    ? RedisCircuitStore.layer(storeOptions).pipe(Layer.provide(Layer.succeed(RedisClient, fromClient(options.redis))))
    : RedisCircuitStore.layerFromEnv(storeOptions))
  const label = options.store !== undefined
    ? "custom store"
    : options.redis !== undefined
    ? "your Redis client"
    : "store from the environment"
  return new PromiseRuntime({ store, monitoring: options.monitoring, logLevel: options.logLevel, label })
}

/**
 * Makes an independent runtime: its own store, breakers and monitoring,
 * built on first use. For several Redis databases in one process, for tests,
 * or to keep a library's breakers apart from the application's.
 *
 * @example
 * ```ts
 * import { makeCircuitBreakerRuntime } from "effect-circuit-breaker-redis/promise"
 * import { Redis } from "@upstash/redis"
 *
 * const breakers = makeCircuitBreakerRuntime({ redis: Redis.fromEnv(), prefix: "billing" })
 * const stripe = breakers.createCircuitBreaker("stripe", { failureThreshold: 3 })
 * // ...
 * await breakers.dispose()
 * ```
 *
 * @since 0.1.0
 * @category runtimes
 */
export const makeCircuitBreakerRuntime = (options: CircuitBreakerRuntimeOptions = {}): CircuitBreakerRuntime => {
  const instance = makeInstance(options)
  return { ...makeApi(() => instance), dispose: () => instance.dispose() }
}

let defaultInstance: PromiseRuntime | undefined = undefined

/** The runtime (per Redis instance) of `getCircuitBreaker`. */
const byRedis = new WeakMap<object, PromiseRuntime>()
/**
 * The runtimes `getCircuitBreaker` made, for `disposeCircuitBreakers`: held
 * weakly, or strongly where the runtime has no `WeakRef` (Cloudflare Workers
 * without `enable_weak_ref`; one runtime per Redis client there).
 */
const redisInstances = new Set<{ deref(): PromiseRuntime | undefined }>()
const refTo = (instance: PromiseRuntime): { deref(): PromiseRuntime | undefined } =>
  typeof WeakRef === "function" ? new WeakRef(instance) : { deref: () => instance }

const currentInstance = (): PromiseRuntime => (defaultInstance ??= makeInstance({}))

/**
 * Configures the default runtime (the one every module-level function uses)
 * and disposes the previous one, if it was used. Breakers made before keep
 * working: they move to the new runtime on their next call. Without a call
 * to this, the store comes from the environment (see the module docs).
 *
 * @example
 * ```ts
 * import { configureCircuitBreakers, createCircuitBreaker } from "effect-circuit-breaker-redis/promise"
 * import { Redis } from "@upstash/redis"
 *
 * // your own client (any options), your own key prefix
 * await configureCircuitBreakers({ redis: new Redis({ url, token }), prefix: "shop" })
 *
 * // or a store layer, e.g. in tests
 * import { CircuitStore } from "effect-circuit-breaker-redis"
 * await configureCircuitBreakers({ store: CircuitStore.layerMemory })
 * ```
 *
 * @since 0.1.0
 * @category runtimes
 */
export const configureCircuitBreakers = (options: CircuitBreakerRuntimeOptions = {}): Promise<void> => {
  const next = makeInstance(options)
  const previous = defaultInstance
  defaultInstance = next
  if (options.redis !== undefined) byRedis.set(options.redis, next)
  return previous === undefined ? Promise.resolve() : previous.dispose()
}

/**
 * Shuts down the default runtime and the runtimes made by
 * `getCircuitBreaker`: batched success counts are sent to Redis, and clients
 * made from the environment are closed (clients you passed in are not). A
 * later call starts a fresh default runtime from the environment.
 *
 * @example
 * ```ts
 * import { disposeCircuitBreakers } from "effect-circuit-breaker-redis/promise"
 *
 * process.on("SIGTERM", async () => {
 *   await disposeCircuitBreakers()
 *   process.exit(0)
 * })
 * ```
 *
 * @since 0.1.0
 * @category runtimes
 */
export const disposeCircuitBreakers = async (): Promise<void> => {
  const instances: Array<PromiseRuntime> = []
  if (defaultInstance !== undefined) instances.push(defaultInstance)
  defaultInstance = undefined
  for (const ref of redisInstances) {
    const instance = ref.deref()
    if (instance !== undefined) instances.push(instance)
  }
  redisInstances.clear()
  await Promise.all(instances.map((instance) => instance.dispose()))
}

const instanceForRedis = (redis: RedisInstance): PromiseRuntime => {
  let instance = byRedis.get(redis)
  if (instance === undefined || instance.disposed) {
    instance = makeInstance({ redis })
    byRedis.set(redis, instance)
    redisInstances.add(refTo(instance))
  }
  return instance
}

const defaultApi = makeApi(currentInstance)

// ---------------------------------------------------------------------------
// the module-level API (the original README's)
// ---------------------------------------------------------------------------

/**
 * A breaker for `serviceName` on the default runtime. Creation is
 * synchronous and cheap (call it per request if you like): the breaker is
 * made on first use. The same name always reaches the same circuit; within
 * one runtime the first configuration used for a name is the one its breaker
 * keeps (a different one given later is ignored, with one warning per
 * breaker; no config at all means "the circuit as it is"). A breaker no call
 * used for 10 minutes is let go (bounded memory with many names): the next
 * handle for the name makes a new one, with its own configuration. Throws a
 * `CircuitConfigError` for an invalid name or configuration.
 *
 * @example
 * ```ts
 * import { createCircuitBreaker } from "effect-circuit-breaker-redis/promise"
 * import { Redis } from "@upstash/redis"
 *
 * const redis = Redis.fromEnv()
 * const circuitBreaker = createCircuitBreaker("my-service", {
 *   failureThreshold: 5,
 *   successThreshold: 3,
 *   recoveryTimeout: 30000
 * })
 *
 * const result = await circuitBreaker.execute(async () => redis.get("my-key"), "read-my-key")
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const createCircuitBreaker: (
  serviceName: string,
  config?: PersistentCircuitBreakerConfig
) => PersistentCircuitBreaker = defaultApi.createCircuitBreaker

/**
 * A breaker for `serviceName` whose state lives in the Redis client given:
 * an `@upstash/redis` `Redis` (any options: its replies are read raw, so its
 * automatic deserialization does not matter) or an `ioredis` `Redis` or
 * `Cluster` (never closed here). Breakers on the same client share one
 * runtime; if the default runtime was configured with this client, they use
 * it. Monitoring (`getCircuitBreakerHealth`, ...) reads the default runtime's
 * store: point it at the same Redis (environment or
 * `configureCircuitBreakers({ redis })`) to see these circuits there.
 *
 * @example
 * ```ts
 * import { getCircuitBreaker } from "effect-circuit-breaker-redis/promise"
 * import { Redis } from "@upstash/redis"
 *
 * const redis = new Redis({ url: process.env.UPSTASH_REDIS_REST_URL!, token: process.env.UPSTASH_REDIS_REST_TOKEN! })
 * const users = getCircuitBreaker("user-service", redis, { failureThreshold: 3 })
 * const user = await users.execute(() => redis.get("user:42"))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const getCircuitBreaker = (
  serviceName: string,
  redis: RedisInstance,
  config?: PersistentCircuitBreakerConfig
): PersistentCircuitBreaker => {
  instanceForRedis(redis) // a client we cannot use fails here, not at the first call
  return new Breaker(serviceName, config, () => instanceForRedis(redis))
}

/**
 * Pre-configured breakers on the default runtime, made on first access:
 * `CircuitBreakers.redis`, `.database`, `.api`, `.auth` (circuits of those
 * names, with `CircuitConfig.presets`).
 *
 * @example
 * ```ts
 * import { CircuitBreakers } from "effect-circuit-breaker-redis/promise"
 * import { Redis } from "@upstash/redis"
 *
 * const redis = Redis.fromEnv()
 * await CircuitBreakers.redis.execute(() => redis.set("key", "value"))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const CircuitBreakers: PresetCircuitBreakers = defaultApi.CircuitBreakers

/**
 * Protects a Web-standard route handler (Next.js, Edge, any
 * `(Request) => Response`); the extra arguments (e.g. Next.js's
 * `{ params }`) are passed through.
 *
 * - While the circuit is open the handler is not called: the answer is a 503
 *   with `Retry-After` (seconds, rounded up) and the JSON body
 *   `{ error: "Service Unavailable", code: "CIRCUIT_OPEN", service, retryAfter }`
 *   (`retryAfter` in milliseconds). A store failure under
 *   `onStoreUnavailable: "fail-closed"` answers 503 with
 *   `code: "SERVICE_UNAVAILABLE"` and no `Retry-After`.
 * - A 5xx response from the handler counts as a failure, and is returned to
 *   the client unchanged.
 * - An error the handler throws counts as a failure and is rethrown (so the
 *   framework's own error handling still applies).
 *
 * The config is checked at once: a bad one throws a `CircuitConfigError` where the
 * route is defined.
 *
 * @example
 * ```ts
 * import { withCircuitBreaker } from "effect-circuit-breaker-redis/promise"
 *
 * declare const fetchExternalAPI: () => Promise<unknown>
 *
 * export const GET = withCircuitBreaker(
 *   async (request: Request) => {
 *     const data = await fetchExternalAPI()
 *     return new Response(JSON.stringify(data))
 *   },
 *   "external-api",
 *   { failureThreshold: 10, recoveryTimeout: 60000 }
 * )
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const withCircuitBreaker: WithCircuitBreaker = defaultApi.withCircuitBreaker

/**
 * The health of every circuit known to the store (fleet-wide for Redis):
 * `{ overall, services: { [name]: { status, state, metrics } }, timestamp }`.
 * `overall` is `unhealthy` if any circuit is OPEN or FORCED_OPEN, `degraded`
 * if any is HALF_OPEN or runs on the local fallback, `healthy` otherwise.
 *
 * @example
 * ```ts
 * import { getCircuitBreakerHealth } from "effect-circuit-breaker-redis/promise"
 *
 * export async function GET() {
 *   const health = await getCircuitBreakerHealth()
 *   return new Response(JSON.stringify(health), {
 *     status: health.overall === "healthy" ? 200 : 503,
 *     headers: { "Content-Type": "application/json" }
 *   })
 * }
 * ```
 *
 * @since 0.1.0
 * @category monitoring
 */
export const getCircuitBreakerHealth: () => Promise<OverallHealth> = defaultApi.getCircuitBreakerHealth

/**
 * Fleet-wide monitoring on the default runtime: `getAllMetrics()`,
 * `getAlerts()`, `resetAll()`.
 *
 * @example
 * ```ts
 * import { CircuitBreakerMonitoring } from "effect-circuit-breaker-redis/promise"
 *
 * const metrics = await CircuitBreakerMonitoring.getAllMetrics() // { [name]: { state, fleet, instance, ... } }
 * const alerts = await CircuitBreakerMonitoring.getAlerts() // [{ kind: "open", service, message, ... }]
 * await CircuitBreakerMonitoring.resetAll() // [{ service, success }]
 * ```
 *
 * @since 0.1.0
 * @category monitoring
 */
export const CircuitBreakerMonitoring: CircuitBreakerMonitoringApi = defaultApi.CircuitBreakerMonitoring
