/**
 * This library's Effect 4 edition against Effect 4's own breaker
 * (`effect/persistence/CircuitBreaker`), side by side in one run: time per
 * call, and the Redis commands and Redis CPU per healthy, failing and
 * rejected call, each over Redis and in memory.
 *
 *   node --import ../bench/register.mjs bench/vsEffect.bench.ts           (in effect4/)
 *   BENCH_ROUNDS=11 BENCH_BATCH_MS=400 node --import ../bench/register.mjs bench/vsEffect.bench.ts
 *   BENCH_ONLY=effect ...   (Effect 4's breaker only; BENCH_ONLY=ours: this library only)
 *   BENCH_STORE=memory ...  (the memory stores only; BENCH_STORE=redis: the Redis stores only)
 *
 * Every (variant, case) has a redis-server of its own (test/shared/redisServer.ts),
 * so `INFO commandstats` and `INFO cpu` of that server count exactly what
 * that variant sent in that case, background work (cache refreshes, deferred
 * flushes) included, whenever it happened. One more server with no client
 * gives the idle CPU, subtracted from the others.
 *
 * Rounds are interleaved: every round runs every variant's batch of every
 * case once, in a rotated order; a batch is as many sequential calls as take
 * about BENCH_BATCH_MS (calibrated once, after the warm-up). Time ratios are
 * the median of the per-round ratios.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as EffectBreaker from "effect/persistence/CircuitBreaker"
import * as NodeRedis from "@effect/platform-node/NodeRedis"
import { readFileSync } from "node:fs"
import * as os from "node:os"
import { execFileSync } from "node:child_process"
import { type RedisServer, startRedis } from "../../test/shared/redisServer.js"
import { environment, envInt, fmt, markdownTable, median, transform } from "../../bench/support.js"
import type { RedisClient } from "../src/RedisClient.js"
import { luaCommands, type RedisSnapshot, snapshot, traffic } from "../../bench/shared/redisStats.js"

/** Timed rounds. */
const ROUNDS = envInt("BENCH_ROUNDS", 7)
/** Untimed rounds first (JIT, script loading, connections). */
const WARMUP = envInt("BENCH_WARMUP", 2)
/** Target duration of one batch (ms). */
const BATCH_MS = envInt("BENCH_BATCH_MS", 250)
/** `BENCH_ONLY=effect`: Effect 4's breaker only; `BENCH_ONLY=ours`: this library only. */
const ONLY = process.env.BENCH_ONLY
/** `BENCH_STORE=memory` or `BENCH_STORE=redis`: those variants only. */
const STORE = process.env.BENCH_STORE

const log = (line: string) => process.stderr.write(line + "\n")
const load = () => os.loadavg().map((x) => x.toFixed(2)).join(", ")
const uptime = () => {
  try {
    return execFileSync("uptime", { encoding: "utf8" }).trim()
  } catch {
    return `load average: ${load()}`
  }
}

class Boom extends Error {
  readonly _tag = "Boom"
}

type Outcome = "ok" | "failed" | "rejected" | "other"
type CaseName = "healthy" | "failing" | "rejected" | "concurrent"
const CASES: ReadonlyArray<CaseName> = ["healthy", "failing", "rejected", "concurrent"]
const expected: Record<CaseName, Outcome> = {
  healthy: "ok",
  failing: "failed",
  rejected: "rejected",
  concurrent: "ok"
}
/** Fibers of the concurrent case (healthy calls, each fiber one call at a time). */
const FIBERS = envInt("BENCH_FIBERS", 100)

/** One (variant, case): `n` sequential calls in one `runPromise`, counted by outcome. */
interface Batch {
  readonly run: (n: number) => Promise<Record<Outcome, number>>
  readonly server: RedisServer | undefined
  readonly dispose: () => Promise<void>
}

interface Variant {
  readonly label: string
  readonly library: "ours" | "effect"
  readonly store: "redis" | "memory"
  /** The commands its Lua runs inside a script (not round trips). */
  readonly scriptCommands: ReadonlySet<string>
  readonly make: (kind: CaseName, server: RedisServer | undefined) => Promise<Batch>
}

/** `n` sequential calls of `call` inside one Effect, counted by outcome. */
const loop = <E>(call: Effect.Effect<number, E>, classify: (error: E) => Outcome) => (n: number) =>
  Effect.gen(function*() {
    const tally: Record<Outcome, number> = { ok: 0, failed: 0, rejected: 0, other: 0 }
    for (let i = 0; i < n; i++) {
      const result = yield* Effect.result(call)
      tally[result._tag === "Success" ? "ok" : classify(result.failure)]++
    }
    return tally
  })

