/**
 * The hot path's time and sampling: a healthy call on a CLOSED circuit reads no clock unless its
 * duration is measured, the measured calls are a random sample whose latency histogram has the
 * distribution of all calls, `slowCallDuration` measures every call, the recent time follows
 * `TestClock` and arms no timer while nothing is called; and a rejection carries no stack trace.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as TestClock from "effect/testing/TestClock"
import * as fc from "fast-check"
import * as CircuitBreaker from "../src/CircuitBreaker.js"
import * as CircuitBreakerError from "../src/CircuitBreakerError.js"
import * as CircuitBreakerMetrics from "../src/CircuitBreakerMetrics.js"
import * as CircuitStore from "../src/CircuitStore.js"
import { internalOf, Sampler } from "../src/internal/breaker/circuitBreaker.js"
import { maxReuse } from "../src/internal/breaker/recentTime.js"
import { makeCircuitBreakerRuntime } from "../src/promise.js"
import { manualClock } from "./support/manualClock.js"

let runs = 0
/** Metrics are global: every test uses services of its own. */
const unique = (base: string) => `${base}-${process.pid}-${++runs}`

const latencyOf = (service: string) =>
  Metric.value(CircuitBreakerMetrics.latency.pipe(Metric.withAttributes({ service })))

/** The timers pending on the test's `TestClock`. */
const sleeps = TestClock.testClockWith((clock) =>
  Effect.sync(() => (clock as unknown as { readonly sleeps: ReadonlyArray<unknown> }).sleeps.length)
)

/** Slower than `bound` ms, by the histogram's cumulative buckets. */
const slowerThan = (buckets: ReadonlyArray<readonly [number, number]>, count: number, bound: number) =>
  count - buckets.find(([b]) => b === bound)![1]

describe("a CLOSED circuit's healthy call", () => {
  it.effect("reads no clock unless its duration is measured", () => {
    const { state, withClock } = manualClock()
    return Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make(unique("no-clock"))
      const call = Effect.succeed(1).pipe(breaker.protect)
      // the first calls are all measured: two reads each
      for (let i = 0; i < Sampler.everyFirst; i++) yield* call
      const before = state.reads
      const calls = 16_000
      for (let i = 0; i < calls; i++) yield* call
      const reads = state.reads - before
      // a measured call reads the clock twice, about one call in `oneIn` is measured, and the
      // recent time (read twice per call) is read again at least every `maxReuse` uses
      expect(reads).toBeGreaterThan(0)
      expect(reads).toBeLessThan((2 * calls / Sampler.oneIn + 2 * calls / maxReuse) * 1.2)
      expect((yield* breaker.metrics).successes).toBe(Sampler.everyFirst + calls)
    }).pipe(withClock, Effect.provide(CircuitStore.layerMemory))
  })

  it.effect("the sampled latency histogram has the distribution of all calls, even a periodic one", () => {
    const { advance, withClock } = manualClock()
    return Effect.gen(function*() {
      const name = unique("sampled")
      const breaker = yield* CircuitBreaker.make(name)
      // every 16th call takes 30 ms, the others 0: a choice of every 16th call would see 0% or 100% slow
      const fast = Effect.succeed(1).pipe(breaker.protect)
      const slow = advance(30).pipe(breaker.protect)
      const period = 16
      for (let i = 0; i < Sampler.everyFirst; i++) yield* fast
      const first = yield* latencyOf(name)
      expect(first.count).toBe(Sampler.everyFirst)
      const calls = 64_000
      for (let i = 0; i < calls; i++) yield* (i % period === 0 ? slow : fast)
      const histogram = yield* latencyOf(name)
      const sampled = histogram.count - first.count
      // about one call in `oneIn`
      expect(sampled).toBeGreaterThan((calls / Sampler.oneIn) * 0.85)
      expect(sampled).toBeLessThan((calls / Sampler.oneIn) * 1.15)
      // the share of slow calls among the sampled is the share among all calls (1/16), within
      // 5 standard deviations of a binomial sample of this size
      const share = slowerThan(histogram.buckets, histogram.count, 25) / sampled
      const sd = Math.sqrt((1 / period) * (1 - 1 / period) / sampled)
      expect(Math.abs(share - 1 / period)).toBeLessThan(5 * sd)
      // and the mean duration is the mean of all calls
      expect(histogram.sum / sampled).toBeGreaterThan((30 / period) * 0.75)
      expect(histogram.sum / sampled).toBeLessThan((30 / period) * 1.25)
    }).pipe(withClock, Effect.provide(CircuitStore.layerMemory))
  })

  it.effect("slowCallDuration measures every call", () => {
    const { advance, withClock } = manualClock()
    return Effect.gen(function*() {
      const name = unique("slow-every")
      const breaker = yield* CircuitBreaker.make(name, { slowCallDuration: "20 millis", failureThreshold: 1_000 })
      const calls = 1_000
      for (let i = 0; i < calls; i++) yield* (i % 10 === 0 ? advance(30) : Effect.void).pipe(breaker.protect)
      expect((yield* latencyOf(name)).count).toBe(calls)
      const metrics = yield* breaker.metrics
      expect(metrics.slowCalls).toBe(calls / 10)
      expect(metrics.windowFailures).toBe(calls / 10)
    }).pipe(withClock, Effect.provide(CircuitStore.layerMemory))
  })

  it.effect("the breaker's time of use follows TestClock, and no timer is armed while nothing is called", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make(unique("recent"), { recordLatency: false })
      const internal = internalOf(breaker)!
      const call = Effect.succeed(1).pipe(breaker.protect)
      yield* call
      expect(internal.usedAt).toBe(0)
      // one timer, armed by the use
      expect(yield* sleeps).toBe(1)
      yield* TestClock.adjust("1 minute")
      // it fired; nothing is called: nothing is armed again
      expect(yield* sleeps).toBe(0)
      yield* TestClock.adjust("1 minute")
      expect(yield* sleeps).toBe(0)
      yield* call
      expect(internal.usedAt).toBe(120_000)
      expect((yield* breaker.metrics).lastSuccessAt).toBe(120_000)
      expect(yield* sleeps).toBe(1)
    }).pipe(Effect.provide(CircuitStore.layerMemory)))
})

