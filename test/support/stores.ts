/**
 * The stores the state-machine suite runs against: memory, Redis over TCP
 * (ioredis) and Redis over the Upstash REST protocol (@upstash/redis through
 * the bridge). Each case gives a fresh, empty store per test: the Redis cases
 * share one server and isolate tests by key prefix. The suites drive time with
 * `TestClock`, so the Redis cases run on the caller's clock (`timeSource: "client"`).
 */
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { CircuitStore, RedisCircuitStore } from "../../src/index.js"
import { type RedisCluster, type RedisServer, startCluster, startRedis } from "./redisServer.js"
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

let prefixes = 0
/** A key prefix no other test in this process uses. */
export const freshPrefix = (): string => `t${process.pid}-${++prefixes}-${Date.now().toString(36)}`

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
    fresh: () =>
      RedisCircuitStore.layer({ prefix: freshPrefix(), timeSource: "client" }).pipe(
        Layer.provide(IORedisClient.layer({ url: server!.url })),
        Layer.orDie
      )
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
    fresh: () =>
      RedisCircuitStore.layer({ prefix: freshPrefix(), timeSource: "client" }).pipe(
        Layer.provide(UpstashClient.layer({ url: bridge!.url, token: Redacted.make(token) })),
        Layer.orDie
      )
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
