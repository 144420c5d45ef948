// the root suite's declaration of the parser's types
// eslint-disable-next-line @typescript-eslint/triple-slash-reference
/// <reference path="../../test/types/parse-prometheus-text-format.d.ts" />
/**
 * CircuitBreakerMonitoring and CircuitBreakerHttp on the memory store: fleet
 * reads of several runtimes sharing one store, the shared snapshot, and the
 * HTTP routes through the Web handler (JSON, Prometheus text checked by a
 * real Prometheus parser, authorization, cross-site refusals, query
 * validation, anonymous reads, escaping, the dashboard's files).
 * Monitoring.unit.test.ts has the alerts and health of each state.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as HttpRouter from "effect/http/HttpRouter"
import * as HttpServer from "effect/http/HttpServer"
import * as HttpServerRequest from "effect/http/HttpServerRequest"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import * as Scope from "effect/Scope"
import { TestClock } from "effect/testing"
import * as http from "node:http"
import { NodeHttpServer } from "@effect/platform-node"
import parsePrometheus from "parse-prometheus-text-format"
// the modules, not the index: the index also loads the Redis store
import * as CircuitBreakerMonitoring from "../src/CircuitBreakerMonitoring.js"
import * as CircuitBreakers from "../src/CircuitBreakers.js"
import * as CircuitStore from "../src/CircuitStore.js"
import { CircuitBreakerHttp } from "../src/http.js"
import { calls } from "./support/monitoring.js"
import { css, script } from "../../shared/http/dashboardAssets.js"
import {
  adminNameCases,
  crossSiteRefusals,
  dashboardCsp,
  dashboardPaths,
  guardedReadPaths,
  hostileNames,
  noTokenHeaders,
  rightBearerHeaders,
  snapshotReadCases,
  wrongBearerHeaders
} from "../../test/shared/monitoringCases.js"

const monitoring = CircuitBreakerMonitoring.CircuitBreakerMonitoring

/**
 * One memory store shared by several runtimes and handlers (as one Redis is
 * by a fleet); `reads` counts the store's listings of its circuits (one per
 * fleet read).
 */
