/**
 * The Promise side, for code that does not use Effect (`createCircuitBreaker`,
 * `CircuitBreakers.redis`, `withCircuitBreaker`, `getCircuitBreakerHealth`,
 * ...), on the same breakers, stores and monitoring as the Effect API.
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
 * runs without an Effect fiber (`bench/promise.bench.ts` measures it);
 * everything else (probes, failures to record, an expired cache, named calls
 * while logging at Debug or tracing) runs `breaker.protect` on a fiber of its
 * own. The runtime's fibers do not update Effect's own `effect_fiber_*`
 * metrics.
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
// first: fails with a clear message when the installed effect is not 4.x
import "./internal/effect4.js"
import type * as Layer from "effect/Layer"
import type * as LogLevel from "effect/LogLevel"
import type * as CircuitBreakerApi from "./CircuitBreaker.js"
import type * as Monitoring from "./CircuitBreakerMonitoring.js"
import * as CircuitConfig from "./CircuitConfig.js"
import type { State } from "./CircuitState.js"
import type { CircuitStore } from "./CircuitStore.js"
import * as defaultRuntime from "./internal/promise/defaultRuntime.js"
import * as promiseError from "./internal/promise/error.js"

// ---------------------------------------------------------------------------
// models
// ---------------------------------------------------------------------------

/**
 * A breaker's configuration. Every field is optional (defaults in
 * `CircuitConfig.defaults`);
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
 * @example
 * ```ts
 * import { createCircuitBreaker, type HealthStatus } from "effect-circuit-breaker-redis/promise"
 *
 * const breaker = createCircuitBreaker("search")
 * const status: HealthStatus = (await breaker.getHealth()).status
 * ```
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
 * @example
 * ```ts
 * import { CircuitBreakerMonitoring, type CircuitMetrics } from "effect-circuit-breaker-redis/promise"
 *
 * const open: Array<CircuitMetrics> = Object.values(await CircuitBreakerMonitoring.getAllMetrics())
 *   .filter((circuit) => circuit.state === "OPEN")
 * ```
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
 * @example
 * ```ts
 * import { CircuitBreakerMonitoring, type ResetResult } from "effect-circuit-breaker-redis/promise"
 *
 * const failed: Array<ResetResult> = (await CircuitBreakerMonitoring.resetAll()).filter((r) => !r.success)
 * ```
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
 * @example
 * ```ts
 * import { CircuitBreakerError, type CircuitBreakerErrorCode } from "effect-circuit-breaker-redis/promise"
 *
 * const codeOf = (error: unknown): CircuitBreakerErrorCode | undefined =>
 *   error instanceof CircuitBreakerError ? error.code : undefined
 * ```
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
 * @example
 * ```ts
 * import { CircuitBreakerError } from "effect-circuit-breaker-redis/promise"
 *
 * const isRejection = (error: unknown): error is CircuitBreakerError => error instanceof CircuitBreakerError
 * ```
 *
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
 * @example
 * ```ts
 * import { CircuitConfigError } from "effect-circuit-breaker-redis/promise"
 *
 * const issuesOf = (error: CircuitConfigError): ReadonlyArray<string> => error.issues
 * ```
 *
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
export const HttpResponseError: typeof promiseError.HttpResponseError = promiseError.HttpResponseError

/**
 * @example
 * ```ts
 * import { HttpResponseError } from "effect-circuit-breaker-redis/promise"
 *
 * const statusOf = (error: unknown): number | undefined =>
 *   error instanceof HttpResponseError ? error.response.status : undefined
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export type HttpResponseError = promiseError.HttpResponseError

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
 * @example
 * ```ts
 * import { CircuitBreakers, type PresetCircuitBreakers } from "effect-circuit-breaker-redis/promise"
 *
 * const presets: PresetCircuitBreakers = CircuitBreakers
 * const user = await presets.auth.execute(() => fetch("https://auth.internal/me").then((r) => r.json()))
 * ```
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
 * @example
 * ```ts
 * import { CircuitBreakerMonitoring, type CircuitBreakerMonitoringApi } from "effect-circuit-breaker-redis/promise"
 *
 * const monitoring: CircuitBreakerMonitoringApi = CircuitBreakerMonitoring
 * const alerts = await monitoring.getAlerts()
 * ```
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
 * @example
 * ```ts
 * import { withCircuitBreaker, type WithCircuitBreaker } from "effect-circuit-breaker-redis/promise"
 *
 * const guard: WithCircuitBreaker = withCircuitBreaker
 * export const GET = guard(async (request: Request, context: { params: Promise<{ id: string }> }) => {
 *   const { id } = await context.params
 *   return Response.json({ id, url: request.url })
 * }, "orders")
 * ```
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
  readonly logLevel?: LogLevel.LogLevel | undefined
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
  readonly createCircuitBreaker: (
    serviceName: string,
    config?: PersistentCircuitBreakerConfig
  ) => PersistentCircuitBreaker
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
// runtimes
// ---------------------------------------------------------------------------

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
export const makeCircuitBreakerRuntime: (options?: CircuitBreakerRuntimeOptions) => CircuitBreakerRuntime =
  defaultRuntime.makeCircuitBreakerRuntime

/**
 * Configures the default runtime (the one every module-level function uses)
 * and disposes the previous one, if it was used. Breakers made before keep
 * working: they move to the new runtime on their next call. Without a call
 * to this, the store comes from the environment (see the module docs).
 *
 * @example
 * ```ts
 * import { CircuitStore } from "effect-circuit-breaker-redis"
 * import { configureCircuitBreakers } from "effect-circuit-breaker-redis/promise"
 * import { Redis } from "@upstash/redis"
 *
 * // your own client (any options), your own key prefix
 * const redis = new Redis({ url: process.env.UPSTASH_REDIS_REST_URL!, token: process.env.UPSTASH_REDIS_REST_TOKEN! })
 * await configureCircuitBreakers({ redis, prefix: "shop" })
 *
 * // or a store layer, e.g. in tests
 * await configureCircuitBreakers({ store: CircuitStore.layerMemory })
 * ```
 *
 * @since 0.1.0
 * @category runtimes
 */
export const configureCircuitBreakers: (options?: CircuitBreakerRuntimeOptions) => Promise<void> =
  defaultRuntime.configureCircuitBreakers

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
export const disposeCircuitBreakers: () => Promise<void> = defaultRuntime.disposeCircuitBreakers

// ---------------------------------------------------------------------------
// the module-level API (on the default runtime)
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
) => PersistentCircuitBreaker = defaultRuntime.defaultApi.createCircuitBreaker

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
export const getCircuitBreaker: (
  serviceName: string,
  redis: RedisInstance,
  config?: PersistentCircuitBreakerConfig
) => PersistentCircuitBreaker = defaultRuntime.getCircuitBreaker

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
export const CircuitBreakers: PresetCircuitBreakers = defaultRuntime.defaultApi.CircuitBreakers

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
export const withCircuitBreaker: WithCircuitBreaker = defaultRuntime.defaultApi.withCircuitBreaker

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
export const getCircuitBreakerHealth: () => Promise<OverallHealth> = defaultRuntime.defaultApi.getCircuitBreakerHealth

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
export const CircuitBreakerMonitoring: CircuitBreakerMonitoringApi = defaultRuntime.defaultApi.CircuitBreakerMonitoring
