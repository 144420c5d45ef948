/**
 * The `RedisClient` over `ioredis` (TCP, Cluster), written against the shape
 * of the `ioredis` module rather than an import of it, so that the core can
 * build it from a module loaded at run time (`RedisCircuitStore.layerFromEnv`)
 * and the `/ioredis` entry point from its static import.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Effect4 from "effect"
import type * as Scope from "effect/Scope"
import { CircuitConfigError } from "../../CircuitConfig.js"
import type { Options } from "../../IORedisClient.js"
import type { RedisClient, SubscriptionListener } from "../../RedisClient.js"
import { classify, connectionProblem, RedisClientError } from "./errors.js"
import { withDirectSend } from "./runScript.js"
import {
  checkRedisUrl,
  crossNode,
  firstKey,
  keySlot,
  redirected,
  type RedisUrl
} from "../../../../shared/redis/ioredis.js"
import {
  ConnectionWatch,
  describeConnection,
  type IORedisCluster,
  type IORedisConnection,
  type IORedisModule,
  openConnection,
  unref
} from "../../../../shared/redis/ioredisConnection.js"

/** @internal */
export type { IORedisCluster, IORedisConnection, IORedisModule } from "../../../../shared/redis/ioredisConnection.js"

/** @internal */
export { keySlot } from "../../../../shared/redis/ioredis.js"

/**
 * Checks a Redis URL the way ioredis reads it (`checkRedisUrl`): a problem is
 * a `CircuitConfigError` naming `field`, never echoing a password.
 *
 * @internal
 */
export const parseRedisUrl = (url: string, field: string): Effect4.Result.Result<RedisUrl, CircuitConfigError> => {
  const checked = checkRedisUrl(url, field)
  return "issue" in checked
    ? Effect4.Result.fail(new CircuitConfigError({ service: "IORedisClient", issues: [checked.issue] }))
    : Effect4.Result.succeed(checked)
}

/**
 * A client closed when the scope closes. Every command is bounded by
 * `commandTimeout`; the client reconnects in the background. A `url` that is
 * not a Redis URL fails with a `CircuitConfigError` naming `field` (default
 * `"url"`). Connection failures are told in this package's words, naming the
 * server and what went wrong (connection refused, unknown host, timed out,
 * credentials refused, a database index the server does not have).
 *
 * @internal
 */
export const make = (
  ioredis: IORedisModule,
  options: Options,
  field: string = "url"
): Effect.Effect<RedisClient["Service"], RedisClientError | CircuitConfigError, Scope.Scope> =>
  Effect.gen(function*() {
    const url = options.url === undefined
      ? "redis://127.0.0.1:6379"
      : Redacted.isRedacted(options.url)
      ? Redacted.value(options.url)
      : options.url
    const password = options.password === undefined ? undefined : Redacted.value(options.password)
    const sentinelPassword = options.sentinelPassword === undefined
      ? undefined
      : Redacted.value(options.sentinelPassword)
    const secrets: Array<string> = []
    if (password !== undefined) secrets.push(password)
    if (sentinelPassword !== undefined) secrets.push(sentinelPassword)
    const sentinels = options.sentinels
    const standalone = options.cluster === undefined && sentinels === undefined
    // the URL is what a standalone client connects to: checked here, since ioredis reads a malformed one as
    // something else (a path, database 0, `SELECT NaN`)
    const checked = parseRedisUrl(url, field)
    if (standalone && Effect4.Result.isFailure(checked)) return yield* checked.failure
    if (Effect4.Result.isSuccess(checked)) { for (const secret of checked.success.secrets) secrets.push(secret) }
    const timeout = options.commandTimeout ?? 5_000
    const client = yield* Effect.try({
      try: () => openConnection(ioredis, options, url, timeout, password, sentinelPassword),
      catch: (cause) => classify(cause, secrets)
    })
    const description = describeConnection(options, () => Effect4.Result.getOrThrow(checked).shown)
    const target = standalone ? Effect4.Result.getOrThrow(checked).target : description
    const watch = new ConnectionWatch(
      client,
      target,
      Effect4.Result.isSuccess(checked) ? checked.success.db : undefined,
      secrets,
      (error) => new RedisClientError(error)
    )
    if (options.cluster === undefined) {
      // the connection and its reconnection timer do not keep the process alive by themselves: a command
      // under way does (its timeout); a process whose work is done exits, whatever state Redis is in
      client.on("connect", () => unref((client as { readonly stream?: unknown }).stream))
      client.on("reconnecting", () => unref((client as { readonly reconnectTimeout?: unknown }).reconnectTimeout))
    }
    yield* Effect.addFinalizer(() => Effect.promise(() => client.quit().catch(() => client.disconnect())))
    // connect now (commands are not queued): a Redis that is down is retried in the background
    yield* Effect.promise(() => client.connect().catch(() => undefined))
    return fromConnection(client, {
      description,
      secrets,
      cluster: options.cluster !== undefined,
      refused: watch.refused,
      failure: watch.failure
    })
  })

