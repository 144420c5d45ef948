/**
 * The Redis connection the Redis store talks through: one `send` of a raw
 * command. Two implementations:
 * - `layerUpstash` / `layerUpstashConfig`: `@upstash/redis` over HTTPS (REST),
 *   which runs anywhere `fetch` does, Edge included;
 * - `layerIORedis` / `layerIORedisConfig`: `ioredis` over TCP, for long-lived
 *   servers, and for Redis Cluster.
 *
 * Secrets (the Upstash token, a Redis password) are taken as `Redacted` and
 * never appear in an error, a log line or `toString`.
 *
 * @since 0.1.0
 */
import { Redis as Upstash } from "@upstash/redis"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import type { Cluster, ClusterNode, Redis as IORedis } from "ioredis"
import type { LuaScript } from "./internal/luaScripts.js"
import * as errors from "./internal/redisErrors.js"
import { classify } from "./internal/redisErrors.js"

/**
 * A command failed. `kind` tells what went wrong; `reason` is safe to log.
 *
 * @since 0.1.0
 * @category errors
 */
export const RedisClientError = errors.RedisClientError

/**
 * @since 0.1.0
 * @category errors
 */
export type RedisClientError = errors.RedisClientError

/**
 * The client service.
 *
 * @since 0.1.0
 * @category tags
 */
export class RedisClient extends Context.Tag("effect-circuit-breaker/RedisClient")<RedisClient, {
  /** Sends one command, e.g. `["EVALSHA", sha, "1", key, ...]`, and returns the raw reply. */
  readonly send: (command: ReadonlyArray<string>) => Effect.Effect<unknown, RedisClientError>
  /** Where it connects, without credentials (for logs and health). */
  readonly description: string
}>() {}

/**
 * Runs a script by `EVALSHA`, sending its source with `EVAL` when Redis
 * answers `NOSCRIPT` (after a restart or `SCRIPT FLUSH`).
 *
 * @since 0.1.0
 * @category scripts
 */
export const runScript = (
  client: RedisClient["Type"],
  script: LuaScript,
  keys: ReadonlyArray<string>,
  args: ReadonlyArray<string>
): Effect.Effect<unknown, RedisClientError> => {
  const tail = [String(keys.length), ...keys, ...args]
  return client.send(["EVALSHA", script.sha, ...tail]).pipe(
    Effect.catchIf((error) => error.kind === "NoScript", () => client.send(["EVAL", script.source, ...tail]))
  )
}

// ---------------------------------------------------------------------------
// Upstash (REST)
// ---------------------------------------------------------------------------

/**
 * @since 0.1.0
 * @category models
 */
export interface UpstashOptions {
  /** The REST URL, e.g. `https://eu1-fine-fox-12345.upstash.io`. */
  readonly url: string
  /** The REST token. */
  readonly token: Redacted.Redacted<string>
  /** Bound on one HTTP request (default 5 s); the breaker also bounds each round trip by `storeTimeout`. */
  readonly requestTimeout?: number | undefined
}

/**
 * A client over `@upstash/redis`, with automatic deserialization, client
 * retries and auto-pipelining off (the breaker decides what a failure means).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeUpstash = (options: UpstashOptions): Effect.Effect<RedisClient["Type"], RedisClientError> =>
  Effect.try({
    try: () => {
      const timeout = options.requestTimeout ?? 5_000
      const token = Redacted.value(options.token)
      const redis = new Upstash({
        url: options.url,
        token,
        automaticDeserialization: false,
        enableAutoPipelining: false,
        enableTelemetry: false,
        readYourWrites: false,
        // `retry: false` still makes a second attempt in @upstash/redis 1.39
        retry: { retries: 0 },
        signal: () => AbortSignal.timeout(timeout)
      })
      const secrets = [token]
      let origin = "upstash"
      try {
        origin = `upstash ${new URL(options.url).host}`
      } catch {
        // reported by the client's own URL check
      }
      return RedisClient.of({
        description: origin,
        send: (command) =>
          Effect.tryPromise({
            try: () => redis.exec(command as [string, ...Array<string>]),
            catch: (cause) => classify(cause, secrets)
          })
      })
    },
    catch: (cause) => classify(cause, [Redacted.value(options.token)])
  })

/**
 * The Upstash client as a layer.
 *
 * @example
 * ```ts
 * import { RedisClient } from "effect-circuit-breaker-redis"
 * import { Redacted } from "effect"
 *
 * const Client = RedisClient.layerUpstash({
 *   url: "https://eu1-fine-fox-12345.upstash.io",
 *   token: Redacted.make(process.env.UPSTASH_REDIS_REST_TOKEN!)
 * })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerUpstash = (options: UpstashOptions): Layer.Layer<RedisClient, RedisClientError> =>
  Layer.effect(RedisClient, makeUpstash(options))

/**
 * The Upstash client configured from `UPSTASH_REDIS_REST_URL` and
 * `UPSTASH_REDIS_REST_TOKEN` (or the `Config`s given).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerUpstashConfig = (
  config: Config.Config.Wrap<UpstashOptions> = {
    url: Config.string("UPSTASH_REDIS_REST_URL"),
    token: Config.redacted("UPSTASH_REDIS_REST_TOKEN")
  }
): Layer.Layer<RedisClient, RedisClientError | ConfigError.ConfigError> =>
  Layer.effect(RedisClient, Effect.flatMap(Config.unwrap(config), makeUpstash))

// ---------------------------------------------------------------------------
// ioredis (TCP, Cluster)
// ---------------------------------------------------------------------------

/**
 * @since 0.1.0
 * @category models
 */
