/**
 * The hot path: the plain latency histogram and call counts read as Effect's own would, a
 * breaker's metrics in the metric registry (`Metric.value`), `recordLatency: false`, and the
 * internals accessor. (The state machine's fast window update is a test of shared/: the root's
 * test/HotPath.unit.test.ts.)
 */
import { describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Metric from "effect/Metric"
import * as Result from "effect/Result"
import * as TestClock from "effect/testing/TestClock"
import * as CircuitBreaker from "../src/CircuitBreaker.js"
import * as CircuitBreakerMetrics from "../src/CircuitBreakerMetrics.js"
import * as CircuitConfig from "../src/CircuitConfig.js"
import * as CircuitStore from "../src/CircuitStore.js"
import { internalOf } from "../src/internal/breaker/circuitBreaker.js"
import * as metrics from "../src/internal/monitoring/metrics.js"
import * as names from "../../shared/monitoring/metricNames.js"

let runs = 0
/** Metrics are global: every test uses services of its own. */
const unique = (base: string) => `${base}-${process.pid}-${++runs}`

const latencyOf = (service: string) =>
  Metric.value(CircuitBreakerMetrics.latency.pipe(Metric.withAttributes({ service })))
const callsOf = (service: string, outcome: string) =>
  Metric.value(CircuitBreakerMetrics.calls.pipe(Metric.withAttributes({ service, outcome })))

describe("plain metrics read as Effect's own", () => {
  it("Latency gives the state of an Effect histogram of the same boundaries; Count that of a counter", () => {
    const context = Context.make(Metric.MetricRegistry, new Map())
    const histogram = Metric.histogram("hot_path_test_histogram", {
      boundaries: Metric.boundariesFromIterable(names.latencyBoundaries)
    })
    const counter = Metric.counter("hot_path_test_counter", { incremental: true })
    const plain = new metrics.Latency()
    const count = new metrics.Count()
    expect(plain.state).toEqual(histogram.valueUnsafe(context))
    for (const value of [0, 1, 1.5, 5, 7, 10, 99, 100, 101, 2_499, 10_000, 10_001, 123_456]) {
      histogram.updateUnsafe(value, context)
      plain.update(value)
      count.update(1)
      counter.updateUnsafe(1, context)
    }
    expect(plain.state).toEqual(histogram.valueUnsafe(context))
    expect(count.state).toEqual(counter.valueUnsafe(context))
  })

  it.effect("a breaker's calls and latency reach the metric registry (Metric.value)", () =>
    Effect.gen(function*() {
      const name = unique("hot-registry")
      const breaker = yield* CircuitBreaker.make(name)
      for (let i = 0; i < 3; i++) yield* Effect.succeed(1).pipe(breaker.protect)
      yield* Effect.result(Effect.fail("no").pipe(breaker.protect))
      expect((yield* latencyOf(name)).count).toBe(4)
      expect((yield* callsOf(name, "success")).count).toBe(3)
      expect((yield* callsOf(name, "failure")).count).toBe(1)
    }).pipe(Effect.provide(CircuitStore.layerMemory)))
})

describe("recordLatency", () => {
  it.effect("false: calls and outcomes are counted, no duration is recorded", () =>
    Effect.gen(function*() {
      const name = unique("hot-no-latency")
      const breaker = yield* CircuitBreaker.make(name, { recordLatency: false, failureThreshold: 2 })
      expect(breaker.config.recordLatency).toBe(false)
      for (let i = 0; i < 5; i++) {
        yield* Effect.succeed(1).pipe(breaker.protect)
        yield* TestClock.adjust("2 seconds")
      }
      const metrics = yield* breaker.metrics
      expect(metrics.calls).toBe(5)
      expect(metrics.successes).toBe(5)
      expect(metrics.windowCalls).toBe(5)
      expect((yield* latencyOf(name)).count).toBe(0)
      expect((yield* callsOf(name, "success")).count).toBe(5)
      // failures still count, and still open the circuit
      yield* Effect.result(Effect.fail("no").pipe(breaker.protect))
      yield* Effect.result(Effect.fail("no").pipe(breaker.protect))
      expect(yield* breaker.state).toBe("OPEN")
      expect((yield* latencyOf(name)).count).toBe(0)
    }).pipe(Effect.provide(CircuitStore.layerMemory)))

  it.effect("true (the default): each call's duration is recorded", () =>
    Effect.gen(function*() {
      const name = unique("hot-latency")
      const breaker = yield* CircuitBreaker.make(name)
      expect(breaker.config.recordLatency).toBe(true)
      const fiber = yield* Effect.forkChild(Effect.succeed(1).pipe(Effect.delay("30 millis"), breaker.protect))
      yield* TestClock.adjust("30 millis")
      yield* Fiber.join(fiber)
      const latency = yield* latencyOf(name)
      expect(latency.count).toBe(1)
      expect(latency.sum).toBe(30)
    }).pipe(Effect.provide(CircuitStore.layerMemory)))

  it("false is refused together with slowCallDuration", () => {
    const decoded = CircuitConfig.decodeEither("slow", { recordLatency: false, slowCallDuration: "1 second" })
    expect(Result.isFailure(decoded) && decoded.failure.issues).toEqual([
      "slowCallDuration needs recordLatency: true (got recordLatency: false)"
    ])
    expect(Result.isSuccess(CircuitConfig.decodeEither("slow", { slowCallDuration: "1 second" }))).toBe(true)
    const notBoolean = CircuitConfig.decodeEither("bad", { recordLatency: "no" })
    expect(Result.isFailure(notBoolean) && notBoolean.failure.issues[0]).toMatch(/^recordLatency /)
  })
})

describe("internalOf", () => {
  it.effect("reaches a made breaker's internals; another CircuitBreaker object has none", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make(unique("hot-internal"))
      const internal = internalOf(breaker)
      expect(internal).toBe(breaker)
      expect(internal?.circuit.name).toBe(breaker.name)
      // an object of the public interface that this library did not make (a test double, say)
      const foreign = {
        [CircuitBreaker.TypeId]: CircuitBreaker.TypeId,
        name: breaker.name,
        protect: breaker.protect
      } as unknown as CircuitBreaker.CircuitBreaker
      expect(CircuitBreaker.isCircuitBreaker(foreign)).toBe(true)
      expect(internalOf(foreign)).toBeUndefined()
    }).pipe(Effect.provide(CircuitStore.layerMemory)))
})