/** The batch of a case: `loop`, or for the concurrent case FIBERS fibers sharing `n` calls. */
const batchOf = <E>(kind: CaseName, call: Effect.Effect<number, E>, classify: (error: E) => Outcome) => {
  const sequential = loop(call, classify)
  if (kind !== "concurrent") return sequential
  return (n: number) =>
    Effect.map(
      Effect.forEach(
        Array.from({ length: FIBERS }, (_, i) => Math.floor((n * (i + 1)) / FIBERS) - Math.floor((n * i) / FIBERS)),
        sequential,
        { concurrency: "unbounded" }
      ),
      (tallies) => {
        const tally: Record<Outcome, number> = { ok: 0, failed: 0, rejected: 0, other: 0 }
        for (const t of tallies) for (const o of ["ok", "failed", "rejected", "other"] as const) tally[o] += t[o]
        return tally
      }
    )
}

// ---------------------------------------------------------------------------
// Effect 4's breaker: effect/persistence/CircuitBreaker
// ---------------------------------------------------------------------------

const effectScripts = luaCommands(
  readFileSync(new URL("../node_modules/effect/src/persistence/CircuitBreaker.ts", import.meta.url), "utf8")
)

const effectClassify = (error: Boom | EffectBreaker.CircuitBreakerError): Outcome =>
  error instanceof Boom
    ? "failed"
    : error.reason._tag === "CircuitOpen" || error.reason._tag === "CircuitHalfOpen"
    ? "rejected"
    : "other"

const effectVariant = (store: "redis" | "memory"): Variant => ({
  label: `Effect 4 CircuitBreaker, ${store === "redis" ? "Redis store (NodeRedis)" : "memory store"}`,
  library: "effect",
  store,
  scriptCommands: effectScripts,
  make: async (kind, server) => {
    const storeLayer = server === undefined
      ? EffectBreaker.layerStoreMemory()
      : EffectBreaker.layerStoreRedis({ prefix: "bench:" }).pipe(
        Layer.provide(NodeRedis.layer({ url: server.url }))
      )
    const breakerLayer = EffectBreaker.layer({
      // the failing case must stay Closed; the rejected case is opened for an hour
      tripPolicy: EffectBreaker.consecutive(kind === "failing" ? 1_000_000_000 : 5),
      openDuration: "1 hour"
    }).pipe(Layer.provide(storeLayer))
    const rt = ManagedRuntime.make(breakerLayer)
    const breaker = await rt.runPromise(Effect.service(EffectBreaker.CircuitBreaker))
    const execute = <E>(self: Effect.Effect<number, E>) => breaker.execute(self, { key: kind })
    if (kind === "rejected") {
      await rt.runPromise(loop(execute(Effect.fail(new Boom())), effectClassify)(5))
      const state = await rt.runPromise(breaker.state(kind))
      if (state._tag !== "Open") throw new Error(`Effect 4's circuit did not open (${state._tag})`)
    }
    const call = kind === "failing"
      ? execute(Effect.fail(new Boom()) as Effect.Effect<number, Boom>)
      : execute(Effect.succeed(1))
    const run = batchOf(kind, call, effectClassify)
    return { run: (n) => rt.runPromise(run(n)), server, dispose: () => rt.dispose() }
  }
})

// ---------------------------------------------------------------------------
// this library, Effect 4 edition
// ---------------------------------------------------------------------------

const oursScripts = luaCommands(
  readFileSync(new URL("../../lua/circuit.lua", import.meta.url), "utf8"),
  readFileSync(new URL("../../lua/manyCircuits.lua", import.meta.url), "utf8")
)

/**
 * This library on the memory store, or on `RedisCircuitStore` over `IORedisClient`
 * (`"ioredis"`) or over Effect 4's own Redis service (`RedisClient.layerEffectRedis`
 * over `NodeRedis`, the client Effect 4's breaker uses: `"node-redis"`).
 */