export interface IORedisOptions {
  /** `redis://[:password@]host:port[/db]` or `rediss://…`; a `Redacted` when it holds a password. */
  readonly url?: string | Redacted.Redacted<string> | undefined
  /** Cluster nodes to start from; when set, a `Cluster` client is made. */
  readonly cluster?: ReadonlyArray<{ readonly host: string; readonly port: number }> | undefined
  /** The password, if not in the URL. */
  readonly password?: Redacted.Redacted<string> | undefined
  /** Bound on connecting and on one command (default 5 s). */
  readonly commandTimeout?: number | undefined
}

const describeUrl = (url: string): string => {
  try {
    const parsed = new URL(url)
    return `${parsed.protocol}//${parsed.host}${parsed.pathname === "/" ? "" : parsed.pathname}`
  } catch {
    return "redis (unparsable URL)"
  }
}

/**
 * A client over `ioredis`, closed when the scope closes. Every command is
 * bounded by `commandTimeout`; the client reconnects in the background.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeIORedis = (
  options: IORedisOptions
): Effect.Effect<RedisClient["Type"], RedisClientError, Scope.Scope> =>
  Effect.gen(function*() {
    const url = options.url === undefined
      ? "redis://127.0.0.1:6379"
      : Redacted.isRedacted(options.url)
      ? Redacted.value(options.url)
      : options.url
    const password = options.password === undefined ? undefined : Redacted.value(options.password)
    const secrets: Array<string> = []
    if (password !== undefined) secrets.push(password)
    try {
      const parsed = new URL(url)
      if (parsed.password) secrets.push(decodeURIComponent(parsed.password), parsed.password)
    } catch {
      // ioredis reports it
    }
    const timeout = options.commandTimeout ?? 5_000
    const common = {
      lazyConnect: true,
      connectTimeout: timeout,
      commandTimeout: timeout,
      maxRetriesPerRequest: 1,
      // while disconnected a command fails at once: a queued script would run on reconnect,
      // long after the breaker gave up on it (a probe permit nobody holds, counts sent twice)
      enableOfflineQueue: false,
      retryStrategy: (times: number) => Math.min(50 * 2 ** times, 2_000),
      ...(password !== undefined ? { password } : {})
    }
    // imported on demand, so that Edge bundles of the Upstash path never load node:net
    const ioredis = yield* Effect.tryPromise({
      try: () => import("ioredis"),
      catch: (cause) => classify(cause, secrets)
    })
    const client: IORedis | Cluster = yield* Effect.try({
      try: () =>
        options.cluster !== undefined
          ? new ioredis.Cluster(options.cluster.map((n): ClusterNode => ({ host: n.host, port: n.port })), {
            lazyConnect: true,
            redisOptions: common,
            clusterRetryStrategy: (times: number) => Math.min(50 * 2 ** times, 2_000)
          })
          : new ioredis.Redis(url, common),
      catch: (cause) => classify(cause, secrets)
    })
    // connection errors surface as command failures; keep them off stderr, but remember an
    // authentication failure: ioredis reports it to the first command only, then reconnects
    let authFailure: RedisClientError | undefined = undefined
    client.on("error", (error: unknown) => {
      const classified = classify(error, secrets)
      if (classified.kind === "Auth") authFailure = classified
    })
    client.on("ready", () => {
      authFailure = undefined
    })
    yield* Effect.addFinalizer(() => Effect.promise(() => client.quit().catch(() => client.disconnect())))
    // connect now (commands are not queued): a Redis that is down is retried in the background
    yield* Effect.promise(() => client.connect().catch(() => undefined))
    const description = options.cluster !== undefined
      ? `redis cluster ${options.cluster.map((n) => `${n.host}:${n.port}`).join(",")}`
      : describeUrl(url)
    return RedisClient.of({
      description,
      send: (command) =>
        Effect.tryPromise({
          try: () => client.call(command[0], ...command.slice(1)),
          catch: (cause) => {
            const error = classify(cause, secrets)
            return error.kind !== "Auth" && error.kind !== "Command" && authFailure !== undefined ? authFailure : error
          }
        })
    })
  })

/**
 * The ioredis client as a layer.
 *
 * @example
 * ```ts
 * import { RedisClient } from "effect-circuit-breaker-redis"
 *
 * const Client = RedisClient.layerIORedis({ url: "redis://127.0.0.1:6379" })
 * const ClusterClient = RedisClient.layerIORedis({ cluster: [{ host: "10.0.0.1", port: 7000 }] })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerIORedis = (options: IORedisOptions = {}): Layer.Layer<RedisClient, RedisClientError> =>
  Layer.scoped(RedisClient, makeIORedis(options))

/**
 * The ioredis client configured from `REDIS_URL` (read as `Redacted`, since
 * it may hold a password), or the `Config`s given.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerIORedisConfig = (
  config: Config.Config.Wrap<IORedisOptions> = { url: Config.redacted("REDIS_URL") }
): Layer.Layer<RedisClient, RedisClientError | ConfigError.ConfigError> =>
  Layer.scoped(RedisClient, Effect.flatMap(Config.unwrap(config), makeIORedis))
