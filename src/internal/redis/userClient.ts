/**
 * `RedisClient`s over Redis clients the user made (`RedisClient.fromClient`,
 * and the Promise API's `redis` option): `@upstash/redis` and `ioredis`
 * instances, driven through their own public shape, so that neither package
 * is imported here.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type { RedisClient } from "../../RedisClient.js"
import * as ioredisClient from "./ioredisClient.js"
import { classify } from "./errors.js"
import * as upstashClient from "./upstashClient.js"
import { hostOf, undeserialized } from "../../../shared/redis/clientValues.js"

/** What `@upstash/redis`'s HTTP client looks like from outside (its `client` field). */
interface UpstashRequester {
  readonly request: (req: {
    readonly path?: ReadonlyArray<string> | undefined
    readonly body: unknown
    readonly upstashSyncToken?: string | undefined
    readonly signal?: AbortSignal | undefined
  }) => Promise<{ readonly result?: unknown; readonly error?: string | undefined }>
  readonly upstashSyncToken?: string | undefined
  readonly headers?: Record<string, string> | undefined
  readonly baseUrl?: string | undefined
}

interface IORedisLike {
  readonly call: (command: string, ...args: Array<string>) => Promise<unknown>
  readonly sendCommand: (...args: Array<unknown>) => unknown
  readonly options?: {
    readonly host?: string
    readonly port?: number
    readonly password?: string | undefined
    readonly redisOptions?: { readonly password?: string | undefined }
  }
  readonly startupNodes?: ReadonlyArray<unknown>
  readonly pipeline?: unknown
  /** A Cluster's map of slots to nodes. */
  readonly slots?: unknown
}

interface UpstashLike {
  readonly exec: (command: [string, ...Array<string>]) => Promise<unknown>
}

const isObject = (u: unknown): u is Record<string, unknown> =>
  (typeof u === "object" || typeof u === "function") && u !== null

const asIORedis = (u: unknown): IORedisLike | undefined =>
  isObject(u) && typeof u.call === "function" && typeof u.sendCommand === "function"
    ? (u as unknown as IORedisLike)
    : undefined

const requesterOf = (u: unknown): UpstashRequester | undefined => {
  if (!isObject(u)) return undefined
  const client = u.client
  return isObject(client) && typeof client.request === "function" ? (client as unknown as UpstashRequester) : undefined
}

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
  const io = asIORedis(redis)
  if (io !== undefined) {
    const secrets = [io.options?.password, io.options?.redisOptions?.password].filter(
      (s): s is string => typeof s === "string" && s.length > 0
    )
    const cluster = io.startupNodes !== undefined
    const description = cluster
      ? "redis cluster (ioredis, user's client)"
      : `redis ${io.options?.host ?? "?"}:${io.options?.port ?? "?"} (ioredis, user's client)`
    if (typeof io.pipeline === "function" && (!cluster || Array.isArray(io.slots))) {
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
  const requester = requesterOf(redis)
  if (requester !== undefined) {
    const authorization = requester.headers?.authorization ?? requester.headers?.Authorization ?? ""
    const token = authorization.replace(/^Bearer\s+/i, "")
    const secrets = token.length > 0 ? [token] : []
    return {
      description: `upstash ${hostOf(requester.baseUrl)} (user's client)`,
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
          try: async (signal) => {
            const reply = await requester.request({
              body: command,
              upstashSyncToken: requester.upstashSyncToken,
              signal
            })
            if (reply.error !== undefined && reply.error !== null) throw new Error(reply.error)
            if (reply.result === undefined) throw new TypeError("Request did not return a result")
            return reply.result
          },
          catch: (cause) => classify(cause, secrets)
        })
    }
  }
  if (isObject(redis) && typeof redis.exec === "function") {
    const upstash = redis as unknown as UpstashLike
    return {
      description: "upstash (user's client, exec)",
      send: (command) =>
        Effect.tryPromise({
          try: () => upstash.exec(command as [string, ...Array<string>]),
          catch: (cause) => classify(cause, [])
        }).pipe(
          Effect.map((reply) =>
            command[0] === "ZRANGE" && Array.isArray(reply)
              ? reply.map(undeserialized)
              : command[0] === "ZSCAN" && Array.isArray(reply) && reply.length === 2 && Array.isArray(reply[1])
              ? [String(reply[0]), reply[1].map(undeserialized)]
              : reply
          )
        )
    }
  }
  throw new TypeError(
    "expected an @upstash/redis Redis instance, or an ioredis Redis or Cluster instance (got " +
      (redis === null ? "null" : typeof redis) + ")"
  )
}
