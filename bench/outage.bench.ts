/**
 * Per-call cost of a rejection while the circuit is OPEN (during an outage),
 * side by side with cockatiel's rejection (an open `ConsecutiveBreaker`), in
 * the same run: `protect` on the memory store and on the Redis store (TCP,
 * its own redis-server), and the Promise API's `execute` on the memory store.
 *
 *   npm run bench:outage
 *   BENCH_CALLS=50000 BENCH_ROUNDS=25 npm run bench:outage
 *
 * See bench/README.md for what is measured and how to read the output.
 */
import { BrokenCircuitError, circuitBreaker, ConsecutiveBreaker, handleAll } from "cockatiel"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { CircuitBreaker, CircuitStore, RedisCircuitStore } from "../src/index.js"
import type { CircuitConfig } from "../src/index.js"
import { IORedisClient } from "../src/ioredis.js"
import { makeCircuitBreakerRuntime } from "../src/promise.js"
import { startRedis } from "../test/support/redisServer.js"
import { environment, envInt, fmt, markdownTable, median, quantile, transform } from "./support.js"

/** Sequential rejected calls per timed batch (one batch = one variant, one round). */
const CALLS = envInt("BENCH_CALLS", 20_000)
/** Timed rounds; every round runs every variant once, in a rotated order. */
const ROUNDS = envInt("BENCH_ROUNDS", 15)
/** Untimed rounds first, so every variant is JIT-compiled before timing. */
const WARMUP = envInt("BENCH_WARMUP", 3)

/** The goals per rejection: ≤ 2 µs added, ≤ 0.5 × cockatiel's. */
const GOAL_US = 2
const GOAL_RATIO = 0.5

type Role = "effectBaseline" | "promiseBaseline" | "memory" | "redis" | "execute" | "cockatiel"

interface Variant {
  readonly label: string
  readonly role: Role
  readonly baseline: "effectBaseline" | "promiseBaseline" | undefined
  /** Runs `n` sequential calls and returns how many were rejected (the baselines: how many ran). */
  readonly run: (n: number) => Promise<number>
}

const log = (line: string) => process.stderr.write(line + "\n")

// ---------------------------------------------------------------------------
// setup (outside every timed loop)
// ---------------------------------------------------------------------------

/** Opens at the first failure and stays open for the whole run. */
const config: CircuitConfig.Input = {
  failureThreshold: 1,
  recoveryTimeout: "5 minutes",
  maxRecoveryTimeout: "5 minutes",
  backoffJitter: 0
}

const one = () => 1
const boom = Effect.fail("boom")
/** The call each breaker rejects (it never runs while the circuit is open). */
const call = Effect.succeed(1)

/** `n` sequential `yield*` in one `Effect.gen`, in ONE `runPromise`, counting the calls that failed. */
const effectLoop = <E>(self: Effect.Effect<number, E>) => (n: number): Promise<number> => {
  const counted = Effect.match(self, { onFailure: one, onSuccess: one })
  return Effect.runPromise(Effect.gen(function*() {
    let sum = 0
    for (let i = 0; i < n; i++) sum += yield* counted
    return sum
  }))
}

/** `n` sequential `await call()` in a plain async function, counting every settled call. */
const promiseLoop = (call: () => Promise<unknown>) => async (n: number): Promise<number> => {
  let sum = 0
  for (let i = 0; i < n; i++) {
    try {
      await call()
      sum += 1
    } catch {
      sum += 1
    }
  }
  return sum
}

log(environment())
log(`transform: ${transform}`)
const server = await startRedis()
log(`redis-server on port ${server.port}`)

const memoryRuntime = ManagedRuntime.make(CircuitStore.layerMemory)
const redisRuntime = ManagedRuntime.make(
  RedisCircuitStore.layer({ prefix: "outage" }).pipe(Layer.provide(IORedisClient.layer({ url: server.url })))
)
const promiseRuntime = makeCircuitBreakerRuntime({ store: CircuitStore.layerMemory })

const memoryBreaker = await memoryRuntime.runPromise(CircuitBreaker.make("outage-memory", config))
const redisBreaker = await redisRuntime.runPromise(CircuitBreaker.make("outage-redis", config))
const promiseBreaker = promiseRuntime.createCircuitBreaker("outage-promise", config)
const cockatielPolicy = circuitBreaker(handleAll, { halfOpenAfter: 300_000, breaker: new ConsecutiveBreaker(1) })

