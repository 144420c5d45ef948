/**
 * Next.js (its latest release), as a user sets it up: a fresh App Router project (TypeScript,
 * the tsconfig Next writes itself, no next.config at all) that installs the
 * packed tarball with `effect`, `ioredis` and `@effect/platform`, built with
 * `next build` (Turbopack) and served by two `next start` processes over one
 * real redis-server:
 *
 * - `/api/pay`: the Promise API, `withCircuitBreaker` around a handler that
 *   calls an upstream (a small HTTP server of this test). Its store comes
 *   from the environment (REDIS_URL), so ioredis is loaded at run time
 *   through the library's bundler-hidden `import()`.
 * - `/api/inventory`: the Effect API, `CircuitBreaker.protect("inventory")`
 *   on a `ManagedRuntime` whose store is `RedisCircuitStore.layer()` over
 *   `IORedisClient.layerConfig()` (the `/ioredis` entry point, which the
 *   bundler follows).
 * - `/api/cb/[...path]`: `CircuitBreakerHttp.toWebHandler` (`/http`) on
 *   `RedisCircuitStore.layerFromEnv()`: /health, /alerts.
 *
 * The upstream fails, the first server's circuits open (503 + Retry-After),
 * and the second server, which never saw a failure, answers 503 without
 * calling the upstream and reports both circuits OPEN on /health.
 */
import { createServer, type Server } from "node:http"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  type Background,
  background,
  type Consumer,
  freePort,
  makeConsumer,
  packageName,
  type Servers,
  startServers
} from "./support.js"

const log = (message: string) => console.log(`[consumers] nextjs: ${message}`)

const files: Record<string, string> = {
  "app/layout.tsx": `export const metadata = { title: "circuit breaker consumer" }

export default function RootLayout({ children }: { children: React.ReactNode }) {
  return (
    <html lang="en">
      <body>{children}</body>
    </html>
  )
}
`,
  "app/page.tsx": `export default function Home() {
  return <main>circuit breaker consumer</main>
}
`,
  // Route A: the Promise API on the store the environment names
  "app/api/pay/route.ts": `import { withCircuitBreaker } from "${packageName}/promise"

export const dynamic = "force-dynamic"

export const GET = withCircuitBreaker(
  async (request: Request) => {
    const upstream = await fetch(\`\${process.env.UPSTREAM_URL}/pay\`, { cache: "no-store" })
    const body = await upstream.text()
    return Response.json(
      { route: "pay", upstream: upstream.status, body, pid: process.pid },
      { status: upstream.ok ? 200 : 502 }
    )
  },
  "payments",
  { failureThreshold: 3, recoveryTimeout: 60_000 }
)
`,
  // Route B: the Effect API on a ManagedRuntime, Redis through the /ioredis entry point
  "lib/breakers.ts": `import { Layer, ManagedRuntime } from "effect"
import { CircuitBreakers, RedisCircuitStore } from "${packageName}"
import { IORedisClient } from "${packageName}/ioredis"

const Store = RedisCircuitStore.layer().pipe(Layer.provide(IORedisClient.layerConfig()))

const Breakers = CircuitBreakers.layer({
  circuits: { inventory: { failureThreshold: 2, recoveryTimeout: "60 seconds" } }
}).pipe(Layer.provide(Store))

export const runtime = ManagedRuntime.make(Breakers)
`,
  "app/api/inventory/route.ts": `import { Data, Duration, Effect } from "effect"
import { CircuitBreaker } from "${packageName}"
import { runtime } from "../../../lib/breakers"

export const dynamic = "force-dynamic"

class UpstreamDown extends Data.TaggedError("UpstreamDown")<{ readonly status: number }> {}

const stock = Effect.promise(() => fetch(\`\${process.env.UPSTREAM_URL}/inventory\`, { cache: "no-store" })).pipe(
  Effect.flatMap((response) =>
    response.ok ? Effect.promise(() => response.text()) : Effect.fail(new UpstreamDown({ status: response.status }))
  ),
  CircuitBreaker.protect("inventory")
)

export async function GET() {
  return runtime.runPromise(
    stock.pipe(
      Effect.map((body) => Response.json({ route: "inventory", body, pid: process.pid })),
      Effect.catchTags({
        UpstreamDown: (e) => Effect.succeed(Response.json({ route: "inventory", upstream: e.status }, { status: 502 })),
        CircuitOpen: (e) =>
          Effect.succeed(
            Response.json(
              { route: "inventory", code: "CIRCUIT_OPEN", state: e.state },
              { status: 503, headers: { "Retry-After": String(Math.max(1, Math.ceil(Duration.toSeconds(e.retryAfter)))) } }
            )
          )
      })
    )
  )
}
`,
  // Health, metrics, alerts (/http) on the store the environment names
  "app/api/cb/[...path]/route.ts": `import { RedisCircuitStore } from "${packageName}"
import { CircuitBreakerHttp } from "${packageName}/http"

export const dynamic = "force-dynamic"

const { handler } = CircuitBreakerHttp.toWebHandler(RedisCircuitStore.layerFromEnv(), { basePath: "/api/cb" })

export const GET = handler
`
}