describe("the recent time", () => {
  it.effect("catches up within maxReuse uses when its timer never fires", () => {
    const { advance, state, withClock } = manualClock()
    return Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make(unique("lost-timer"), { recordLatency: false })
      const internal = internalOf(breaker)!
      const call = Effect.succeed(1).pipe(breaker.protect)
      yield* call
      const start = state.now
      expect(internal.usedAt).toBe(start)
      // the timer is lost (this clock's sleep never ends): time moves on regardless
      yield* advance(60_000)
      for (let i = 0; i < maxReuse; i++) yield* call
      expect(internal.usedAt).toBe(start + 60_000)
      expect((yield* breaker.metrics).lastSuccessAt).toBe(start + 60_000)
    }).pipe(withClock, Effect.provide(CircuitStore.layerMemory))
  })
})

describe("a rejection", () => {
  it.effect("is a CircuitOpen with its fields and message, and no stack trace", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make(unique("reject"), {
        failureThreshold: 1,
        recoveryTimeout: "30 seconds",
        backoffJitter: 0
      })
      yield* Effect.result(Effect.fail("boom").pipe(breaker.protect))
      yield* TestClock.adjust("10 seconds")
      const error = yield* Effect.flip(Effect.succeed(1).pipe(breaker.protect))
      expect(error).toBeInstanceOf(CircuitBreakerError.CircuitOpen)
      expect(error).toBeInstanceOf(Error)
      expect(CircuitBreakerError.isCircuitOpen(error)).toBe(true)
      if (!CircuitBreakerError.isCircuitOpen(error)) return
      expect(error._tag).toBe("CircuitOpen")
      expect(error.state).toBe("OPEN")
      expect(Duration.toMillis(error.retryAfter)).toBe(20_000)
      expect(error.message).toBe(`Circuit for ${JSON.stringify(breaker.config.serviceName)} is OPEN; retry after 20s`)
      // the first line only: no frames captured
      expect(error.stack).toBe(`CircuitOpen: ${error.message}`)
      expect(Object.keys(error)).toEqual(
        Object.keys(
          new CircuitBreakerError.CircuitOpen({ service: "s", state: "OPEN", retryAfter: Duration.seconds(1) })
        )
      )
      const caught = yield* Effect.succeed(1).pipe(
        breaker.protect,
        Effect.catchTag("CircuitOpen", (e) => Effect.succeed(`caught ${e.state}`))
      )
      expect(caught).toBe("caught OPEN")
    }).pipe(Effect.provide(CircuitStore.layerMemory)))

  it("says how long to wait as Duration.format would", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.integer({ min: 0, max: 2_000 }),
          fc.integer({ min: 0, max: 10 * 86_400_000 }),
          fc.double({ min: 0, max: 100_000, noNaN: true })
        ),
        (ms) => {
          const retryAfter = Duration.millis(ms)
          const error = new CircuitBreakerError.CircuitOpen({ service: "s", state: "OPEN", retryAfter })
          expect(error.message).toBe(`Circuit for "s" is OPEN; retry after ${Duration.format(retryAfter)}`)
        }
      )
    )
  })

  it("through the Promise API is a CircuitBreakerError with no stack trace", async () => {
    const runtime = makeCircuitBreakerRuntime({ store: CircuitStore.layerMemory })
    try {
      const breaker = runtime.createCircuitBreaker(unique("promise-reject"), { failureThreshold: 1 })
      await breaker.execute(() => Promise.reject(new Error("boom"))).catch(() => undefined)
      const error = await breaker.execute(() => Promise.resolve(1)).then(() => undefined, (e: unknown) => e)
      expect((error as { code?: string }).code).toBe("CIRCUIT_OPEN")
      expect((error as Error).stack).toBe(`CircuitBreakerError: ${(error as Error).message}`)
      expect(CircuitBreakerError.isCircuitOpen((error as Error).cause)).toBe(true)
    } finally {
      await runtime.dispose()
    }
  })
})
