/**
 * CircuitBreakerMonitoring and CircuitBreakerHttp over Redis (Effect 4
 * edition): fleet-wide metrics from several runtimes sharing one Redis,
 * reads of 10,000 circuits in a bounded number of round trips, `/health` of
 * 10,000 circuits, anonymous reads sharing one fleet read, a blip over
 * Upstash retried within the read, and a Redis nobody listens on. The memory
 * store's suite is Monitoring.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as HttpRouter from "effect/http/HttpRouter"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { TestClock } from "effect/testing"
import * as CircuitBreakerMonitoring from "../src/CircuitBreakerMonitoring.js"
import * as CircuitBreakers from "../src/CircuitBreakers.js"
import { CircuitBreakerHttp } from "../src/http.js"
import { IORedisClient } from "../src/ioredis.js"
import * as RedisCircuitStore from "../src/RedisCircuitStore.js"
import type * as RedisClient from "../src/RedisClient.js"
import { calls } from "./support/monitoring.js"
import { type RedisServer, startRedis } from "./support/redisServer.js"
import { freshPrefix, upstashBridgeScoped, upstashStore } from "./support/redisStores.js"
import { countRoundTrips, seedCircuits } from "./support/seed.js"

let server: RedisServer
beforeAll(async () => {
  server = await startRedis()
}, 60_000)
afterAll(async () => {
  await server?.stop()
})

const monitoring = CircuitBreakerMonitoring.CircuitBreakerMonitoring

/** A runtime of its own (as one serverless instance would have) on a shared Redis prefix. */
const instance = (prefix: string, options?: CircuitBreakers.Options) =>
  ManagedRuntime.make(
    CircuitBreakerMonitoring.layer().pipe(
      Layer.provideMerge(CircuitBreakers.layer(options)),
      Layer.provideMerge(RedisCircuitStore.layer({ prefix })),
      Layer.provide(IORedisClient.layer({ url: server.url }))
    )
  )

describe("CircuitBreakerMonitoring across a fleet on Redis", () => {
  it("metrics from two runtimes sharing one Redis add up in getAllMetrics", async () => {
    const prefix = freshPrefix()
    const a = instance(prefix, { defaults: { failureThreshold: 100 } })
    const b = instance(prefix, { defaults: { failureThreshold: 100 } })
    try {
      await a.runPromise(calls("payments", 7, 2))
      await b.runPromise(calls("payments", 5, 3))
      await b.runPromise(calls("search", 4, 0))
      // successes are batched on each instance until its next round trip: reading its own metrics is one
      await b.runPromise(Effect.flatMap(monitoring, (m) => m.getAllMetrics))
      // a has no breaker for "search": it still sees it, from the registry in Redis
      const all = await a.runPromise(Effect.flatMap(monitoring, (m) => m.getAllMetrics))
      expect(Object.keys(all).sort()).toEqual(["payments", "search"])
      expect(all.payments!.fleet).toMatchObject({ successes: 12, failures: 5, calls: 17 })
      expect(all.payments!.instance).toMatchObject({ successes: 7, failures: 2 })
      expect(all.search!.fleet).toMatchObject({ successes: 4, failures: 0 })
      expect(all.search!.instance).toBeNull()
    } finally {
      await a.dispose()
      await b.dispose()
    }
  })
})

