/**
 * Bounded memory per process on the Redis store of the Effect 4 edition:
 * idle entries are evicted once what they batched is flushed (nothing
 * batched is lost), and a breaker still held after its entry went asks
 * Redis again. Real `redis-server`, `TestClock` for the idle time.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Result from "effect/Result"
import * as TestClock from "effect/testing/TestClock"
import { CircuitBreaker, CircuitBreakers, CircuitConfig, CircuitStore } from "../src/index.js"
import { type RedisServer, startRedis } from "./support/redisServer.js"
import { tcpStore } from "./support/redisStores.js"

let redis: RedisServer
beforeAll(async () => {
  redis = await startRedis()
}, 60_000)
afterAll(() => redis?.stop())

let runs = 0
const unique = (base: string) => `${base}-${process.pid}-${++runs}`
const boom = Effect.fail(new Error("down"))

const redisStore = () => Layer.orDie(tcpStore(redis, { timeSource: "client" }))

/** Touches `count` tenant circuits once each (through the registry in context): one success, one failure. */
const touchTenants = (base: string, count: number) =>
  Effect.forEach(Array.from({ length: count }, (_, i) => `${base}-${i}`), (name) =>
    Effect.andThen(
      Effect.succeed(1).pipe(CircuitBreaker.protect(name)),
      Effect.result(boom.pipe(CircuitBreaker.protect(name)))
    ), { discard: true })

/** A call on `name`, twice: the first notes the time, the second lets the registry sweep on it. */
const tick = (name: string) =>
  Effect.andThen(
    Effect.succeed(1).pipe(CircuitBreaker.protect(name)),
    Effect.succeed(1).pipe(CircuitBreaker.protect(name))
  )

/** Lets the Redis store's flusher run (it sleeps a second once woken), and its round trips finish. */
const flusher = Effect.andThen(
  TestClock.adjust("1 second"),
  Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 300)))
)

const cachedOf = (store: CircuitStore.CircuitStore["Service"]): number =>
  (store as unknown as { cached: () => number }).cached()

describe("eviction, Redis store", () => {
  it.effect("idle entries are evicted after flushing: no batched success is lost", () =>
    Effect.gen(function*() {
      const base = unique("redis-tenant")
      const live = unique("redis-live")
      const store = yield* CircuitStore.CircuitStore
      const registry = yield* CircuitBreakers.CircuitBreakers
      yield* tick(live)
      yield* touchTenants(base, 50)
      // successes counted locally, batched (a CLOSED, cached circuit sends nothing per success)
      const batchedName = `${base}-0`
      for (let i = 0; i < 7; i++) yield* Effect.succeed(1).pipe(CircuitBreaker.protect(batchedName))
      expect(cachedOf(store)).toBe(51)

      yield* TestClock.adjust("11 minutes")
      yield* tick(live)
      yield* tick(live)
      yield* flusher
      expect(cachedOf(store)).toBe(1)
      expect((yield* registry.all).map((breaker) => breaker.name)).toEqual([live])
      const config = yield* CircuitConfig.decode(batchedName)
      const [, fleet] = yield* store.inspect(batchedName, config, yield* Effect.clockWith((c) => c.currentTimeMillis))
      expect(fleet.successes).toBe(8)
      expect(fleet.failures).toBe(1)
      // a store timeout longer than the test clock's jumps: a flush Redis answers late is not timed
      // out by the next adjust and sent again (a batch is counted at least once, ARCHITECTURE.md)
    }).pipe(Effect.provide(
      CircuitBreakers.layer({ defaults: { storeTimeout: "1 hour" } }).pipe(Layer.provideMerge(redisStore()))
    )))

  it.effect("a breaker still held works after its entry was evicted: it asks Redis again", () =>
    Effect.gen(function*() {
      const name = unique("redis-held")
      const store = yield* CircuitStore.CircuitStore
      const held = yield* CircuitBreaker.make(name, { failureThreshold: 3 })
      yield* Effect.succeed(1).pipe(CircuitBreaker.protect(held))
      const other = yield* CircuitBreaker.make(unique("redis-other"))
      yield* TestClock.adjust("11 minutes")
      yield* tick(other.name).pipe(Effect.provideService(CircuitBreakers.CircuitBreakers, {
        get: () => Effect.succeed(other),
        all: Effect.succeed([other])
      }))
      yield* flusher
      expect(cachedOf(store)).toBe(1)
      for (let i = 0; i < 3; i++) yield* Effect.result(boom.pipe(CircuitBreaker.protect(held)))
      expect(cachedOf(store)).toBe(2)
      // another handle on the name sees what the held one did: one state, in Redis
      const fresh = yield* CircuitBreaker.make(name, { failureThreshold: 3 })
      expect(yield* fresh.state).toBe("OPEN")
      const rejected = yield* Effect.result(Effect.succeed(1).pipe(CircuitBreaker.protect(held)))
      expect(Result.isFailure(rejected) && rejected.failure._tag).toBe("CircuitOpen")
    }).pipe(Effect.provide(redisStore())))
})
