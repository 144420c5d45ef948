/**
 * A Redis-backed circuit breaker for Effect 4, shared by a fleet of serverless
 * instances. This is the core entry point: the breaker, its configuration,
 * the store service with its in-memory and Redis stores, the `RedisClient`
 * service and monitoring. It imports no Redis client, no `effect/http`
 * and nothing from Node; the clients, the HTTP routes and the Promise API are
 * the entry points `/upstash`, `/ioredis`, `/http` and `/promise`.
 *
 * @since 0.1.0
 */

// first: fails with a clear message when the installed effect is not 4.x
import "./internal/effect4.js"

/**
 * The backoff of open periods as an Effect `Schedule`.
 *
 * @example
 * ```ts
 * import { Backoff, CircuitConfig } from "effect-circuit-breaker-redis"
 * import { Effect } from "effect"
 *
 * const delays = Effect.flatMap(CircuitConfig.decode("api"), (config) => Backoff.delays(Backoff.schedule(config), 5))
 * ```
 *
 * @since 0.1.0
 */
export * as Backoff from "./Backoff.js"

/**
 * `make`, `protect`, and the breaker's model.
 *
 * @example
 * ```ts
 * import { CircuitBreaker, CircuitStore } from "effect-circuit-breaker-redis"
 * import { Effect } from "effect"
 *
 * declare const fetchPrice: Effect.Effect<number, Error>
 *
 * const price = Effect.gen(function*() {
 *   const breaker = yield* CircuitBreaker.make("prices", { failureThreshold: 3 })
 *   return yield* fetchPrice.pipe(CircuitBreaker.protect(breaker))
 * }).pipe(Effect.provide(CircuitStore.layerMemory))
 * ```
 *
 * @since 0.1.0
 */
export * as CircuitBreaker from "./CircuitBreaker.js"

/**
 * The failures `protect` adds: `CircuitOpen`, `ServiceUnavailable`.
 *
 * @example
 * ```ts
 * import { CircuitBreakerError } from "effect-circuit-breaker-redis"
 *
 * declare const error: unknown
 *
 * const rejected = CircuitBreakerError.isCircuitOpen(error) || CircuitBreakerError.isServiceUnavailable(error)
 * ```
 *
 * @since 0.1.0
 */
export * as CircuitBreakerError from "./CircuitBreakerError.js"

/**
 * A registry of breakers by name.
 *
 * @example
 * ```ts
 * import { CircuitBreaker, CircuitBreakers, CircuitStore } from "effect-circuit-breaker-redis"
 * import { Effect, Layer } from "effect"
 *
 * declare const charge: Effect.Effect<string, Error>
 *
 * const Breakers = CircuitBreakers.layer().pipe(Layer.provide(CircuitStore.layerMemory))
 * const program = charge.pipe(CircuitBreaker.protect("payments"), Effect.provide(Breakers))
 * ```
 *
 * @since 0.1.0
 */
export * as CircuitBreakers from "./CircuitBreakers.js"

/**
 * The configuration: Schema, defaults, presets, `CircuitConfigError`.
 *
 * @example
 * ```ts
 * import { CircuitConfig } from "effect-circuit-breaker-redis"
 *
 * const config = CircuitConfig.decode("payments", { ...CircuitConfig.presets.api, failureThreshold: 3 })
 * ```
 *
 * @since 0.1.0
 */
export * as CircuitConfig from "./CircuitConfig.js"

/**
 * States, snapshots and transitions.
 *
 * @example
 * ```ts
 * import { CircuitState } from "effect-circuit-breaker-redis"
 *
 * const runsFreely = CircuitState.isClosed("FORCED_CLOSED") // true
 * ```
 *
 * @since 0.1.0
 */
export * as CircuitState from "./CircuitState.js"

/**
 * The store service and its in-memory layer.
 *
 * @example
 * ```ts
 * import { CircuitBreaker, CircuitStore } from "effect-circuit-breaker-redis"
 * import { Effect } from "effect"
 *
 * const program = CircuitBreaker.make("payments").pipe(Effect.provide(CircuitStore.layerMemory))
 * ```
 *
 * @since 0.1.0
 */
export * as CircuitStore from "./CircuitStore.js"

export {
  /**
   * `CircuitBreakerError.CircuitOpen`, at the top level.
   *
   * @example
   * ```ts
   * import { CircuitOpen } from "effect-circuit-breaker-redis"
   *
   * declare const error: unknown
   *
   * const retryAfter = error instanceof CircuitOpen ? error.retryAfter : undefined
   * ```
   *
   * @since 0.1.0
   */
  CircuitOpen,
  /**
   * `CircuitBreakerError.ServiceUnavailable`, at the top level.
   *
   * @example
   * ```ts
   * import { ServiceUnavailable } from "effect-circuit-breaker-redis"
   *
   * declare const error: unknown
   *
   * const reason = error instanceof ServiceUnavailable ? error.reason : undefined
   * ```
   *
   * @since 0.1.0
   */
  ServiceUnavailable
} from "./CircuitBreakerError.js"

/**
 * A `CircuitStore` in Redis, shared by a fleet.
 *
 * @example
 * ```ts
 * import { CircuitBreaker, RedisCircuitStore } from "effect-circuit-breaker-redis"
 * import { Effect } from "effect"
 *
 * const program = CircuitBreaker.make("payments").pipe(Effect.provide(RedisCircuitStore.layerFromEnv()))
 * ```
 *
 * @since 0.1.0
 */
export * as RedisCircuitStore from "./RedisCircuitStore.js"

/**
 * The Redis connection service; its Upstash and ioredis implementations are
 * the entry points `/upstash` and `/ioredis`.
 *
 * @example
 * ```ts
 * import { RedisCircuitStore, RedisClient } from "effect-circuit-breaker-redis"
 * import { Layer } from "effect"
 * import { Redis } from "ioredis"
 *
 * const Store = RedisCircuitStore.layer().pipe(
 *   Layer.provide(Layer.succeed(RedisClient.RedisClient, RedisClient.fromClient(new Redis())))
 * )
 * ```
 *
 * @since 0.1.0
 */
export * as RedisClient from "./RedisClient.js"

/**
 * Effect `Metric`s of every breaker (`circuit_breaker_*`, tagged by service).
 *
 * @example
 * ```ts
 * import { CircuitBreakerMetrics } from "effect-circuit-breaker-redis"
 * import { Effect } from "effect"
 *
 * const circuitMetrics = Effect.map(
 *   CircuitBreakerMetrics.snapshot,
 *   (metrics) => metrics.filter((metric) => metric.id.startsWith("circuit_breaker_"))
 * )
 * ```
 *
 * @since 0.1.0
 */
export * as CircuitBreakerMetrics from "./CircuitBreakerMetrics.js"

/**
 * Fleet-wide metrics, alerts, health and reset.
 *
 * @example
 * ```ts
 * import { CircuitBreakerMonitoring } from "effect-circuit-breaker-redis"
 * import { Effect } from "effect"
 *
 * const overall = Effect.gen(function*() {
 *   const monitoring = yield* CircuitBreakerMonitoring.CircuitBreakerMonitoring
 *   const health = yield* monitoring.health
 *   return health.overall
 * })
 * ```
 *
 * @since 0.1.0
 */
export * as CircuitBreakerMonitoring from "./CircuitBreakerMonitoring.js"
