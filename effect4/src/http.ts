/**
 * The entry point `effect-circuit-breaker-redis/http`: health, metrics
 * (JSON and Prometheus text) and alert routes on `@effect/platform`, also as
 * a Web-standard `(Request) => Promise<Response>` handler. Needs the
 * `@effect/platform` package.
 *
 * @since 0.1.0
 */

// first: fails with a clear message when the installed effect is not 3.x
import "./internal/effect3.js"

/**
 * The routes, `router`, `toWebHandler`.
 *
 * @since 0.1.0
 */
export * as CircuitBreakerHttp from "./CircuitBreakerHttp.js"