/**
 * The `RedisClient` over a connected ioredis `Redis` or `Cluster` (made by
 * `make`, or the user's own: `RedisClient.fromClient`): `send` is `call`;
 * `pipeline` is one ioredis pipeline, or on a Cluster one per node
 * (`clusterPipeline`). Errors are classified and scrubbed of `secrets`;
 * `failure` may replace the classified error of a command or pipeline.
 *
 * @internal
 */
export const fromConnection = (
  client: IORedisConnection,
  options: {
    readonly description: string
    readonly secrets: ReadonlyArray<string>
    readonly cluster: boolean
    readonly failure?: ((error: RedisClientError) => RedisClientError) | undefined
    /** An error every command fails with, without being sent, while it is there. */
    readonly refused?: (() => RedisClientError | undefined) | undefined
  }
): RedisClient["Service"] => {
  const { secrets } = options
  const failure = (cause: unknown) => {
    const error = classify(cause, secrets)
    return options.failure === undefined ? error : options.failure(error)
  }
  const refused = options.refused
  const call = (command: ReadonlyArray<string>) => {
    const sent = Effect.tryPromise({
      try: () => client.call(command[0]!, ...command.slice(1)),
      catch: failure
    })
    return refused === undefined ? sent : Effect.suspend(() => {
      const error = refused()
      return error === undefined ? sent : Effect.fail(error)
    })
  }
  /** One pipeline on the connection (a Cluster's: all its keys on one node). */
  const exec = (commands: ReadonlyArray<ReadonlyArray<string>>) =>
    Effect.tryPromise({
      try: () => {
        const pipeline = client.pipeline()
        for (const command of commands) pipeline.call(command[0]!, ...command.slice(1))
        return pipeline.exec()
      },
      catch: (cause) => cause
    }).pipe(
      Effect.map((replies) =>
        (replies ?? []).map(([error, reply]): Effect4.Result.Result<unknown, Error> =>
          error === null ? Effect4.Result.succeed(reply) : Effect4.Result.fail(error)
        )
      )
    )
  const pipeline = (commands: ReadonlyArray<ReadonlyArray<string>>) =>
    Effect.suspend(() => {
      const error = refused?.()
      return error !== undefined ? Effect.fail(error) : exec(commands).pipe(
        Effect.mapError(failure),
        Effect.map((replies) =>
          replies.map((reply) => Effect4.Result.mapError(reply, (error) => classify(error, secrets)))
        )
      )
    })
  return withDirectSend({
    description: options.description,
    send: call,
    pipeline: options.cluster ? clusterPipeline(client as IORedisCluster, exec, call, failure) : pipeline,
    cluster: options.cluster,
    ...(typeof client.duplicate === "function" ? { subscribe: subscriber(client, options.cluster, secrets) } : {})
  }, (command) => {
    const error = refused?.()
    if (error !== undefined) return Promise.reject(error)
    try {
      return client.call(command[0]!, ...command.slice(1)).catch((cause: unknown) => {
        throw failure(cause)
      })
    } catch (cause) {
      return Promise.reject(failure(cause))
    }
  })
}

/**
 * `RedisClient`'s `subscribe` over ioredis: a connection of its own
 * (`duplicate`, the client's options), made when called and closed with the
 * scope. It subscribes at each `ready` (the first connection and every
 * reconnection, ioredis's retry strategy): the subscription is live once
 * Redis confirmed it, and lost when the connection closes. The connection
 * does not keep the process alive by itself.
 */
