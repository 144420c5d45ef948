/**
 * A `RedisClient` over `ioredis`: Redis over TCP, for long-lived servers,
 * Redis Sentinel and Redis Cluster. The entry point
 * `effect-circuit-breaker-redis/ioredis`; it needs the `ioredis` package and
 * Node (or a runtime with `node:net`).
 *
 * Every command is bounded by `commandTimeout`; commands are not queued
 * while the connection is down (a queued script would run long after the
 * breaker gave up on it), and the client reconnects in the background.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import { Cluster, Redis } from "ioredis"
import type { CircuitConfigError } from "./CircuitConfig.js"
import * as internal from "./internal/redis/ioredisClient.js"
import { RedisClient, type RedisClientError } from "./RedisClient.js"

/**
 * @example
 * ```ts
 * import { IORedisClient } from "effect-circuit-breaker-redis/ioredis"
 * import { Redacted } from "effect"
 *
 * const options: IORedisClient.Options = {
 *   url: Redacted.make("rediss://cache.internal:6380/2"),
 *   password: Redacted.make("secret"),
 *   commandTimeout: 2_000
 * }
 * const Client = IORedisClient.layer(options)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** `redis://[:password@]host:port[/db]` or `rediss://…`; a `Redacted` when it holds a password. */
  readonly url?: string | Redacted.Redacted<string> | undefined
  /** Cluster nodes to start from; when set, a `Cluster` client is made. */
  readonly cluster?: ReadonlyArray<{ readonly host: string; readonly port: number }> | undefined
  /**
   * Sentinels to ask for the current primary (Redis Sentinel); when set, the
   * client follows failovers of `masterName`. `url` is then not used.
   */
  readonly sentinels?: ReadonlyArray<{ readonly host: string; readonly port: number }> | undefined
  /** The master group the Sentinels watch (default `"mymaster"`). */
  readonly masterName?: string | undefined
  /** The Sentinels' own password, if they have one. */
  readonly sentinelPassword?: Redacted.Redacted<string> | undefined
  /** The password, if not in the URL. */
  readonly password?: Redacted.Redacted<string> | undefined
  /** Bound on connecting and on one command in milliseconds (default 5,000). */
  readonly commandTimeout?: number | undefined
}

const ioredis: internal.IORedisModule = { Redis, Cluster }

/**
 * Makes the client; it is closed when the scope closes. A `url` that is not
 * a Redis URL (another scheme, no host, a port out of range, a path that is
 * not a database index) fails with a `CircuitConfigError`; a database index
 * the server does not have fails every command, naming it.
 *
 * @example
 * ```ts
 * import { IORedisClient } from "effect-circuit-breaker-redis/ioredis"
 * import { Effect } from "effect"
 *
 * const pong = Effect.gen(function*() {
 *   const client = yield* IORedisClient.make({ url: "redis://localhost:6379" })
 *   return yield* client.send(["PING"])
 * }).pipe(Effect.scoped)
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options = {}
): Effect.Effect<RedisClient["Service"], RedisClientError | CircuitConfigError, Scope.Scope> =>
  internal.make(ioredis, options)

/**
 * The client as a layer.
 *
 * @example
 * ```ts
 * import { RedisCircuitStore } from "effect-circuit-breaker-redis"
 * import { IORedisClient } from "effect-circuit-breaker-redis/ioredis"
 * import { Layer } from "effect"
 *
 * const Store = RedisCircuitStore.layer().pipe(
 *   Layer.provide(IORedisClient.layer({ url: "redis://127.0.0.1:6379" }))
 * )
 * const ClusterClient = IORedisClient.layer({ cluster: [{ host: "10.0.0.1", port: 7000 }] })
 * const SentinelClient = IORedisClient.layer({
 *   sentinels: [{ host: "10.0.0.5", port: 26379 }, { host: "10.0.0.6", port: 26379 }],
 *   masterName: "mymaster"
 * })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<RedisClient, RedisClientError | CircuitConfigError> =>
  Layer.effect(RedisClient, make(options))

/**
 * The client configured from `REDIS_URL` (read as `Redacted`, since it may
 * hold a password), or from the `Config`s given. A malformed `REDIS_URL` is a
 * `CircuitConfigError` naming it.
 *
 * @example
 * ```ts
 * import { RedisCircuitStore } from "effect-circuit-breaker-redis"
 * import { IORedisClient } from "effect-circuit-breaker-redis/ioredis"
 * import { Config, Layer } from "effect"
 *
 * const FromRedisUrl = RedisCircuitStore.layer().pipe(Layer.provide(IORedisClient.layerConfig()))
 * const FromOtherVariables = IORedisClient.layerConfig({
 *   url: Config.Redacted("CACHE_URL"),
 *   commandTimeout: Config.Number("CACHE_TIMEOUT_MS")
 * })
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
      ? Effect.flatMap(Config.Redacted("REDIS_URL"), (url) => internal.make(ioredis, { url }, "REDIS_URL"))
      : Effect.flatMap(Config.unwrap(config), make)
  )