const sharedStore = async () => {
  const scope = Scope.makeUnsafe()
  const store = await Effect.runPromise(
    Effect.map(Layer.buildWithScope(CircuitStore.layerMemory, scope), Context.get(CircuitStore.CircuitStore))
  )
  const counter = { reads: 0 }
  const counted = CircuitStore.CircuitStore.of({
    ...store,
    names: Effect.suspend(() => (counter.reads++, store.names))
  })
  return {
    counter,
    layer: Layer.succeed(CircuitStore.CircuitStore)(counted),
    close: () => Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

/** A runtime of its own (as one serverless instance would have) on `store`. */
const instance = (store: Layer.Layer<CircuitStore.CircuitStore>, options?: CircuitBreakers.Options) =>
  ManagedRuntime.make(
    CircuitBreakerMonitoring.layer().pipe(
      Layer.provideMerge(CircuitBreakers.layer(options)),
      Layer.provideMerge(store)
    )
  )

describe("CircuitBreakerMonitoring across a fleet", () => {
  it("metrics from two runtimes sharing one store add up in getAllMetrics", async () => {
    const store = await sharedStore()
    const a = instance(store.layer, { defaults: { failureThreshold: 100 } })
    const b = instance(store.layer, { defaults: { failureThreshold: 100 } })
    try {
      await a.runPromise(calls("payments", 7, 2))
      await b.runPromise(calls("payments", 5, 3))
      await b.runPromise(calls("search", 4, 0))
      await b.runPromise(Effect.flatMap(monitoring, (m) => m.getAllMetrics))
      // a has no breaker for "search": it still sees it, from the store
      const all = await a.runPromise(Effect.flatMap(monitoring, (m) => m.getAllMetrics))
      expect(Object.keys(all).sort()).toEqual(["payments", "search"])
      expect(all.payments!.fleet).toMatchObject({ successes: 12, failures: 5, calls: 17 })
      expect(all.payments!.fleet.failureRate).toBeCloseTo(5 / 17)
      expect(all.payments!.windowFailures).toBe(5)
      expect(all.payments!.instance).toMatchObject({ successes: 7, failures: 2 })
      expect(all.search!.fleet).toMatchObject({ successes: 4, failures: 0 })
      expect(all.search!.instance).toBeNull()
    } finally {
      await a.dispose()
      await b.dispose()
      await store.close()
    }
  })

  it("rejections and opens are counted fleet-wide too; reads filter and page", async () => {
    const store = await sharedStore()
    const a = instance(store.layer, { defaults: { failureThreshold: 2, recoveryTimeout: "1 minute" } })
    const b = instance(store.layer, { defaults: { failureThreshold: 2, recoveryTimeout: "1 minute" } })
    try {
      await a.runPromise(calls("db", 0, 2)) // opens
      await a.runPromise(calls("db", 0, 3)) // 3 rejections on a
      await b.runPromise(calls("db", 0, 4)) // 4 rejections on b
      await b.runPromise(Effect.forEach(["tenant-1", "tenant-2", "tenant-3"], (name) => calls(name, 1, 0)))
      const read = await b.runPromise(Effect.flatMap(monitoring, (m) => m.read()))
      expect(read).toMatchObject({ total: 4, complete: true, unreadable: 0, reason: null, nextCursor: null })
      const db = read.circuits.find((c) => c.name === "db")!
      expect(db.state).toBe("OPEN")
      expect(db.fleet).toMatchObject({ failures: 2, rejections: 7, opens: 1 })
      const page = await a.runPromise(
        Effect.flatMap(monitoring, (m) => m.read({ prefix: "tenant-", limit: 2 }))
      )
      expect(page.circuits.map((c) => c.name)).toEqual(["tenant-1", "tenant-2"])
      expect([page.total, page.nextCursor]).toEqual([3, "tenant-2"])
      const open = await a.runPromise(Effect.flatMap(monitoring, (m) => m.read({ state: ["OPEN"] })))
      expect(open.circuits.map((c) => c.name)).toEqual(["db"])
    } finally {
      await a.dispose()
      await b.dispose()
      await store.close()
    }
  })
})

/** A store that cannot be reached: every operation fails (as Redis down would). */
const unreachable = (() => {
  const down = new CircuitStore.CircuitStoreError({ reason: "cannot connect to the store" })
  const fail = () => Effect.fail(down)
  return Layer.succeed(CircuitStore.CircuitStore)(CircuitStore.CircuitStore.of({
    circuit: (name) =>
      Effect.succeed({
        name,
        acquireLocal: () => undefined,
        acquire: fail,
        recordSuccessLocal: () => undefined,
        record: fail,
        read: fail,
        force: fail,
        reset: fail,
        fleet: fail
      }),
    names: Effect.fail(down),
    inspect: fail
  }))
})()

describe("monitoring tells the truth when the store is unavailable", () => {
  it.live(
    "a circuit running locally is degraded and raises store-unavailable; the fleet's health is unknown",
    () =>
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
        expect(health.reason).toContain("cannot connect to the store")
        // resetAll says which circuit it could not reset, and why
        const results = yield* m.resetAll
        expect(results).toEqual([{
          service: "payments",
          success: false,
          error: expect.stringContaining("cannot connect")
        }])
      }).pipe(Effect.provide(
        CircuitBreakerMonitoring.layer().pipe(
          Layer.provideMerge(CircuitBreakers.layer({ defaults: { storeTimeout: 200 } })),
          Layer.provideMerge(unreachable)
        ),
        { local: true }
      )),
    30_000
  )

  it("the routes with no breakers answer 503 unknown with the reason, and an alert of their own", async () => {
    const web = CircuitBreakerHttp.toWebHandler(unreachable)
    try {
      const health = await web.handler(new Request("http://localhost/health"))
      const body = await health.json()
      expect(health.status).toBe(503)
      expect(body).toMatchObject({ overall: "unknown", complete: false, unreadable: 1 })
      expect(body.reason).toContain("cannot connect to the store")
      const alerts = await (await web.handler(new Request("http://localhost/alerts"))).json()
      expect(alerts.alerts).toContainEqual(expect.objectContaining({ kind: "store-unreadable", severity: "critical" }))
      const text = await (await web.handler(new Request("http://localhost/metrics?format=prometheus"))).text()
      expect(text).toContain("circuit_breaker_fleet_read_complete 0")
      // an admin action cannot tell whether the circuit exists
      const admin = CircuitBreakerHttp.toWebHandler(unreachable, { authorize: () => Effect.succeed(true) })
      try {
        const response = await admin.handler(
          new Request("http://localhost/circuits/payments/reset", { method: "POST" })
        )
        expect(response.status).toBe(503)
        expect((await response.json()).message).toBe(
          "cannot tell whether the circuit \"payments\" exists: cannot connect to the store"
        )
      } finally {
        await admin.dispose()
      }
    } finally {
      await web.dispose()
    }
  }, 30_000)
})