/** The upstream both routes call: 200 "ok", or 500 for the paths marked down; counts hits by path. */
interface Upstream {
  readonly url: string
  readonly hits: Record<string, number>
  readonly down: Set<string>
  close(): Promise<void>
}

const startUpstream = async (): Promise<Upstream> => {
  const hits: Record<string, number> = {}
  const down = new Set<string>()
  const server: Server = createServer((request, response) => {
    const path = new URL(request.url ?? "/", "http://upstream").pathname
    hits[path] = (hits[path] ?? 0) + 1
    response.writeHead(down.has(path) ? 500 : 200, { "content-type": "text/plain" })
    response.end(down.has(path) ? "down" : "ok")
  })
  const port = await freePort()
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve))
  return {
    url: `http://127.0.0.1:${port}`,
    hits,
    down,
    close: () => new Promise((resolve) => server.close(() => resolve()))
  }
}

interface Answer {
  readonly status: number
  readonly retryAfter: string | null
  readonly body: any
}

const get = async (port: number, path: string): Promise<Answer> => {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(30_000) })
  const text = await response.text()
  let body: unknown = text
  try {
    body = JSON.parse(text)
  } catch {
    // not JSON: kept as text
  }
  return { status: response.status, retryAfter: response.headers.get("retry-after"), body }
}

/** Whole seconds within the 60 s recovery timeout, jittered ±10% (the default `backoffJitter`), rounded up, +1 s slack. */
const expectRetryAfter = (header: string | null) => {
  expect(header).toMatch(/^\d+$/)
  expect(Number(header)).toBeGreaterThanOrEqual(1)
  expect(Number(header)).toBeLessThanOrEqual(67)
}

