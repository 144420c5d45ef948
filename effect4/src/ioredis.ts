/**
 * The entry point `effect-circuit-breaker-redis/ioredis`: a `RedisClient`
 * over `ioredis` (TCP), for long-lived Node servers and Redis Cluster.
 *
 * @since 0.1.0
 */

// first: fails with a clear message when the installed effect is not 4.x
import "./internal/effect4.js"

/**
 * `layer`, `layerConfig` and `make` of the ioredis client (Redis or Cluster).
 *
 * @example
 * ```ts
 * import { RedisCircuitStore } from "effect-circuit-breaker-redis"
 * import { IORedisClient } from "effect-circuit-breaker-redis/ioredis"
 * import { Layer } from "effect"
 *
 * const Store = RedisCircuitStore.layer().pipe(Layer.provide(IORedisClient.layerConfig()))
 * ```
 *
 * @since 0.1.0
 */
export * as IORedisClient from "./IORedisClient.js"
