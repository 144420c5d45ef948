/**
 * A `CircuitStore` in Redis, shared by every instance of a fleet. Every
 * read-decide-write is one call of `lua/circuit.lua`; each instance keeps
 * the last state it read, so that:
 *
 * - a call on a CLOSED circuit whose cached state is younger than
 *   `stateCacheTtl` costs no round trip (its success is counted locally and
 *   flushed with the next round trip);
 * - a failing call costs one round trip (the reply carries the new state);
 * - a call on an OPEN circuit before `retryAt` costs none;
 * - a half-open probe costs one round trip to take the permit, one to report.
 *
 * Another instance's transition reaches this one at once over ioredis (a
 * notification, `notifications`), else when its cached state expires
 * (`stateCacheTtl`).
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Effect4 from "effect"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { CircuitConfigError, maxCount } from "./CircuitConfig.js"
import { CircuitStore, layerMemory } from "./CircuitStore.js"
import {
  booleanField,
  decoder,
  describe,
  durationMillis,
  guarded,
  literals,
  positiveInt,
  rule,
  withDefault
} from "./internal/breaker/configSchema.js"
import * as ioredis from "./internal/redis/ioredisClient.js"
import * as keys from "../../shared/redis/keys.js"
import * as optionalPeer from "./internal/redis/optionalPeer.js"
import * as internal from "./internal/redis/store.js"
import * as upstash from "./internal/redis/upstashClient.js"
import { defaultIdleTtl } from "./internal/store/idleSweep.js"
import * as RedisClient from "./RedisClient.js"

const Prefix = rule(
  guarded((u): u is string => typeof u === "string", (u) => `must be a string (got ${describe(u)})`),
  "1 to 64 characters without braces, spaces or control characters",
  (prefix) => prefix.length >= 1 && prefix.length <= 64 && !/[{}\s\u0000-\u001f\u007f]/.test(prefix)
)

/** The store's options: each one's rule and default. */
const OptionsSchema = Schema.Struct({
  /** Prefix of every key (default `"cb"`). Keys are `<prefix>:{<encoded name>}:state` and so on. */
  prefix: withDefault(Prefix, keys.defaultPrefix),
  /**
   * The store's own breaker: after this many failed round trips in a row
   * (default 3), Redis is not called at all for `cooldown`.
   */
  unavailableAfter: withDefault(positiveInt(maxCount), 3),
  /** How long store calls pause once Redis is deemed unavailable (default 5 s). */
  cooldown: withDefault(durationMillis({ infinite: false }), 5_000),
  /**
   * Where the scripts take `now` from, for circuits whose config does not
   * say. `"server"` (default): Redis's clock, through the offset each
   * instance learns from Redis `TIME` (measured before the first script
   * call, refreshed every minute), so that no instance's clock, however
   * wrong, changes what the fleet sees. `"client"`: each caller's `Clock` as
   * it is: for tests that drive time with `TestClock` against Redis.
   */
  timeSource: withDefault(literals("server", "client"), "server"),
  /**
   * This instance's cache of a circuit (its last known state, batches) is
   * dropped after this long without a call, once nothing is batched or in
   * flight for it (batches are flushed first). The circuit's state lives on
   * in Redis; its next use costs one round trip. Default 10 minutes;
   * `Duration.infinity` keeps every cache.
   */
  idleTtl: withDefault(durationMillis({ infinite: true }), defaultIdleTtl),
  /**
   * Hear of other instances' transitions at once (default `true`): the
   * script publishes each transition on `<prefix>:transitions`, and a client
   * that can subscribe (ioredis, on a connection of its own opened with the
   * first breaker) drops the cached state of a circuit this instance uses
   * when it changed elsewhere, so that its next call asks Redis. Without it
   * (`false`, or a client that cannot subscribe, as Upstash REST), such a
   * transition reaches the instance when its cached state expires
   * (`stateCacheTtl`; a fifth of it for a HALF_OPEN circuit or one that
   * closed lately). Breaker health says which (`notifications`).
   */
  notifications: withDefault(booleanField, true)
})

