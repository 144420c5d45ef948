/**
 * An ioredis connection as the `RedisClient` over ioredis makes it: the
 * shape of the `ioredis` module it uses, the connection made from the
 * client's options, its description, and what it tells every command of the
 * connection's state (`ConnectionWatch`). Shared by both editions (each makes
 * its own `RedisClientError`).
 *
 * @internal
 */
import { classifyText, connectionProblem, type RedisErrorText } from "./errorText.js"
import { notWritable } from "./ioredis.js"

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
  /** A new connection with the same options (a `Redis`'s takes overrides, a `Cluster`'s nodes first). */
  duplicate?(...args: Array<unknown>): IORedisConnection
  subscribe?(channel: string): Promise<unknown>
}

/**
 * The part of an ioredis `Cluster` this client uses besides the connection:
 * its map of slots to nodes (`"host:port"`, the master first).
 *
 * @internal
 */
export interface IORedisCluster extends IORedisConnection {
  readonly slots: ReadonlyArray<ReadonlyArray<string> | undefined>
}

/**
 * The part of the `ioredis` module this client uses.
 *
 * @internal
 */
export interface IORedisModule {
  readonly Redis: new(...args: [url: string, options: object] | [options: object]) => IORedisConnection
  readonly Cluster: new(nodes: Array<{ host: string; port: number }>, options: object) => IORedisCluster
}

/** A node's address. */
type Node = { readonly host: string; readonly port: number }

/**
 * Where the client connects: a Cluster's nodes, Sentinels (and the master's
 * name), or else the URL.
 *
 * @internal
 */
export interface Topology {
  readonly cluster?: ReadonlyArray<Node> | undefined
  readonly sentinels?: ReadonlyArray<Node> | undefined
  readonly masterName?: string | undefined
}

/**
 * The connection (not connected yet) to `url`, a Cluster or Sentinels, every
 * command bounded by `timeout`.
 *
 * @internal
 */
export const openConnection = (
  ioredis: IORedisModule,
  topology: Topology,
  url: string,
  timeout: number,
  password: string | undefined,
  sentinelPassword: string | undefined
): IORedisConnection => {
  const common = {
    lazyConnect: true,
    connectTimeout: timeout,
    commandTimeout: timeout,
    maxRetriesPerRequest: 1,
    // while disconnected a command fails at once: a queued script would run on reconnect,
    // long after the breaker gave up on it (a probe permit nobody holds, counts sent twice)
    enableOfflineQueue: false,
    retryStrategy: (times: number) => Math.min(50 * 2 ** times, 2_000),
    // a socket that never connected is closed at once when the client closes: ioredis's default
    // (2 s) would hold the process open that long after its work is done
    disconnectTimeout: 100,
    ...(password !== undefined ? { password } : {})
  }
  const { cluster, sentinels } = topology
  return cluster !== undefined
    ? new ioredis.Cluster(cluster.map((n) => ({ host: n.host, port: n.port })), {
      lazyConnect: true,
      redisOptions: common,
      clusterRetryStrategy: (times: number) => Math.min(50 * 2 ** times, 2_000)
    })
    : sentinels !== undefined
    ? new ioredis.Redis({
      ...common,
      sentinels: sentinels.map((n) => ({ host: n.host, port: n.port })),
      name: topology.masterName ?? "mymaster",
      ...(sentinelPassword !== undefined ? { sentinelPassword } : {}),
      // a failover is noticed when Sentinel announces it, not only when the old primary times out
      failoverDetector: true,
      sentinelRetryStrategy: (times: number) => Math.min(50 * 2 ** times, 1_000)
    })
    : new ioredis.Redis(url, common)
}

/**
 * The description of a Cluster's or Sentinels' connection, else `shown` (the URL's).
 *
 * @internal
 */
export const describeConnection = (topology: Topology, shown: () => string): string =>
  topology.cluster !== undefined
    ? `redis cluster ${topology.cluster.map((n) => `${n.host}:${n.port}`).join(",")}`
    : topology.sentinels !== undefined
    ? `redis sentinel ${topology.masterName ?? "mymaster"} via ${
      topology.sentinels.map((n) => `${n.host}:${n.port}`).join(",")
    }`
    : shown()

/**
 * What a connection to `target` tells every command: connection errors
 * surface as command failures; they are kept off stderr, but it remembers why
 * the client is not connected, to say so to every command (ioredis says
 * "Stream isn't writeable"), and an authentication failure (ioredis reports
 * it to the first command only, then reconnects), and a database (`db`) the
 * server refused. `E` is the edition's `RedisClientError`, made by `make`.
 *
 * @internal
 */
export class ConnectionWatch<E extends RedisErrorText> {
  private authFailure: E | undefined = undefined
  private disconnected: string | undefined = undefined
  private refusedDatabase: E | undefined = undefined
  constructor(
    client: IORedisConnection,
    private readonly target: string,
    db: number | undefined,
    secrets: ReadonlyArray<string>,
    private readonly make: (error: RedisErrorText) => E
  ) {
    client.on("connect", () => {
      this.refusedDatabase = undefined
    })
    client.on("error", (error: unknown) => {
      const command = typeof error === "object" && error !== null
        ? (error as { readonly command?: { readonly name?: unknown } }).command
        : undefined
      if (command?.name === "select") {
        // ioredis carries on in database 0: nothing is sent there instead
        this.refusedDatabase = make({
          kind: "Connection",
          reason: `${target} refused database ${db ?? "?"} (${classifyText(error, secrets).reason}); ` +
            "nothing is sent to another database"
        })
        return
      }
      const classified = classifyText(error, secrets)
      if (classified.kind === "Auth") this.authFailure = this.credentialsRefused(classified)
      else this.disconnected = connectionProblem(error)
    })
    client.on("ready", () => {
      this.authFailure = undefined
      this.disconnected = undefined
    })
  }

  private credentialsRefused(error: RedisErrorText): E {
    return this.make({ kind: "Auth", reason: `${this.target} refused the credentials (${error.reason})` })
  }

  /** An error every command fails with, without being sent, while it is there. */
  readonly refused = (): E | undefined => this.refusedDatabase

  /** What a command or pipeline that failed with `error` fails with. */
  readonly failure = (error: E): E => {
    // an authentication failure is told to every command, not only the first after a reconnect
    if (error.kind === "Auth") return this.credentialsRefused(error)
    if (error.kind !== "Command" && this.authFailure !== undefined) return this.authFailure
    if (error.kind === "Connection" && notWritable.test(error.reason)) {
      return this.make({
        kind: "Connection",
        reason: `not connected to ${this.target} (${this.disconnected ?? "connecting"})`
      })
    }
    return error
  }
}

/**
 * Lets a socket or timer of Node's not keep the process alive.
 *
 * @internal
 */
export const unref = (handle: unknown): void => {
  if (typeof handle === "object" && handle !== null && typeof (handle as { unref?: unknown }).unref === "function") {
    ;(handle as { unref: () => void }).unref()
  }
}
