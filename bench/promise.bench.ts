/**
 * Per-call cost of the Promise side — `createCircuitBreaker(...).execute(fn)`
 * on a CLOSED circuit (memory store) — side by side with opossum's `fire()`
 * and cockatiel's `execute(fn)`, each measured as the cost it adds over a
 * plain `await fn()`.
 *
 *   node --import ./bench/register.mjs bench/promise.bench.ts
 *   BENCH_CALLS=200000 BENCH_ROUNDS=25 node --import ./bench/register.mjs bench/promise.bench.ts
 *
 * See bench/README.md for the method (it is the one of `protect.bench.ts`).
 */
import { circuitBreaker, ConsecutiveBreaker, handleAll } from "cockatiel"
import { CircuitStore } from "../src/index.js"
import { configureCircuitBreakers, createCircuitBreaker, disposeCircuitBreakers } from "../src/promise.js"
import { environment, envInt, fmt, markdownTable, median, Opossum, quantile, transform } from "./support.js"

/** Sequential calls per timed batch (one batch = one variant, one round). */
const CALLS = envInt("BENCH_CALLS", 100_000)
/** Timed rounds; every round runs every variant once, in a rotated order. */
const ROUNDS = envInt("BENCH_ROUNDS", 20)
/** Untimed rounds first, so every variant is JIT-compiled before timing. */
const WARMUP = envInt("BENCH_WARMUP", 3)

type Role = "baseline" | "timedFloor" | "execute" | "named" | "cockatiel" | "opossum"

interface Variant {
  readonly label: string
  readonly role: Role
  /** Runs `n` sequential calls and returns the sum of their results. */
  readonly run: (n: number) => Promise<number>
}

/** `n` sequential `await call()` in a plain async function: the same loop for every variant. */
const promiseLoop = (call: () => Promise<number>) => async (n: number): Promise<number> => {
  let sum = 0
  for (let i = 0; i < n; i++) sum += await call()
  return sum
}

// ---------------------------------------------------------------------------
// setup (outside every timed loop)
// ---------------------------------------------------------------------------

// the memory store, configured explicitly (the environment fallback would print its warning on stdout)
await configureCircuitBreakers({ store: CircuitStore.layerMemory })

const fn = (): Promise<number> => Promise.resolve(1)

/** Where the floor puts the times it reads, so that no read is optimised away. */
let sink = 0
/**
 * The least a breaker that measures each call can add: the time read before
 * the call and after it, one `then`.
 */
const timedFloor = (): Promise<number> => {
  const start = Date.now()
  return fn().then((value) => {
    sink += Date.now() - start
    return value
  })
}

const breaker = createCircuitBreaker("bench")
const named = createCircuitBreaker("bench-named")
// build the runtime and the breakers before timing
await breaker.execute(fn)
await named.execute(fn, "warm")

const cockatielPolicy = circuitBreaker(handleAll, { halfOpenAfter: 10_000, breaker: new ConsecutiveBreaker(5) })
// opossum's defaults, except the per-call timeout (a setTimeout per call), which is disabled
const opossumBreaker = new Opossum(fn, { timeout: false })

const variants: ReadonlyArray<Variant> = [
  { label: "await fn() (baseline)", role: "baseline", run: promiseLoop(fn) },
  { label: "floor: 2 Date.now() and a then", role: "timedFloor", run: promiseLoop(timedFloor) },
  { label: "this library: breaker.execute(fn)", role: "execute", run: promiseLoop(() => breaker.execute(fn)) },
  {
    label: "this library: breaker.execute(fn, \"name\")",
    role: "named",
    run: promiseLoop(() => named.execute(fn, "get-item"))
  },
  { label: "cockatiel: policy.execute(fn)", role: "cockatiel", run: promiseLoop(() => cockatielPolicy.execute(fn)) },
  { label: "opossum: breaker.fire()", role: "opossum", run: promiseLoop(() => opossumBreaker.fire()) }
]

// ---------------------------------------------------------------------------
// measurement
// ---------------------------------------------------------------------------

/** ns per call, one entry per timed round, per variant. */
const samples: Array<Array<number>> = variants.map(() => [])

const timeBatch = async (variant: Variant, n: number): Promise<number> => {
  const start = process.hrtime.bigint()
  const sum = await variant.run(n)
  const elapsed = Number(process.hrtime.bigint() - start)
  if (sum !== n) throw new Error(`${variant.label}: expected a sum of ${n}, got ${sum}`)
  return elapsed / n
}

const log = (line: string) => process.stderr.write(line + "\n")

log(environment())
log(`transform: ${transform}`)
log(`calls per batch: ${CALLS.toLocaleString("en-US")}, rounds: ${ROUNDS} (+${WARMUP} warm-up)`)

