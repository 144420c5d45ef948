/**
 * CircuitBreakerMonitoring and CircuitBreakerHttp: fleet-wide metrics from
 * several runtimes sharing one Redis, alerts, health, reset, and the HTTP
 * routes (JSON, Prometheus text checked by a real Prometheus parser). The
 * memory store's alerts and health are in Monitoring.unit.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as HttpApp from "@effect/platform/HttpApp"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import { Redis as Upstash } from "@upstash/redis"
import parsePrometheus from "parse-prometheus-text-format"
import {
  CircuitBreakerMonitoring,
  CircuitBreakers,
  CircuitStore,
  RedisCircuitStore,
  RedisClient
} from "../src/index.js"
import { type RedisServer, startRedis } from "./support/redisServer.js"
import { freshPrefix, upstashBridgeScoped } from "./support/stores.js"
import { IORedisClient } from "../src/ioredis.js"
import { CircuitBreakerHttp } from "../src/http.js"
import { UpstashClient } from "../src/upstash.js"
import { countRoundTrips, seedCircuits } from "./support/seed.js"
import { registryKeyOf } from "../shared/redis/keys.js"
import { RedisClientError } from "../src/internal/redis/errors.js"
import { calls } from "./support/calls.js"
import {
  adminNameCases,
  crossSiteRefusals,
  guardedReadPaths,
  hostileNames,
  noTokenHeaders,
  rightBearerHeaders,
  snapshotReadCases,
  wrongBearerHeaders
} from "./shared/monitoringCases.js"

let server: RedisServer
beforeAll(async () => {
  server = await startRedis()
}, 60_000)
afterAll(async () => {
  await server?.stop()
})

/** A runtime of its own (as one serverless instance would have) on a shared Redis prefix. */
const instance = (prefix: string, options?: CircuitBreakers.Options) =>
  ManagedRuntime.make(
    CircuitBreakerMonitoring.layer().pipe(
      Layer.provideMerge(CircuitBreakers.layer(options)),
      Layer.provideMerge(RedisCircuitStore.layer({ prefix })),
      Layer.provide(IORedisClient.layer({ url: server.url }))
    )
  )

const monitoring = CircuitBreakerMonitoring.CircuitBreakerMonitoring

describe("CircuitBreakerMonitoring across a fleet", () => {
  it("metrics from two runtimes sharing one Redis add up in getAllMetrics", async () => {
    const prefix = freshPrefix()
    const a = instance(prefix, { defaults: { failureThreshold: 100 } })
    const b = instance(prefix, { defaults: { failureThreshold: 100 } })
    try {
      await a.runPromise(calls("payments", 7, 2))
      await b.runPromise(calls("payments", 5, 3))
      await b.runPromise(calls("search", 4, 0))
      // successes are batched on each instance until its next round trip (or within a second):
      // reading its own metrics is such a round trip
      await b.runPromise(Effect.flatMap(monitoring, (m) => m.getAllMetrics))
      // a has no breaker for "search": it still sees it, from the registry in Redis
      const all = await a.runPromise(Effect.flatMap(monitoring, (m) => m.getAllMetrics))
      expect(Object.keys(all).sort()).toEqual(["payments", "search"])
      expect(all.payments.fleet).toMatchObject({ successes: 12, failures: 5, calls: 17 })
      expect(all.payments.fleet.failureRate).toBeCloseTo(5 / 17)
      expect(all.payments.windowFailures).toBe(5)
      expect(all.payments.instance).toMatchObject({ successes: 7, failures: 2 })
      expect(all.search.fleet).toMatchObject({ successes: 4, failures: 0 })
      expect(all.search.instance).toBeNull()
    } finally {
      await a.dispose()
      await b.dispose()
    }
  })

  it("rejections and opens are counted fleet-wide too", async () => {
    const prefix = freshPrefix()
    const a = instance(prefix, { defaults: { failureThreshold: 2, recoveryTimeout: "1 minute" } })
    const b = instance(prefix, { defaults: { failureThreshold: 2, recoveryTimeout: "1 minute" } })
    try {
      await a.runPromise(calls("db", 0, 2)) // opens
      await a.runPromise(calls("db", 0, 3)) // 3 rejections on a
      await b.runPromise(calls("db", 0, 4)) // 4 rejections on b
      await a.runPromise(Effect.flatMap(monitoring, (m) => m.getAllMetrics)) // a sends what it batched
      const all = await b.runPromise(Effect.flatMap(monitoring, (m) => m.getAllMetrics))
      expect(all.db.state).toBe("OPEN")
      expect(all.db.fleet).toMatchObject({ failures: 2, rejections: 7, opens: 1 })
    } finally {
      await a.dispose()
      await b.dispose()
    }
  })
})

describe("alerts when the store is unavailable", () => {
  it.live("a circuit running locally is degraded and raises store-unavailable; the fleet's health is unknown", () =>
    Effect.gen(function*() {
      const m = yield* monitoring
      yield* calls("payments", 1, 0)
      const all = yield* m.getAllMetrics
      expect(all.payments!.storeUnavailable).toBe(true)
      expect(all.payments!.status).toBe("degraded")
      const alerts = yield* m.getAlerts
      expect(alerts).toContainEqual(
        expect.objectContaining({ kind: "store-unavailable", severity: "critical", service: "payments" })
      )
      expect(alerts).toContainEqual(
        expect.objectContaining({ kind: "store-unreadable", severity: "critical", service: "*" })
      )
      // nothing says the fleet is healthy: its circuits could not be read
      const health = yield* m.health
      expect(health.overall).toBe("unknown")
      expect(health.complete).toBe(false)
      expect(health.unreadable).toBeGreaterThanOrEqual(1)
      expect(health.reason).toMatch(/Redis|storeTimeout|connect/i)
    }).pipe(Effect.provide(
      CircuitBreakerMonitoring.layer().pipe(
        Layer.provideMerge(CircuitBreakers.layer({ defaults: { storeTimeout: 200 } })),
        Layer.provideMerge(RedisCircuitStore.layer({ prefix: freshPrefix() })),
        // nothing listens there
        Layer.provide(IORedisClient.layer({ url: "redis://127.0.0.1:1", commandTimeout: 200 }))
      )
    )))
})

