/**
 * A `RedisClient` over `@upstash/redis`: Redis over HTTPS (REST), which runs
 * anywhere `fetch` does: Node, Vercel Edge, Cloudflare Workers, Deno, Bun.
 * The entry point `effect-circuit-breaker-redis/upstash`; it needs the
 * `@upstash/redis` package and nothing from Node.
 *
 * The client has automatic deserialization, client-side retries and
 * auto-pipelining off: the breaker decides what a failure means, and every
 * round trip is bounded by the breaker's `storeTimeout` as well as by
 * `requestTimeout`.
 *
 * @since 0.1.0
 */
import { Redis } from "@upstash/redis"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import type { CircuitConfigError } from "./CircuitConfig.js"
import * as internal from "./internal/redis/upstashClient.js"
import { RedisClient, type RedisClientError } from "./RedisClient.js"

/**
 * @example
 * ```ts
 * import { UpstashClient } from "effect-circuit-breaker-redis/upstash"
 * import { Redacted } from "effect"
 *
 * const options: UpstashClient.Options = {
 *   url: "https://eu1-fine-fox-12345.upstash.io",
 *   token: Redacted.make(process.env.UPSTASH_REDIS_REST_TOKEN!),
 *   requestTimeout: 2_000
 * }
 * const Client = UpstashClient.layer(options)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The REST URL, e.g. `https://eu1-fine-fox-12345.upstash.io`. */
  readonly url: string
  /** The REST token. */
  readonly token: Redacted.Redacted<string>
  /** Bound on one HTTP request in milliseconds (default 5,000). */
  readonly requestTimeout?: number | undefined
  /**
   * Send the scripts flagged `#!lua flags=allow-key-locking`, so that
   * Upstash locks only their keys instead of the whole database. Default:
   * when `url` is Upstash's own (`*.upstash.io`). A REST proxy in front of
   * Redis (e.g. serverless-redis-http for local development) refuses the
   * flag, as Redis does: there the scripts go plain.
   */
  readonly allowKeyLocking?: boolean | undefined
}

/**
 * Makes the client. A `url` that is not an http(s) URL fails with a
 * `CircuitConfigError`.
 *
 * @example
 * ```ts
 * import { UpstashClient } from "effect-circuit-breaker-redis/upstash"
 * import { Effect, Redacted } from "effect"
 *
 * const pong = Effect.gen(function*() {
 *   const client = yield* UpstashClient.make({
 *     url: "https://eu1-fine-fox-12345.upstash.io",
 *     token: Redacted.make(process.env.UPSTASH_REDIS_REST_TOKEN!)
 *   })
 *   return yield* client.send(["PING"])
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): Effect.Effect<RedisClient["Service"], RedisClientError | CircuitConfigError> =>
  internal.make(Redis, options)

/**
 * The client as a layer.
 *
 * @example
 * ```ts
 * import { RedisCircuitStore } from "effect-circuit-breaker-redis"
 * import { UpstashClient } from "effect-circuit-breaker-redis/upstash"
 * import { Layer, Redacted } from "effect"
 *
 * const Store = RedisCircuitStore.layer().pipe(
 *   Layer.provide(UpstashClient.layer({
 *     url: "https://eu1-fine-fox-12345.upstash.io",
 *     token: Redacted.make("AX...")
 *   }))
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<RedisClient, RedisClientError | CircuitConfigError> =>
  Layer.effect(RedisClient, make(options))

/**
 * The client configured from `UPSTASH_REDIS_REST_URL` and
 * `UPSTASH_REDIS_REST_TOKEN` (the token read as `Redacted`), or from the
 * `Config`s given.
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
 * @category layers
 */
export const layerConfig = (
  config?: Config.Wrap<Options>
): Layer.Layer<RedisClient, RedisClientError | CircuitConfigError | Config.ConfigError> =>
  Layer.effect(
    RedisClient,
    config === undefined
      ? Effect.flatMap(
        Config.all({
          url: Config.String("UPSTASH_REDIS_REST_URL"),
          token: Config.Redacted("UPSTASH_REDIS_REST_TOKEN")
        }),
        (options) => internal.make(Redis, options, "UPSTASH_REDIS_REST_URL")
      )
      : Effect.flatMap(Config.unwrap(config), make)
  )
