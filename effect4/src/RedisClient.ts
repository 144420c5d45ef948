/**
 * The Redis connection the Redis store talks through: one `send` of a raw
 * command. The implementations live in their own entry points, so that an
 * application bundles only the client it uses:
 * - `UpstashClient` (`effect-circuit-breaker-redis/upstash`): `@upstash/redis`
 *   over HTTPS (REST), which runs anywhere `fetch` does, Edge and Workers
 *   included;
 * - `IORedisClient` (`effect-circuit-breaker-redis/ioredis`): `ioredis` over
 *   TCP, for long-lived servers, and for Redis Cluster.
 *
 * An application that already has Effect 4's own Redis service
 * (`effect/persistence/Redis`, e.g. `NodeRedis.layer` of
 * `@effect/platform-node`) runs the store over it with `layerEffectRedis`.
 *
 * Any other client fits: a `RedisClient` is a `send` and a `description`
 * (and, optionally, `pipeline` and `subscribe`).
 * Secrets (the Upstash token, a Redis password) are taken as `Redacted` and
 * never appear in an error, a log line or `toString`.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Redis from "effect/persistence/Redis"
import type * as Result from "effect/Result"
import type * as Scope from "effect/Scope"
import * as effectRedis from "./internal/redis/effectRedis.js"
import * as errors from "./internal/redis/errors.js"
import type { LuaScript } from "../../shared/redis/luaScripts.js"
import * as scripts from "./internal/redis/runScript.js"
import * as userClient from "./internal/redis/userClient.js"

/**
 * A command failed. `kind` tells what went wrong; `reason` is safe to log.
 *
 * @example
 * ```ts
 * import { RedisClient } from "effect-circuit-breaker-redis"
 * import { Effect } from "effect"
 *
 * const ping = Effect.gen(function*() {
 *   const client = yield* RedisClient.RedisClient
 *   return yield* client.send(["PING"])
 * }).pipe(
 *   Effect.catchTag("RedisClientError", (e) => Effect.succeed(`${e.kind}: ${e.reason}`))
 * )
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export const RedisClientError = errors.RedisClientError

/**
 * @example
 * ```ts
 * import { RedisClient } from "effect-circuit-breaker-redis"
 *
 * declare const error: unknown
 *
 * const timedOut = error instanceof RedisClient.RedisClientError && error.kind === "Timeout"
 * const failure: RedisClient.RedisClientError = new RedisClient.RedisClientError({ kind: "Command", reason: "ERR" })
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export type RedisClientError = errors.RedisClientError

/**
 * The client service.
 *
 * @example
 * ```ts
 * import { RedisClient } from "effect-circuit-breaker-redis"
 * import { Effect } from "effect"
 *
 * const dbSize = Effect.gen(function*() {
 *   const client = yield* RedisClient.RedisClient
 *   yield* Effect.logDebug(`asking ${client.description}`)
 *   return yield* client.send(["DBSIZE"])
 * })
 * ```
 *
 * @since 0.1.0
 * @category tags
 */
export class RedisClient extends Context.Service<RedisClient, {
  /** Sends one command, e.g. `["EVALSHA", sha, "1", key, ...]`, and returns the raw reply. */
  readonly send: (command: ReadonlyArray<string>) => Effect.Effect<unknown, RedisClientError>
  /**
   * Optional: sends several commands in one round trip (a pipeline, not a
   * transaction), each answered by its reply or its own error. Monitoring
   * reads a big fleet with it in about N/500 round trips (5 script calls of
   * 100 circuits each); without it, one script call per round trip.
   */
  readonly pipeline?:
    | ((
      commands: ReadonlyArray<ReadonlyArray<string>>
    ) => Effect.Effect<ReadonlyArray<Result.Result<unknown, RedisClientError>>, RedisClientError>)
    | undefined
  /**
   * Optional: subscribes to `channel` (Redis pub/sub) on a connection of its
   * own, for as long as the scope lasts, subscribing again after each
   * reconnection by itself. The Redis store hears of transitions made by
   * other instances through it (`RedisCircuitStore`'s `notifications`);
   * without it (Upstash REST has no push), an instance learns of them when
   * its cached state expires. ioredis clients have it.
   */
  readonly subscribe?:
    | ((channel: string, listener: SubscriptionListener) => Effect.Effect<void, never, Scope.Scope>)
    | undefined
  /** Where it connects, without credentials (for logs and health). */
  readonly description: string
  /**
   * Optional: the server honours the script shebang `#!lua flags=allow-key-locking`
   * (Upstash: a script then locks only its KEYS instead of the whole
   * database). `runScript` then sends each script's flagged variant. Redis
   * itself refuses the flag: leave it unset for anything but Upstash.
   */
  readonly allowKeyLocking?: boolean | undefined
  /**
   * Optional: the server is a Redis Cluster, where one command's keys must
   * share a hash slot. Monitoring then reads one circuit per script call
   * instead of 100 (a pipeline of them, which a Cluster client sends node by
   * node). Left unset, a server that answers CROSSSLOT is taken for a
   * Cluster from then on (with a warning); `false` says it is not one.
   */
  readonly cluster?: boolean | undefined
}>()("effect-circuit-breaker-redis/RedisClient") {}

