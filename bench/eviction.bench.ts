/**
 * Bounded memory per process (issue 12): a process touches 50,000 tenant
 * circuits once each (one success, one failure, through the `CircuitBreakers`
 * registry), then keeps using 10. With a short idle TTL it must come back to
 * its baseline plus at most 1 KB per live circuit, on the memory store and on
 * Redis, and Effect's global metric registry must not grow with the names.
 *
 *   npm run bench:eviction
 *   BENCH_TENANTS=10000 BENCH_ROUNDS=5 npm run bench:eviction
 *
 * Each store runs `BENCH_ROUNDS` rounds in one process, each on 50,000 new
 * names: baseline (the runtime built, the live circuits in use), peak (right
 * after the touch), after (the live circuits used for 4 idle TTLs). Heap is
 * `heapUsed` after forced GCs, and, at baseline and after, a heap snapshot
 * split into compiled code, Effect's scheduler table and objects
 * (test/support/heap.ts): V8 compiles, optimizes and flushes code as it
 * likes, and the scheduler's table follows the fibers of the last seconds,
 * which moves `heapUsed` by hundreds of KB either way; the objects are what
 * the process kept.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Metric from "effect/Metric"
import { CircuitBreaker, CircuitBreakers, CircuitStore, RedisCircuitStore } from "../src/index.js"
import { IORedisClient } from "../src/ioredis.js"
import { serviceCounts } from "../src/internal/monitoring/metrics.js"
import { heapSplit } from "../test/support/heap.js"
import { type RedisServer, startRedis } from "../test/support/redisServer.js"
import { environment, envInt, fmt, markdownTable, median } from "./support.js"

const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) {
  console.error("eviction.bench needs a callable GC: npm run bench:eviction (node --expose-gc …)")
  process.exit(2)
}
const forceGc: () => void = gc

const TENANTS = envInt("BENCH_TENANTS", 50_000)
const LIVE = 10
const IDLE_MS = envInt("BENCH_IDLE_MS", 1_000)
const ROUNDS = envInt("BENCH_ROUNDS", 3)
const GOAL_BYTES = 1024
const WARM = 2_000

/**
 * `name` in the form V8 keeps for good: internalized (flat, hashed, in the
 * string table), as a property key is. A template literal of 13 or more
 * characters is a rope (a ConsString of its pieces) that V8 flattens in place
 * when the library first reads it, and a GC then drops the rope and its pieces
 * for the flat copy: each name shrank by ~24 B between baseline and after, −1.2
 * MB a round of 50,000 (the swing of the memory store's figure; the Redis
 * rounds reused names already flat).
 */
const settled = (name: string): string => Object.keys({ [name]: 0 })[0]!

// every name is made, in its final form, before the first baseline: the bench's own strings are
// not charged to anyone
const tenants: ReadonlyArray<ReadonlyArray<string>> = Array.from(
  { length: ROUNDS },
  (_, round) => Array.from({ length: TENANTS }, (_, i) => settled(`tenant-${round}-${i}`))
)
const live: ReadonlyArray<string> = Array.from({ length: LIVE }, (_, i) => settled(`live-${i}`))