// open every breaker with one failure
await memoryRuntime.runPromise(Effect.either(memoryBreaker.protect(boom)))
await redisRuntime.runPromise(Effect.either(redisBreaker.protect(boom)))
await promiseBreaker.execute(() => Promise.reject(new Error("boom"))).catch(() => undefined)
await cockatielPolicy.execute(() => Promise.reject(new Error("boom"))).catch(() => undefined)

const fn = (): Promise<number> => Promise.resolve(1)
const memoryProtected = call.pipe(CircuitBreaker.protect(memoryBreaker))
const redisProtected = call.pipe(CircuitBreaker.protect(redisBreaker))

/** A variant's loop in its own runtime (the Redis store's round trips run on it). */
const inRuntime = <R>(
  runtime: ManagedRuntime.ManagedRuntime<R, unknown>,
  self: Effect.Effect<number, unknown, R>
) =>
(n: number): Promise<number> => {
  const counted = Effect.match(self, { onFailure: one, onSuccess: one })
  return runtime.runPromise(Effect.gen(function*() {
    let sum = 0
    for (let i = 0; i < n; i++) sum += yield* counted
    return sum
  }))
}

const variants: ReadonlyArray<Variant> = [
  { label: "Effect: plain effect (baseline)", role: "effectBaseline", baseline: undefined, run: effectLoop(call) },
  {
    label: "Effect: protect, memory store",
    role: "memory",
    baseline: "effectBaseline",
    run: inRuntime(memoryRuntime, memoryProtected)
  },
  {
    label: "Effect: protect, Redis store (TCP)",
    role: "redis",
    baseline: "effectBaseline",
    run: inRuntime(redisRuntime, redisProtected)
  },
  { label: "Promise: await fn() (baseline)", role: "promiseBaseline", baseline: undefined, run: promiseLoop(fn) },
  {
    label: "Promise: execute(fn), memory store",
    role: "execute",
    baseline: "promiseBaseline",
    run: promiseLoop(() => promiseBreaker.execute(fn))
  },
  {
    label: "Promise: cockatiel execute(fn)",
    role: "cockatiel",
    baseline: "promiseBaseline",
    run: promiseLoop(() => cockatielPolicy.execute(fn))
  }
]

// sanity: every breaker rejects (and names the state and the wait)
const rejection = await memoryRuntime.runPromise(Effect.flip(memoryProtected))
if (rejection._tag !== "CircuitOpen" || rejection.state !== "OPEN") throw new Error("memory breaker is not open")
const redisRejection = await redisRuntime.runPromise(Effect.flip(redisProtected))
if (redisRejection._tag !== "CircuitOpen") throw new Error("Redis breaker is not open")
const promiseRejection = await promiseBreaker.execute(fn).then(() => undefined, (e: unknown) => e)
if ((promiseRejection as { code?: string } | undefined)?.code !== "CIRCUIT_OPEN") {
  throw new Error("Promise breaker is not open")
}
const cockatielRejection = await cockatielPolicy.execute(fn).then(() => undefined, (e: unknown) => e)
if (!(cockatielRejection instanceof BrokenCircuitError)) throw new Error("cockatiel breaker is not open")

// ---------------------------------------------------------------------------
// measurement
// ---------------------------------------------------------------------------

/** Script calls Redis ran (EVALSHA + EVAL), from `INFO commandstats`. */
const scriptCalls = async (): Promise<number> => {
  const stats = await server.cli("INFO", "commandstats")
  let calls = 0
  for (const match of stats.matchAll(/cmdstat_(?:evalsha|eval|evalsha_ro|eval_ro):calls=(\d+)/g)) {
    calls += Number(match[1])
  }
  return calls
}

/** ns per call, one entry per timed round, indexed by variant. */
const samples: Array<Array<number>> = variants.map(() => [])
let redisCalls = 0
let redisRoundTrips = 0

const timeBatch = async (variant: Variant, n: number): Promise<number> => {
  const start = process.hrtime.bigint()
  const sum = await variant.run(n)
  const elapsed = Number(process.hrtime.bigint() - start)
  if (sum !== n) throw new Error(`${variant.label}: expected ${n} calls, got ${sum}`)
  return elapsed / n
}

log(`calls per batch: ${CALLS.toLocaleString("en-US")}, rounds: ${ROUNDS} (+${WARMUP} warm-up)`)
const started = Date.now()
for (let round = -WARMUP; round < ROUNDS; round++) {
  const offset = ((round % variants.length) + variants.length) % variants.length
  for (let k = 0; k < variants.length; k++) {
    const vi = (k + offset) % variants.length
    const variant = variants[vi]!
    const before = variant.role === "redis" ? await scriptCalls() : 0
    const nsPerCall = await timeBatch(variant, CALLS)
    if (round >= 0) {
      samples[vi]!.push(nsPerCall)
      if (variant.role === "redis") {
        redisCalls += CALLS
        redisRoundTrips += (await scriptCalls()) - before
      }
    }
  }
  log(round < 0 ? `warm-up ${round + WARMUP + 1}/${WARMUP}` : `round ${round + 1}/${ROUNDS}`)
}
const seconds = (Date.now() - started) / 1000

