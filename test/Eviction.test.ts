/**
 * Bounded memory per process on the Redis store (nothing batched is lost when its entries go),
 * and the heap after GC coming back to its baseline (child processes). More heap figures are in
 * bench/eviction.bench.ts. The memory store's eviction is in Eviction.unit.test.ts.
 */
import { describe, expect, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import { promisify } from "node:util"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as TestClock from "effect/TestClock"
import { CircuitBreaker, CircuitBreakers, CircuitConfig, CircuitStore } from "../src/index.js"
import { type RedisServer, redisServerScoped } from "./support/redisServer.js"
import { tcpStore } from "./support/stores.js"
import { beforeAllScoped } from "./support/suite.js"
import { tick, touchTenants } from "./support/calls.js"

let redis: RedisServer
beforeAllScoped(Effect.gen(function*() {
  redis = yield* redisServerScoped()
}))

let runs = 0
const unique = (base: string) => `${base}-${process.pid}-${++runs}`
const boom = Effect.fail(new Error("down"))

const redisStore = () => Layer.orDie(tcpStore(redis, { timeSource: "client" }))

/** Lets the Redis store's flusher run (it sleeps a second once woken), and its round trips finish. */
const flusher = Effect.zipRight(
  TestClock.adjust("1 second"),
  Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 300)))
)

const cachedOf = (store: CircuitStore.CircuitStore["Type"]): number =>
  (store as unknown as { cached: () => number }).cached()

describe("eviction, Redis store", () => {
  it.scoped("idle entries are evicted after flushing: no batched success is lost", () =>
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

  it.scoped("a breaker still held works after its entry was evicted: it asks Redis again", () =>
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
      for (let i = 0; i < 3; i++) yield* Effect.either(boom.pipe(CircuitBreaker.protect(held)))
      expect(cachedOf(store)).toBe(2)
      // another handle on the name sees what the held one did: one state, in Redis
      const fresh = yield* CircuitBreaker.make(name, { failureThreshold: 3 })
      expect(yield* fresh.state).toBe("OPEN")
      const rejected = yield* Effect.either(Effect.succeed(1).pipe(CircuitBreaker.protect(held)))
      expect(rejected._tag === "Left" && rejected.left._tag).toBe("CircuitOpen")
    }).pipe(Effect.provide(redisStore())))
})

describe("heap after eviction", () => {
  /** test/support/evictionHeap.ts in a process of its own, so nothing else allocates meanwhile. */
  const evictionHeap = async (api: "effect" | "promise") => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["--expose-gc", "--import", "./bench/register.mjs", "test/support/evictionHeap.ts"],
      { env: { ...process.env, TENANTS: "20000", API: api } }
    )
    return JSON.parse(stdout.trim().split("\n").at(-1)!) as { objects: number; breakers: number; circuits: number }
  }

  it("20,000 tenant circuits touched once and evicted leave the heap's objects where they were", async () => {
    const result = await evictionHeap("effect")
    expect(result.breakers).toBe(1)
    expect(result.circuits).toBe(1)
    // ~10 KB of V8's own bookkeeping, whatever the count; 3 B per tenant left behind would be 60 KB (a
    // generator function made per circuit left 8 B each: V8 never shrinks its list of those that ran)
    expect(result.objects).toBeLessThan(48 * 1024)
  }, 180_000)

  it("the same through the Promise API, the live circuit used through a handle that is kept", async () => {
    const result = await evictionHeap("promise")
    // every breaker let go, though only a kept handle was used after the tenants (its calls ask the
    // registry again every second, and the registry sweeps on a look-up)
    expect(result.breakers).toBe(1)
    // ~18 KB, the same for 20,000 and 40,000 tenants; before: 87 MB (every breaker, 80 MB, and the
    // config each name's first handle claimed, 6.5 MB)
    expect(result.objects).toBeLessThan(48 * 1024)
  }, 180_000)
})

describe("heap after dispose", () => {
  /** test/support/disposeHeap.ts in a process of its own, so nothing else allocates meanwhile. */
  const disposeHeap = async (store: "memory" | "redis") => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["--expose-gc", "--import", "./bench/register.mjs", "test/support/disposeHeap.ts"],
      { env: { ...process.env, NAMES: "20000", STORE: store, REDIS_URL: redis.url } }
    )
    return JSON.parse(stdout.trim().split("\n").at(-1)!) as { objects: number; perName: number; runtimes: number }
  }

  // 20,000 breakers made with CircuitBreaker.make in a ManagedRuntime, disposed, its handle kept: the
  // stores empty what they hold per circuit when their scope closes; what is left is V8's and the
  // metric hooks' tables (a few bytes per name, sized by the most names ever held)
  for (const store of ["memory", "redis"] as const) {
    it(`${store} store: nothing per name stays once the runtime is disposed, though its handle is kept`, async () => {
      const result = await disposeHeap(store)
      console.info(`[heap after dispose, ${store}] ${Math.round(result.perName)} B per name (${result.objects} B)`)
      expect(result.runtimes).toBe(2)
      expect(result.perName).toBeLessThan(50)
    }, 180_000)
  }
})