/**
 * What a subscription (`RedisClient`'s `subscribe`) tells: every message of
 * its channel, and whether it is live. Called outside Effect, synchronously,
 * by the client's connection: a listener only notes what it is told.
 *
 * @example
 * ```ts
 * import { RedisClient } from "effect-circuit-breaker-redis"
 * import { Effect } from "effect"
 *
 * const listener: RedisClient.SubscriptionListener = {
 *   message: (message) => console.log("transition", message),
 *   status: (live, reason) => console.log(live ? "live" : `lost: ${reason}`)
 * }
 *
 * const listen = Effect.gen(function*() {
 *   const client = yield* RedisClient.RedisClient
 *   if (client.subscribe !== undefined) yield* client.subscribe("billing:transitions", listener)
 * })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface SubscriptionListener {
  /** A message of the channel (anyone who can write to Redis may have sent it). */
  readonly message: (message: string) => void
  /** `true` once the subscription is live (again); `false` and why, when it is lost. */
  readonly status: (live: boolean, reason?: string) => void
}

/**
 * The variant of `script` that `client` runs: the one flagged
 * `allow-key-locking` when the client says its server honours it.
 *
 * @example
 * ```ts
 * import { RedisClient } from "effect-circuit-breaker-redis"
 *
 * declare const client: RedisClient.RedisClient["Service"]
 * declare const script: Parameters<typeof RedisClient.scriptFor>[1]
 *
 * const { sha } = RedisClient.scriptFor(client, script) // what EVALSHA is sent
 * ```
 *
 * @since 0.1.0
 * @category scripts
 */
export const scriptFor: (
  client: RedisClient["Service"],
  script: LuaScript
) => { readonly sha: string; readonly source: string } = scripts.scriptFor

/**
 * Runs a script by `EVALSHA`, sending its source with `EVAL` when Redis
 * answers `NOSCRIPT` (after a restart or `SCRIPT FLUSH`); the variant the
 * client asks for (`scriptFor`).
 *
 * @example
 * ```ts
 * import { RedisClient } from "effect-circuit-breaker-redis"
 * import { Effect } from "effect"
 *
 * declare const script: Parameters<typeof RedisClient.runScript>[1]
 *
 * const reply = Effect.gen(function*() {
 *   const client = yield* RedisClient.RedisClient
 *   return yield* RedisClient.runScript(client, script, ["{payments}:state"], ["1"])
 * })
 * ```
 *
 * @since 0.1.0
 * @category scripts
 */
export const runScript: (
  client: RedisClient["Service"],
  script: LuaScript,
  keys: ReadonlyArray<string>,
  args: ReadonlyArray<string>
) => Effect.Effect<unknown, RedisClientError> = scripts.runScript

/**
 * A `RedisClient` over a Redis client you already made, so the store shares
 * its connection (and your client stays yours: it is not closed with the
 * store's layer):
 *
 * - an `@upstash/redis` `Redis`: commands go through its own HTTP client (URL,
 *   token, retries), with replies taken raw (its automatic JSON
 *   deserialization would turn a circuit named `"123"` into a number); each
 *   request is aborted when the store gives up on it (`storeTimeout`);
 *   pipelines go to `/pipeline`; scripts are flagged `allow-key-locking`
 *   when its URL is Upstash's own (`*.upstash.io`);
 * - an `ioredis` `Redis` or `Cluster`: through `call` and its pipelines (per
 *   node on a Cluster), as `IORedisClient` does.
 *
 * Throws a `TypeError` for anything else.
 *
 * @example
 * ```ts
 * import { RedisCircuitStore, RedisClient } from "effect-circuit-breaker-redis"
 * import { Layer } from "effect"
 * import { Redis } from "ioredis"
 *
 * const redis = new Redis(process.env.REDIS_URL!)
 * const store = RedisCircuitStore.layer({ prefix: "billing" }).pipe(
 *   Layer.provide(Layer.succeed(RedisClient.RedisClient, RedisClient.fromClient(redis)))
 * )
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromClient: (redis: unknown) => RedisClient["Service"] = userClient.fromClient

/**
 * Options of `fromEffectRedis` and `layerEffectRedis`.
 *
 * @example
 * ```ts
 * import { RedisClient } from "effect-circuit-breaker-redis"
 *
 * const options: RedisClient.EffectRedisOptions = {
 *   description: "redis://cache:6379",
 *   cluster: false,
 *   secrets: [process.env.REDIS_PASSWORD ?? ""]
 * }
 * const Client = RedisClient.layerEffectRedis(options)
 * ```
 *
 * @since 2.0.0
 * @category models
 */
