/**
 * Every program in examples/ runs here, against local servers: a real
 * redis-server, the Upstash bridge in front of it, and a local HTTP upstream
 * that can be switched between healthy and failing. They are also
 * type-checked with the rest of the project (`npm run typecheck`), so none
 * can rot.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { execFile } from "node:child_process"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { promisify } from "node:util"
import { CircuitBreakers } from "../src/index.js"
import { configureCircuitBreakers, disposeCircuitBreakers } from "../src/promise.js"
import { type RedisServer, redisServerScoped } from "./support/redisServer.js"
import { freshPrefix, upstashBridgeScoped } from "./support/stores.js"
import { beforeAllScoped } from "./support/suite.js"
import type { UpstashBridge } from "./shared/upstashBridge.js"

let redis: RedisServer
let bridge: UpstashBridge
let upstreamUrl = ""
let upstreamStatus = 200
let upstreamCalls = 0
const token = "examples-token-77a1"

/** A local HTTP upstream answering `upstreamStatus` with a JSON body. */
const upstreamScoped = Effect.acquireRelease(
  Effect.promise(async () => {
    const upstream = createServer((request, response) => {
      upstreamCalls++
      response.writeHead(upstreamStatus, { "content-type": "application/json" })
      response.end(JSON.stringify({ items: ["a", "b"], path: request.url }))
    })
    await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve))
    return upstream
  }),
  (upstream) => Effect.promise(() => new Promise((resolve) => upstream.close(resolve)))
)

