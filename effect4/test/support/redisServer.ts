/**
 * Test support: the real `redis-server` processes of `test/shared/redisServer.ts`, and each as
 * a resource of a scope (Effect 4).
 */
import * as Effect from "effect/Effect"
import { startCluster, startRedis, startSentinelGroup } from "../../../test/shared/redisServer.js"
import type { RedisServerOptions } from "../../../test/shared/redisServer.js"

export * from "../../../test/shared/redisServer.js"

/** {@link startRedis} as a resource of the scope: the server stops when the scope closes. */
export const redisServerScoped = (options: RedisServerOptions = {}) =>
  Effect.acquireRelease(Effect.promise(() => startRedis(options)), (server) => Effect.promise(() => server.stop()))

/** {@link startSentinelGroup} as a resource of the scope: every server stops when the scope closes. */
export const sentinelGroupScoped = (options: Parameters<typeof startSentinelGroup>[0] = {}) =>
  Effect.acquireRelease(
    Effect.promise(() => startSentinelGroup(options)),
    (group) => Effect.promise(() => group.stop())
  )

/** {@link startCluster} as a resource of the scope: every node stops when the scope closes. */
export const clusterScoped = (...args: Parameters<typeof startCluster>) =>
  Effect.acquireRelease(Effect.promise(() => startCluster(...args)), (cluster) => Effect.promise(() => cluster.stop()))
