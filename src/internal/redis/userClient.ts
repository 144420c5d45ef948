/**
 * `RedisClient`s over Redis clients the user made (`RedisClient.fromClient`,
 * and the Promise API's `redis` option): `@upstash/redis` and `ioredis`
 * instances, driven through their own public shape (recognised by
 * `shared/redis/userClient.ts`), so that neither package is imported here.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type { RedisClient } from "../../RedisClient.js"
import * as ioredisClient from "./ioredisClient.js"
import { classify } from "./errors.js"
import * as upstashClient from "./upstashClient.js"
import * as user from "../../../shared/redis/userClient.js"

/**
 * A `RedisClient` over a Redis instance the user made (`RedisClient.fromClient`):
 *
 * - `@upstash/redis` `Redis`: commands go through the instance's own HTTP
 *   client (its URL, token, retries, encoding), but its replies are taken
 *   raw, as the instance's automatic JSON deserialization would turn a
 *   circuit named `"123"` into the number 123. Each request is aborted when
 *   the store gives up on it (`storeTimeout`), which also stops the client's
 *   retries. Pipelines go to `/pipeline`; scripts are sent flagged
 *   `allow-key-locking` (as `UpstashClient` sends them) when the client's URL
 *   is Upstash's own (`*.upstash.io`), plain to any other (a REST proxy in
 *   front of Redis, which refuses the flag). An object with only `exec` is
 *   driven through `exec`.
 * - `ioredis` `Redis` or `Cluster`: `call`, and its pipelines (on a Cluster,
 *   one per node), as the client `IORedisClient` makes. The client stays the
 *   user's: it is not closed when the runtime is disposed.
 *
 * Throws a `TypeError` for anything else.
 *
 * @internal
 */
export const fromClient = (redis: unknown): RedisClient["Type"] => {
  const io = user.asIORedis(redis)
  if (io !== undefined) {
    const { cluster, description, pipelines, secrets } = user.ioredisInfo(io)
    if (pipelines) {
      // pipelines too (one per node on a Cluster), as the client this package makes
      return ioredisClient.fromConnection(io as unknown as ioredisClient.IORedisConnection, {
        description,
        secrets,
        cluster
      })
    }
    return {
      description,
      cluster,
      send: (command) =>
        Effect.tryPromise({
          try: () => io.call(command[0]!, ...command.slice(1)),
          catch: (cause) => classify(cause, secrets)
        })
    }
  }
  const requester = user.requesterOf(redis)
  if (requester !== undefined) {
    const { description, secrets } = user.upstashInfo(requester)
    return {
      description,
      // Upstash itself locks only a flagged script's KEYS; a REST proxy in front of Redis (local
      // development, CI) would refuse the flag, as Redis does
      allowKeyLocking: upstashClient.isUpstashHost(requester.baseUrl),
      pipeline: upstashClient.pipelineOver(
        (commands, signal) =>
          requester.request({
            path: ["pipeline"],
            body: commands,
            upstashSyncToken: requester.upstashSyncToken,
            signal
          }),
        secrets
      ),
      send: (command) =>
        Effect.tryPromise({
          try: async (signal) =>
            user.resultOf(
              await requester.request({ body: command, upstashSyncToken: requester.upstashSyncToken, signal })
            ),
          catch: (cause) => classify(cause, secrets)
        })
    }
  }
  const upstash = user.asUpstashExec(redis)
  if (upstash !== undefined) {
    return {
      description: user.execDescription,
      send: (command) =>
        Effect.tryPromise({
          try: () => upstash.exec(command as [string, ...Array<string>]),
          catch: (cause) => classify(cause, [])
        }).pipe(Effect.map((reply) => user.execReply(command, reply)))
    }
  }
  throw user.notAClient(redis)
}