// released in reverse: the Promise API's breakers first, while Redis still answers
beforeAllScoped(Effect.gen(function*() {
  redis = yield* redisServerScoped()
  bridge = yield* upstashBridgeScoped(redis, token)
  const upstream = yield* upstreamScoped
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/items`
  yield* Effect.acquireRelease(
    Effect.sync(() => {
      process.env.UPSTASH_REDIS_REST_URL = bridge.url
      process.env.UPSTASH_REDIS_REST_TOKEN = token
    }),
    () =>
      Effect.sync(() => {
        delete process.env.UPSTASH_REDIS_REST_URL
        delete process.env.UPSTASH_REDIS_REST_TOKEN
      })
  )
  yield* Effect.addFinalizer(() => Effect.promise(() => disposeCircuitBreakers()))
}))

describe("examples", () => {
  it("nextjs-route.ts: 200 while the catalog is up; its 5xx count; then 503 with Retry-After", async () => {
    await configureCircuitBreakers({ prefix: freshPrefix() })
    process.env.CATALOG_URL = upstreamUrl
    const { GET } = await import("../examples/nextjs-route.js")
    upstreamStatus = 200
    const ok = await GET(new Request("http://app.local/api/catalog?category=books"))
    expect(ok.status).toBe(200)
    expect((await ok.json()).path).toBe("/items?category=books")

    upstreamStatus = 500
    for (let i = 0; i < 3; i++) expect((await GET(new Request("http://app.local/api/catalog"))).status).toBe(502)
    const before = upstreamCalls
    const open = await GET(new Request("http://app.local/api/catalog"))
    expect(open.status).toBe(503)
    expect(Number(open.headers.get("retry-after"))).toBeGreaterThanOrEqual(9)
    expect(await open.json()).toMatchObject({ code: "CIRCUIT_OPEN", service: "catalog-api" })
    expect(upstreamCalls).toBe(before) // the open circuit never called the catalog
  })

  it("vercel-edge.ts: the Upstash-backed breaker opens after 5 upstream failures", async () => {
    process.env.UPSTREAM_URL = upstreamUrl
    const edge = await import("../examples/vercel-edge.js")
    try {
      expect(edge.config.runtime).toBe("edge")
      upstreamStatus = 200
      expect((await edge.default(new Request("http://edge.local/"))).status).toBe(200)
      upstreamStatus = 503
      for (let i = 0; i < 5; i++) expect((await edge.default(new Request("http://edge.local/"))).status).toBe(502)
      const rejected = await edge.default(new Request("http://edge.local/"))
      expect(rejected.status).toBe(503)
      // recoveryTimeout 15 s, jitter ±10 %, rounded up to whole seconds
      expect(Number(rejected.headers.get("retry-after"))).toBeGreaterThanOrEqual(13)
      expect(Number(rejected.headers.get("retry-after"))).toBeLessThanOrEqual(17)
      // the state is in Redis, where every Edge isolate sees it
      expect(await redis.cli("HGET", "cb:{upstream}:state", "state")).toBe("OPEN")
    } finally {
      await edge.dispose()
    }
  })

  it.live("effect-program.ts: retries while closed, the cached price once open, a patient caller after a reset", () =>
    Effect.gen(function*() {
      const { Breakers, PriceService, priceOf, priceOfPatiently } = yield* Effect.promise(() =>
        import("../examples/effect-program.js")
      )
      const service = new PriceService()
      yield* Effect.gen(function*() {
        expect(yield* priceOf(service, "sku-1")).toBe(42)
        service.down = true
        // three attempts (two retries) fail; the third failure opens the circuit
        const first = yield* Effect.either(priceOf(service, "sku-1"))
        expect(first._tag === "Left" && first.left.message).toContain("price service unavailable")
        expect(service.calls).toBe(4)
        // open: the cached price at once, and the service is not called
        expect(yield* priceOf(service, "sku-1")).toBe(40)
        expect(service.calls).toBe(4)
        // a patient caller (retrySchedule) gets through once the circuit is closed again
        service.down = false
        const registry = yield* CircuitBreakers.CircuitBreakers
        yield* Effect.flatMap(registry.get("prices"), (b) => b.reset) // a short wait, for the test's sake
        expect(yield* priceOfPatiently(service, "sku-1")).toBe(42)
      }).pipe(Effect.provide(Breakers))
    }))

  it("health-route.ts: health and metrics, admin behind the bearer token", async () => {
    process.env.CIRCUIT_ADMIN_TOKEN = "admin-token-123"
    const route = await import("../examples/health-route.js")
    try {
      const health = await route.GET(new Request("http://app.local/api/circuit-breakers/health"))
      expect(health.status).toBeOneOf([200, 503])
      expect(await health.json()).toHaveProperty("overall")
      const metrics = await route.GET(new Request("http://app.local/api/circuit-breakers/metrics?format=prometheus"))
      expect(await metrics.text()).toContain("# TYPE circuit_breaker_fleet_state gauge")
      const admin = (path: string, headers: Record<string, string>) =>
        route.POST(new Request(`http://app.local/api/circuit-breakers${path}`, { method: "POST", headers }))
      expect((await admin("/reset-all", {})).status).toBe(401)
      expect((await admin("/reset-all", { authorization: "Bearer admin-token-1234" })).status).toBe(403)
      // another site's page, with the right token: refused all the same
      const crossSite = await admin("/reset-all", {
        authorization: "Bearer admin-token-123",
        origin: "https://evil.example"
      })
      expect(crossSite.status).toBe(403)
      const reset = await admin("/reset-all", { authorization: "Bearer admin-token-123" })
      expect(reset.status).toBe(200)
      const { results } = await reset.json()
      expect(results.every((r: { success: boolean }) => r.success)).toBe(true)
      // a circuit no one uses is not created by a typo
      const typo = await admin("/circuits/upstraem/reset", { authorization: "Bearer admin-token-123" })
      expect(typo.status).toBe(404)
    } finally {
      await route.dispose()
    }
  })

  it(
    "demo.ts (npm run demo): the fleet opens, probes and closes on the memory store",
    { timeout: 60_000 },
    async () => {
      const env = { ...process.env }
      delete env.UPSTASH_REDIS_REST_URL
      delete env.UPSTASH_REDIS_REST_TOKEN
      delete env.REDIS_URL
      const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", "examples/demo.ts"], {
        env,
        timeout: 50_000
      })
      expect(stdout).toContain("Store: in-memory")
      expect(stdout).toMatch(/instance-\d {2}CLOSED -> OPEN/)
      expect(stdout).toMatch(/HALF_OPEN -> CLOSED/)
      const final = /final state on each instance:\s+(.*)/.exec(stdout)?.[1]
      expect(final).toBe("CLOSED, CLOSED, CLOSED, CLOSED")
      const hitDead = Number(/calls that hit the dead upstream:\s+(\d+)/.exec(stdout)?.[1])
      expect(hitDead).toBeGreaterThan(0)
      expect(hitDead).toBeLessThan(20)
    }
  )
})