describe("monitoring at 10,000 circuits", () => {
  it.live(
    "over TCP: every circuit read, 100 per script call, in at most 30 round trips",
    () =>
      Effect.gen(function*() {
        const prefix = freshPrefix()
        const names = yield* Effect.promise(() => seedCircuits(server.url, prefix, 10_000, { openEvery: 100 }))
        const { counter, layer } = countRoundTrips(IORedisClient.layer({ url: server.url }))
        const started = performance.now()
        const fleet = yield* Effect.flatMap(monitoring, (m) => m.read()).pipe(
          Effect.provide(readerOn(prefix, layer), { local: true })
        )
        console.info(
          `[effect4, 10,000 circuits, TCP] read in ${Math.round(performance.now() - started)} ms, ` +
            `${counter.roundTrips} round trips`
        )
        expect(fleet.complete).toBe(true)
        expect(fleet.circuits.map((c) => c.name)).toEqual(names)
        expect(fleet.circuits.filter((c) => c.state === "OPEN").map((c) => c.name)).toEqual(
          names.filter((_, i) => i % 100 === 0)
        )
        expect(counter.roundTrips).toBeLessThanOrEqual(30)
      }),
    120_000
  )

  it.live(
    "over the Upstash bridge: every circuit read, 100 per script call, in at most 30 HTTP requests",
    () =>
      Effect.gen(function*() {
        const token = "ten-thousand"
        const bridge = yield* upstashBridgeScoped(server, token)
        const prefix = freshPrefix()
        const names = yield* Effect.promise(() => seedCircuits(server.url, prefix, 10_000, { openEvery: 100 }))
        bridge.resetStats()
        const fleet = yield* Effect.flatMap(monitoring, (m) => m.read()).pipe(
          Effect.provide(
            CircuitBreakerMonitoring.layer().pipe(
              Layer.provideMerge(CircuitBreakers.layer()),
              Layer.provide(upstashStore(bridge, token, { prefix }, { requestTimeout: 10_000 }))
            ),
            { local: true }
          )
        )
        console.info(`[effect4, 10,000 circuits, Upstash bridge] ${bridge.requests} HTTP requests`)
        expect(fleet.complete).toBe(true)
        expect(fleet.circuits.map((c) => c.name)).toEqual(names)
        expect(bridge.requests).toBeLessThanOrEqual(30)
      }),
    120_000
  )

  it.live(
    "reads that arrive together share one scan (a dashboard's sections and its alerts)",
    () =>
      Effect.gen(function*() {
        const prefix = freshPrefix()
        yield* Effect.promise(() => seedCircuits(server.url, prefix, 1_000, { openEvery: 100 }))
        // no pipeline: one round trip per 100 circuits, so that one read is several
        const { counter, layer } = countRoundTrips(IORedisClient.layer({ url: server.url }), { pipelined: false })
        yield* Effect.gen(function*() {
          const m = yield* monitoring
          yield* m.read() // the store's clock offset and the script, loaded once
          counter.roundTrips = 0
          const alone = yield* m.read({ state: ["OPEN"] })
          const one = counter.roundTrips
          counter.roundTrips = 0
          const [open, closed, alerts] = yield* Effect.all([
            m.read({ state: ["OPEN"] }),
            m.read({ state: ["CLOSED"] }),
            m.getAlerts
          ], { concurrency: "unbounded" })
          console.info(`[effect4, 1,000 circuits] one read: ${one} round trips; three together: ${counter.roundTrips}`)
          expect(alone.circuits).toHaveLength(10)
          expect(open.circuits).toHaveLength(10)
          expect(closed.circuits).toHaveLength(990)
          expect(alerts.filter((a) => a.kind === "open")).toHaveLength(10)
          expect(one).toBeGreaterThanOrEqual(10)
          expect(counter.roundTrips).toBe(one)
          // a read that starts after the scan ended reads again
          counter.roundTrips = 0
          yield* m.read({ state: ["OPEN"] })
          expect(counter.roundTrips).toBe(one)
        }).pipe(Effect.provide(readerOn(prefix, layer), { local: true }))
      }),
    60_000
  )

  it.effect(
    "a reader with no breaker of its own sees the circuit with its writers' config (stateTtl 30 min, not its default 10)",
    () =>
      Effect.gen(function*() {
        const prefix = freshPrefix()
        const store = RedisCircuitStore.layer({ prefix, timeSource: "client" }).pipe(
          Layer.provide(IORedisClient.layer({ url: server.url }))
        )
        yield* calls("slow-recovery", 0, 1).pipe(Effect.provide(
          CircuitBreakers.layer({ defaults: { failureThreshold: 1, recoveryTimeout: "15 minutes" } }).pipe(
            Layer.provideMerge(store)
          ),
          { local: true }
        ))
        yield* TestClock.adjust("11 minutes")
        const read = yield* Effect.flatMap(monitoring, (m) => m.read()).pipe(Effect.provide(
          CircuitBreakerMonitoring.layer().pipe(Layer.provideMerge(CircuitBreakers.layer()), Layer.provide(store)),
          { local: true }
        ))
        expect(read.circuits.map((c) => [c.name, c.state])).toEqual([["slow-recovery", "OPEN"]])
      }),
    30_000
  )

  it(
    "GET /health of 10,000 circuits: every one by default; ?services=non-healthy lists the few that need attention",
    async () => {
      const prefix = freshPrefix()
      const names = await seedCircuits(server.url, prefix, 10_000, { openEvery: 100 })
      const web = CircuitBreakerHttp.toWebHandler(
        RedisCircuitStore.layer({ prefix }).pipe(Layer.provide(IORedisClient.layer({ url: server.url })))
      )
      try {
        const get = async (query: string) => {
          const response = await web.handler(new Request(`http://localhost/health${query}`))
          const text = await response.text()
          return { status: response.status, bytes: Buffer.byteLength(text), body: JSON.parse(text) }
        }
        const all = await get("")
        const few = await get("?services=non-healthy")
        const none = await get("?services=none")
        for (const { body, status } of [all, few, none]) {
          expect(status).toBe(503)
          expect([body.overall, body.complete, body.unreadable]).toEqual(["unhealthy", true, 0])
        }
        expect(Object.keys(all.body.services)).toHaveLength(10_000)
        expect(Object.keys(few.body.services)).toEqual(names.filter((_, i) => i % 100 === 0))
        expect(none.body.services).toEqual({})
        expect(few.bytes * 50).toBeLessThan(all.bytes)
      } finally {
        await web.dispose()
      }
    },
    60_000
  )
})