describe("the shared snapshot", () => {
  it.effect("serves for snapshotTtl after its read, then the next request reads again (TestClock)", () =>
    Effect.gen(function*() {
      const store = yield* Effect.promise(() => sharedStore())
      yield* Effect.addFinalizer(() => Effect.promise(() => store.close()))
      yield* Effect.gen(function*() {
        const m = yield* monitoring
        // 300 tenants, every third OPEN
        yield* Effect.forEach(
          Array.from({ length: 300 }, (_, i) => `tenant-${String(i).padStart(3, "0")}`),
          (name, i) => calls(name, 1, i % 3 === 0 ? 1 : 0),
          { discard: true }
        )
        const first = yield* m.snapshot
        expect(first.takenAt).toBe(0)
        store.counter.reads = 0
        // requests together and one after the other, within the interval
        const together = yield* Effect.all(Array.from({ length: 10 }, () => m.snapshot), { concurrency: "unbounded" })
        yield* TestClock.adjust("999 millis")
        const late = yield* m.snapshot
        expect(store.counter.reads).toBe(0)
        expect(new Set([first, ...together, late]).size).toBe(1)
        expect(late.read({ state: ["OPEN"] }).total).toBe(100)
        // the interval is over: one new read, shared again
        yield* TestClock.adjust("1 millis")
        const [next, alsoNext] = yield* Effect.all([m.snapshot, m.snapshot], { concurrency: "unbounded" })
        expect(store.counter.reads).toBe(1)
        expect(next).toBe(alsoNext)
        expect(next.takenAt).toBe(1_000)
        expect(next.health.timestamp).toBe(1_000)
        // invalidate: the next request reads again at once
        yield* m.invalidate
        const fresh = yield* m.snapshot
        expect(fresh).not.toBe(next)
        expect(store.counter.reads).toBe(2)
        // a snapshot filters and pages as a read of the store does
        for (const options of snapshotReadCases) {
          expect([options, fresh.read(options)]).toEqual([options, yield* m.read(options)])
        }
      }).pipe(Effect.provide(
        CircuitBreakerMonitoring.layer({ snapshotTtl: "1 second" }).pipe(
          Layer.provideMerge(CircuitBreakers.layer({ defaults: { failureThreshold: 1, recoveryTimeout: "1 hour" } })),
          Layer.provideMerge(store.layer)
        ),
        { local: true }
      ))
    }))

  /**
   * Monitoring on a memory store of 30 circuits whose listing waits, while
   * `gate.held`, until `release`; how many listings waited, how many were
   * interrupted, and how many ran.
   */
  const held = Effect.gen(function*() {
    const scope = yield* Scope.make()
    const inner = Context.get(yield* Layer.buildWithScope(CircuitStore.layerMemory, scope), CircuitStore.CircuitStore)
    const release = yield* Deferred.make<void>()
    const gate = { held: false, waiting: 0, interrupted: 0, reads: 0 }
    const store = CircuitStore.CircuitStore.of({
      ...inner,
      names: Effect.suspend(() => {
        gate.reads++
        if (!gate.held) return inner.names
        gate.waiting++
        return Effect.andThen(
          Effect.onInterrupt(Deferred.await(release), () => Effect.sync(() => gate.interrupted++)),
          inner.names
        )
      })
    })
    const monitoringLayer = CircuitBreakerMonitoring.layer().pipe(
      Layer.provideMerge(CircuitBreakers.layer({ defaults: { failureThreshold: 1, recoveryTimeout: "1 hour" } })),
      Layer.provideMerge(Layer.succeed(CircuitStore.CircuitStore)(store))
    )
    return { gate, release, monitoringLayer, close: Scope.close(scope, Exit.void) }
  })
  const thirtyCircuits = Effect.forEach(
    Array.from({ length: 30 }, (_, i) => `tenant-${String(i).padStart(2, "0")}`),
    (name, i) => calls(name, 1, i % 3 === 0 ? 1 : 0),
    { discard: true }
  )
  const waitFor = (done: () => boolean) =>
    Effect.gen(function*() {
      while (!done()) yield* Effect.sleep("1 millis")
    }).pipe(Effect.timeout("10 seconds"))

  it.live("a request that gives up during the read does not cut it short for the others", () =>
    Effect.gen(function*() {
      const { close, gate, monitoringLayer, release } = yield* held
      yield* Effect.gen(function*() {
        const m = yield* monitoring
        yield* thirtyCircuits
        gate.held = true
        gate.reads = 0
        const first = yield* Effect.forkChild(m.snapshot)
        yield* waitFor(() => gate.waiting === 1) // its read has begun
        const second = yield* Effect.forkChild(m.snapshot)
        yield* Fiber.interrupt(first)
        gate.held = false
        yield* Deferred.succeed(release, undefined)
        const snapshot = yield* Fiber.join(second).pipe(Effect.timeout("10 seconds"))
        expect(snapshot.read({ state: ["OPEN"] }).total).toBe(10)
        // one read, finished for the one that stayed
        expect([gate.reads, gate.interrupted]).toEqual([1, 0])
      }).pipe(Effect.provide(monitoringLayer, { local: true }), Effect.ensuring(close))
    }))

  it.live("the layer's scope closing stops the reads in flight: no fiber of theirs is left waiting", () =>
    Effect.gen(function*() {
      const { close, gate, monitoringLayer } = yield* held
      const scope = yield* Scope.make()
      const built = yield* Layer.buildWithScope(monitoringLayer, scope)
      const m = Context.get(built, monitoring)
      yield* thirtyCircuits.pipe(Effect.provideContext(built))
      gate.held = true
      const snapshot = yield* Effect.forkChild(m.snapshot)
      const scan = yield* Effect.forkChild(m.read())
      yield* waitFor(() => gate.waiting === 2) // both reads wait on the store
      yield* Scope.close(scope, Exit.void).pipe(Effect.timeout("10 seconds"))
      expect(gate.interrupted).toBe(gate.waiting)
      const exits = yield* Effect.all([Fiber.await(snapshot), Fiber.await(scan)]).pipe(Effect.timeout("10 seconds"))
      expect([Exit.hasInterrupts(exits[0]), Exit.hasInterrupts(exits[1])]).toEqual([true, true])
      yield* close
    }))

  it.live("a read in flight when the snapshot is invalidated answers its callers, but is not kept", () =>
    Effect.gen(function*() {
      const { close, gate, monitoringLayer, release } = yield* held
      yield* Effect.gen(function*() {
        const m = yield* monitoring
        yield* thirtyCircuits
        gate.held = true
        const before = yield* Effect.forkChild(m.snapshot)
        yield* waitFor(() => gate.waiting === 1) // its read has begun
        yield* m.invalidate // (as an admin action does, while the read runs)
        gate.held = false
        yield* Deferred.succeed(release, undefined)
        const answered = yield* Fiber.join(before).pipe(Effect.timeout("10 seconds"))
        expect(answered.read({ state: ["OPEN"] }).total).toBe(10)
        // the next request reads again, and that read is kept
        gate.reads = 0
        const next = yield* m.snapshot
        expect(gate.reads).toBe(1)
        expect(next).not.toBe(answered)
        expect(yield* m.snapshot).toBe(next)
        expect(gate.reads).toBe(1)
      }).pipe(Effect.provide(monitoringLayer, { local: true }), Effect.ensuring(close))
    }))

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
})