const oursVariant = (store: "memory" | "ioredis" | "node-redis"): Variant => ({
  label: `this library, ${
    store === "ioredis"
      ? "RedisCircuitStore (IORedisClient)"
      : store === "node-redis"
      ? "RedisCircuitStore (layerEffectRedis, NodeRedis)"
      : "memory store"
  }`,
  library: "ours",
  store: store === "memory" ? "memory" : "redis",
  scriptCommands: oursScripts,
  make: async (kind, server) => {
    const CircuitBreaker = await import("../src/CircuitBreaker.js")
    const client = async (url: string): Promise<Layer.Layer<RedisClient, unknown>> =>
      store === "node-redis"
        ? (await import("../src/RedisClient.js")).layerEffectRedis().pipe(Layer.provide(NodeRedis.layer({ url })))
        : (await import("../src/IORedisClient.js")).layer({ url })
    const storeLayer = server === undefined
      ? (await import("../src/CircuitStore.js")).layerMemory
      : (await import("../src/RedisCircuitStore.js")).layer({ prefix: "bench" }).pipe(
        Layer.provide(await client(server.url))
      )
    const rt = ManagedRuntime.make(storeLayer)
    const breaker = await rt.runPromise(
      CircuitBreaker.make(
        kind,
        kind === "failing"
          ? { failureThreshold: 1_000_000_000 }
          : { failureThreshold: 5, recoveryTimeout: 3_600_000, maxRecoveryTimeout: 3_600_000 }
      )
    )
    const classify = (error: { readonly _tag: string }): Outcome =>
      error._tag === "Boom" ? "failed" : error._tag === "CircuitOpen" ? "rejected" : "other"
    if (kind === "rejected") {
      await rt.runPromise(loop(breaker.protect(Effect.fail(new Boom())), classify)(5))
      const state = await rt.runPromise(breaker.state)
      if (state !== "OPEN") throw new Error(`this library's circuit did not open (${state})`)
    }
    const call = kind === "failing"
      ? breaker.protect(Effect.fail(new Boom()) as Effect.Effect<number, Boom>)
      : breaker.protect(Effect.succeed(1))
    const run = batchOf(kind, call, classify)
    return { run: (n) => rt.runPromise(run(n)), server, dispose: () => rt.dispose() }
  }
})

// ---------------------------------------------------------------------------
// main
// ---------------------------------------------------------------------------

const variants: ReadonlyArray<Variant> = [
  oursVariant("ioredis"),
  oursVariant("node-redis"),
  effectVariant("redis"),
  oursVariant("memory"),
  effectVariant("memory")
].filter((v) => (ONLY === undefined || v.library === ONLY) && (STORE === undefined || v.store === STORE))

log(environment())
log(uptime())
const loadBefore = uptime()
const started = Date.now()

interface Slot {
  readonly variant: Variant
  readonly kind: CaseName
  readonly batch: Batch
  n: number
  readonly perCall: Array<number>
  calls: number
  start: RedisSnapshot | undefined
}