/** Monitoring of the circuits on `prefix` through `client`, with no breaker of its own. */
const readerOn = <E>(prefix: string, client: Layer.Layer<RedisClient.RedisClient, E>) =>
  CircuitBreakerMonitoring.layer({ defaults: { storeTimeout: 10_000 } }).pipe(
    Layer.provideMerge(CircuitBreakers.layer()),
    Layer.provide(RedisCircuitStore.layer({ prefix })),
    Layer.provide(client)
  )

describe("anonymous reads share one snapshot", () => {
  it(
    "any number of read requests within snapshotTtl, on every route, cost one fleet read",
    async () => {
      const prefix = freshPrefix()
      const names = await seedCircuits(server.url, prefix, 1_000, { openEvery: 10 })
      // no pipeline: one round trip per 100 circuits, so that one read is several
      const { counter, layer } = countRoundTrips(IORedisClient.layer({ url: server.url }), { pipelined: false })
      const app = CircuitBreakerHttp.router({ authorize: CircuitBreakerHttp.bearer("admin-secret") }).pipe(
        Layer.provideMerge(CircuitBreakerHttp.layer({ snapshotTtl: "1 hour", defaults: { storeTimeout: 10_000 } })),
        Layer.provideMerge(RedisCircuitStore.layer({ prefix })),
        Layer.provide(layer)
      )
      const web = HttpRouter.toWebHandler(app, { disableLogger: true, routerConfig: CircuitBreakerHttp.routerConfig })
      const get = (path: string) => web.handler(new Request(`http://localhost${path}`))
      // an admin action drops the snapshot: the next read is a fleet read
      const invalidate = async () => {
        const reset = await web.handler(
          new Request(`http://localhost/circuits/${names[1]}/reset`, {
            method: "POST",
            headers: { authorization: "Bearer admin-secret" }
          })
        )
        expect(reset.status).toBe(200)
      }
      try {
        expect((await get("/health")).status).toBe(503) // the store's clock offset and the script, loaded once
        await invalidate()
        counter.roundTrips = 0
        expect((await get("/alerts")).status).toBe(200)
        const one = counter.roundTrips
        await invalidate()
        counter.roundTrips = 0
        const open = names.filter((_, i) => i % 10 === 0)
        const paths = [
          ...open.slice(0, 40).map((name) => `/circuits?state=OPEN&limit=1&cursor=${encodeURIComponent(name)}`),
          ...Array.from({ length: 5 }, () => "/metrics"),
          ...Array.from({ length: 5 }, () => "/metrics?format=prometheus&circuits=non-closed"),
          "/alerts",
          "/health?services=non-healthy"
        ]
        const together = await Promise.all(paths.map((path) => get(path)))
        for (const path of paths) await get(path)
        console.info(
          `[effect4, 1,000 circuits] one fleet read: ${one} round trips; ${paths.length} requests together, ` +
            `then one by one: ${counter.roundTrips}`
        )
        expect(one).toBeGreaterThanOrEqual(10)
        expect(counter.roundTrips).toBe(one)
        for (const [i, response] of together.slice(0, 40).entries()) {
          const body = await response.json()
          expect(body.circuits.map((c: { name: string }) => c.name)).toEqual([open[i + 1]])
        }
        const text = await together[45]!.text()
        expect(text).toContain(`circuit_breaker_fleet_circuits{state="OPEN"} 100`)
      } finally {
        await web.dispose()
      }
    },
    60_000
  )
})