const settle = async (): Promise<number> => {
  for (let i = 0; i < 6; i++) {
    forceGc()
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  return process.memoryUsage().heapUsed
}

const boom = Effect.fail(new Error("down"))

/** One round: heap and registry figures at baseline, peak and after. */
interface Round {
  readonly baseline: number
  readonly peak: number
  readonly after: number
  readonly objects: number
  readonly code: number
  readonly scheduler: number
  readonly registryBefore: number
  readonly registryPeak: number
  readonly registryAfter: number
  readonly localServicesAfter: number
  readonly seconds: number
}

interface Result {
  readonly label: string
  readonly rounds: ReadonlyArray<Round>
}

const run = async (label: string, storeLayer: Layer.Layer<CircuitStore.CircuitStore>): Promise<Result> => {
  const runtime = ManagedRuntime.make(
    CircuitBreakers.layer({ idleTtl: IDLE_MS, defaults: { monitoringPeriod: Math.max(100, Math.floor(IDLE_MS / 2)) } })
      .pipe(Layer.provideMerge(storeLayer), Layer.orDie)
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
  // the first snapshot loads what taking one needs: not the circuits' doing
  await heapSplit()

  const rounds: Array<Round> = []
  for (const names of tenants) {
    const baseline = await settle()
    const before = await heapSplit()
    const registryBefore = Metric.unsafeSnapshot().length
    const started = performance.now()
    await touch(names)
    const seconds = (performance.now() - started) / 1000
    const peak = await settle()
    const registryPeak = Metric.unsafeSnapshot().length
    // the process keeps using its 10 circuits for a while: idle ones are evicted meanwhile
    await keepUsingLive()
    const after = await settle()
    const split = await heapSplit()
    rounds.push({
      baseline,
      peak,
      after,
      objects: split.objects - before.objects,
      code: split.code - before.code,
      scheduler: split.scheduler - before.scheduler,
      registryBefore,
      registryPeak,
      registryAfter: Metric.unsafeSnapshot().length,
      localServicesAfter: serviceCounts().local,
      seconds
    })
    log(`${label}, round ${rounds.length}: ${JSON.stringify(rounds.at(-1))}`)
  }
  await runtime.dispose()
  return { label, rounds }
}

const log = (line: string) => process.stderr.write(line + "\n")
log(environment())
log(
  `${TENANTS.toLocaleString("en-US")} tenants a round, ${ROUNDS} rounds, ${LIVE} live circuits, idle TTL ${IDLE_MS} ms`
)

const results: Array<Result> = []
results.push(await run("memory store", Layer.orDie(CircuitStore.layerMemoryWith({ idleTtl: IDLE_MS }))))

let redis: RedisServer | undefined
try {
  redis = await startRedis()
  const layer = RedisCircuitStore.layer({ prefix: `bench-${process.pid}`, idleTtl: IDLE_MS }).pipe(
    Layer.provide(IORedisClient.layer({ url: redis.url })),
    Layer.orDie
  )
  results.push(await run("Redis store (ioredis)", layer))
} finally {
  await redis?.stop()
}

/** `median (min–max)` of `f` over a store's rounds. */
const spread = (rounds: ReadonlyArray<Round>, f: (round: Round) => number, digits = 0): string => {
  const xs = rounds.map(f)
  return rounds.length === 1
    ? fmt(xs[0], digits)
    : `${fmt(median(xs), digits)} (${fmt(Math.min(...xs), digits)} – ${fmt(Math.max(...xs), digits)})`
}
const kb = (bytes: number) => bytes / 1024
const perLive = (bytes: number) => bytes / LIVE

const out: Array<string> = []
out.push("## eviction: memory of a process that touched many tenant circuits")
out.push("")
out.push(`${environment()}  `)
out.push(
  `${TENANTS.toLocaleString("en-US")} new tenant circuits per round touched once (one success, one failure) through ` +
    `\`CircuitBreakers\`, then ${LIVE} circuits kept in use for 4 idle TTLs (${IDLE_MS} ms); ${ROUNDS} rounds per ` +
    "store in one process. Heap after forced GCs, against a baseline taken at the start of each round with the " +
    "runtime built and the live circuits in use; objects, code and Effect's scheduler table from heap snapshots " +
    "at baseline and after (heapUsed includes all three). " +
    "Median (min – max) over rounds."
)
out.push("")
out.push(markdownTable(
  [
    "store",
    "baseline heapUsed KB",
    "peak B / tenant",
    "after − baseline, heapUsed KB",
    "… B / live circuit",
    "after − baseline, objects B / live circuit",
    "after − baseline, code KB",
    "after − baseline, Effect scheduler table KB",
    "Metric.snapshot before / peak / after",
    "locally counted services after",
    "touch s"
  ],
  results.map(({ label, rounds }) => {
    const last = rounds.at(-1)!
    return [
      label,
      spread(rounds, (r) => kb(r.baseline)),
      spread(rounds, (r) => (r.peak - r.baseline) / TENANTS),
      spread(rounds, (r) => kb(r.after - r.baseline), 1),
      spread(rounds, (r) => perLive(r.after - r.baseline)),
      spread(rounds, (r) => perLive(r.objects)),
      spread(rounds, (r) => kb(r.code), 1),
      spread(rounds, (r) => kb(r.scheduler), 1),
      `${last.registryBefore} / ${last.registryPeak} / ${last.registryAfter}`,
      String(last.localServicesAfter),
      spread(rounds, (r) => r.seconds, 1)
    ]
  })
))
out.push("")
for (const { label, rounds } of results) {
  const heap = median(rounds.map((r) => perLive(r.after - r.baseline)))
  const objects = median(rounds.map((r) => perLive(r.objects)))
  const added = Math.max(...rounds.map((r) => r.registryAfter - r.registryBefore))
  out.push(
    `${label}: objects ${fmt(objects, 0)} B per live circuit over the baseline (median), ${
      objects <= GOAL_BYTES ? "meets" : "MISSES"
    } the ≤ ${GOAL_BYTES} B goal; heapUsed ${fmt(heap, 0)} B, ${heap <= GOAL_BYTES ? "meets" : "misses"} it; ` +
      `Effect's metric registry ${added <= 16 * LIVE ? "bounded" : "GREW"} (at most ${added} entries added in a round).`
  )
}
console.log(out.join("\n"))
