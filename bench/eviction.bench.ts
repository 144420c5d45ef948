/**
 * Bounded memory per process (issue 12): a process touches 50,000 tenant
 * circuits once each (one success, one failure, through the `CircuitBreakers`
 * registry), then keeps using 10. With a short idle TTL it must come back to
 * its baseline plus at most 1 KB per live circuit, on the memory store and on
 * Redis, and Effect's global metric registry must not grow with the names.
 *
 *   npm run bench:eviction
 *   BENCH_TENANTS=10000 BENCH_IDLE_MS=500 npm run bench:eviction
 *
 * Heap is `heapUsed` after forced GCs. The baseline is taken once the runtime
 * is built and the 10 live circuits are in use; "peak" right after the 50,000
 * were touched; "after" once the live circuits were used for 4 idle TTLs.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Metric from "effect/Metric"
import { CircuitBreaker, CircuitBreakers, CircuitStore, RedisCircuitStore } from "../src/index.js"
import { IORedisClient } from "../src/ioredis.js"
import { serviceCounts } from "../src/CircuitBreakerMetrics.js"
import { type RedisServer, startRedis } from "../test/support/redisServer.js"
import { environment, envInt, fmt, markdownTable } from "./support.js"

const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) {
  console.error("eviction.bench needs a callable GC: npm run bench:eviction (node --expose-gc …)")
  process.exit(2)
}
const forceGc: () => void = gc

const TENANTS = envInt("BENCH_TENANTS", 50_000)
const LIVE = 10
const IDLE_MS = envInt("BENCH_IDLE_MS", 1_000)
const GOAL_BYTES = 1024
const WARM = 2_000

const tenants: ReadonlyArray<string> = Array.from({ length: TENANTS }, (_, i) => `tenant-${i}`)
const live: ReadonlyArray<string> = Array.from({ length: LIVE }, (_, i) => `live-${i}`)

const settle = async (): Promise<number> => {
  for (let i = 0; i < 6; i++) {
    forceGc()
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  return process.memoryUsage().heapUsed
}

const boom = Effect.fail(new Error("down"))

interface Result {
  readonly label: string
  readonly peakPerName: number
  readonly afterPerLive: number
  readonly registryBefore: number
  readonly registryPeak: number
  readonly registryAfter: number
  readonly localServicesAfter: number
  readonly seconds: number
}

const run = async (label: string, storeLayer: Layer.Layer<CircuitStore.CircuitStore>): Promise<Result> => {
  const runtime = ManagedRuntime.make(
    CircuitBreakers.layer({ idleTtl: IDLE_MS, defaults: { monitoringPeriod: Math.max(100, Math.floor(IDLE_MS / 2)) } }).pipe(Layer.provideMerge(storeLayer), Layer.orDie)
  )
  const use = (name: string, fail: boolean) =>
    runtime.runPromise(Effect.either((fail ? boom : Effect.succeed(1)).pipe(CircuitBreaker.protect(name))))
  const useLive = async () => {
    for (const name of live) await use(name, false)
  }
  const touch = async (names: ReadonlyArray<string>) => {
    for (const name of names) {
      await use(name, false)
      await use(name, true)
    }
  }
  const keepUsingLive = async () => {
    const until = performance.now() + IDLE_MS * 4
    while (performance.now() < until) {
      await useLive()
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }
  // warm-up: every code path (creation, failure, eviction) runs once before the baseline, so
  // the code V8 compiles for them is not charged to the tenants
  await useLive()
  await touch(Array.from({ length: WARM }, (_, i) => `warm-${i}`))
  await keepUsingLive()
  const baseline = await settle()
  const registryBefore = Metric.unsafeSnapshot().length

  const started = performance.now()
  await touch(tenants)
  const seconds = (performance.now() - started) / 1000
  const peak = await settle()
  const registryPeak = Metric.unsafeSnapshot().length

  // the process keeps using its 10 circuits for a while: idle ones are evicted meanwhile
  await keepUsingLive()
  const after = await settle()
  const result: Result = {
    label,
    peakPerName: (peak - baseline) / TENANTS,
    afterPerLive: (after - baseline) / LIVE,
    registryBefore,
    registryPeak,
    registryAfter: Metric.unsafeSnapshot().length,
    localServicesAfter: serviceCounts().local,
    seconds
  }
  await runtime.dispose()
  return result
}

const log = (line: string) => process.stderr.write(line + "\n")
log(environment())
log(`${TENANTS.toLocaleString("en-US")} tenants, ${LIVE} live circuits, idle TTL ${IDLE_MS} ms`)

const results: Array<Result> = []
results.push(await run("memory store", Layer.orDie(CircuitStore.layerMemoryWith({ idleTtl: IDLE_MS }))))
log(JSON.stringify(results.at(-1)))

let redis: RedisServer | undefined
try {
  redis = await startRedis()
  const layer = RedisCircuitStore.layer({ prefix: `bench-${process.pid}`, idleTtl: IDLE_MS }).pipe(
    Layer.provide(IORedisClient.layer({ url: redis.url })),
    Layer.orDie
  )
  results.push(await run("Redis store (ioredis)", layer))
  log(JSON.stringify(results.at(-1)))
} finally {
  await redis?.stop()
}

const out: Array<string> = []
out.push("## eviction: memory of a process that touched many tenant circuits")
out.push("")
out.push(`${environment()}  `)
out.push(
  `${TENANTS.toLocaleString("en-US")} tenant circuits touched once (one success, one failure) through ` +
    `\`CircuitBreakers\`, then ${LIVE} circuits kept in use for 4 idle TTLs (${IDLE_MS} ms). ` +
    "Heap after forced GCs, against a baseline taken with the runtime built and the live circuits in use."
)
out.push("")
out.push(markdownTable(
  [
    "store",
    "peak B / tenant",
    "after: B / live circuit over baseline",
    "Metric.snapshot before / peak / after",
    "locally counted services after",
    "touch s"
  ],
  results.map((r) => [
    r.label,
    fmt(r.peakPerName, 0),
    fmt(r.afterPerLive, 0),
    `${r.registryBefore} / ${r.registryPeak} / ${r.registryAfter}`,
    String(r.localServicesAfter),
    fmt(r.seconds, 1)
  ])
))
out.push("")
for (const r of results) {
  out.push(
    `${r.label}: ${fmt(r.afterPerLive, 0)} B per live circuit over the baseline — ${
      r.afterPerLive <= GOAL_BYTES ? "meets" : "MISSES"
    } the ≤ ${GOAL_BYTES} B goal; Effect's metric registry ${
      r.registryAfter - r.registryBefore <= 16 * LIVE ? "bounded" : "GREW"
    } (${r.registryAfter - r.registryBefore} entries added).`
  )
}
console.log(out.join("\n"))