describe("monitoring tells the truth", () => {
  it("Redis down: the README's route with no breakers answers 503 unknown with the reason", async () => {
    const web = CircuitBreakerHttp.toWebHandler(
      RedisCircuitStore.layer({ prefix: freshPrefix() }).pipe(
        // nothing listens there
        Layer.provide(IORedisClient.layer({ url: "redis://127.0.0.1:1", commandTimeout: 200 }))
      )
    )
    try {
      const health = await web.handler(new Request("http://localhost/health"))
      const body = await health.json()
      expect(health.status).toBe(503)
      expect(body).toMatchObject({ overall: "unknown", complete: false, unreadable: 1 })
      expect(body.reason).toMatch(/connect|Connection|closed|storeTimeout/i)
      const text = await (await web.handler(new Request("http://localhost/metrics?format=prometheus"))).text()
      expect(text).toContain("circuit_breaker_fleet_read_complete 0")
    } finally {
      await web.dispose()
    }
  }, 30_000)

  it.live(
    "a blip during a read of 200 circuits over Upstash: retried within the read, nothing dropped; a fault that lasts is counted, never healthy",
    () =>
      Effect.gen(function*() {
        const token = "truth-token"
        const bridge = yield* upstashBridgeScoped(server, token)
        const prefix = freshPrefix()
        yield* Effect.promise(() => seedCircuits(server.url, prefix, 200, { openEvery: 10 }))
        yield* Effect.gen(function*() {
          const m = yield* monitoring
          // three failed requests in the middle of the read
          bridge.injectFault({ type: "http", status: 502, body: "bad gateway" }, { times: 3 })
          const blip = yield* m.read()
          expect(blip.reason).toBeNull()
          expect(blip.complete).toBe(true)
          expect(blip.circuits).toHaveLength(200)
          expect(blip.circuits.filter((c) => c.state === "OPEN")).toHaveLength(20)
          // a fault that outlasts the retries: nothing can be read, and nothing says healthy
          bridge.injectFault({ type: "http", status: 502, body: "bad gateway" }, { times: 1_000 })
          const blind = yield* m.read()
          const blindHealth = yield* m.health
          bridge.clearFault()
          expect(blind.complete).toBe(false)
          expect(blind.unreadable).toBeGreaterThanOrEqual(1)
          expect(blind.reason).toContain("bad gateway")
          expect(blindHealth.overall).toBe("unknown")
        }).pipe(Effect.provide(
          CircuitBreakerMonitoring.layer().pipe(
            Layer.provideMerge(CircuitBreakers.layer()),
            Layer.provide(upstashStore(bridge, token, { prefix }, { requestTimeout: 1_000 }))
          ),
          { local: true }
        ))
      }),
    60_000
  )
})
