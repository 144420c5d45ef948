/**
 * The hot path: the admit step's fast window update is the state machine's own `record`, the
 * plain latency histogram and call counts read as Effect's own would, `recordLatency: false`, the
 * internals accessor, and `RedisClient.fromClient` refusing what is not a client.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Arbitrary from "effect/Arbitrary"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as fc from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import * as MetricHook from "effect/MetricHook"
import * as MetricKey from "effect/MetricKey"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
import { CircuitBreaker, CircuitBreakerMetrics, CircuitConfig, CircuitStore, RedisClient } from "../src/index.js"
import { internalOf } from "../src/internal/breaker/circuitBreaker.js"
import * as machine from "../shared/breaker/machine.js"
import * as metrics from "../src/internal/monitoring/metrics.js"

let runs = 0
/** Metrics are global: every test uses services of its own. */
const unique = (base: string) => `${base}-${process.pid}-${++runs}`

const latencyOf = (service: string) =>
  Metric.value(CircuitBreakerMetrics.latency.pipe(Metric.tagged("service", service)))
const callsOf = (service: string, outcome: string) =>
  Metric.value(CircuitBreakerMetrics.calls.pipe(Metric.tagged("service", service), Metric.tagged("outcome", outcome)))

const int = (min: number, max: number) => Schema.Int.pipe(Schema.between(min, max))

/** A history's steps, as Schemas: `Arbitrary.make` derives each kind's values, all kinds equally often. */
const HistoryStep = Schema.Union(
  Schema.TaggedStruct("advance", { ms: Schema.Union(int(0, 3_000), int(0, 900_000)) }),
  Schema.TaggedStruct("success", {}),
  Schema.TaggedStruct("failure", {
    // `Arbitrary.make` draws a plain number as a 32-bit float: the jitter sample takes any double
    u: Schema.Number.pipe(Schema.between(0, 0.999)).annotations({
      arbitrary: () => (fc) => fc.double({ min: 0, max: 0.999, noNaN: true })
    })
  }),
  Schema.Struct({ _tag: Schema.Literal("FORCED_OPEN", "FORCED_CLOSED", "RESET") }),
  Schema.TaggedStruct("acquire", {})
)

describe("machine.recordSuccess", () => {
  const config = Either.getOrThrow(CircuitConfig.decodeEither("fast", {
    failureThreshold: 4,
    monitoringPeriod: "10 seconds",
    recoveryTimeout: "2 seconds",
    maxRecoveryTimeout: "10 seconds",
    stateTtl: "1 minute"
  }))

  it.prop(
    "leaves exactly the state record(success) leaves, on random histories",
    // histories up to 80 steps long (a derived array is kept short)
    [fc.array(Arbitrary.make(HistoryStep), { maxLength: 80 })],
    ([steps]) => {
      const fast = machine.initial()
      const slow = machine.initial()
      let now = 1_700_000_000_000
      let probes = 0
      for (const s of steps) {
        switch (s._tag) {
          case "advance":
            now += s.ms
            break
          case "success":
            machine.recordSuccess(fast, config, now)
            machine.record(slow, config, now, "success", undefined, 0, 0)
            break
          case "failure":
            machine.record(fast, config, now, "failure", undefined, s.u, 0)
            machine.record(slow, config, now, "failure", undefined, s.u, 0)
            break
          case "acquire": {
            const id = `p${++probes}`
            machine.acquire(fast, config, now, id)
            machine.acquire(slow, config, now, id)
            break
          }
          default:
            machine.force(fast, config, now, s._tag)
            machine.force(slow, config, now, s._tag)
        }
        expect(fast).toEqual(slow)
      }
    },
    { fastCheck: { numRuns: 500 } }
  )
})

describe("plain metrics read as Effect's own", () => {
  it("Latency gives the state of an Effect histogram of the same key; Count that of a counter", () => {
    const key = MetricKey.histogram(
      "hot_path_test_histogram",
      MetricBoundaries.fromIterable([1, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000])
    )
    const effect = MetricHook.histogram(key)
    const plain = new metrics.Latency()
    const count = new metrics.Count()
    const counter = MetricHook.counter(MetricKey.counter("hot_path_test_counter", { incremental: true }))
    expect(plain.state).toEqual(effect.get())
    for (const value of [0, 1, 1.5, 5, 7, 10, 99, 100, 101, 2_499, 10_000, 10_001, 123_456]) {
      effect.update(value)
      plain.update(value)
      count.update(1)
      counter.update(1)
    }
    expect(plain.state).toEqual(effect.get())
    expect(count.state).toEqual(counter.get())
  })

  it.effect("a breaker's calls and latency reach Effect's registry (Metric.value)", () =>
    Effect.gen(function*() {
      const name = unique("hot-registry")
      const breaker = yield* CircuitBreaker.make(name)
      for (let i = 0; i < 3; i++) yield* Effect.succeed(1).pipe(breaker.protect)
      yield* Effect.either(Effect.fail("no").pipe(breaker.protect))
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
      yield* Effect.either(Effect.fail("no").pipe(breaker.protect))
      yield* Effect.either(Effect.fail("no").pipe(breaker.protect))
      expect(yield* breaker.state).toBe("OPEN")
      expect((yield* latencyOf(name)).count).toBe(0)
    }).pipe(Effect.provide(CircuitStore.layerMemory)))

  it.effect("true (the default): each call's duration is recorded", () =>
    Effect.gen(function*() {
      const name = unique("hot-latency")
      const breaker = yield* CircuitBreaker.make(name)
      expect(breaker.config.recordLatency).toBe(true)
      const fiber = yield* Effect.fork(Effect.succeed(1).pipe(Effect.delay("30 millis"), breaker.protect))
      yield* TestClock.adjust("30 millis")
      yield* Fiber.join(fiber)
      const latency = yield* latencyOf(name)
      expect(latency.count).toBe(1)
      expect(latency.sum).toBe(30)
    }).pipe(Effect.provide(CircuitStore.layerMemory)))

  it("false is refused together with slowCallDuration", () => {
    const decoded = CircuitConfig.decodeEither("slow", { recordLatency: false, slowCallDuration: "1 second" })
    expect(Either.isLeft(decoded) && decoded.left.issues).toEqual([
      "slowCallDuration needs recordLatency: true (got recordLatency: false)"
    ])
    expect(Either.isRight(CircuitConfig.decodeEither("slow", { slowCallDuration: "1 second" }))).toBe(true)
    const notBoolean = CircuitConfig.decodeEither("bad", { recordLatency: "no" })
    expect(Either.isLeft(notBoolean) && notBoolean.left.issues[0]).toMatch(/^recordLatency /)
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

describe("RedisClient.fromClient", () => {
  it("anything else is a TypeError", () => {
    expect(() => RedisClient.fromClient({})).toThrow(TypeError)
    expect(() => RedisClient.fromClient(null)).toThrow(/got null/)
  })
})