type Encoded = typeof OptionsSchema.Encoded

/**
 * The store's options; every one is optional, `undefined` means the default.
 *
 * @example
 * ```ts
 * import { RedisCircuitStore } from "effect-circuit-breaker-redis"
 *
 * const options: RedisCircuitStore.Options = {
 *   prefix: "billing",
 *   timeSource: "server",
 *   notifications: true,
 *   idleTtl: "30 minutes"
 * }
 * const Store = RedisCircuitStore.layer(options)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends Readonly<{ [K in keyof Encoded]?: Encoded[K] | undefined }> {}

const decodeOptions = decoder(OptionsSchema)

/**
 * The key of a circuit's state hash, for operators: names are
 * percent-encoded inside a hash tag, so no name can leave its tag or collide
 * with another.
 *
 * @example
 * ```ts
 * import { RedisCircuitStore } from "effect-circuit-breaker-redis"
 *
 * // redis-cli HGETALL <key>
 * const key = RedisCircuitStore.stateKey("payments", { prefix: "billing" })
 * ```
 *
 * @since 0.1.0
 * @category keys
 */
export const stateKey = (name: string, options?: Options): string =>
  keys.keysOf(options?.prefix ?? keys.defaultPrefix, name)[0]

/**
 * The key of the registry of circuits (a set of names).
 *
 * @example
 * ```ts
 * import { RedisCircuitStore } from "effect-circuit-breaker-redis"
 *
 * // redis-cli SMEMBERS <key>
 * const key = RedisCircuitStore.registryKey({ prefix: "billing" })
 * ```
 *
 * @since 0.1.0
 * @category keys
 */
export const registryKey = (options?: Options): string => keys.registryKeyOf(options?.prefix ?? keys.defaultPrefix)