const started = Date.now()
for (let round = -WARMUP; round < ROUNDS; round++) {
  // rotate the order every round so no variant always runs first/last
  const offset = ((round % variants.length) + variants.length) % variants.length
  for (let k = 0; k < variants.length; k++) {
    const vi = (k + offset) % variants.length
    const nsPerCall = await timeBatch(variants[vi]!, CALLS)
    if (round >= 0) samples[vi]!.push(nsPerCall)
  }
  log(round < 0 ? `warm-up ${round + WARMUP + 1}/${WARMUP}` : `round ${round + 1}/${ROUNDS}`)
}
const seconds = (Date.now() - started) / 1000

// sanity: every breaker stayed closed and counted every call
const expected = (ROUNDS + WARMUP) * CALLS + 1
for (const b of [breaker, named]) {
  const metrics = await b.getMetrics()
  if (metrics.state !== "CLOSED" || metrics.calls !== expected || metrics.successes !== expected) {
    throw new Error(`${b.serviceName} did not stay CLOSED / count every call: ${JSON.stringify(metrics)}`)
  }
}
if (cockatielPolicy.state !== 0) throw new Error("cockatiel breaker left the Closed state")
if (!opossumBreaker.closed) throw new Error("the opossum breaker left the closed state")
opossumBreaker.shutdown()
await disposeCircuitBreakers()

// ---------------------------------------------------------------------------
// report
// ---------------------------------------------------------------------------

const baseIndex = variants.findIndex((v) => v.role === "baseline")
const added = (vi: number): ReadonlyArray<number> => samples[vi]!.map((ns, r) => ns - samples[baseIndex]![r]!)

const rows = variants.map((v, vi) => {
  const ns = samples[vi]!
  if (v.role === "baseline") return [v.label, fmt(median(ns)), "—", "—"]
  const a = added(vi)
  return [v.label, fmt(median(ns)), fmt(median(a)), `${fmt(quantile(a, 0.25))} – ${fmt(quantile(a, 0.75))}`]
})

/** The median over rounds of `role`'s added cost divided by `other`'s, both of the same round. */
const ratio = (role: Role, other: Role): number => {
  const mine = added(variants.findIndex((v) => v.role === role))
  const theirs = added(variants.findIndex((v) => v.role === other))
  return median(mine.map((ns, r) => ns / theirs[r]!))
}
const toCockatiel = ratio("execute", "cockatiel")

const out: Array<string> = []
out.push("## promise: per-call cost of `execute` on a CLOSED circuit (memory store)")
out.push("")
out.push(`${environment()}  `)
out.push(`transform: ${transform}  `)
out.push(
  `${
    CALLS.toLocaleString("en-US")
  } sequential calls per batch, ${ROUNDS} interleaved rounds after ${WARMUP} warm-up rounds ` +
    `(${fmt(seconds, 0)} s).  `
)
out.push(
  "Every variant runs `fn = () => Promise.resolve(1)` in the same `for` loop of `await`. Median over rounds; " +
    "\"added\" is the median of the per-round difference to the plain `await fn()` loop, with its interquartile range."
)
out.push("")
out.push(markdownTable(["variant", "ns/call", "added ns/call", "added IQR"], rows))
out.push("")
out.push("### ratios (medians of per-round ratios of added cost)")
out.push("")
out.push(
  markdownTable(
    [
      "",
      "execute / cockatiel",
      "execute / opossum",
      "named execute / cockatiel",
      "floor / cockatiel",
      "execute / floor"
    ],
    [[
      "ratio",
      `${fmt(toCockatiel, 2)} ${toCockatiel <= 1 ? "(meets ≤ 1.0)" : "(MISSES ≤ 1.0)"}`,
      fmt(ratio("execute", "opossum"), 2),
      fmt(ratio("named", "cockatiel"), 2),
      fmt(ratio("timedFloor", "cockatiel"), 2),
      fmt(ratio("execute", "timedFloor"), 2)
    ]]
  )
)
out.push("")
out.push(
  "The floor (two `Date.now()` around the call and one `then`) is the least a breaker that measures each call " +
    `can add; its ratio to cockatiel shows how much of the goal the clock reads alone take here (sink ${
      sink > 0 ? "≠ 0" : "0"
    }).`
)
out.push("")
out.push(
  "opossum runs with its defaults (rolling stats: 10 s window in 10 buckets, rolling latency percentiles, " +
    "snapshots every bucket) except `timeout: false`, which drops its per-call `setTimeout`. " +
    "A named call (`execute(fn, name)`) takes the same path as an unnamed one unless the runtime logs at Debug " +
    "or has a tracer installed; then it runs `protect` on a fiber of its own, with a span and debug logs."
)

console.log(out.join("\n"))