/** A Web handler on a shared memory store, and a writer runtime on the same store. */
const setup = async (
  options: CircuitBreakerHttp.Options = {},
  writerOptions: CircuitBreakers.Options = { defaults: { failureThreshold: 2, recoveryTimeout: "1 minute" } }
) => {
  const store = await sharedStore()
  const web = CircuitBreakerHttp.toWebHandler(store.layer, {
    basePath: "/cb",
    // each request reads the fleet again: these tests change it between requests
    monitoring: { snapshotTtl: 0 },
    ...options
  })
  const writer = instance(store.layer, writerOptions)
  const request = (method: string, path: string, headers: Record<string, string> = {}, body?: string) =>
    web.handler(
      new Request(`http://localhost/cb${path}`, { method, headers, ...(body === undefined ? {} : { body }) })
    )
  return {
    store,
    writer,
    get: (path: string, headers?: Record<string, string>) => request("GET", path, headers),
    post: (path: string, headers?: Record<string, string>, body?: string) => request("POST", path, headers, body),
    dispose: async () => {
      await web.dispose()
      await writer.dispose()
      await store.close()
    }
  }
}

describe("CircuitBreakerHttp", () => {
  it("GET /health: 200 while healthy, 503 once a circuit is open", async () => {
    const t = await setup()
    try {
      await t.writer.runPromise(calls("payments", 3, 0))
      let response = await t.get("/health")
      expect(response.status).toBe(200)
      expect(response.headers.get("content-type")).toContain("application/json")
      expect(response.headers.get("cache-control")).toBe("no-store")
      expect(Number(response.headers.get("x-snapshot-age"))).toBeGreaterThanOrEqual(0)
      let body = await response.json()
      expect(body.overall).toBe("healthy")
      expect(body.services.payments.state).toBe("CLOSED")
      expect(typeof body.age).toBe("number")
      await t.writer.runPromise(calls("payments", 0, 2))
      response = await t.get("/health")
      expect(response.status).toBe(503)
      body = await response.json()
      expect(body).toMatchObject({
        overall: "unhealthy",
        services: { payments: { status: "unhealthy", state: "OPEN" } }
      })
      // the circuit listed, the others not; or none
      await t.writer.runPromise(calls("search", 1, 0))
      const few = await (await t.get("/health?services=non-healthy")).json()
      expect(Object.keys(few.services)).toEqual(["payments"])
      const none = await (await t.get("/health?services=none")).json()
      expect([none.overall, none.services]).toEqual(["unhealthy", {}])
      const bad = await t.get("/health?services=some")
      expect(bad.status).toBe(400)
      expect((await bad.json()).message).toBe(`services must be "all", "non-healthy" or "none" (got "some")`)
    } finally {
      await t.dispose()
    }
  })

  it("GET /metrics: JSON by default, Prometheus text on Accept: text/plain or ?format=prometheus", async () => {
    const t = await setup()
    try {
      await t.writer.runPromise(calls("pay \"quoted\" \\ name", 4, 1))
      await t.writer.runPromise(calls("search", 2, 0))
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
        expect(text).toMatch(/^# fleet read age: \d+ ms$/m)
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
      const bad = await t.get("/metrics?format=prometheus&circuits=some")
      expect(bad.status).toBe(400)
      expect((await bad.json()).message).toBe(`circuits must be "all", "non-closed" or "none" (got "some")`)
    } finally {
      await t.dispose()
    }
  })

  it("bad requests get clear errors; admin routes do not exist without authorize", async () => {
    const t = await setup()
    try {
      const bad = await t.get("/metrics?format=xml")
      expect(bad.status).toBe(400)
      expect((await bad.json()).message).toContain("format must be \"json\" or \"prometheus\"")
      const limit = await t.get("/circuits?limit=0")
      expect(limit.status).toBe(400)
      expect((await limit.json()).message).toContain("limit must be a whole number from 1 to 10000 (got \"0\")")
      const state = await t.get("/circuits?state=open")
      expect(state.status).toBe(400)
      expect((await state.json()).message).toContain("state must be one of CLOSED, OPEN")
      expect((await t.get("/nope")).status).toBe(404)
      expect((await t.post("/circuits/payments/reset")).status).toBe(404)
      expect((await t.post("/reset-all")).status).toBe(404)
    } finally {
      await t.dispose()
    }
  })

  it("admin routes obey the authorize check", async () => {
    const t = await setup({
      authorize: (request) => Effect.succeed(request.headers["authorization"] === "Bearer admin-secret")
    })
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
      expect(await forced.json()).toMatchObject({ action: "force-open", state: "FORCED_OPEN" })
      const closed = await t.post("/circuits/payments/force-close", { authorization: "Bearer admin-secret" })
      expect(await closed.json()).toMatchObject({ action: "force-close", state: "FORCED_CLOSED" })
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

  it("any name works in every output: __proto__, quotes, backslashes, braces, unicode", async () => {
    const t = await setup({}, { defaults: { failureThreshold: 1, recoveryTimeout: "1 minute" } })
    try {
      await t.writer.runPromise(Effect.forEach(hostileNames, (name) => calls(name, 0, 1), { discard: true }))
      const health = await (await t.get("/health")).json()
      expect(Object.keys(health.services).sort()).toEqual([...hostileNames].sort())
      expect(health.services["__proto__"].state).toBe("OPEN")
      const all = await (await t.get("/metrics")).json()
      expect(Object.keys(all).sort()).toEqual([...hostileNames].sort())
      const circuits = await (await t.get("/circuits")).json()
      expect(circuits.circuits.map((c: { name: string }) => c.name)).toEqual([...hostileNames].sort())
      const text = await (await t.get("/metrics?format=prometheus")).text()
      const state = parsePrometheus(text).find((f) => f.name === "circuit_breaker_fleet_state")!
      expect(state.metrics.map((m) => (m as { labels: Record<string, string> }).labels.circuit).sort()).toEqual(
        [...hostileNames].sort()
      )
      const none = await (await t.get("/metrics?format=prometheus&circuits=none")).text()
      expect(none).not.toContain("circuit_breaker_fleet_state{")
      expect(none).toContain(`circuit_breaker_fleet_circuits{state="OPEN"} ${hostileNames.length}`)
    } finally {
      await t.dispose()
    }
  })

  it("GET /health: a circuit this instance has no breaker for carries this instance's id", async () => {
    const t = await setup()
    try {
      await t.writer.runPromise(Effect.forEach(["a", "b"], (name) => calls(name, 1, 0), { discard: true }))
      const health = await (await t.get("/health")).json()
      const ids = Object.values(health.services).map((s: any) => s.metrics.instanceId)
      expect(ids[0]).toMatch(/^i-/)
      expect(ids).toEqual([ids[0], ids[0]])
    } finally {
      await t.dispose()
    }
  })
})

describe("anonymous reads share one snapshot", () => {
  /** The routes as a layer (`router`), served by Effect's own Web handler on `store`. */
  const routerOver = (
    store: Layer.Layer<CircuitStore.CircuitStore>,
    options: CircuitBreakerHttp.Options = {}
  ) => {
    const app = CircuitBreakerHttp.router(options).pipe(
      Layer.provideMerge(CircuitBreakerHttp.layer({ snapshotTtl: "1 hour" })),
      Layer.provideMerge(store)
    )
    const web = HttpRouter.toWebHandler(app, { disableLogger: true })
    return {
      web,
      get: (path: string, headers: Record<string, string> = {}) =>
        web.handler(new Request(`http://localhost${path}`, { headers })),
      post: (path: string, headers: Record<string, string> = {}) =>
        web.handler(new Request(`http://localhost${path}`, { method: "POST", headers }))
    }
  }

  it("any number of read requests within snapshotTtl, on every route, cost one fleet read; an admin action drops it", async () => {
    const store = await sharedStore()
    const writer = instance(store.layer, { defaults: { failureThreshold: 1, recoveryTimeout: "1 hour" } })
    const names = Array.from({ length: 100 }, (_, i) => `tenant-${String(i).padStart(3, "0")}`)
    await writer.runPromise(Effect.forEach(names, (name, i) => calls(name, 1, i % 10 === 0 ? 1 : 0), { discard: true }))
    const t = routerOver(store.layer, { authorize: CircuitBreakerHttp.bearer("admin-secret") })
    try {
      store.counter.reads = 0
      const open = names.filter((_, i) => i % 10 === 0)
      const paths = [
        ...open.slice(0, 9).map((name) => `/circuits?state=OPEN&limit=1&cursor=${encodeURIComponent(name)}`),
        ...Array.from({ length: 3 }, () => "/metrics"),
        ...Array.from({ length: 3 }, () => "/metrics?format=prometheus&circuits=non-closed"),
        "/alerts",
        "/health",
        "/health?services=non-healthy"
      ]
      const together = await Promise.all(paths.map((path) => t.get(path)))
      for (const path of paths) await t.get(path)
      expect(store.counter.reads).toBe(1)
      for (const [i, response] of together.slice(0, 9).entries()) {
        expect(response.status).toBe(200)
        const body = await response.json()
        expect(body.circuits.map((c: { name: string }) => c.name)).toEqual([open[i + 1]])
      }
      const alerts = await together.at(-3)!.json()
      expect(alerts.alerts.filter((a: { kind: string }) => a.kind === "open")).toHaveLength(10)
      const text = await together[12]!.text()
      expect(text).toContain(`circuit_breaker_fleet_circuits{state="OPEN"} 10`)
      // an admin action drops the snapshot: the next read shows it
      const forced = await t.post(`/circuits/${names[1]}/force-open`, { authorization: "Bearer admin-secret" })
      expect(forced.status).toBe(200)
      const after = await (await t.get("/circuits?state=FORCED_OPEN")).json()
      expect(after.circuits.map((c: { name: string }) => c.name)).toEqual([names[1]])
      expect(store.counter.reads).toBeGreaterThanOrEqual(2)
    } finally {
      await t.web.dispose()
      await writer.dispose()
      await store.close()
    }
  })

  it("authorizeRead guards every read route; /health without it tells the verdict and counts, no name", async () => {
    const store = await sharedStore()
    const writer = instance(store.layer, { defaults: { failureThreshold: 1, recoveryTimeout: "1 hour" } })
    await writer.runPromise(
      Effect.forEach(
        Array.from({ length: 20 }, (_, i) => `secret-tenant-${i}`),
        (name, i) => calls(name, 1, i % 4 === 0 ? 1 : 0),
        { discard: true }
      )
    )
    const t = routerOver(store.layer, { authorizeRead: CircuitBreakerHttp.bearer(Redacted.make("reader-token")) })
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
      await t.web.dispose()
      await writer.dispose()
      await store.close()
    }
  })
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
    for (const none of [undefined, "", "   ", Redacted.make("")]) {
      for (const header of noTokenHeaders(String(none))) {
        expect(await check(none, header)).toBe(false)
      }
    }
  })

  it("a bearer check with no token: admin routes refuse everything, and the handler says so once when built", async () => {
    const logged: Array<string> = []
    const web = CircuitBreakerHttp.toWebHandler(
      CircuitStore.layerMemory.pipe(Layer.provideMerge(Logger.layer([
        Logger.make(({ message }) => {
          logged.push(String(message))
        })
      ]))),
      { authorize: CircuitBreakerHttp.bearer(undefined) }
    )
    try {
      // nothing is built before the first request
      expect(logged).toEqual([])
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
    const t = await setup({
      authorize: (request) => Effect.succeed(request.headers["cookie"] === "session=admin"),
      ...options
    })
    await t.writer.runPromise(calls("payments", 1, 0))
    const post = (path: string, headers: Record<string, string>, body?: string) =>
      t.post(path, { cookie: "session=admin", ...headers }, body)
    const state = async () => (await (await t.get("/circuits")).json()).circuits
    return { post, state, dispose: t.dispose }
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

describe("dashboard routes", () => {
  it("serve the page with its CSP, the script and stylesheet beside it, and permissions; dashboard: false leaves them out", async () => {
    const adminToken = "s3cret-admin"
    const store = await sharedStore()
    const on = CircuitBreakerHttp.toWebHandler(store.layer, {
      basePath: "/ops/cb",
      authorize: CircuitBreakerHttp.bearer(adminToken)
    })
    const off = CircuitBreakerHttp.toWebHandler(store.layer, { basePath: "/ops/cb", dashboard: false })
    const get = (web: typeof on, path: string, headers: Record<string, string> = {}) =>
      web.handler(new Request(`http://localhost/ops/cb${path}`, { headers }))
    try {
      const page = await get(on, "/dashboard")
      expect(page.status).toBe(200)
      expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8")
      expect(page.headers.get("content-security-policy")).toBe(dashboardCsp)
      expect(page.headers.get("x-frame-options")).toBe("DENY")
      expect(page.headers.get("referrer-policy")).toBe("no-referrer")
      const html = await page.text()
      // no inline script or style: the only script and stylesheet are the sibling routes
      expect(html).toContain(`<script src="dashboard/app.js" defer></script>`)
      expect(html).toContain(`<link rel="stylesheet" href="dashboard/app.css">`)
      expect(html).not.toMatch(/<script>|<script(?![^>]*\ssrc=)[^>]*>|<style|\sstyle=|\son[a-z]+=|javascript:/i)
      // with a trailing slash, the same files relative to it
      expect(await (await get(on, "/dashboard/")).text()).toContain(`<script src="app.js" defer></script>`)

      const js = await get(on, "/dashboard/app.js")
      expect(js.headers.get("content-type")).toBe("text/javascript; charset=utf-8")
      expect(js.headers.get("x-content-type-options")).toBe("nosniff")
      expect(js.headers.get("cross-origin-resource-policy")).toBe("same-origin")
      expect(await js.text()).toBe(script)
      const stylesheet = await get(on, "/dashboard/app.css")
      expect(stylesheet.headers.get("content-type")).toBe("text/css; charset=utf-8")
      expect(await stylesheet.text()).toBe(css)

      expect(await (await get(on, "/dashboard/permissions")).json()).toEqual({ admin: false })
      expect(await (await get(on, "/dashboard/permissions", { authorization: "Bearer nope" })).json()).toEqual({
        admin: false
      })
      const allowed = await get(on, "/dashboard/permissions", { authorization: `Bearer ${adminToken}` })
      expect(await allowed.json()).toEqual({ admin: true })
      expect(allowed.headers.get("cache-control")).toBe("no-store")
      expect(allowed.headers.get("vary")).toBe("authorization, cookie")

      for (const path of dashboardPaths) {
        expect((await get(off, path)).status).toBe(404)
      }
      expect((await get(off, "/health")).status).toBe(200)
      // without authorize the page never offers admin buttons
      const readOnly = CircuitBreakerHttp.toWebHandler(store.layer)
      try {
        const answer = await readOnly.handler(
          new Request("http://localhost/dashboard/permissions", { headers: { authorization: `Bearer ${adminToken}` } })
        )
        expect(await answer.json()).toEqual({ admin: false })
      } finally {
        await readOnly.dispose()
      }
    } finally {
      await on.dispose()
      await off.dispose()
      await store.close()
    }
  })
})

describe("the router in an Effect server", () => {
  it.live("CircuitBreakerHttp.router mounts in HttpRouter.serve on Node's http server", () =>
    Effect.gen(function*() {
      // what the routes need, provided outside `serve` (shared with the rest of the program)
      const services = CircuitBreakerHttp.layer({ snapshotTtl: 0 }).pipe(Layer.provideMerge(CircuitStore.layerMemory))
      const served = HttpRouter.serve(
        CircuitBreakerHttp.router({ basePath: "/cb", authorize: CircuitBreakerHttp.bearer("admin-secret") }),
        { disableLogger: true, disableListenLog: true, routerConfig: CircuitBreakerHttp.routerConfig }
      ).pipe(
        Layer.provideMerge(services),
        Layer.provideMerge(NodeHttpServer.layer(() => http.createServer(), { port: 0, host: "127.0.0.1" }))
      )
      const context = yield* Layer.build(served)
      const base = `${HttpServer.formatAddress(Context.get(context, HttpServer.HttpServer).address)}/cb`
      const registry = Context.get(context, CircuitBreakers.CircuitBreakers)
      yield* Effect.flatMap(registry.get("payments"), (breaker) => breaker.forceOpen)
      const health = yield* Effect.promise(() => fetch(`${base}/health`))
      expect(health.status).toBe(503)
      expect((yield* Effect.promise(() => health.json())).services.payments.state).toBe("FORCED_OPEN")
      const longName = encodeURIComponent("\u{1F600}".repeat(128))
      const admin = yield* Effect.promise(() =>
        fetch(`${base}/circuits/${longName}/reset`, {
          method: "POST",
          headers: { authorization: "Bearer admin-secret" }
        })
      )
      expect(admin.status).toBe(404)
      expect((yield* Effect.promise(() => admin.json())).message).toContain("no circuit named")
      const page = yield* Effect.promise(() => fetch(`${base}/dashboard`))
      expect(page.headers.get("content-security-policy")).toBe(dashboardCsp)
    }))
})
