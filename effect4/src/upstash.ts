/**
 * The entry point `effect-circuit-breaker-redis/upstash`: a `RedisClient`
 * over `@upstash/redis` (REST), for Edge functions, Cloudflare Workers and
 * anywhere else `fetch` runs. It imports nothing from Node and no other
 * client.
 *
 * @since 0.1.0
 */

// first: fails with a clear message when the installed effect is not 4.x
import "./internal/effect4.js"

/**
 * `layer`, `layerConfig` and `make` of the Upstash client.
 *
 * @example
 * ```ts
 * import { RedisCircuitStore } from "effect-circuit-breaker-redis"
 * import { UpstashClient } from "effect-circuit-breaker-redis/upstash"
 * import { Layer } from "effect"
 *
 * const Store = RedisCircuitStore.layer().pipe(Layer.provide(UpstashClient.layerConfig()))
 * ```
 *
 * @since 0.1.0
 */
export * as UpstashClient from "./UpstashClient.js"
