/**
 * Per-call cost of `CircuitBreaker.protect` on a CLOSED circuit (defaults, and
 * with `recordLatency: false`), side by side with the least any Effect
 * wrapper can add (one bare `matchCauseEffect`), cockatiel and opossum.
 *
 *   npx tsx bench/protect.bench.ts
 *   BENCH_CALLS=200000 BENCH_ROUNDS=25 npx tsx bench/protect.bench.ts
 *
 * See bench/README.md for what is measured and how to read the output.
 */
import { circuitBreaker, ConsecutiveBreaker, handleAll } from "cockatiel"
import * as Effect from "effect/Effect"
import { CircuitBreaker, CircuitStore } from "../src/index.js"
import { environment, envInt, fmt, markdownTable, median, Opossum, quantile, transform } from "./support.js"

/** Sequential calls per timed batch (one batch = one variant, one round). */
const CALLS = envInt("BENCH_CALLS", 100_000)
/** Timed rounds; every round runs every variant once, in a rotated order. */
const ROUNDS = envInt("BENCH_ROUNDS", 20)
/** Untimed rounds first, so every variant is JIT-compiled before timing. */
const WARMUP = envInt("BENCH_WARMUP", 3)

type Role =
  | "baseline"
  | "floor"
  | "timedFloor"
  | "untimedFloor"
  | "protect"
  | "protectNoLatency"
  | "cockatiel"
  | "opossum"

interface Variant {
  readonly label: string
  readonly role: Role
  /** The baseline this variant's added cost is measured against. */
  readonly baseline: "effect" | "promise"
  /** Runs `n` sequential calls and returns the sum of their results. */
  readonly run: (n: number) => Promise<number>
}

interface Case {
  readonly title: string
  readonly note: string
  readonly variants: ReadonlyArray<Variant>
}

// ---------------------------------------------------------------------------
// loops: the same loop for every variant of a family, so its own cost cancels
// ---------------------------------------------------------------------------

/** `n` sequential `yield*` in one `Effect.gen`, in ONE `runPromise` (no per-call runtime start-up). */
const effectLoop = <E>(self: Effect.Effect<number, E>) => (n: number): Promise<number> =>
  Effect.runPromise(Effect.gen(function*() {
    let sum = 0
    for (let i = 0; i < n; i++) sum += yield* self
    return sum
  }))

/** `n` sequential `await call()` in a plain async function. */
const promiseLoop = (call: () => Promise<number>) => async (n: number): Promise<number> => {
  let sum = 0
  for (let i = 0; i < n; i++) sum += await call()
  return sum
}

/** The least any Effect wrapper can add: one bare `matchCauseEffect`. */
const floor = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.matchCauseEffect(self, { onSuccess: Effect.succeed, onFailure: Effect.failCause })

/** The clock `protect` reads (Effect's default), for the floors below. */
const clock = Effect.runSync(Effect.clock)
/** Where the floors put the times they read, so that no read is optimised away. */
let sink = 0

/**
 * The least a breaker that measures each call can add: one run-loop step to
 * read the time when the call starts (`Effect.suspend`), one read when it
 * ends, one `matchCauseEffect`.
 */
const timedFloor = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.suspend(() => {
    const start = clock.unsafeCurrentTimeMillis()
    return Effect.matchCauseEffect(self, {
      onSuccess: (a) => {
        sink += clock.unsafeCurrentTimeMillis() - start
        return Effect.succeed(a)
      },
      onFailure: Effect.failCause
    })
  })

/** The same with one clock read (when the call starts): the least a breaker that reads the time once per call can add. */
const untimedFloor = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.suspend(() => {
    sink += clock.unsafeCurrentTimeMillis()
    return Effect.matchCauseEffect(self, { onSuccess: Effect.succeed, onFailure: Effect.failCause })
  })

// ---------------------------------------------------------------------------
// setup (outside every timed loop)
// ---------------------------------------------------------------------------

const breaker = await Effect.runPromise(
  CircuitBreaker.make("bench").pipe(Effect.provide(CircuitStore.layerMemory))
)
const breakerNoLatency = await Effect.runPromise(
  CircuitBreaker.make("bench-no-latency", { recordLatency: false }).pipe(Effect.provide(CircuitStore.layerMemory))
)

const cockatielPolicy = circuitBreaker(handleAll, { halfOpenAfter: 10_000, breaker: new ConsecutiveBreaker(5) })

/** Every opossum breaker made here, so they can be shut down (their stats timers) at the end. */
const opossumBreakers: Array<{ shutdown(): void; readonly closed: boolean }> = []
const opossum = (fn: () => Promise<number>) => {
  // opossum's defaults, except the per-call timeout (a setTimeout per call), which is disabled.
  const b = new Opossum(fn, { timeout: false })
  opossumBreakers.push(b)
  return b
}