describe("CircuitBreakerHttp", () => {
  const setup = (authorize?: (token: string | undefined) => boolean) => {
    const prefix = freshPrefix()
    const store = RedisCircuitStore.layer({ prefix }).pipe(Layer.provide(IORedisClient.layer({ url: server.url })))
    const web = CircuitBreakerHttp.toWebHandler(store, {
      basePath: "/cb",
      // each request reads the fleet again: these tests change it between requests
      monitoring: { snapshotTtl: 0 },
      ...(authorize === undefined ? {} : {
        authorize: (request) => Effect.succeed(authorize(request.headers["authorization"]))
      })
    })
    const writer = instance(prefix, { defaults: { failureThreshold: 2, recoveryTimeout: "1 minute" } })
    const get = (path: string, headers: Record<string, string> = {}) =>
      web.handler(new Request(`http://localhost/cb${path}`, { headers }))
    const post = (path: string, headers: Record<string, string> = {}) =>
      web.handler(new Request(`http://localhost/cb${path}`, { method: "POST", headers }))
    return {
      get,
      post,
      writer,
      dispose: async () => {
        await web.dispose()
        await writer.dispose()
      }
    }
  }

  it("GET /health: 200 while healthy, 503 once a circuit is open", async () => {
    const t = setup()
    try {
      await t.writer.runPromise(calls("payments", 3, 0))
      let response = await t.get("/health")
      expect(response.status).toBe(200)
      expect(response.headers.get("content-type")).toContain("application/json")
      let body = await response.json()
      expect(body.overall).toBe("healthy")
      expect(body.services.payments.state).toBe("CLOSED")
      await t.writer.runPromise(calls("payments", 0, 2))
      response = await t.get("/health")
      expect(response.status).toBe(503)
      body = await response.json()
      expect(body).toMatchObject({
        overall: "unhealthy",
        services: { payments: { status: "unhealthy", state: "OPEN" } }
      })
    } finally {
      await t.dispose()
    }
  })

  it("GET /metrics: JSON by default, Prometheus text on Accept: text/plain or ?format=prometheus", async () => {
    const t = setup()
    try {
      await t.writer.runPromise(calls("pay \"quoted\" \\ name", 4, 1))
      await t.writer.runPromise(calls("search", 2, 0))
      await t.writer.runPromise(Effect.flatMap(monitoring, (m) => m.getAllMetrics)) // sends its batched successes
      const jsonBody = await (await t.get("/metrics")).json()
      expect(jsonBody["search"].fleet.successes).toBe(2)

      for (
        const response of [await t.get("/metrics", { accept: "text/plain" }), await t.get("/metrics?format=prometheus")]
      ) {
        expect(response.status).toBe(200)
        expect(response.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8")
        const text = await response.text()
        expect(text).toMatch(/^# HELP circuit_breaker_fleet_state /m)
        expect(text).toMatch(/^# TYPE circuit_breaker_fleet_state gauge$/m)
        expect(text).toMatch(/^# TYPE circuit_breaker_calls_total counter$/m)
        expect(text).toMatch(/^# TYPE circuit_breaker_call_duration_ms histogram$/m)
        const families = parsePrometheus(text)
        const byName = new Map(families.map((f) => [f.name, f]))
        const fleetCalls = byName.get("circuit_breaker_fleet_calls")!
        expect(fleetCalls.type).toBe("GAUGE")
        const sample = (service: string, outcome: string) =>
          fleetCalls.metrics.find((m) => m.labels?.["circuit"] === service && m.labels?.["outcome"] === outcome)?.value
        expect(sample("search", "success")).toBe("2")
        // label values with quotes and backslashes survive escaping
        expect(sample("pay \"quoted\" \\ name", "failure")).toBe("1")
        const histogram = byName.get("circuit_breaker_call_duration_ms")!
        expect(histogram.type).toBe("HISTOGRAM")
        expect(histogram.metrics.some((m) => Number(m.buckets?.["+Inf"] ?? 0) > 0)).toBe(true)
      }
    } finally {
      await t.dispose()
    }
  })

  it("bad requests get clear errors; admin routes do not exist without authorize", async () => {
    const t = setup()
    try {
      const bad = await t.get("/metrics?format=xml")
      expect(bad.status).toBe(400)
      expect((await bad.json()).message).toContain("format must be \"json\" or \"prometheus\"")
      expect((await t.get("/nope")).status).toBe(404)
      expect((await t.post("/circuits/payments/reset")).status).toBe(404)
    } finally {
      await t.dispose()
    }
  })

  it("admin routes obey the authorize check", async () => {
    const t = setup((token) => token === "Bearer admin-secret")
    try {
      await t.writer.runPromise(calls("payments", 0, 2))
      // no credentials: 401; wrong ones: 403
      const anonymous = await t.post("/circuits/payments/reset")
      expect(anonymous.status).toBe(401)
      expect(anonymous.headers.get("www-authenticate")).toBe("Bearer")
      expect((await t.post("/circuits/payments/reset", { authorization: "Bearer wrong" })).status).toBe(403)
      const ok = await t.post("/circuits/payments/reset", { authorization: "Bearer admin-secret" })
      expect(ok.status).toBe(200)
      expect(await ok.json()).toMatchObject({ service: "payments", action: "reset", state: "CLOSED" })
      const forced = await t.post("/circuits/payments/force-open", { authorization: "Bearer admin-secret" })
      expect(await forced.json()).toMatchObject({ state: "FORCED_OPEN" })
      const all = await t.post("/reset-all", { authorization: "Bearer admin-secret" })
      expect((await all.json()).results).toContainEqual({ service: "payments", success: true })
      expect((await (await t.get("/health")).json()).services.payments.state).toBe("CLOSED")
      // names no circuit may have, and the longest one may
      for (const [segment, status, message] of adminNameCases) {
        const response = await t.post(`/circuits/${segment}/reset`, { authorization: "Bearer admin-secret" })
        expect([segment, response.status]).toEqual([segment, status])
        expect((await response.json()).message).toContain(message)
      }
    } finally {
      await t.dispose()
    }
  })
})

describe("monitoring tells the truth", () => {
  it("Redis down: the README's route with no breakers answers 503 unknown with the reason, and an alert of its own", async () => {
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
      const alerts = await (await web.handler(new Request("http://localhost/alerts"))).json()
      expect(alerts.alerts).toContainEqual(expect.objectContaining({ kind: "store-unreadable", severity: "critical" }))
      const text = await (await web.handler(new Request("http://localhost/metrics?format=prometheus"))).text()
      expect(text).toContain("circuit_breaker_fleet_read_complete 0")
    } finally {
      await web.dispose()
    }
  })

  it.scopedLive(
    "a blip during a read of 200 circuits over Upstash: retried within the read, nothing dropped; a fault that lasts is counted, never healthy",
    () =>
      Effect.gen(function*() {
        const token = "truth-token"
        const bridge = yield* upstashBridgeScoped(server, token)
        const prefix = freshPrefix()
        const store = RedisCircuitStore.layer({ prefix }).pipe(
          Layer.provide(UpstashClient.layer({ url: bridge.url, token: Redacted.make(token), requestTimeout: 1_000 }))
        )
        const names = Array.from({ length: 200 }, (_, i) => `tenant-${String(i).padStart(3, "0")}`)
        // the fleet: 20 of them OPEN
        const writer = instance(prefix, { defaults: { failureThreshold: 1, recoveryTimeout: "1 minute" } })
        yield* Effect.promise(() =>
          writer.runPromise(Effect.forEach(names, (name, i) => calls(name, 1, i < 20 ? 1 : 0), { discard: true }))
        )
        yield* Effect.promise(() => writer.dispose())
        const reader = CircuitBreakerMonitoring.layer().pipe(
          Layer.provideMerge(CircuitBreakers.layer()),
          Layer.provide(store)
        )
        yield* Effect.gen(function*() {
          const m = yield* monitoring
          // three failed requests in the middle of the read
          bridge.injectFault({ type: "http", status: 502, body: "bad gateway" }, { times: 3 })
          const blip = yield* m.read()
          expect(blip.reason).toBeNull()
          expect(blip.complete).toBe(true)
          expect(blip.circuits).toHaveLength(200)
          expect(blip.circuits.filter((c) => c.state === "OPEN")).toHaveLength(20)
          expect((yield* m.health).overall).toBe("unhealthy")
          // a fault that outlasts the retries: nothing can be read, and nothing says healthy
          bridge.injectFault({ type: "http", status: 502, body: "bad gateway" }, { times: 1_000 })
          const blind = yield* m.read()
          const blindHealth = yield* m.health
          bridge.clearFault()
          console.info(
            `[truth] blip of 3 failed requests: ${blip.circuits.length} of 200 read, complete ${blip.complete}; ` +
              `a lasting fault: ${blind.circuits.length} read, complete ${blind.complete}, overall ${blindHealth.overall}`
          )
          expect(blind.complete).toBe(false)
          expect(blind.unreadable).toBeGreaterThanOrEqual(1)
          expect(blind.reason).toContain("bad gateway")
          expect(blindHealth.overall).toBe("unknown")
          // filters and paging
          const closedOnly = yield* m.read({ state: ["CLOSED"], limit: 50 })
          expect(closedOnly.circuits).toHaveLength(50)
          expect(closedOnly.circuits.every((c) => c.state === "CLOSED")).toBe(true)
          expect(closedOnly.nextCursor).toBe(closedOnly.circuits[49]!.name)
          const page2 = yield* m.read({ state: ["CLOSED"], limit: 50, cursor: closedOnly.nextCursor! })
          expect(page2.circuits[0]!.name > closedOnly.nextCursor!).toBe(true)
          const byPrefix = yield* m.read({ prefix: "tenant-01", limit: 5 })
          expect(byPrefix.total).toBe(10)
          expect(byPrefix.circuits.map((c) => c.name)).toEqual([
            "tenant-010",
            "tenant-011",
            "tenant-012",
            "tenant-013",
            "tenant-014"
          ])
        }).pipe(Effect.provide(reader))
      }),
    60_000
  )

  it.effect("a reader with no breaker of its own sees the circuit with its writers' config (stateTtl 30 min, not its default 10)", () =>
    Effect.gen(function*() {
      const prefix = freshPrefix()
      const store = RedisCircuitStore.layer({ prefix, timeSource: "client" }).pipe(
        Layer.provide(IORedisClient.layer({ url: server.url }))
      )
      yield* Effect.gen(function*() {
        const registry = yield* CircuitBreakers.CircuitBreakers
        const breaker = yield* registry.get("slow-recovery")
        yield* Effect.either(breaker.protect(Effect.fail("boom")))
      }).pipe(Effect.provide(
        CircuitBreakers.layer({
          defaults: { failureThreshold: 1, recoveryTimeout: "15 minutes" }
        }).pipe(Layer.provideMerge(store))
      ))
      yield* TestClock.adjust("11 minutes")
      const read = yield* Effect.gen(function*() {
        const m = yield* monitoring
        return yield* m.read()
      }).pipe(Effect.provide(
        CircuitBreakerMonitoring.layer().pipe(
          Layer.provideMerge(CircuitBreakers.layer()),
          Layer.provide(store)
        )
      ))
      expect(read.circuits.map((c) => [c.name, c.state])).toEqual([["slow-recovery", "OPEN"]])
    }))

  it("any name works in every output: __proto__, quotes, backslashes, braces, unicode", async () => {
    const prefix = freshPrefix()
    const hostile = hostileNames
    const writer = instance(prefix, { defaults: { failureThreshold: 1, recoveryTimeout: "1 minute" } })
    const web = CircuitBreakerHttp.toWebHandler(
      RedisCircuitStore.layer({ prefix }).pipe(Layer.provide(IORedisClient.layer({ url: server.url })))
    )
    try {
      await writer.runPromise(Effect.forEach(hostile, (name) => calls(name, 0, 1), { discard: true }))
      const health = await (await web.handler(new Request("http://localhost/health"))).json()
      expect(Object.keys(health.services).sort()).toEqual([...hostile].sort())
      expect(health.services["__proto__"].state).toBe("OPEN")
      const all = await (await web.handler(new Request("http://localhost/metrics"))).json()
      expect(Object.keys(all).sort()).toEqual([...hostile].sort())
      const text = await (await web.handler(new Request("http://localhost/metrics?format=prometheus"))).text()
      const state = parsePrometheus(text).find((f) => f.name === "circuit_breaker_fleet_state")!
      expect(state.metrics.map((m) => (m as { labels: Record<string, string> }).labels.circuit).sort()).toEqual(
        [...hostile].sort()
      )
      const nonClosed =
        await (await web.handler(new Request("http://localhost/metrics?format=prometheus&circuits=none"))).text()
      expect(nonClosed).not.toContain("circuit_breaker_fleet_state{")
      expect(nonClosed).toContain(`circuit_breaker_fleet_circuits{state="OPEN"} ${hostile.length}`)
      const bad = await web.handler(new Request("http://localhost/circuits?limit=0"))
      expect(bad.status).toBe(400)
      expect((await bad.json()).message).toContain("limit must be a whole number from 1 to 10000 (got \"0\")")
    } finally {
      await writer.dispose()
      await web.dispose()
    }
  })
})

describe("monitoring at 10,000 circuits", () => {
  /** The names of the OPEN circuits of a read, in its order. */
  const openNames = (fleet: CircuitBreakerMonitoring.FleetRead) =>
    fleet.circuits.filter((c) => c.state === "OPEN").map((c) => c.name)
  const readAll = <E>(client: Layer.Layer<RedisClient.RedisClient, E>, prefix: string) =>
    Effect.gen(function*() {
      const m = yield* monitoring
      const started = performance.now()
      const fleet = yield* m.read()
      return { fleet, ms: performance.now() - started }
    }).pipe(
      Effect.provide(
        CircuitBreakerMonitoring.layer().pipe(
          Layer.provideMerge(CircuitBreakers.layer()),
          Layer.provide(RedisCircuitStore.layer({ prefix })),
          Layer.provide(client)
        )
      )
    )

  it.scopedLive(
    "over TCP: every circuit read, 100 per script call, in at most 30 round trips",
    () =>
      Effect.gen(function*() {
        const prefix = freshPrefix()
        const names = yield* Effect.promise(() => seedCircuits(server.url, prefix, 10_000, { openEvery: 100 }))
        const { counter, layer } = countRoundTrips(IORedisClient.layer({ url: server.url }))
        const { fleet, ms } = yield* readAll(layer, prefix)
        console.info(`[10,000 circuits, TCP] read in ${Math.round(ms)} ms, ${counter.roundTrips} round trips`)
        expect(fleet.complete).toBe(true)
        expect(fleet.circuits.map((c) => c.name)).toEqual(names)
        // each circuit with its own reply: the OPEN ones are those seeded OPEN
        expect(openNames(fleet)).toEqual(names.filter((_, i) => i % 100 === 0))
        // 20 pipelines of 5 script calls of 100 circuits, and the registry (the bound: 150)
        expect(counter.roundTrips).toBeLessThanOrEqual(30)
      }),
    120_000
  )

  it.scopedLive(
    "after SCRIPT FLUSH, through a client without a pipeline: every circuit read, the source sent a few times, not once per circuit",
    () =>
      Effect.gen(function*() {
        const prefix = freshPrefix()
        const names = yield* Effect.promise(() => seedCircuits(server.url, prefix, 3_000, { openEvery: 7 }))
        yield* Effect.promise(() => server.cli("SCRIPT", "FLUSH"))
        yield* Effect.promise(() => server.cli("CONFIG", "RESETSTAT"))
        const { counter, layer } = countRoundTrips(IORedisClient.layer({ url: server.url }), { pipelined: false })
        const { fleet } = yield* readAll(layer, prefix)
        const stats = yield* Effect.promise(() => server.cli("INFO", "commandstats"))
        const evals = Number(/cmdstat_eval:calls=(\d+)/.exec(stats)?.[1] ?? 0)
        console.info(
          `[3,000 circuits after SCRIPT FLUSH, no pipeline] ${counter.roundTrips} round trips, ${evals} EVAL`
        )
        expect(fleet.complete).toBe(true)
        expect(openNames(fleet)).toEqual(names.filter((_, i) => i % 7 === 0))
        // 30 calls of 100 circuits, 5 at once: the first 5 to 20 answered NOSCRIPT are sent again with the source
        expect(evals).toBeGreaterThanOrEqual(1)
        expect(evals).toBeLessThanOrEqual(20)
        expect(counter.roundTrips).toBeLessThanOrEqual(30 + 20 + 3)
      }),
    60_000
  )

  it.scoped("a process that only monitors refreshes its offset to Redis's clock once it is old", () =>
    Effect.gen(function*() {
      const prefix = freshPrefix()
      yield* Effect.promise(() => seedCircuits(server.url, prefix, 10, { openEvery: 5 }))
      const inner = yield* Layer.build(IORedisClient.layer({ url: server.url })).pipe(
        Effect.map(Context.get(RedisClient.RedisClient))
      )
      let times = 0
      const client = RedisClient.RedisClient.of({
        ...inner,
        send: (command) => (command[0] === "TIME" && times++, inner.send(command))
      })
      yield* Effect.gen(function*() {
        const m = yield* monitoring
        expect((yield* m.read()).circuits).toHaveLength(10)
        yield* TestClock.adjust("30 seconds")
        yield* m.read()
        expect(times).toBe(1)
        yield* TestClock.adjust("31 seconds")
        expect((yield* m.read()).circuits.filter((c) => c.state === "OPEN")).toHaveLength(2)
        for (let i = 0; i < 10 && times < 2; i++) yield* Effect.yieldNow()
        expect(times).toBe(2)
      }).pipe(Effect.provide(
        CircuitBreakerMonitoring.layer().pipe(
          Layer.provideMerge(CircuitBreakers.layer()),
          Layer.provide(RedisCircuitStore.layer({ prefix })),
          Layer.provide(Layer.succeed(RedisClient.RedisClient, client))
        )
      ))
    }))

  it.scopedLive(
    "through the user's own @upstash/redis client (RedisClient.fromClient): pipelined; scripts plain to a REST proxy",
    () =>
      Effect.gen(function*() {
        const token = "own-upstash"
        const bridge = yield* upstashBridgeScoped(server, token)
        const prefix = freshPrefix()
        const names = yield* Effect.promise(() => seedCircuits(server.url, prefix, 1_000, { openEvery: 10 }))
        const client = RedisClient.fromClient(new Upstash({ url: bridge.url, token }))
        // the bridge stands for a REST proxy in front of Redis (which refuses the flag): plain scripts
        expect([client.pipeline !== undefined, client.allowKeyLocking]).toEqual([true, false])
        const upstashHosted = RedisClient.fromClient(
          new Upstash({ url: "https://eu1-fine-cat-12345.upstash.io", token })
        )
        expect(upstashHosted.allowKeyLocking).toBe(true)
        bridge.resetStats()
        const { fleet } = yield* readAll(Layer.succeed(RedisClient.RedisClient, client), prefix)
        console.info(`[1,000 circuits, the user's own Upstash client] ${bridge.requests} HTTP requests`)
        expect(fleet.complete).toBe(true)
        expect(openNames(fleet)).toEqual(names.filter((_, i) => i % 10 === 0))
        // 2 requests of 5 script calls of 100 circuits, the script's source once, the registry, TIME
        expect(bridge.requests).toBeLessThanOrEqual(8)
        expect(bridge.keyLockingScripts).toBe(0)
      }),
    60_000
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
        console.info(
          `[10,000 circuits] /health ${all.bytes} B; ?services=non-healthy ${few.bytes} B; ?services=none ${none.bytes} B`
        )
        for (const { body, status } of [all, few, none]) {
          expect(status).toBe(503)
          expect([body.overall, body.complete, body.unreadable]).toEqual(["unhealthy", true, 0])
        }
        expect(Object.keys(all.body.services)).toHaveLength(10_000)
        expect(Object.keys(few.body.services)).toEqual(names.filter((_, i) => i % 100 === 0))
        expect(Object.values(few.body.services).map((s: any) => s.state)).toEqual(Array(100).fill("OPEN"))
        expect(none.body.services).toEqual({})
        expect(few.bytes * 50).toBeLessThan(all.bytes)
        const bad = await get("?services=some")
        expect(bad.status).toBe(400)
        expect(bad.body.message).toBe(`services must be "all", "non-healthy" or "none" (got "some")`)
      } finally {
        await web.dispose()
      }
    },
    60_000
  )

  it.scopedLive(
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
          console.info(`[1,000 circuits] one read: ${one} round trips; three together: ${counter.roundTrips}`)
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
        }).pipe(
          // round trips are counted: a generous storeTimeout, so that a loaded machine adds no retries
          Effect.provide(
            CircuitBreakerMonitoring.layer({ defaults: { storeTimeout: 10_000 } }).pipe(
              Layer.provideMerge(CircuitBreakers.layer()),
              Layer.provide(RedisCircuitStore.layer({ prefix })),
              Layer.provide(layer)
            )
          )
        )
      }),
    60_000
  )

  it.scopedLive(
    "over the Upstash bridge: every circuit read, 100 per script call, in at most 30 HTTP requests",
    () =>
      Effect.gen(function*() {
        const token = "ten-thousand"
        const bridge = yield* upstashBridgeScoped(server, token)
        const prefix = freshPrefix()
        const names = yield* Effect.promise(() => seedCircuits(server.url, prefix, 10_000, { openEvery: 100 }))
        bridge.resetStats()
        const { fleet, ms } = yield* readAll(
          UpstashClient.layer({ url: bridge.url, token: Redacted.make(token), requestTimeout: 10_000 }),
          prefix
        )
        console.info(`[10,000 circuits, Upstash bridge] read in ${Math.round(ms)} ms, ${bridge.requests} HTTP requests`)
        expect(fleet.complete).toBe(true)
        expect(fleet.circuits.map((c) => c.name)).toEqual(names)
        expect(openNames(fleet)).toEqual(names.filter((_, i) => i % 100 === 0))
        // 20 requests of 5 script calls of 100 circuits, and the registry (the bound: 150)
        expect(bridge.requests).toBeLessThanOrEqual(30)
      }),
    120_000
  )
})