const servers: Array<RedisServer> = []
const slots: Array<Slot> = []
const idle = await startRedis()
servers.push(idle)
try {
  for (const variant of variants) {
    for (const kind of CASES) {
      const server = variant.store === "redis" ? await startRedis() : undefined
      if (server !== undefined) servers.push(server)
      log(`setting up: ${variant.label}, ${kind}`)
      slots.push({
        variant,
        kind,
        batch: await variant.make(kind, server),
        n: 200,
        perCall: [],
        calls: 0,
        start: undefined
      })
    }
  }

  const runSlot = async (slot: Slot, timed: boolean) => {
    const t0 = performance.now()
    const tally = await slot.batch.run(slot.n)
    const ms = performance.now() - t0
    const want = expected[slot.kind]
    if (tally[want] !== slot.n) {
      throw new Error(`${slot.variant.label}, ${slot.kind}: expected ${slot.n} × ${want}, got ${JSON.stringify(tally)}`)
    }
    if (timed) {
      slot.perCall.push((ms * 1000) / slot.n)
      slot.calls += slot.n
    }
    return ms
  }

  // warm-up, then calibration: n such that a batch takes about BATCH_MS
  for (let w = 0; w < WARMUP; w++) {
    log(`warm-up ${w + 1}/${WARMUP}`)
    for (const slot of slots) {
      const ms = await runSlot(slot, false)
      slot.n = Math.max(100, Math.min(5_000_000, Math.round((slot.n * BATCH_MS) / Math.max(ms, 0.01))))
    }
  }
  const idleStart = await snapshot(idle)
  for (const slot of slots) if (slot.batch.server !== undefined) slot.start = await snapshot(slot.batch.server)
  const timedFrom = Date.now()

  for (let round = 0; round < ROUNDS; round++) {
    log(`round ${round + 1}/${ROUNDS} (load ${load()})`)
    for (let k = 0; k < slots.length; k++) await runSlot(slots[(k + round * 5) % slots.length]!, true)
  }
  // ours sends its batched counts once a second: wait for the last flush
  await new Promise((resolve) => setTimeout(resolve, 1_300))
  const idleEnd = await snapshot(idle)
  const timedSeconds = (Date.now() - timedFrom) / 1000
  const idleCpu = idleEnd.cpu - idleStart.cpu

  // -- report -----------------------------------------------------------------
  const out: Array<string> = []
  const version = (await idle.cli("INFO", "server")).match(/redis_version:(\S+)/)?.[1] ?? "?"
  out.push("## This library (Effect 4 edition) vs Effect 4's CircuitBreaker: per call")
  out.push("")
  out.push(`${environment()}; ${transform}  `)
  out.push(
    `redis-server ${version}; ${ROUNDS} rounds of ${BATCH_MS} ms batches after ${WARMUP} warm-up rounds; ` +
      `timed part ${fmt(timedSeconds, 0)} s, whole run ${fmt((Date.now() - started) / 1000, 0)} s.  `
  )
  out.push(`Before: \`${loadBefore}\`  `)
  out.push(`After: \`${uptime()}\``)
  out.push("")
  out.push(
    "Configs: this library `CircuitBreaker.make(name, …)` + `protect` with its defaults (stateCacheTtl 1 s, " +
      "batched counts flushed every second); Effect 4 `CircuitBreaker.layer({ tripPolicy: consecutive(5), openDuration: \"1 hour\" })` + " +
      "`execute({ key })`, `layerStoreRedis()` over `NodeRedis.layer`. Failing case: a threshold no run reaches (the circuit " +
      "stays closed). Rejected case: the circuit opened by 5 failures, open for an hour. Concurrent case: healthy calls " +
      `from ${FIBERS} fibers at once, each one call at a time (its µs/call is the inverse of the throughput).`
  )
  out.push("")
  const rows: Array<Array<string>> = []
  const details: Array<string> = []
  for (const kind of CASES) {
    for (const slot of slots.filter((s) => s.kind === kind)) {
      const t = slot.start !== undefined && slot.batch.server !== undefined
        ? traffic(slot.start, await snapshot(slot.batch.server), slot.variant.scriptCommands)
        : undefined
      const per = (x: number, digits: number) => (t === undefined ? "—" : fmt(x / slot.calls, digits))
      rows.push([
        `${kind}: ${slot.variant.label}`,
        fmt(median(slot.perCall), 2),
        fmt(Math.min(...slot.perCall), 2) + "–" + fmt(Math.max(...slot.perCall), 2),
        slot.calls.toLocaleString("en-US"),
        per(t?.sent ?? 0, 4),
        per(t?.inScript ?? 0, 4),
        per(t?.usec ?? 0, 3),
        per(((t?.cpu ?? 0) - idleCpu) * 1e6, 3)
      ])
      if (kind === "concurrent") {
        details.push(
          `- concurrent, ${slot.variant.label}: ${fmt(1e6 / median(slot.perCall), 0)} calls/s (median round)`
        )
      }
      if (t !== undefined) {
        details.push(
          `- ${kind}, ${slot.variant.label}: sent ${t.detail || "nothing"} for ${
            slot.calls.toLocaleString("en-US")
          } calls`
        )
      }
    }
  }
  out.push(markdownTable(
    [
      "case: breaker",
      "µs/call (median)",
      "min–max",
      "calls",
      "commands sent/call",
      "in script/call",
      "Redis µs/call (commandstats)",
      "Redis CPU µs/call (INFO cpu)"
    ],
    rows
  ))
  out.push("")
  for (const line of details) out.push(line)
  out.push(`- idle server's CPU over the timed part (subtracted from INFO cpu): ${fmt(idleCpu * 1000, 1)} ms`)

  // per-round ratios: Effect 4's ÷ ours, same store, same case, same round
  const ratioRows: Array<Array<string>> = []
  for (const ourVariant of variants.filter((v) => v.library === "ours")) {
    for (const kind of CASES) {
      const ours = slots.find((s) => s.kind === kind && s.variant === ourVariant)
      const theirs = slots.find((s) =>
        s.kind === kind && s.variant.library === "effect" && s.variant.store === ourVariant.store
      )
      if (ours === undefined || theirs === undefined) continue
      const ratios = ours.perCall.map((x, i) => theirs.perCall[i]! / x)
      ratioRows.push([
        `${kind}: ${theirs.variant.label} ÷ ${ourVariant.label}`,
        fmt(median(ratios), 1) + "×",
        fmt(Math.min(...ratios), 1) + "–" + fmt(Math.max(...ratios), 1)
      ])
    }
  }
  if (ratioRows.length > 0) {
    out.push("")
    out.push("Time per call, Effect 4's breaker ÷ this library (median of the per-round ratios):")
    out.push("")
    out.push(markdownTable(["case: Effect 4 ÷ this library", "ratio", "min–max"], ratioRows))
  }
  console.log(out.join("\n"))
} finally {
  for (const slot of slots) await slot.batch.dispose().catch(() => {})
  await Promise.all(servers.map((s) => s.stop()))
}
