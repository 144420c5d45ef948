/**
 * Anonymous reads against the fleet: 10,000 circuits seeded in a redis-server
 * this bench starts (loopback only), the HTTP routes in this process
 * (`CircuitBreakerHttp.toWebHandler`), and CLIENTS concurrent clients that ask
 * for SECONDS seconds for a page of the OPEN circuits from a fresh cursor each
 * time (`GET /circuits?state=OPEN&limit=1&cursor=<random name>`), with
 * `/alerts`, `/health` and a Prometheus scrape in between. Meanwhile another
 * process, as another instance of the fleet, PINGs Redis every 10 ms on a
 * connection of its own and calls a `fail-closed` breaker on the same prefix
 * every 5 ms. Prints Redis's CPU (`INFO cpu`, user + sys, over the wall time),
 * PING p50/p99/max, and the calls the fail-closed instance lost.
 *
 * Modes (MODES, default both): `snapshot`, the routes as they are (one shared
 * fleet read per `snapshotTtl`, 1 s); `per-request`, each request reads the
 * store itself (`CircuitBreakerMonitoring.read` with its filters and cursor,
 * what a route without the snapshot costs).
 *
 *   npm run bench:anonymous           CIRCUITS=10000 CLIENTS=16 SECONDS=10 MODES=snapshot,per-request
 */
import { spawn } from "node:child_process"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { Redis } from "ioredis"
import { CircuitBreakerMonitoring, CircuitBreakers, RedisCircuitStore } from "../src/index.js"
import { CircuitBreakerHttp } from "../src/http.js"
import { IORedisClient } from "../src/ioredis.js"
import { startRedis } from "../test/support/redisServer.js"
import { seedCircuits } from "../test/support/seed.js"
import { envInt, quantile } from "./support.js"

const CIRCUITS = envInt("CIRCUITS", 10_000)
const CLIENTS = envInt("CLIENTS", 16)
const SECONDS = envInt("SECONDS", 10)
const MODES = (process.env["MODES"] ?? "snapshot,per-request").split(",").map((m) => m.trim())

interface ProbeResult {
  readonly pings: ReadonlyArray<number>
  readonly calls: number
  readonly lost: number
  readonly reasons: Record<string, number>
}

/** The other instance: PINGs on its own connection, and a fail-closed breaker called every 5 ms. */
const probe = async (url: string, prefix: string, seconds: number): Promise<ProbeResult> => {
  const redis = new Redis(url)
  const runtime = ManagedRuntime.make(
    CircuitBreakers.layer({ defaults: { onStoreUnavailable: "fail-closed" } }).pipe(
      Layer.provideMerge(RedisCircuitStore.layer({ prefix })),
      Layer.provide(IORedisClient.layer({ url }))
    )
  )
  const breaker = await runtime.runPromise(
    Effect.flatMap(CircuitBreakers.CircuitBreakers, (r) => r.get("other-instance"))
  )
  await runtime.runPromise(breaker.protect(Effect.void))
  await redis.ping()
  const end = Date.now() + seconds * 1000
  const pings: Array<number> = []
  const reasons: Record<string, number> = {}
  let calls = 0
  let lost = 0
  const pinging = (async () => {
    while (Date.now() < end) {
      const started = performance.now()
      await redis.ping()
      pings.push(performance.now() - started)
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  })()
  const calling = (async () => {
    while (Date.now() < end) {
      calls++
      const exit = await runtime.runPromiseExit(breaker.protect(Effect.void))
      if (exit._tag === "Failure") {
        lost++
        const reason = String(exit.cause).slice(0, 80)
        reasons[reason] = (reasons[reason] ?? 0) + 1
      }
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  })()
  await Promise.all([pinging, calling])
  await runtime.dispose()
  redis.disconnect()
  return { pings, calls, lost, reasons }
}

const cpuSeconds = async (redis: Redis) => {
  const info = await redis.info("cpu")
  const field = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? Number.NaN)
  return field("used_cpu_sys") + field("used_cpu_user")
}

const runProbe = (url: string, prefix: string): Promise<ProbeResult> =>
  new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [...process.execArgv, process.argv[1]!, "probe", url, prefix, String(SECONDS)],
      { stdio: ["ignore", "pipe", "inherit"] }
    )
    let out = ""
    child.stdout.on("data", (chunk) => (out += chunk))
    child.on("error", reject)
    child.on("exit", (code) => {
      if (code !== 0) reject(new Error(`the probe exited with ${code}`))
      else resolve(JSON.parse(out) as ProbeResult)
    })
  })