describe("anonymous reads share one snapshot", () => {
  /** A Web handler over its own runtime (a counting client on `prefix`), and that runtime's monitoring. */
  const handlerOver = async (
    prefix: string,
    options: CircuitBreakerHttp.Options & { readonly snapshotTtl?: Duration.DurationInput } = {}
  ) => {
    // no pipeline: one round trip per 100 circuits, so that one read is several
    const { counter, layer } = countRoundTrips(IORedisClient.layer({ url: server.url }), { pipelined: false })
    const runtime = ManagedRuntime.make(
      CircuitBreakerHttp.layer({ snapshotTtl: options.snapshotTtl ?? "1 hour" }).pipe(
        Layer.provideMerge(RedisCircuitStore.layer({ prefix })),
        Layer.provide(layer)
      )
    )
    const handle = HttpApp.toWebHandlerRuntime(await runtime.runtime())(CircuitBreakerHttp.router(options))
    return {
      counter,
      runtime,
      get: (path: string, headers: Record<string, string> = {}) =>
        handle(new Request(`http://localhost${path}`, { headers })),
      post: (path: string, headers: Record<string, string> = {}) =>
        handle(new Request(`http://localhost${path}`, { method: "POST", headers })),
      invalidate: () => runtime.runPromise(Effect.flatMap(monitoring, (m) => m.invalidate))
    }
  }

  it(
    "any number of read requests within snapshotTtl, on every route, with fresh cursors, cost one fleet read",
    async () => {
      const prefix = freshPrefix()
      const names = await seedCircuits(server.url, prefix, 1_000, { openEvery: 10 })
      const t = await handlerOver(prefix, { authorize: CircuitBreakerHttp.bearer("admin-secret") })
      try {
        await t.get("/health") // the store's clock offset and the script, loaded once
        await t.invalidate()
        t.counter.roundTrips = 0
        expect((await t.get("/circuits?state=OPEN&limit=1")).status).toBe(200)
        const one = t.counter.roundTrips
        await t.invalidate()
        t.counter.roundTrips = 0
        const open = names.filter((_, i) => i % 10 === 0)
        // 60 requests at once: pages of OPEN circuits from 40 cursors, and every other route
        const paths = [
          ...open.slice(0, 40).map((name) => `/circuits?state=OPEN&limit=1&cursor=${encodeURIComponent(name)}`),
          ...Array.from({ length: 5 }, (_, i) => `/circuits?limit=3&cursor=tenant-${i}`),
          ...Array.from({ length: 5 }, () => "/metrics"),
          ...Array.from({ length: 5 }, () => "/metrics?format=prometheus&circuits=non-closed"),
          "/alerts",
          "/alerts",
          "/health",
          "/health?services=non-healthy",
          "/health?services=none"
        ]
        const together = await Promise.all(paths.map((path) => t.get(path)))
        const concurrent = t.counter.roundTrips
        // and as many again, one after the other
        for (const path of paths) await t.get(path)
        console.info(
          `[1,000 circuits] one fleet read: ${one} round trips; ${paths.length} requests together, then one by one: ${t.counter.roundTrips}`
        )
        expect(one).toBeGreaterThanOrEqual(10)
        expect(concurrent).toBe(one)
        expect(t.counter.roundTrips).toBe(one)
        // the answers are the snapshot's, filtered and paged per request
        for (const [i, response] of together.slice(0, 40).entries()) {
          expect(response.status).toBe(200)
          expect(Number(response.headers.get("x-snapshot-age"))).toBeGreaterThanOrEqual(0)
          const body = await response.json()
          expect(body.circuits.map((c: { name: string }) => c.name)).toEqual([open[i + 1]])
          expect(body.age).toBeGreaterThanOrEqual(0)
        }
        const health = await together.at(-3)!.json()
        expect(health).toMatchObject({ overall: "unhealthy", complete: true })
        expect(Object.keys(health.services)).toHaveLength(1_000)
        expect(typeof health.age).toBe("number")
        const alerts = await together.at(-5)!.json()
        expect(alerts.alerts.filter((a: { kind: string }) => a.kind === "open")).toHaveLength(100)
        const text = await together[50]!.text()
        expect(text).toMatch(/^# fleet read age: \d+ ms$/m)
        expect(text).toContain(`circuit_breaker_fleet_circuits{state="OPEN"} 100`)
        // an admin action drops the snapshot: the next read shows it
        const forced = await t.post(`/circuits/${names[1]}/force-open`, { authorization: "Bearer admin-secret" })
        expect(forced.status).toBe(200)
        const after = await (await t.get("/circuits?state=FORCED_OPEN")).json()
        expect(after.circuits.map((c: { name: string }) => c.name)).toEqual([names[1]])
      } finally {
        await t.runtime.dispose()
      }
    },
    60_000
  )

  it.effect(
    "a snapshot serves for snapshotTtl after its read, then the next request reads again (TestClock)",
    () =>
      Effect.gen(function*() {
        const prefix = freshPrefix()
        yield* Effect.promise(() => seedCircuits(server.url, prefix, 300, { openEvery: 3 }))
        const { counter, layer } = countRoundTrips(IORedisClient.layer({ url: server.url }), { pipelined: false })
        yield* Effect.gen(function*() {
          const m = yield* monitoring
          const first = yield* m.snapshot
          expect(first.takenAt).toBe(0)
          counter.roundTrips = 0
          // requests together and one after the other, within the interval
          const together = yield* Effect.all(Array.from({ length: 10 }, () => m.snapshot), { concurrency: "unbounded" })
          yield* TestClock.adjust("999 millis")
          const late = yield* m.snapshot
          expect(counter.roundTrips).toBe(0)
          expect(new Set([first, ...together, late]).size).toBe(1)
          expect(late.read({ state: ["OPEN"] }).total).toBe(100)
          // the interval is over: one new read, shared again
          yield* TestClock.adjust("1 millis")
          const [next, alsoNext] = yield* Effect.all([m.snapshot, m.snapshot], { concurrency: "unbounded" })
          const one = counter.roundTrips
          expect(one).toBeGreaterThanOrEqual(3)
          expect(next).toBe(alsoNext)
          expect(next.takenAt).toBe(1_000)
          expect(next.health.timestamp).toBe(1_000)
          // invalidate: the next request reads again at once
          yield* m.invalidate
          const fresh = yield* m.snapshot
          expect(fresh).not.toBe(next)
          expect(counter.roundTrips).toBe(2 * one)
          // a snapshot filters and pages as a read of the store does
          for (const options of snapshotReadCases) {
            expect([options, fresh.read(options)]).toEqual([options, yield* m.read(options)])
          }
        }).pipe(Effect.provide(
          CircuitBreakerMonitoring.layer({ snapshotTtl: "1 second" }).pipe(
            Layer.provideMerge(CircuitBreakers.layer()),
            Layer.provide(RedisCircuitStore.layer({ prefix, timeSource: "client" })),
            Layer.provide(layer)
          )
        ))
      }),
    60_000
  )

  it.live("a request that gives up during the read does not cut it short for the others", () =>
    Effect.gen(function*() {
      const prefix = freshPrefix()
      yield* Effect.promise(() => seedCircuits(server.url, prefix, 1_000, { openEvery: 10 }))
      const { counter, layer } = countRoundTrips(IORedisClient.layer({ url: server.url }), { pipelined: false })
      yield* Effect.gen(function*() {
        const m = yield* monitoring
        yield* m.snapshot // the store's clock offset and the script, loaded once
        yield* m.invalidate
        counter.roundTrips = 0
        const first = yield* Effect.fork(m.snapshot)
        while (counter.roundTrips === 0) yield* Effect.sleep("1 millis") // its read has begun
        const second = yield* Effect.fork(m.snapshot)
        yield* Fiber.interrupt(first)
        const snapshot = yield* Fiber.join(second).pipe(Effect.timeout("10 seconds"))
        expect(snapshot.read({ state: ["OPEN"] }).total).toBe(100)
        // one read, finished for the one that stayed
        const one = counter.roundTrips
        yield* m.invalidate
        counter.roundTrips = 0
        yield* m.snapshot
        expect(one).toBe(counter.roundTrips)
      }).pipe(Effect.provide(
        CircuitBreakerMonitoring.layer().pipe(
          Layer.provideMerge(CircuitBreakers.layer()),
          Layer.provide(RedisCircuitStore.layer({ prefix })),
          Layer.provide(layer)
        )
      ))
    }), 30_000)

  /** A client whose sends wait, while `held`, until `release`; how many waited and how many were interrupted. */
  const heldClient = (prefix: string) =>
    Effect.gen(function*() {
      const release = yield* Deferred.make<void>()
      const gate = { held: false, waiting: 0, interrupted: 0 }
      const { counter, layer: counting } = countRoundTrips(IORedisClient.layer({ url: server.url }), {
        pipelined: false
      })
      const layer = Layer.effect(
        RedisClient.RedisClient,
        Effect.map(RedisClient.RedisClient, (client) =>
          RedisClient.RedisClient.of({
            ...client,
            send: (command) =>
              Effect.suspend(() => {
                if (!gate.held) return client.send(command)
                gate.waiting++
                return Effect.zipRight(
                  Effect.onInterrupt(Deferred.await(release), () => Effect.sync(() => gate.interrupted++)),
                  client.send(command)
                )
              })
          }))
      ).pipe(Layer.provide(counting))
      const monitoringLayer = CircuitBreakerMonitoring.layer().pipe(
        Layer.provideMerge(CircuitBreakers.layer()),
        Layer.provide(RedisCircuitStore.layer({ prefix })),
        Layer.provide(layer)
      )
      return { counter, gate, release, monitoringLayer }
    })

  it.live(
    "the layer's scope closing stops the reads in flight: no fiber of theirs is left waiting",
    () =>
      Effect.gen(function*() {
        const prefix = freshPrefix()
        yield* Effect.promise(() => seedCircuits(server.url, prefix, 300, { openEvery: 3 }))
        const { gate, monitoringLayer } = yield* heldClient(prefix)
        const scope = yield* Scope.make()
        const m = Context.get(yield* Layer.buildWithScope(monitoringLayer, scope), monitoring)
        yield* m.snapshot // the store's clock offset and the script, loaded once
        yield* m.invalidate
        gate.held = true
        const snapshot = yield* Effect.fork(m.snapshot)
        const scan = yield* Effect.fork(m.read())
        while (gate.waiting < 2) yield* Effect.sleep("1 millis") // both reads wait on the store
        yield* Scope.close(scope, Exit.void).pipe(Effect.timeout("10 seconds"))
        expect(gate.interrupted).toBe(gate.waiting)
        const exits = yield* Effect.all([Fiber.await(snapshot), Fiber.await(scan)]).pipe(Effect.timeout("10 seconds"))
        expect([Exit.isInterrupted(exits[0]), Exit.isInterrupted(exits[1])]).toEqual([true, true])
      }),
    30_000
  )

  it.live(
    "a read in flight when the snapshot is invalidated answers its callers, but is not kept",
    () =>
      Effect.gen(function*() {
        const prefix = freshPrefix()
        yield* Effect.promise(() => seedCircuits(server.url, prefix, 300, { openEvery: 3 }))
        const { counter, gate, monitoringLayer, release } = yield* heldClient(prefix)
        yield* Effect.gen(function*() {
          const m = yield* monitoring
          yield* m.snapshot // the store's clock offset and the script, loaded once
          yield* m.invalidate
          gate.held = true
          const before = yield* Effect.fork(m.snapshot)
          while (gate.waiting < 1) yield* Effect.sleep("1 millis") // its read has begun
          yield* m.invalidate // (as an admin action does, while the read runs)
          gate.held = false
          yield* Deferred.succeed(release, undefined)
          const answered = yield* Fiber.join(before).pipe(Effect.timeout("10 seconds"))
          expect(answered.read({ state: ["OPEN"] }).total).toBe(100)
          // the next request reads again, and that read is kept
          counter.roundTrips = 0
          const next = yield* m.snapshot
          const one = counter.roundTrips
          expect(one).toBeGreaterThanOrEqual(3)
          expect(next).not.toBe(answered)
          expect(yield* m.snapshot).toBe(next)
          expect(counter.roundTrips).toBe(one)
        }).pipe(Effect.provide(monitoringLayer))
      }),
    30_000
  )

  it("a bad snapshotTtl is a CircuitConfigError naming it", async () => {
    const exit = await Effect.runPromiseExit(
      Layer.build(
        CircuitBreakerMonitoring.layer({ snapshotTtl: -1 }).pipe(
          Layer.provide(CircuitBreakers.layer()),
          Layer.provide(CircuitStore.layerMemory)
        )
      ).pipe(Effect.scoped)
    )
    expect(String(exit)).toContain("snapshotTtl must not be negative (got -1)")
  })

  it("authorizeRead guards every read route; /health without it tells the verdict and counts, no name", async () => {
    const prefix = freshPrefix()
    await seedCircuits(server.url, prefix, 20, { name: "secret-tenant", openEvery: 4 })
    const t = await handlerOver(prefix, { authorizeRead: CircuitBreakerHttp.bearer(Redacted.make("reader-token")) })
    try {
      for (const path of guardedReadPaths) {
        const anonymous = await t.get(path)
        expect([path, anonymous.status]).toEqual([path, 401])
        expect(await anonymous.text()).not.toContain("secret-tenant")
        expect((await t.get(path, { authorization: "Bearer wrong-token" })).status).toBe(403)
        const allowed = await t.get(path, { authorization: "Bearer reader-token" })
        expect([path, allowed.status]).toEqual([path, 200])
        expect(await allowed.text()).toContain("secret-tenant")
      }
      const summary = await t.get("/health")
      expect(summary.status).toBe(503)
      const text = await summary.text()
      expect(text).not.toContain("secret-tenant")
      expect(JSON.parse(text)).toEqual({
        overall: "unhealthy",
        complete: true,
        unreadable: 0,
        circuits: { healthy: 15, degraded: 0, unhealthy: 5 },
        timestamp: expect.any(Number),
        age: expect.any(Number)
      })
      const full = await (await t.get("/health", { authorization: "Bearer reader-token" })).json()
      expect(Object.keys(full.services)).toHaveLength(20)
    } finally {
      await t.runtime.dispose()
    }
  }, 30_000)
})

describe("admin routes fail closed", () => {
  it("bearer: constant-time check of Authorization: Bearer <token>; no token lets nothing through", async () => {
    const request = (authorization?: string) =>
      HttpServerRequest.fromWeb(
        new Request("http://localhost/", authorization === undefined ? {} : { headers: { authorization } })
      )
    const check = (token: Parameters<typeof CircuitBreakerHttp.bearer>[0], authorization?: string) =>
      Effect.runPromise(CircuitBreakerHttp.bearer(token)(request(authorization)))
    for (const right of rightBearerHeaders) expect(await check("s3cret", right)).toBe(true)
    expect(await check(Redacted.make("s3cret"), "Bearer s3cret")).toBe(true)
    for (const wrong of wrongBearerHeaders) {
      expect([wrong, await check("s3cret", wrong)]).toEqual([wrong, false])
    }
    // an unset variable: the README's old example let "Bearer undefined" in
    for (const none of [undefined, "", "   ", Redacted.make("")]) {
      for (const header of noTokenHeaders(String(none))) {
        expect(await check(none, header)).toBe(false)
      }
    }
  })

  it("a bearer check with no token: admin routes refuse everything, and the handler says so once when built", async () => {
    const logged: Array<string> = []
    const web = CircuitBreakerHttp.toWebHandler(
      CircuitStore.layerMemory.pipe(Layer.provide(Logger.replace(
        Logger.defaultLogger,
        Logger.make(({ message }) => {
          logged.push(String(message))
        })
      ))),
      { authorize: CircuitBreakerHttp.bearer(undefined) }
    )
    try {
      const response = await web.handler(
        new Request("http://localhost/circuits/x/reset", {
          method: "POST",
          headers: { authorization: "Bearer undefined" }
        })
      )
      expect(response.status).toBe(403)
      await web.handler(new Request("http://localhost/health"))
    } finally {
      await web.dispose()
    }
    expect(logged.filter((line) => line.includes("admin routes disabled: no token"))).toHaveLength(1)
  })

  /** A cookie-trusting authorize, as a browser session would be checked. */
  const cookieTrusting = async (options: Partial<CircuitBreakerHttp.Options> = {}) => {
    const prefix = freshPrefix()
    const store = RedisCircuitStore.layer({ prefix }).pipe(Layer.provide(IORedisClient.layer({ url: server.url })))
    const web = CircuitBreakerHttp.toWebHandler(store, {
      monitoring: { snapshotTtl: 0 },
      authorize: (request) => Effect.succeed(request.headers["cookie"] === "session=admin"),
      ...options
    })
    const writer = instance(prefix, { defaults: { failureThreshold: 2 } })
    await writer.runPromise(calls("payments", 1, 0))
    const post = (path: string, headers: Record<string, string>, body?: string) =>
      web.handler(
        new Request(`http://localhost${path}`, {
          method: "POST",
          headers: { cookie: "session=admin", ...headers },
          ...(body === undefined ? {} : { body })
        })
      )
    const state = async () => (await (await web.handler(new Request("http://localhost/circuits"))).json()).circuits
    return {
      post,
      state,
      dispose: async () => {
        await web.dispose()
        await writer.dispose()
      }
    }
  }

  it("cross-site requests and form bodies are refused (403 naming why); same-origin ones and listed origins pass", async () => {
    const t = await cookieTrusting({ allowedOrigins: ["https://ops.example.com"] })
    try {
      for (const [headers, body, reason] of crossSiteRefusals) {
        const response = await t.post("/circuits/payments/force-open", headers, body)
        expect([headers, response.status]).toEqual([headers, 403])
        expect((await response.json()).message).toContain(reason)
      }
      expect((await t.state())[0]).toMatchObject({ name: "payments", state: "CLOSED" })
      // the dashboard's own request: same origin, no body
      const own = await t.post("/circuits/payments/force-open", {
        origin: "http://localhost",
        "sec-fetch-site": "same-origin",
        accept: "application/json"
      })
      expect(own.status).toBe(200)
      // a tool without a browser's headers; a JSON body; a listed origin
      expect((await t.post("/circuits/payments/force-close", {})).status).toBe(200)
      expect((await t.post("/circuits/payments/reset", { "content-type": "application/json" }, "{}")).status).toBe(200)
      const listed = await t.post("/circuits/payments/force-open", {
        origin: "https://ops.example.com",
        "sec-fetch-site": "cross-site"
      })
      expect(listed.status).toBe(200)
      // behind a proxy: the forwarded host is this server's
      expect(
        (await t.post("/reset-all", { origin: "https://cb.example.com", "x-forwarded-host": "cb.example.com" })).status
      ).toBe(200)
    } finally {
      await t.dispose()
    }
  })

  it("an admin action on a circuit no one uses is a 404 naming it, and creates nothing", async () => {
    const t = await cookieTrusting()
    try {
      const response = await t.post("/circuits/paymnets/reset", {})
      expect(response.status).toBe(404)
      expect(await response.json()).toEqual({
        error: "Not Found",
        message: "no circuit named \"paymnets\" in the store"
      })
      expect((await t.state()).map((c: { name: string }) => c.name)).toEqual(["payments"])
      // a circuit another instance uses, this one has no breaker for: found
      expect((await t.post("/circuits/payments/force-open", {})).status).toBe(200)
    } finally {
      await t.dispose()
    }
  })
})

describe("what an operator reads", () => {
  it("GET /health: a circuit this instance has no breaker for carries this instance's id, not an empty one", async () => {
    const prefix = freshPrefix()
    await seedCircuits(server.url, prefix, 2)
    const store = RedisCircuitStore.layer({ prefix }).pipe(Layer.provide(IORedisClient.layer({ url: server.url })))
    const web = CircuitBreakerHttp.toWebHandler(store)
    try {
      const health = await (await web.handler(new Request("http://localhost/health"))).json()
      const ids = Object.values(health.services).map((s: any) => s.metrics.instanceId)
      const own = await Effect.runPromise(
        Effect.map(CircuitBreakers.CircuitBreakers.pipe(Effect.flatMap((r) => r.get("x"))), (b) => b.instanceId).pipe(
          Effect.provide(CircuitBreakers.layer().pipe(Layer.provide(CircuitStore.layerMemory)))
        )
      )
      expect(ids).toEqual([own, own])
      expect(own).toMatch(/^i-/)
    } finally {
      await web.dispose()
    }
  })
})

describe("the registry at 300,000 names whose state is gone", () => {
  /** Registers `count` names `gone-<n>` a long time ago, with no state: expired circuits. */
  const seedGone = (prefix: string, count: number) =>
    server.cli(
      "EVAL",
      "for i = 1, tonumber(ARGV[1]) do redis.call('ZADD', KEYS[1], 1, string.format('gone-%06d', i)) end return 0",
      "1",
      registryKeyOf(prefix),
      String(count)
    )

  /** Every Effect log line at warning level or above, as text. */
  const captureWarnings = () => {
    const lines: Array<string> = []
    const logger = Logger.make(({ logLevel, message }) => {
      if (LogLevel.greaterThanEqual(logLevel, LogLevel.Warning)) lines.push(`${logLevel.label} ${String(message)}`)
    })
    return { lines, layer: Logger.replace(Logger.defaultLogger, logger) }
  }

  it("GET /health answers complete, and the names leave the registry, a bounded ZREM at a time", async () => {
    const prefix = freshPrefix()
    await seedGone(prefix, 300_000)
    await seedCircuits(server.url, prefix, 10, { openEvery: 5 })
    expect(await server.cli("ZCARD", registryKeyOf(prefix))).toBe("300010")
    // the names each read of the registry brought back
    const registryReplies: Array<number> = []
    const client = Layer.effect(
      RedisClient.RedisClient,
      Effect.map(RedisClient.RedisClient, (inner) =>
        RedisClient.RedisClient.of({
          ...inner,
          send: (command) =>
            Effect.tap(inner.send(command), (reply) => {
              if (command[1] === registryKeyOf(prefix) && /^Z(RANGE|SCAN)$/.test(command[0]!) && Array.isArray(reply)) {
                const names = command[0] === "ZSCAN" ? (reply[1] as Array<unknown>).length / 2 : reply.length / 2
                registryReplies.push(names)
              }
            })
        }))
    ).pipe(Layer.provide(IORedisClient.layer({ url: server.url })))
    const web = CircuitBreakerHttp.toWebHandler(RedisCircuitStore.layer({ prefix }).pipe(Layer.provide(client)))
    try {
      const get = async () => {
        const started = performance.now()
        const response = await web.handler(new Request("http://localhost/health"))
        const body = await response.json()
        return { status: response.status, body, ms: performance.now() - started }
      }
      const first = await get()
      expect([first.status, first.body.overall, first.body.complete, first.body.unreadable]).toEqual([
        503,
        "unhealthy",
        true,
        0
      ])
      // the registry read in pages of a bounded size, not in one reply of 300,000 names
      expect(registryReplies.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(300_010)
      expect(Math.max(...registryReplies)).toBeLessThanOrEqual(50_000)
      expect(Object.keys(first.body.services)).toHaveLength(10)
      // the prune runs in the background
      const deadline = Date.now() + 20_000
      while (await server.cli("ZCARD", registryKeyOf(prefix)) !== "10") {
        if (Date.now() > deadline) throw new Error("the gone names were not removed from the registry")
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      const second = await get()
      console.info(
        `[300,000 gone names] first /health ${Math.round(first.ms)} ms; after the prune ${Math.round(second.ms)} ms`
      )
      expect([second.body.complete, Object.keys(second.body.services).length]).toEqual([true, 10])
    } finally {
      await web.dispose()
    }
  }, 120_000)

  it.scopedLive(
    "a prune that fails is logged once, not swallowed, and the next read tries again",
    () =>
      Effect.gen(function*() {
        const prefix = freshPrefix()
        yield* Effect.promise(() => seedGone(prefix, 2_500))
        const inner = yield* Layer.build(IORedisClient.layer({ url: server.url })).pipe(
          Effect.map(Context.get(RedisClient.RedisClient))
        )
        let refuse = true
        let zrem = 0
        const client = RedisClient.RedisClient.of({
          ...inner,
          send: (command) =>
            command[0] === "ZREM"
              ? Effect.suspend(() => {
                zrem++
                expect(command.length).toBeLessThanOrEqual(2 + 1_000)
                return refuse
                  ? Effect.fail(new RedisClientError({ kind: "Command", reason: "NOPERM no ZREM for you" }))
                  : inner.send(command)
              })
              : inner.send(command)
        })
        const warnings = captureWarnings()
        yield* Effect.gen(function*() {
          const m = yield* monitoring
          const settle = Effect.repeat(Effect.sleep("20 millis"), { times: 10 })
          for (let i = 0; i < 3; i++) {
            expect((yield* m.read()).complete).toBe(true)
            yield* settle
          }
          expect(zrem).toBe(3)
          expect(warnings.lines.filter((line) => line.includes("pruning the circuit registry"))).toHaveLength(1)
          expect(warnings.lines[0]).toContain("NOPERM no ZREM for you")
          refuse = false
          yield* m.read()
          yield* settle
          // 2,500 names: three commands of at most 1,000
          expect(zrem).toBe(3 + 3)
          expect(yield* Effect.promise(() => server.cli("ZCARD", registryKeyOf(prefix)))).toBe("0")
        }).pipe(
          Effect.provide(
            CircuitBreakerMonitoring.layer().pipe(
              Layer.provideMerge(CircuitBreakers.layer()),
              Layer.provide(RedisCircuitStore.layer({ prefix })),
              Layer.provide(Layer.succeed(RedisClient.RedisClient, client))
            )
          ),
          Effect.provide(warnings.layer)
        )
      }),
    60_000
  )
})