describe("Next.js latest (App Router, Turbopack build, next start x2)", () => {
  let servers: Servers
  let upstream: Upstream
  let app: Consumer
  const started: Array<Background> = []

  const nextBin = () => join(app.dir, "node_modules", ".bin", "next")

  const start = async (label: string): Promise<{ port: number; server: Background }> => {
    const port = await freePort()
    const server = background(nextBin(), ["start", "-H", "127.0.0.1", "-p", String(port)], {
      cwd: app.dir,
      env: { NEXT_TELEMETRY_DISABLED: "1", REDIS_URL: servers.redis.url, UPSTREAM_URL: upstream.url }
    })
    started.push(server)
    const t0 = Date.now()
    await server.waitFor(/Ready in/, 60_000)
    log(`${label}: next start on port ${port} ready in ${Date.now() - t0} ms`)
    return { port, server }
  }

  beforeAll(async () => {
    servers = await startServers()
    upstream = await startUpstream()
    app = await makeConsumer("nextjs", {
      dependencies: {
        // Next.js's latest, with the react its peers resolve to; ioredis's latest (6)
        "next": "latest",
        "react": "latest",
        "react-dom": "latest",
        "effect": "3.22.4",
        "ioredis": "6",
        "@effect/platform": "0.97.2"
      },
      devDependencies: {
        "typescript": "5.9.3",
        "@types/node": "20.19.43",
        "@types/react": "19.3.3",
        "@types/react-dom": "19.3.0"
      },
      packageJson: { scripts: { build: "next build", start: "next start" } },
      files
    })
  })

  afterAll(async () => {
    await Promise.all(started.map((server) => server.stop()))
    await upstream?.close()
    await servers?.stop()
  })

  it("builds; two servers share the circuits through Redis (Promise API, Effect API, /http health)", async () => {
    const build = await app.run(nextBin(), ["build"], { env: { NEXT_TELEMETRY_DISABLED: "1" }, timeoutMs: 600_000 })
    const buildOutput = build.stdout + build.stderr
    log(`next build ${build.ms} ms`)
    const routes = buildOutput.split("\n").filter((line) => /^[┌├└]/.test(line)).map((line) => line.trim())
    log(`routes: ${routes.join(" | ")}`)
    const next = /Next\.js (\d+\.\d+\.\d+)/.exec(buildOutput)?.[1]
    log(`Next.js ${next}`)
    expect(next).toBeDefined()
    expect(buildOutput).toMatch(/Compiled successfully/)
    // (under CI=true Next warns that it has no build cache: that is about the CI, not the library)
    const warnings = buildOutput.split("\n").filter((line) => !/No build cache found/.test(line)).join("\n")
    expect(warnings).not.toMatch(/Module not found|Failed to compile|⚠/)
    for (const route of ["/api/pay", "/api/inventory", "/api/cb/[...path]"]) {
      expect(routes.find((line) => line.includes(route)), route).toMatch(/ƒ/)
    }

    const first = await start("server 1")

    // all up: both routes answer 200 through the upstream
    const ok = [await get(first.port, "/api/pay"), await get(first.port, "/api/pay")]
    expect(ok.map((a) => a.status)).toEqual([200, 200])
    expect(ok[0]!.body).toMatchObject({ route: "pay", upstream: 200, body: "ok" })
    const stock = await get(first.port, "/api/inventory")
    expect(stock).toMatchObject({ status: 200, body: { route: "inventory", body: "ok" } })
    const healthy = await get(first.port, "/api/cb/health")
    expect(healthy.status).toBe(200)
    expect(healthy.body).toMatchObject({
      overall: "healthy",
      services: { payments: { state: "CLOSED" }, inventory: { state: "CLOSED" } }
    })
    expect(upstream.hits).toEqual({ "/pay": 2, "/inventory": 1 })

    // the payments upstream fails: 3 failures (the handler's 502s pass through), then 503 + Retry-After
    upstream.down.add("/pay")
    const failing: Array<Answer> = []
    for (let i = 0; i < 3; i++) failing.push(await get(first.port, "/api/pay"))
    expect(failing.map((a) => a.status)).toEqual([502, 502, 502])
    expect(failing[0]!.body).toMatchObject({ route: "pay", upstream: 500, body: "down" })
    const open = await get(first.port, "/api/pay")
    expect(open.status).toBe(503)
    expect(open.body).toMatchObject({ error: "Service Unavailable", code: "CIRCUIT_OPEN", service: "payments" })
    expectRetryAfter(open.retryAfter)
    expect(upstream.hits["/pay"]).toBe(5)

    // the inventory upstream fails: 2 failures, then CircuitOpen → 503 + Retry-After
    upstream.down.add("/inventory")
    const inventoryFailing = [await get(first.port, "/api/inventory"), await get(first.port, "/api/inventory")]
    expect(inventoryFailing.map((a) => a.status)).toEqual([502, 502])
    const inventoryOpen = await get(first.port, "/api/inventory")
    expect(inventoryOpen.status).toBe(503)
    expect(inventoryOpen.body).toMatchObject({ code: "CIRCUIT_OPEN", state: "OPEN" })
    expectRetryAfter(inventoryOpen.retryAfter)
    expect(upstream.hits["/inventory"]).toBe(3)

    // the circuits live in Redis under the default prefix
    const keys = (await servers.redis.cli("--raw", "KEYS", "cb:*")).split("\n").sort()
    expect(keys).toEqual(expect.arrayContaining(["cb:{payments}:state", "cb:{inventory}:state"]))

    // a second process of the same build, on the same Redis, never saw a failure: it fails fast
    const second = await start("server 2")
    const hitsBefore = { ...upstream.hits }
    const remotePay = await get(second.port, "/api/pay")
    expect(remotePay.status).toBe(503)
    expect(remotePay.body).toMatchObject({ code: "CIRCUIT_OPEN", service: "payments" })
    expectRetryAfter(remotePay.retryAfter)
    const remoteInventory = await get(second.port, "/api/inventory")
    expect(remoteInventory.status).toBe(503)
    expect(remoteInventory.body).toMatchObject({ code: "CIRCUIT_OPEN" })
    expect(upstream.hits).toEqual(hitsBefore) // the upstream was not called

    const unhealthy = await get(second.port, "/api/cb/health")
    expect(unhealthy.status).toBe(503)
    expect(unhealthy.body).toMatchObject({
      overall: "unhealthy",
      services: { payments: { status: "unhealthy", state: "OPEN" }, inventory: { status: "unhealthy", state: "OPEN" } }
    })
    const alerts = await get(second.port, "/api/cb/alerts")
    expect(alerts.status).toBe(200)
    const openAlerts = (alerts.body.alerts as Array<{ kind: string; service: string }>)
      .filter((alert) => alert.kind === "open")
      .map((alert) => alert.service)
      .sort()
    expect(openAlerts).toEqual(["inventory", "payments"])

    // no request errored in either server
    for (const { server } of [first, second]) expect(server.output()).not.toMatch(/⨯|Error:/)

    log(
      `results: server 1 /api/pay ${ok.map((a) => a.status).join(",")} then ${
        failing.map((a) => a.status).join(",")
      } then ${open.status} (Retry-After ${open.retryAfter}); /api/inventory ${stock.status} then ${
        inventoryFailing.map((a) => a.status).join(",")
      } then ${inventoryOpen.status} (Retry-After ${inventoryOpen.retryAfter}); server 2 /api/pay ${remotePay.status} (Retry-After ${remotePay.retryAfter}), /api/inventory ${remoteInventory.status}, /api/cb/health ${unhealthy.status} ${unhealthy.body.overall} (payments ${unhealthy.body.services.payments.state}, inventory ${unhealthy.body.services.inventory.state}); upstream hits ${
        JSON.stringify(upstream.hits)
      }`
    )
  })
})