const makeCase = (
  title: string,
  note: string,
  effect: Effect.Effect<number>,
  fn: () => Promise<number>
): Case => {
  const floored = floor(effect)
  const protectedEffect = effect.pipe(CircuitBreaker.protect(breaker))
  const protectedNoLatency = effect.pipe(CircuitBreaker.protect(breakerNoLatency))
  const opossumBreaker = opossum(fn)
  return {
    title,
    note,
    variants: [
      { label: "Effect: plain effect (baseline)", role: "baseline", baseline: "effect", run: effectLoop(effect) },
      { label: "Effect: + bare matchCauseEffect (floor)", role: "floor", baseline: "effect", run: effectLoop(floored) },
      {
        label: "Effect: + suspend, 2 clock reads, matchCauseEffect",
        role: "timedFloor",
        baseline: "effect",
        run: effectLoop(timedFloor(effect))
      },
      {
        label: "Effect: + suspend, 1 clock read, matchCauseEffect",
        role: "untimedFloor",
        baseline: "effect",
        run: effectLoop(untimedFloor(effect))
      },
      {
        label: "Effect: + CircuitBreaker.protect",
        role: "protect",
        baseline: "effect",
        run: effectLoop(protectedEffect)
      },
      {
        label: "Effect: + CircuitBreaker.protect (recordLatency: false)",
        role: "protectNoLatency",
        baseline: "effect",
        run: effectLoop(protectedNoLatency)
      },
      { label: "Promise: await fn() (baseline)", role: "baseline", baseline: "promise", run: promiseLoop(() => fn()) },
      {
        label: "Promise: cockatiel execute(fn)",
        role: "cockatiel",
        baseline: "promise",
        run: promiseLoop(() => cockatielPolicy.execute(fn))
      },
      {
        label: "Promise: opossum fire()",
        role: "opossum",
        baseline: "promise",
        run: promiseLoop(() => opossumBreaker.fire())
      }
    ]
  }
}

const resolvedOne = (): Promise<number> => Promise.resolve(1)

const cases: ReadonlyArray<Case> = [
  makeCase(
    "sync effect — `Effect.succeed(1)`",
    "cockatiel/opossum have no synchronous API: in this case they (and their baseline) run `async () => 1`.",
    Effect.succeed(1),
    async () => 1
  ),
  makeCase(
    "async effect — `Effect.promise(() => Promise.resolve(1))`",
    "cockatiel/opossum (and their baseline) run the same `() => Promise.resolve(1)`.",
    Effect.promise(resolvedOne),
    resolvedOne
  )
]

// ---------------------------------------------------------------------------
// measurement
// ---------------------------------------------------------------------------

/** ns per call, one entry per timed round, indexed [case][variant]. */
const samples: Array<Array<Array<number>>> = cases.map((c) => c.variants.map(() => []))

const timeBatch = async (variant: Variant, n: number): Promise<number> => {
  const start = process.hrtime.bigint()
  const sum = await variant.run(n)
  const elapsed = Number(process.hrtime.bigint() - start)
  if (sum !== n) throw new Error(`${variant.label}: expected a sum of ${n}, got ${sum}`)
  return elapsed / n
}

const log = (line: string) => process.stderr.write(line + "\n")

log(`${environment()}`)
log(`transform: ${transform}`)
log(`calls per batch: ${CALLS.toLocaleString("en-US")}, rounds: ${ROUNDS} (+${WARMUP} warm-up)`)

const started = Date.now()
for (let round = -WARMUP; round < ROUNDS; round++) {
  for (let ci = 0; ci < cases.length; ci++) {
    const variants = cases[ci]!.variants
    // rotate the order every round so no variant always runs first/last
    const offset = ((round % variants.length) + variants.length) % variants.length
    for (let k = 0; k < variants.length; k++) {
      const vi = (k + offset) % variants.length
      const nsPerCall = await timeBatch(variants[vi]!, CALLS)
      if (round >= 0) samples[ci]![vi]!.push(nsPerCall)
    }
  }
  log(round < 0 ? `warm-up ${round + WARMUP + 1}/${WARMUP}` : `round ${round + 1}/${ROUNDS}`)
}
const seconds = (Date.now() - started) / 1000

// sanity: the breakers stayed closed and counted every call
const expectedCalls = (ROUNDS + WARMUP) * CALLS * cases.length
for (const b of [breaker, breakerNoLatency]) {
  const metrics = await Effect.runPromise(b.metrics)
  if (metrics.state !== "CLOSED" || metrics.calls !== expectedCalls || metrics.successes !== expectedCalls) {
    throw new Error(`${b.name} did not stay CLOSED / count every call: ${JSON.stringify(metrics)}`)
  }
}
if (cockatielPolicy.state !== 0) throw new Error("cockatiel breaker left the Closed state")
for (const b of opossumBreakers) {
  if (!b.closed) throw new Error("an opossum breaker left the closed state")
  b.shutdown()
}

