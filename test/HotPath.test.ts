/**
 * `RedisClient.fromClient` over a user's ioredis client (a real redis-server), and a healthy call
 * on the Redis store's cached CLOSED state without a clock read. The hot path's pure parts are in
 * HotPath.unit.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { Redis } from "ioredis"
import { CircuitBreaker, RedisCircuitStore, RedisClient } from "../src/index.js"
import * as IORedisClient from "../src/IORedisClient.js"
import { maxReuse } from "../src/internal/breaker/recentTime.js"
import { manualClock } from "./support/manualClock.js"
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

describe("the Redis store's cached CLOSED state", () => {
  it("lets a healthy call through without reading the clock", async () => {
    const { clock, state } = manualClock()
    const store = RedisCircuitStore.layer({ prefix: freshPrefix(), timeSource: "client" }).pipe(
      Layer.provide(IORedisClient.layer({ url: redis.url })),
      Layer.orDie
    )
    const { calls, reads } = await Effect.runPromise(
      Effect.gen(function*() {
        // no duration measured: only the admit step could read the clock
        const breaker = yield* CircuitBreaker.make(unique("hot-redis-clock"), { recordLatency: false })
        const call = Effect.succeed(1).pipe(breaker.protect)
        // the first call asks Redis and caches the CLOSED state
        yield* call
        const before = state.reads
        const calls = 10_000
        for (let i = 0; i < calls; i++) yield* call
        return { calls, reads: state.reads - before }
      }).pipe(Effect.withClock(clock), Effect.provide(store))
    )
    // a call uses the recent time a few times, and it is read again at least every `maxReuse` uses
    // (its timer never fires here): a few reads per `maxReuse` calls, where a read per call makes `calls`
    expect(reads).toBeLessThan(4 * calls / maxReuse + 10)
  })
})
