/**
 * The `RedisClient` over `ioredis` (TCP, Cluster), written against the shape
 * of the `ioredis` module rather than an import of it, so that the core can
 * build it from a module loaded at run time (`RedisCircuitStore.layerFromEnv`)
 * and the `/ioredis` entry point from its static import.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import type { Options } from "../IORedisClient.js"
import { RedisClient } from "../RedisClient.js"
import { classify, type RedisClientError } from "./redisErrors.js"

/**
 * The part of an ioredis `Redis` or `Cluster` this client uses.
 *
 * @internal
 */
export interface IORedisConnection {
  on(event: string, listener: (...args: Array<any>) => void): unknown
  connect(): Promise<unknown>
  quit(): Promise<unknown>
  disconnect(): void
  call(command: string, ...args: Array<string>): Promise<unknown>
  pipeline(): {
    call(command: string, ...args: Array<string>): unknown
    exec(): Promise<Array<[Error | null, unknown]> | null>
  }
}

/**
 * The part of the `ioredis` module this client uses.
 *
 * @internal
 */
export interface IORedisModule {
  readonly Redis: new(...args: [url: string, options: object] | [options: object]) => IORedisConnection
  readonly Cluster: new(nodes: Array<{ host: string; port: number }>, options: object) => IORedisConnection
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
 * A client closed when the scope closes. Every command is bounded by
 * `commandTimeout`; the client reconnects in the background.
 *
 * @internal
 */
export const make = (
  ioredis: IORedisModule,
  options: Options
): Effect.Effect<RedisClient["Type"], RedisClientError, Scope.Scope> =>
  Effect.gen(function*() {
    const url = options.url === undefined
      ? "redis://127.0.0.1:6379"
      : Redacted.isRedacted(options.url)
      ? Redacted.value(options.url)
      : options.url
    const password = options.password === undefined ? undefined : Redacted.value(options.password)
    const sentinelPassword = options.sentinelPassword === undefined ? undefined : Redacted.value(options.sentinelPassword)
    const secrets: Array<string> = []
    if (password !== undefined) secrets.push(password)
    if (sentinelPassword !== undefined) secrets.push(sentinelPassword)
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
    const sentinels = options.sentinels
    const client = yield* Effect.try({
      try: () =>
        options.cluster !== undefined
          ? new ioredis.Cluster(options.cluster.map((n) => ({ host: n.host, port: n.port })), {
            lazyConnect: true,
            redisOptions: common,
            clusterRetryStrategy: (times: number) => Math.min(50 * 2 ** times, 2_000)
          })
          : sentinels !== undefined
          ? new ioredis.Redis({
            ...common,
            sentinels: sentinels.map((n) => ({ host: n.host, port: n.port })),
            name: options.masterName ?? "mymaster",
            ...(sentinelPassword !== undefined ? { sentinelPassword } : {}),
            // a failover is noticed when Sentinel announces it, not only when the old primary times out
            failoverDetector: true,
            sentinelRetryStrategy: (times: number) => Math.min(50 * 2 ** times, 1_000)
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
      : sentinels !== undefined
      ? `redis sentinel ${options.masterName ?? "mymaster"} via ${sentinels.map((n) => `${n.host}:${n.port}`).join(",")}`
      : describeUrl(url)
    const failure = (cause: unknown) => {
      const error = classify(cause, secrets)
      return error.kind !== "Auth" && error.kind !== "Command" && authFailure !== undefined ? authFailure : error
    }
    return RedisClient.of({
      description,
      send: (command) =>
        Effect.tryPromise({
          try: () => client.call(command[0]!, ...command.slice(1)),
          catch: failure
        }),
      // a Cluster pipeline must stay within one node: there, commands go one by one
      pipeline: options.cluster !== undefined ? undefined : (commands) =>
        Effect.tryPromise({
          try: () => {
            const pipeline = client.pipeline()
            for (const command of commands) pipeline.call(command[0]!, ...command.slice(1))
            return pipeline.exec()
          },
          catch: failure
        }).pipe(
          Effect.map((replies) =>
            (replies ?? []).map(([error, reply]) => error === null ? Either.right(reply) : Either.left(classify(error, secrets)))
          )
        )
    })
  })
