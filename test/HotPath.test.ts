/**
 * `RedisClient.fromClient` over a user's ioredis client (a real redis-server). The hot path's
 * pure parts are in HotPath.unit.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { Redis } from "ioredis"
import { CircuitBreaker, RedisCircuitStore, RedisClient } from "../src/index.js"
import { type RedisServer, startRedis } from "./support/redisServer.js"
import { freshPrefix } from "./support/stores.js"

let redis: RedisServer
beforeAll(async () => {
  redis = await startRedis()
})
afterAll(async () => {
  await redis?.stop()
})

let runs = 0
/** Metrics are global: every test uses services of its own. */
const unique = (base: string) => `${base}-${process.pid}-${++runs}`

describe("RedisClient.fromClient", () => {
  it("a store over the user's own ioredis client: the circuit's state is in that Redis", async () => {
    const client = new Redis(redis.url, { lazyConnect: false })
    try {
      const prefix = freshPrefix()
      const name = unique("hot-user-client")
      const store = RedisCircuitStore.layer({ prefix, timeSource: "client" }).pipe(
        Layer.provide(Layer.succeed(RedisClient.RedisClient, RedisClient.fromClient(client))),
        Layer.orDie
      )
      await Effect.runPromise(
        Effect.gen(function*() {
          const breaker = yield* CircuitBreaker.make(name, { failureThreshold: 1 })
          yield* Effect.either(Effect.fail("down").pipe(breaker.protect))
          expect(yield* breaker.state).toBe("OPEN")
        }).pipe(Effect.provide(store))
      )
      const keys = await client.keys(`${prefix}:*`)
      expect(keys.some((key) => key.endsWith(":state"))).toBe(true)
      // the client stays the user's: the store's layer did not close it
      expect(await client.ping()).toBe("PONG")
    } finally {
      client.disconnect()
    }
  })
})
