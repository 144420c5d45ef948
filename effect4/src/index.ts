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
 * @since 0.1.0
 */
export * as Backoff from "./Backoff.js"

/**
 * `make`, `protect`, and the breaker's model.
 *
 * @since 0.1.0
 */
export * as CircuitBreaker from "./CircuitBreaker.js"

/**
 * The failures `protect` adds: `CircuitOpen`, `ServiceUnavailable`.
 *
 * @since 0.1.0
 */
export * as CircuitBreakerError from "./CircuitBreakerError.js"

/**
 * A registry of breakers by name.
 *
 * @since 0.1.0
 */
export * as CircuitBreakers from "./CircuitBreakers.js"

/**
 * The configuration: Schema, defaults, presets, `CircuitConfigError`.
 *
 * @since 0.1.0
 */
export * as CircuitConfig from "./CircuitConfig.js"

/**
 * States, snapshots and transitions.
 *
 * @since 0.1.0
 */
export * as CircuitState from "./CircuitState.js"

/**
 * The store service and its in-memory layer.
 *
 * @since 0.1.0
 */
export * as CircuitStore from "./CircuitStore.js"

export {
  /**
   * @since 0.1.0
   */
  CircuitOpen,
  /**
   * @since 0.1.0
   */
  ServiceUnavailable
} from "./CircuitBreakerError.js"

/**
 * A `CircuitStore` in Redis, shared by a fleet.
 *
 * @since 0.1.0
 */
export * as RedisCircuitStore from "./RedisCircuitStore.js"

/**
 * The Redis connection service; its Upstash and ioredis implementations are
 * the entry points `/upstash` and `/ioredis`.
 *
 * @since 0.1.0
 */
export * as RedisClient from "./RedisClient.js"

/**
 * Effect `Metric`s of every breaker (`circuit_breaker_*`, tagged by service).
 *
 * @since 0.1.0
 */
export * as CircuitBreakerMetrics from "./CircuitBreakerMetrics.js"

/**
 * Fleet-wide metrics, alerts, health and reset.
 *
 * @since 0.1.0
 */
export * as CircuitBreakerMonitoring from "./CircuitBreakerMonitoring.js"