/**
 * Makes the store. Needs a `RedisClient`; lives as long as the scope. Bad
 * options (a prefix that is empty or holds `{`, `}`, spaces or control
 * characters, an unknown field, …) fail with a `CircuitConfigError` naming
 * each.
 *
 * @example
 * ```ts
 * import { CircuitStore, RedisCircuitStore } from "effect-circuit-breaker-redis"
 * import { IORedisClient } from "effect-circuit-breaker-redis/ioredis"
 * import { Effect, Layer, Redacted } from "effect"
 *
 * const Store = Layer.effect(CircuitStore.CircuitStore, RedisCircuitStore.make({ prefix: "billing" })).pipe(
 *   Layer.provide(IORedisClient.layer({ url: Redacted.make("redis://localhost:6379") }))
 * )
 * const names = Effect.gen(function*() {
 *   const store = yield* CircuitStore.CircuitStore
 *   return yield* store.names
 * }).pipe(Effect.provide(Store))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options?: Options
): Effect.Effect<CircuitStore["Service"], CircuitConfigError, RedisClient.RedisClient | Scope.Scope> =>
  Effect.suspend(() =>
    Effect4.Result.match(decodeOptions(options ?? {}), {
      onFailure: (issues) => Effect.fail(new CircuitConfigError({ service: "RedisCircuitStore", issues })),
      onSuccess: ({ prefix, ...rest }) => internal.make(prefix, rest)
    })
  )

/**
 * The store as a layer.
 *
 * @example
 * ```ts
 * import { CircuitBreaker, RedisCircuitStore } from "effect-circuit-breaker-redis"
 * import { UpstashClient } from "effect-circuit-breaker-redis/upstash"
 * import { Effect, Layer } from "effect"
 *
 * const Store = RedisCircuitStore.layer().pipe(Layer.provide(UpstashClient.layerConfig()))
 *
 * const program = Effect.gen(function*() {
 *   const breaker = yield* CircuitBreaker.make("payments")
 *   // ...
 * }).pipe(Effect.provide(Store))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: Options): Layer.Layer<CircuitStore, CircuitConfigError, RedisClient.RedisClient> =>
  Layer.effect(CircuitStore, make(options))

/**
 * Where the store lives, as read from the environment.
 *
 * @example
 * ```ts
 * import { RedisCircuitStore } from "effect-circuit-breaker-redis"
 * import { Effect } from "effect"
 *
 * const announce = Effect.flatMap(
 *   RedisCircuitStore.sourceFromEnv,
 *   (source: RedisCircuitStore.Source) => Effect.log(`circuit state lives in ${source}`)
 * )
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Source = "upstash" | "redis" | "memory"

const envSource = Effect.gen(function*() {
  const upstashUrl = yield* Config.option(Config.NonEmptyString("UPSTASH_REDIS_REST_URL"))
  const upstashToken = yield* Config.option(Config.Redacted("UPSTASH_REDIS_REST_TOKEN"))
  const redisUrl = yield* Config.option(Config.Redacted("REDIS_URL"))
  if (Option.isSome(upstashUrl) && Option.isSome(upstashToken)) {
    const options = { url: upstashUrl.value, token: upstashToken.value }
    return {
      source: "upstash" as const,
      client: Layer.effect(
        RedisClient.RedisClient,
        optionalPeer.load<{ Redis: upstash.UpstashConstructor }>("@upstash/redis", "UPSTASH_REDIS_REST_URL").pipe(
          Effect.flatMap((module) => upstash.make(module.Redis, options, "UPSTASH_REDIS_REST_URL"))
        )
      )
    }
  }
  if (Option.isSome(redisUrl)) {
    const options = { url: redisUrl.value }
    return {
      source: "redis" as const,
      client: Layer.effect(
        RedisClient.RedisClient,
        optionalPeer.load<ioredis.IORedisModule>("ioredis", "REDIS_URL").pipe(
          Effect.flatMap((module) => ioredis.make(module, options, "REDIS_URL"))
        )
      )
    }
  }
  return { source: "memory" as const, client: undefined }
})

/**
 * The store the environment asks for: Upstash when `UPSTASH_REDIS_REST_URL`
 * and `UPSTASH_REDIS_REST_TOKEN` are set, else Redis over TCP when
 * `REDIS_URL` is set, else the in-memory store, with one warning that the
 * state is not shared.
 *
 * The chosen client package (`@upstash/redis` or `ioredis`, optional peer
 * dependencies) is loaded when the layer is built, out of bundlers' sight, so
 * that no bundle carries a client it may not use. When it is not installed
 * the layer fails with a `CircuitConfigError` naming the package to install.
 * Bundled apps (Next.js, Workers) that know their client may prefer
 * `RedisCircuitStore.layer()` with `UpstashClient.layerConfig()` or
 * `IORedisClient.layerConfig()`, which bundlers follow.
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
 * @category layers
 */
export const layerFromEnv = (
  options?: Options
): Layer.Layer<CircuitStore, CircuitConfigError | RedisClient.RedisClientError | Config.ConfigError> =>
  Layer.unwrap(Effect.map(envSource, ({ client, source }) =>
    client === undefined
      ? Layer.merge(
        layerMemory,
        Layer.effectDiscard(
          Effect.logWarning(
            "circuit breaker: no UPSTASH_REDIS_REST_URL/UPSTASH_REDIS_REST_TOKEN or REDIS_URL set; " +
              "using the in-memory store (state is not shared between instances)"
          )
        )
      )
      : Layer.provide(layer(options), client).pipe(
        Layer.tap(() => Effect.logDebug(`circuit breaker: using the ${source} store`))
      )))

/**
 * Which store `layerFromEnv` would choose, without building it.
 *
 * @example
 * ```ts
 * import { RedisCircuitStore } from "effect-circuit-breaker-redis"
 * import { Effect } from "effect"
 *
 * const shared = Effect.map(RedisCircuitStore.sourceFromEnv, (source) => source !== "memory")
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const sourceFromEnv: Effect.Effect<Source, Config.ConfigError> = Effect.map(
  envSource,
  (_) => _.source
)