// the breakers stayed open and counted their rejections
const memoryMetrics = await memoryRuntime.runPromise(memoryBreaker.metrics)
const redisMetrics = await redisRuntime.runPromise(redisBreaker.metrics)
const expected = (ROUNDS + WARMUP) * CALLS
for (const m of [memoryMetrics, redisMetrics]) {
  if (m.state !== "OPEN" || m.rejections < expected) {
    throw new Error(`${m.service} did not stay OPEN / count every rejection: ${JSON.stringify(m)}`)
  }
}

await memoryRuntime.dispose()
await redisRuntime.dispose()
await promiseRuntime.dispose()
await server.stop()

// ---------------------------------------------------------------------------
// report
// ---------------------------------------------------------------------------

const indexOf = (role: Role) => variants.findIndex((v) => v.role === role)
const added = (vi: number): ReadonlyArray<number> => {
  const v = variants[vi]!
  if (v.baseline === undefined) return samples[vi]!
  const bi = indexOf(v.baseline)
  return samples[vi]!.map((ns, r) => ns - samples[bi]![r]!)
}
const addedOf = (role: Role) => added(indexOf(role))
const ratio = (role: Role, other: Role): number => {
  const mine = addedOf(role)
  const theirs = addedOf(other)
  return median(mine.map((ns, r) => ns / theirs[r]!))
}

const out: Array<string> = []
out.push("## outage: per-call cost of a rejection while OPEN")
out.push("")
out.push(`${environment()}  `)
out.push(`transform: ${transform}  `)
out.push(
  `${CALLS.toLocaleString("en-US")} sequential rejected calls per batch, ${ROUNDS} interleaved rounds after ` +
    `${WARMUP} warm-up rounds (${fmt(seconds, 0)} s).  `
)
out.push(
  "Median over rounds; \"added\" is the median of the per-round difference to the variant's own baseline " +
    "(Effect rows: the plain effect in the same `Effect.gen` loop; Promise rows: a plain `await fn()` loop " +
    "with the same `try`/`catch`), with its interquartile range."
)
out.push("")
const rows = variants.map((v, vi) => {
  const ns = samples[vi]!
  if (v.baseline === undefined) return [v.label, fmt(median(ns)), "—", "—"]
  const a = added(vi)
  return [v.label, fmt(median(ns)), fmt(median(a)), `${fmt(quantile(a, 0.25))} – ${fmt(quantile(a, 0.75))}`]
})
out.push(markdownTable(["variant", "ns/call", "added ns/call", "added IQR"], rows))
out.push("")
out.push("### ratios (medians of per-round ratios of added cost)")
out.push("")
const verdict = (role: Role) => {
  const us = median(addedOf(role)) / 1000
  const r = ratio(role, "cockatiel")
  const ok = us <= GOAL_US && r <= GOAL_RATIO
  return [fmt(us, 2), fmt(r, 2), ok ? `meets ≤ ${GOAL_US} µs and ≤ ${GOAL_RATIO}×` : "MISSES"]
}
out.push(markdownTable(["rejection", "added µs", "÷ cockatiel", "goal"], [
  ["protect, memory store", ...verdict("memory")],
  ["protect, Redis store (TCP)", ...verdict("redis")],
  ["Promise execute, memory store", ...verdict("execute")]
]))
out.push("")
out.push(
  `Redis store: ${fmt((redisRoundTrips / redisCalls) * 1000, 2)} script calls per 1,000 rejections ` +
    `(${redisRoundTrips} over ${redisCalls.toLocaleString("en-US")} timed rejections, counted by Redis; ` +
    "the batched rejection counts and the cache refresh once per `stateCacheTtl`)."
)
out.push("")
out.push(
  "cockatiel: `circuitBreaker(handleAll, { halfOpenAfter: 300_000, breaker: new ConsecutiveBreaker(1) })`, " +
    "opened by one failure; its rejection is a rejected Promise of a `BrokenCircuitError`. Ours: " +
    "`failureThreshold: 1`, `recoveryTimeout` 5 minutes, opened by one failure; a rejection is a " +
    "`CircuitOpen` failure (`protect`) or a Promise rejected with a `CircuitBreakerError` (`execute`)."
)

console.log(out.join("\n"))