const main = async () => {
  const server = await startRedis()
  const redis = new Redis(server.url)
  try {
    const prefix = "anon"
    const names = await seedCircuits(server.url, prefix, CIRCUITS, { openEvery: 100 })
    const store = RedisCircuitStore.layer({ prefix }).pipe(Layer.provide(IORedisClient.layer({ url: server.url })))
    const web = CircuitBreakerHttp.toWebHandler(store, { monitoring: { snapshotTtl: "1 second" } })
    const direct = ManagedRuntime.make(CircuitBreakerHttp.layer().pipe(Layer.provideMerge(store)))
    const fresh = () => encodeURIComponent(names[Math.floor(Math.random() * names.length)]!)
    const paths = [
      () => `/circuits?state=OPEN&limit=1&cursor=${fresh()}`,
      () => `/circuits?state=OPEN&limit=1&cursor=${fresh()}`,
      () => `/circuits?state=OPEN&limit=1&cursor=${fresh()}`,
      () => "/alerts",
      () => `/circuits?state=OPEN&limit=1&cursor=${fresh()}`,
      () => "/health?services=non-healthy",
      () => `/circuits?state=OPEN&limit=1&cursor=${fresh()}`,
      () => "/metrics?format=prometheus&circuits=non-closed"
    ]
    /** One request of the mode: through the routes, or the store read each one costs without the snapshot. */
    const request = (mode: string, path: string): Promise<unknown> => {
      if (mode === "snapshot") return web.handler(new Request(`http://localhost${path}`)).then((r) => r.text())
      const url = new URL(path, "http://localhost")
      const cursor = url.searchParams.get("cursor")
      return direct.runPromise(
        Effect.flatMap(
          CircuitBreakerMonitoring.CircuitBreakerMonitoring,
          (m): Effect.Effect<unknown> =>
            url.pathname === "/alerts"
              ? m.getAlerts
              : url.pathname === "/health"
              ? m.health
              : m.read(
                url.pathname === "/metrics" ? {} : { state: ["OPEN"], limit: 1, ...(cursor === null ? {} : { cursor }) }
              )
        )
      ).then((body) => JSON.stringify(body))
    }
    // warm: the script loaded, the clock offsets known
    await request("snapshot", "/health")
    await request("per-request", "/health")
    const rows: Array<string> = []
    for (const mode of MODES) {
      console.error(`${mode}: ${CLIENTS} clients for ${SECONDS} s over ${CIRCUITS} circuits…`)
      const probed = runProbe(server.url, prefix)
      await new Promise((resolve) => setTimeout(resolve, 1_500)) // the probe's runtime is up
      const cpuBefore = await cpuSeconds(redis)
      const started = performance.now()
      const end = Date.now() + SECONDS * 1000
      let requests = 0
      let failed = 0
      await Promise.all(Array.from({ length: CLIENTS }, async (_, client) => {
        let i = client
        while (Date.now() < end) {
          await request(mode, paths[i++ % paths.length]!()).then(() => requests++, () => failed++)
        }
      }))
      const wall = (performance.now() - started) / 1000
      const cpu = (await cpuSeconds(redis)) - cpuBefore
      const result = await probed
      const reasons = Object.entries(result.reasons).map(([reason, n]) => `${n}× ${reason}`).join("; ")
      rows.push(
        `| ${mode} | ${requests} (${failed} failed) | ${(100 * cpu / wall).toFixed(1)} % | ` +
          `${quantile(result.pings, 0.5).toFixed(2)} / ${quantile(result.pings, 0.99).toFixed(2)} / ` +
          `${Math.max(...result.pings).toFixed(2)} ms | ${result.lost} of ${result.calls}${
            reasons === "" ? "" : ` (${reasons})`
          } |`
      )
    }
    await web.dispose()
    await direct.dispose()
    console.log(
      `\n${CIRCUITS} circuits, ${CLIENTS} clients, ${SECONDS} s each; transform: ${process.execArgv.join(" ")}\n`
    )
    console.log("| mode | requests answered | Redis CPU | PING p50 / p99 / max | fail-closed calls lost |")
    console.log("| --- | --- | --- | --- | --- |")
    for (const row of rows) console.log(row)
  } finally {
    redis.disconnect()
    await server.stop()
  }
}

if (process.argv[2] === "probe") {
  probe(process.argv[3]!, process.argv[4]!, Number(process.argv[5])).then(
    (result) => process.stdout.write(JSON.stringify(result)),
    (error) => {
      console.error(error)
      process.exit(1)
    }
  )
} else {
  main().catch((error) => {
    console.error(error)
    process.exit(1)
  })
}