const subscriber =
  (client: IORedisConnection, cluster: boolean, secrets: ReadonlyArray<string>) =>
  (channel: string, listener: SubscriptionListener): Effect.Effect<void, never, Scope.Scope> =>
    Effect.asVoid(Effect.acquireRelease(
      Effect.sync(() => {
        const connection = cluster
          ? client.duplicate!([], { lazyConnect: true })
          : client.duplicate!({ lazyConnect: true, autoResubscribe: false })
        let closed = false
        let live = false
        const lost = (reason: string) => {
          if (closed) return
          live = false
          listener.status(false, reason)
        }
        connection.on("message", (from: unknown, message: unknown) => {
          if (from === channel && typeof message === "string") listener.message(message)
        })
        connection.on("ready", () => {
          connection.subscribe!(channel).then(
            () => {
              if (closed || live) return
              live = true
              listener.status(true)
            },
            (error: unknown) => lost(`subscribe refused: ${classify(error, secrets).reason}`)
          )
        })
        connection.on("close", () => lost("connection closed"))
        connection.on("error", (error: unknown) => {
          if (live) lost(connectionProblem(error))
        })
        if (!cluster) {
          connection.on("connect", () => unref((connection as { readonly stream?: unknown }).stream))
          connection.on(
            "reconnecting",
            () => unref((connection as { readonly reconnectTimeout?: unknown }).reconnectTimeout)
          )
        }
        connection.connect().catch(() => undefined)
        return {
          close: () => {
            closed = true
            connection.disconnect()
          }
        }
      }),
      (subscription) => Effect.sync(subscription.close)
    ))

/**
 * A Cluster pipeline must keep to one node: the commands are grouped by the
 * node that serves the slot of their key, one pipeline per node runs (all at
 * once), and the replies come back in the order of the commands. A command a
 * node redirects (`MOVED`, `ASK` during a resharding, `TRYAGAIN`,
 * `CLUSTERDOWN`) did not run: it is sent again alone, and ioredis follows the
 * redirection. A group ioredis refuses because the slots moved between the
 * grouping and the send goes one command at a time.
 */
const clusterPipeline = (
  cluster: IORedisCluster,
  exec: (
    commands: ReadonlyArray<ReadonlyArray<string>>
  ) => Effect.Effect<ReadonlyArray<Effect4.Result.Result<unknown, Error>>, unknown>,
  call: (command: ReadonlyArray<string>) => Effect.Effect<unknown, RedisClientError>,
  failure: (cause: unknown) => RedisClientError
) =>
(commands: ReadonlyArray<ReadonlyArray<string>>) =>
  Effect.suspend(() => {
    const groups = new Map<string, Array<number>>()
    commands.forEach((command, i) => {
      const key = firstKey(command)
      const node = key === undefined ? "any" : cluster.slots[keySlot(key)]?.join(";") ?? "unknown"
      const group = groups.get(node)
      if (group === undefined) groups.set(node, [i])
      else group.push(i)
    })
    const replies = new Array<Effect4.Result.Result<unknown, RedisClientError>>(commands.length)
    const alone = (i: number) => Effect.result(call(commands[i]!))
    return Effect.forEach(groups.values(), (group) =>
      exec(group.map((i) => commands[i]!)).pipe(
        Effect.flatMap((answers) =>
          Effect.forEach(group, (i, n): Effect.Effect<Effect4.Result.Result<unknown, RedisClientError>> => {
            const answer = answers[n]!
            if (Effect4.Result.isSuccess(answer)) return Effect.succeed(Effect4.Result.succeed(answer.success))
            return redirected.test(answer.failure.message)
              ? alone(i)
              : Effect.succeed(Effect4.Result.fail(failure(answer.failure)))
          }, { concurrency: "unbounded" })
        ),
        Effect.catch((cause) =>
          cause instanceof Error && crossNode.test(cause.message)
            ? Effect.forEach(group, alone, { concurrency: "unbounded" })
            : Effect.fail(failure(cause))
        ),
        Effect.map((answers) => group.forEach((i, n) => (replies[i] = answers[n]!)))
      ), { concurrency: "unbounded", discard: true }).pipe(
        Effect.as(replies as ReadonlyArray<Effect4.Result.Result<unknown, RedisClientError>>)
      )
  })
