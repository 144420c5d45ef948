/**
 * What a Redis client the user made looks like (`RedisClient.fromClient`, and
 * the Promise API's `redis` option): `@upstash/redis` and `ioredis` instances
 * recognised by their own public shape, so that neither package is imported;
 * where they connect and the secrets to scrub, and what the Upstash client's
 * replies need undone. Each edition turns a recognised client into its
 * `RedisClient` (its `internal/redis/userClient.ts`).
 *
 * @internal
 */
import { hostOf, undeserialized } from "./clientValues.js"

/** What `@upstash/redis`'s HTTP client looks like from outside (its `client` field). */
export interface UpstashRequester {
  readonly request: (req: {
    readonly path?: ReadonlyArray<string> | undefined
    readonly body: unknown
    readonly upstashSyncToken?: string | undefined
    readonly signal?: RequestSignal | undefined
  }) => Promise<{ readonly result?: unknown; readonly error?: string | undefined }>
  readonly upstashSyncToken?: string | undefined
  readonly headers?: Record<string, string> | undefined
  readonly baseUrl?: string | undefined
}

/** An `AbortSignal`, as far as this module is concerned (it only hands one on). */
export type RequestSignal = object

/** What an `ioredis` `Redis` or `Cluster` looks like from outside. */
export interface IORedisLike {
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

/** An object with only `exec` (an `@upstash/redis` look-alike). */
export interface UpstashLike {
  readonly exec: (command: [string, ...Array<string>]) => Promise<unknown>
}

const isObject = (u: unknown): u is Record<string, unknown> =>
  (typeof u === "object" || typeof u === "function") && u !== null

/** @internal */
export const asIORedis = (u: unknown): IORedisLike | undefined =>
  isObject(u) && typeof u.call === "function" && typeof u.sendCommand === "function"
    ? (u as unknown as IORedisLike)
    : undefined

/** The HTTP client of an `@upstash/redis` instance. @internal */
export const requesterOf = (u: unknown): UpstashRequester | undefined => {
  if (!isObject(u)) return undefined
  const client = u.client
  return isObject(client) && typeof client.request === "function" ? (client as unknown as UpstashRequester) : undefined
}

/** @internal */
export const asUpstashExec = (u: unknown): UpstashLike | undefined =>
  isObject(u) && typeof u.exec === "function" ? (u as unknown as UpstashLike) : undefined

/** An ioredis client as the user made it: its secrets, whether it is a Cluster, where it connects. @internal */
export const ioredisInfo = (io: IORedisLike): {
  readonly secrets: ReadonlyArray<string>
  readonly cluster: boolean
  readonly description: string
  /** It has pipelines (on a Cluster, with its slots known), as the client this package makes. */
  readonly pipelines: boolean
} => {
  const cluster = io.startupNodes !== undefined
  return {
    secrets: [io.options?.password, io.options?.redisOptions?.password].filter(
      (s): s is string => typeof s === "string" && s.length > 0
    ),
    cluster,
    description: cluster
      ? "redis cluster (ioredis, user's client)"
      : `redis ${io.options?.host ?? "?"}:${io.options?.port ?? "?"} (ioredis, user's client)`,
    pipelines: typeof io.pipeline === "function" && (!cluster || Array.isArray(io.slots))
  }
}

/** An `@upstash/redis` client's token (its secret) and where it connects. @internal */
export const upstashInfo = (requester: UpstashRequester): {
  readonly secrets: ReadonlyArray<string>
  readonly description: string
} => {
  const authorization = requester.headers?.authorization ?? requester.headers?.Authorization ?? ""
  const token = authorization.replace(/^Bearer\s+/i, "")
  return {
    secrets: token.length > 0 ? [token] : [],
    description: `upstash ${hostOf(requester.baseUrl)} (user's client)`
  }
}

/** The `exec`-only client's description. @internal */
export const execDescription = "upstash (user's client, exec)"

/** A reply of `@upstash/redis`'s HTTP client: its result, or the error it carries, thrown. @internal */
export const resultOf = (reply: { readonly result?: unknown; readonly error?: string | undefined }): unknown => {
  if (reply.error !== undefined && reply.error !== null) throw new Error(reply.error)
  if (reply.result === undefined) throw new TypeError("Request did not return a result")
  return reply.result
}

/** A reply of `exec` to `command`, with the registry's members undeserialized. @internal */
export const execReply = (command: ReadonlyArray<string>, reply: unknown): unknown =>
  command[0] === "ZRANGE" && Array.isArray(reply)
    ? reply.map(undeserialized)
    : command[0] === "ZSCAN" && Array.isArray(reply) && reply.length === 2 && Array.isArray(reply[1])
    ? [String(reply[0]), reply[1].map(undeserialized)]
    : reply

/** What `fromClient` throws for anything else. @internal */
export const notAClient = (redis: unknown): TypeError =>
  new TypeError(
    "expected an @upstash/redis Redis instance, or an ioredis Redis or Cluster instance (got " +
      (redis === null ? "null" : typeof redis) + ")"
  )
