/**
 * The state machine's shared scenarios (test/shared/scenarios/stateMachine.ts) on this edition's
 * Redis stores: over ioredis, over `@upstash/redis` through the Upstash REST bridge, over a Redis
 * Cluster (ioredis's Cluster client), and over Effect 4's own Redis service (`NodeRedis`). The
 * suites drive time with `TestClock`, so the stores run on the caller's clock
 * (`timeSource: "client"`); each test gets an empty store on a key prefix of its own.
 */
import { afterAll, beforeAll } from "@effect/vitest"
import * as Layer from "effect/Layer"
import { RedisCircuitStore } from "../src/index.js"
import { IORedisClient } from "../src/ioredis.js"
import { startUpstashBridge, type UpstashBridge } from "../../test/shared/upstashBridge.js"
import { type RedisCluster, type RedisServer, startCluster, startRedis } from "./support/redisServer.js"
import { effectRedisStore, freshPrefix, tcpStore, upstashStore } from "./support/redisStores.js"
import { stateMachineSuite } from "./support/stateMachineDriver.js"

const TOKEN = "test-token-3f9c2a7b"

let server: RedisServer
let bridge: UpstashBridge
let cluster: RedisCluster

beforeAll(async () => {
  server = await startRedis()
  bridge = await startUpstashBridge({ redisUrl: server.url, token: TOKEN })
  cluster = await startCluster(3)
}, 120_000)

afterAll(async () => {
  await bridge?.close()
  await server?.stop()
  await cluster?.stop()
}, 60_000)

stateMachineSuite("redis (ioredis)", () => tcpStore(server, { timeSource: "client" }))
stateMachineSuite("redis (upstash)", () => upstashStore(bridge, TOKEN, { timeSource: "client" }))
stateMachineSuite(
  "redis cluster (3 masters)",
  () =>
    RedisCircuitStore.layer({ prefix: freshPrefix(), timeSource: "client" }).pipe(
      Layer.provide(IORedisClient.layer({ cluster: cluster.startupNodes }))
    )
)
stateMachineSuite("redis (Effect 4's NodeRedis)", () => effectRedisStore(server, { timeSource: "client" }))