// ---------------------------------------------------------------------------
// report
// ---------------------------------------------------------------------------

const out: Array<string> = []
out.push(`## protect: per-call cost on a CLOSED circuit`)
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
  "Median over rounds; \"added\" is the median of the per-round difference to the variant's own baseline " +
    "(Effect rows: the plain effect in the same `Effect.gen` loop; Promise rows: a plain `await fn()` loop), " +
    "with its interquartile range."
)

const summary: Array<Array<string>> = []
/** The goals of protect / floor, per case (sync, async). */
const goals: ReadonlyArray<{ readonly protect: number; readonly noLatency: number | undefined }> = [
  { protect: 1.8, noLatency: 1.5 },
  { protect: 2.3, noLatency: undefined }
]

for (let ci = 0; ci < cases.length; ci++) {
  const c = cases[ci]!
  const base = (family: "effect" | "promise") =>
    c.variants.findIndex((v) => v.role === "baseline" && v.baseline === family)
  const added = (vi: number): ReadonlyArray<number> => {
    const v = c.variants[vi]!
    const bi = base(v.baseline)
    return samples[ci]![vi]!.map((ns, r) => ns - samples[ci]![bi]![r]!)
  }
  const addedOf = (role: Role) => added(c.variants.findIndex((v) => v.role === role))
  const addedMedian = (role: Role) => median(addedOf(role))
  /** The median over rounds of `role`'s added cost divided by `other`'s, both of the same round. */
  const ratio = (role: Role, other: Role): number => {
    const mine = addedOf(role)
    const theirs = addedOf(other)
    return median(mine.map((ns, r) => ns / theirs[r]!))
  }

  const rows = c.variants.map((v, vi) => {
    const ns = samples[ci]![vi]!
    if (v.role === "baseline") return [v.label, fmt(median(ns)), "—", "—"]
    const a = added(vi)
    return [v.label, fmt(median(ns)), fmt(median(a)), `${fmt(quantile(a, 0.25))} – ${fmt(quantile(a, 0.75))}`]
  })

  out.push("")
  out.push(`### ${c.title}`)
  out.push("")
  out.push(c.note)
  out.push("")
  out.push(markdownTable(["variant", "ns/call", "added ns/call", "added IQR"], rows))

  const goal = goals[ci]!
  const verdict = (value: number, max: number | undefined) =>
    `${fmt(value, 2)}${max === undefined ? "" : value <= max ? ` (meets ≤ ${max})` : ` (MISSES ≤ ${max})`}`
  summary.push([
    c.title.split(" — ")[0]!,
    fmt(addedMedian("protect")),
    fmt(addedMedian("protectNoLatency")),
    fmt(addedMedian("floor")),
    verdict(ratio("protect", "floor"), goal.protect),
    verdict(ratio("protectNoLatency", "floor"), goal.noLatency),
    fmt(ratio("timedFloor", "floor"), 2),
    fmt(ratio("untimedFloor", "floor"), 2),
    fmt(ratio("protect", "timedFloor"), 2),
    fmt(ratio("protectNoLatency", "untimedFloor"), 2),
    fmt(ratio("protect", "cockatiel"), 2),
    fmt(ratio("protect", "opossum"), 2)
  ])
}

out.push("")
out.push("### ratios (medians of per-round ratios of added cost)")
out.push("")
out.push(
  markdownTable(
    [
      "case",
      "protect added",
      "no-latency added",
      "floor added",
      "protect / floor",
      "no-latency / floor",
      "2-read floor / floor",
      "1-read floor / floor",
      "protect / 2-read floor",
      "no-latency / 1-read floor",
      "protect / cockatiel",
      "protect / opossum"
    ],
    summary
  )
)
out.push("")
out.push(
  "The 2-read floor (`Effect.suspend` reading the clock, a `matchCauseEffect` whose success reads it again) is " +
    "the least any breaker that measures each call can add; the 1-read floor, the least one that reads the time " +
    "once; their ratios to the floor show what reading the clock per call costs on this machine. `protect` " +
    "reads no clock on a call it does not measure (about 63 calls in 64) " +
    `(sink ${sink > 0 ? "≠ 0" : "0"}).`
)
out.push("")
out.push(
  "opossum runs with its defaults (rolling stats: 10 s window in 10 buckets, rolling latency percentiles, " +
    "snapshots every bucket) except `timeout: false`, which drops its per-call `setTimeout`."
)

console.log(out.join("\n"))
