/**
 * Test support (Effect 4): Redis stores over the real servers of
 * `redisServer.ts`: over ioredis, over `@upstash/redis` through the Upstash
 * REST bridge, over Sentinel, and over Effect 4's own Redis service
 * (`NodeRedis` of `@effect/platform-node`), each on a key prefix no other
 * test uses.
 */
import { NodeRedis } from "@effect/platform-node"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { RedisCircuitStore, RedisClient } from "../../src/index.js"
import { IORedisClient } from "../../src/ioredis.js"
import { UpstashClient } from "../../src/upstash.js"
import { freshPrefix } from "../../../test/shared/names.js"
import { startUpstashBridge } from "../../../test/shared/upstashBridge.js"
import type { SentinelGroup } from "./redisServer.js"

/** {@link startUpstashBridge} in front of `server`, as a resource of the scope: it closes with the scope. */
export const upstashBridgeScoped = (server: { readonly url: string }, token: string) =>
  Effect.acquireRelease(
    Effect.promise(() => startUpstashBridge({ redisUrl: server.url, token })),
    (bridge) => Effect.promise(() => bridge.close())
  )

export { freshPrefix } from "../../../test/shared/names.js"

/**
 * The Redis store over ioredis on `server` (by default on a fresh prefix),
 * with the client's options `client`.
 */
export const tcpStore = (
  server: { readonly url: string },
  options: RedisCircuitStore.Options = {},
  client: Omit<IORedisClient.Options, "url"> = {}
) =>
  RedisCircuitStore.layer({ prefix: freshPrefix(), ...options }).pipe(
    Layer.provide(IORedisClient.layer({ url: server.url, ...client }))
  )

/**
 * The Redis store over ioredis following the Sentinels of `group` (by
 * default on a fresh prefix), with the client's options `client`.
 */
export const sentinelStore = (
  group: SentinelGroup,
  options: RedisCircuitStore.Options = {},
  client: Omit<IORedisClient.Options, "sentinels" | "masterName"> = {}
) =>
  RedisCircuitStore.layer({ prefix: freshPrefix(), ...options }).pipe(
    Layer.provide(IORedisClient.layer({ sentinels: group.sentinelNodes, masterName: group.masterName, ...client }))
  )

/**
 * The Redis store over `@upstash/redis` through `bridge` (by default on a
 * fresh prefix), with the client's options `client`.
 */
export const upstashStore = (
  bridge: { readonly url: string },
  token: string,
  options: RedisCircuitStore.Options = {},
  client: Omit<UpstashClient.Options, "url" | "token"> = {}
) =>
  RedisCircuitStore.layer({ prefix: freshPrefix(), ...options }).pipe(
    Layer.provide(UpstashClient.layer({ url: bridge.url, token: Redacted.make(token), ...client }))
  )

/**
 * The Redis store over Effect 4's own Redis service, `NodeRedis.layer`
 * (node-redis) on `server` (by default on a fresh prefix).
 */
export const effectRedisStore = (server: { readonly url: string }, options: RedisCircuitStore.Options = {}) =>
  RedisCircuitStore.layer({ prefix: freshPrefix(), ...options }).pipe(
    Layer.provide(RedisClient.layerEffectRedis({ description: `node-redis ${server.url}` })),
    Layer.provide(NodeRedis.layer({ url: server.url, disableOfflineQueue: true }))
  )
