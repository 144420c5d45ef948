/**
 * The entry point `effect-circuit-breaker-redis/http`: health, metrics
 * (JSON and Prometheus text) and alert routes on `effect/http`, also as
 * a Web-standard `(Request) => Promise<Response>` handler.
 *
 * @since 0.1.0
 */

// first: fails with a clear message when the installed effect is not 4.x
import "./internal/effect4.js"

/**
 * The routes, `router` (a layer), `routes`, `layer`, `toWebHandler`.
 *
 * @example
 * ```ts
 * import { CircuitStore } from "effect-circuit-breaker-redis"
 * import { CircuitBreakerHttp } from "effect-circuit-breaker-redis/http"
 *
 * const { handler, dispose } = CircuitBreakerHttp.toWebHandler(CircuitStore.layerMemory)
 * ```
 *
 * @since 0.1.0
 */
export * as CircuitBreakerHttp from "./CircuitBreakerHttp.js"