export interface EffectRedisOptions {
  /** Where it connects, without credentials (for logs and health); default `"effect/persistence/Redis"`. */
  readonly description?: string | undefined
  /** The server is a Redis Cluster (see `RedisClient`'s `cluster`). */
  readonly cluster?: boolean | undefined
  /** Secrets to scrub from error reasons, e.g. the password the service's client was given. */
  readonly secrets?: ReadonlyArray<string> | undefined
}

/**
 * A `RedisClient` over Effect 4's own Redis service (`effect/persistence/Redis`,
 * which `@effect/platform-node`'s `NodeRedis.layer` provides over node-redis):
 * every command through its `send`, the scripts by `EVALSHA` (their source
 * sent with `EVAL` after a `NOSCRIPT`), and transition notifications through
 * its `subscribe` (a connection of its own, held while the store lives). The
 * service's connection stays its layer's: the store does not close it.
 *
 * Give `NodeRedis.layer` `disableOfflineQueue: true`: node-redis otherwise
 * queues the commands sent while it is disconnected and sends them once it
 * reconnects, so a script the breaker gave up on (after `storeTimeout`)
 * would still run, long after (a probe permit nobody holds, counts sent
 * twice); `IORedisClient` sends nothing while disconnected for that reason.
 *
 * The service does not tell when its subscriber reconnects by itself: a
 * transition published meanwhile reaches this instance when its cached state
 * expires (`stateCacheTtl`), as without notifications. Its `send` has no
 * pipeline: monitoring reads of many circuits go one script call per round
 * trip (node-redis sends concurrent commands together).
 *
 * @example
 * ```ts
 * import { RedisCircuitStore, RedisClient } from "effect-circuit-breaker-redis"
 * import { Effect } from "effect"
 * import { Redis } from "effect/persistence/Redis"
 *
 * const program = Effect.gen(function*() {
 *   const redis = yield* Redis
 *   const store = yield* RedisCircuitStore.make().pipe(
 *     Effect.provideService(RedisClient.RedisClient, RedisClient.fromEffectRedis(redis))
 *   )
 *   // ...
 * })
 * ```
 *
 * @since 2.0.0
 * @category constructors
 */
export const fromEffectRedis: (
  redis: Redis.Redis["Service"],
  options?: EffectRedisOptions
) => RedisClient["Service"] = effectRedis.fromEffectRedis

/**
 * The `RedisClient` over the `effect/persistence/Redis` service in context
 * (`fromEffectRedis`), as a layer.
 *
 * @example
 * ```ts
 * import { CircuitBreaker, RedisCircuitStore, RedisClient } from "effect-circuit-breaker-redis"
 * import { NodeRedis } from "@effect/platform-node"
 * import { Effect, Layer } from "effect"
 *
 * const Store = RedisCircuitStore.layer({ prefix: "billing" }).pipe(
 *   Layer.provide(RedisClient.layerEffectRedis()),
 *   Layer.provide(NodeRedis.layer({ url: "redis://127.0.0.1:6379", disableOfflineQueue: true }))
 * )
 *
 * const program = Effect.gen(function*() {
 *   const breaker = yield* CircuitBreaker.make("payments")
 *   // ...
 * }).pipe(Effect.provide(Store))
 * ```
 *
 * @since 2.0.0
 * @category layers
 */
export const layerEffectRedis = (options?: EffectRedisOptions): Layer.Layer<RedisClient, never, Redis.Redis> =>
  Layer.effect(RedisClient, effectRedisService().useSync((redis) => fromEffectRedis(redis, options)))

/**
 * Effect 4's Redis service, found by its key (a context's identity of a
 * service): `effect/persistence/Redis` is imported as a type only, so that
 * every module of the index links under effect 3 too, where the edition's
 * guard then says what to install.
 */
const effectRedisService = () => Context.Service<Redis.Redis, Redis.Redis["Service"]>("effect/persistence/Redis")
