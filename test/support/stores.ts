/**
 * The stores the state-machine suite runs against: memory, Redis over TCP
 * (ioredis) and Redis over the Upstash REST protocol (@upstash/redis through
 * the bridge). Each case gives a fresh, empty store per test: the Redis cases
 * share one server and isolate tests by key prefix. The suites drive time with
 * `TestClock`, so the Redis cases run on the caller's clock (`timeSource: "client"`).
 *
 * Also the pieces other suites build their stores from: an Upstash bridge as
 * a resource of the scope, and a Redis store over ioredis or over the bridge.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as TestClock from "effect/TestClock"
import * as TestContext from "effect/TestContext"
import { CircuitStore, RedisCircuitStore } from "../../src/index.js"
import { type RedisCluster, type RedisServer, type SentinelGroup, startCluster, startRedis } from "./redisServer.js"
import { startUpstashBridge, type UpstashBridge } from "./upstashBridge.js"
import { UpstashClient } from "../../src/upstash.js"
import { IORedisClient } from "../../src/ioredis.js"

export interface StoreCase {
  readonly name: string
  /** Starts whatever the store needs (servers); called once before the suite. */
  readonly setup: () => Promise<void>
  readonly teardown: () => Promise<void>
  /** A layer with an empty store, isolated from every other test. */
  readonly fresh: () => Layer.Layer<CircuitStore.CircuitStore>
}

/** {@link startUpstashBridge} in front of `server`, as a resource of the scope: it closes with the scope. */
export const upstashBridgeScoped = (server: { readonly url: string }, token: string) =>
  Effect.acquireRelease(
    Effect.promise(() => startUpstashBridge({ redisUrl: server.url, token })),
    (bridge) => Effect.promise(() => bridge.close())
  )

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

let prefixes = 0
/** A key prefix no other test in this process uses. */
export const freshPrefix = (): string => `t${process.pid}-${++prefixes}-${Date.now().toString(36)}`

/**
 * A memory store for a runtime of its own (the Promise API's `store` option)
 * that runs that runtime on a `TestClock`: `clock()` is the clock, set once
 * the runtime is built, to `adjust` from outside.
 */
export const memoryStoreOnTestClock = () => {
  let clock: TestClock.TestClock | undefined
  const store = Layer.merge(
    CircuitStore.layerMemory,
    Layer.effectDiscard(Effect.map(TestClock.testClock(), (testClock) => {
      clock = testClock
    }))
  ).pipe(Layer.provideMerge(TestContext.TestContext))
  return { clock: (): TestClock.TestClock => clock!, store }
}

export const memoryCase: StoreCase = {
  name: "memory",
  setup: async () => {},
  teardown: async () => {},
  fresh: () => CircuitStore.layerMemory
}

/** Redis over TCP, on a redis-server of its own. */
export const makeTcpCase = (): StoreCase & { readonly server: () => RedisServer } => {
  let server: RedisServer | undefined
  return {
    name: "redis (ioredis)",
    server: () => server!,
    setup: async () => {
      server = await startRedis()
    },
    teardown: async () => {
      await server?.stop()
    },
    fresh: () => Layer.orDie(tcpStore(server!, { timeSource: "client" }))
  }
}

/** Redis over the Upstash REST protocol: @upstash/redis → bridge → redis-server. */
export const makeUpstashCase = (): StoreCase & { readonly bridge: () => UpstashBridge } => {
  let server: RedisServer | undefined
  let bridge: UpstashBridge | undefined
  const token = "test-token-3f9c2a7b"
  return {
    name: "redis (upstash)",
    bridge: () => bridge!,
    setup: async () => {
      server = await startRedis()
      bridge = await startUpstashBridge({ redisUrl: server.url, token })
    },
    teardown: async () => {
      await bridge?.close()
      await server?.stop()
    },
    fresh: () => Layer.orDie(upstashStore(bridge!, token, { timeSource: "client" }))
  }
}

/** Redis Cluster: three masters started by the suite, through ioredis's Cluster client. */
export const makeClusterCase = (): StoreCase => {
  let cluster: RedisCluster | undefined
  return {
    name: "redis cluster (3 masters)",
    setup: async () => {
      cluster = await startCluster(3)
    },
    teardown: async () => {
      await cluster?.stop()
    },
    fresh: () =>
      RedisCircuitStore.layer({ prefix: freshPrefix(), timeSource: "client" }).pipe(
        Layer.provide(IORedisClient.layer({ cluster: cluster!.startupNodes })),
        Layer.orDie
      )
  }
}

export const storeCases: ReadonlyArray<StoreCase> = [memoryCase, makeTcpCase(), makeUpstashCase(), makeClusterCase()]
