/**
 * What Effect 4 changed without a compile error, held to the Effect 3 edition's behaviour:
 * `Random.nextIntBetween` includes its upper bound unless `halfOpen`; a layer an enclosing
 * `Effect.provide` built is reused by an inner one (the library's layers build per build, as in
 * Effect 3); metrics go to `Metric.MetricRegistry` (no `MetricHook`/`MetricKey`) under the same
 * names, help texts, attributes and buckets, and reach the Prometheus text.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Metric from "effect/Metric"
import * as Random from "effect/Random"
import * as CircuitBreaker from "../src/CircuitBreaker.js"
import * as CircuitBreakerMetrics from "../src/CircuitBreakerMetrics.js"
import * as CircuitBreakers from "../src/CircuitBreakers.js"
import * as CircuitStore from "../src/CircuitStore.js"
import { drawInstanceId } from "../src/internal/breaker/circuitBreaker.js"
import * as prometheus from "../src/internal/monitoring/prometheus.js"
import * as names from "../../shared/monitoring/metricNames.js"

/** `Random` whose every draw is `u` (in [0, 1)). */
const randomAt = (u: number) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.provideService(effect, Random.Random, {
    nextDoubleUnsafe: () => u,
    nextIntUnsafe: () => Math.floor(u * 2 ** 31)
  })

/** The largest double below 1: `nextIntBetween` without `halfOpen` turns it into its upper bound. */
const belowOne = 1 - 2 ** -53

const opened = (breaker: CircuitBreaker.CircuitBreaker) => Effect.result(Effect.fail("boom").pipe(breaker.protect))

describe("Random.nextIntBetween (inclusive in effect 4)", () => {
  it.effect("an instance id never reaches the exclusive bound 2^31 - 1", () =>
    Effect.gen(function*() {
      const highest = yield* drawInstanceId.pipe(randomAt(belowOne))
      const part = (0x7fffffff - 1).toString(36)
      expect(highest).toBe(`i-${part}${part}`)
      expect(yield* drawInstanceId.pipe(randomAt(0))).toBe("i-00")
    }))

  it.effect("effect 4's nextIntBetween itself reaches its upper bound at the same draw", () =>
    Effect.gen(function*() {
      // what `halfOpen: true` guards against: were it dropped, the ids above would end in the bound
      expect(yield* Random.nextIntBetween(0, 0x7fffffff).pipe(randomAt(belowOne))).toBe(0x7fffffff)
    }))
})

describe("layers build per build, as in effect 3", () => {
  it.effect("an inner Effect.provide(CircuitStore.layerMemory) gets a store of its own", () =>
    Effect.gen(function*() {
      const outer = yield* CircuitBreaker.make("memo-store", { failureThreshold: 1 })
      yield* opened(outer)
      expect(yield* outer.state).toBe("OPEN")
      const inner = yield* Effect.flatMap(CircuitBreaker.make("memo-store"), (breaker) => breaker.state).pipe(
        Effect.provide(CircuitStore.layerMemory)
      )
      expect(inner).toBe("CLOSED")
    }).pipe(Effect.provide(CircuitStore.layerMemory)))

  it.effect("one build shares one store between the layers that use it", () =>
    Effect.gen(function*() {
      const registry = yield* CircuitBreakers.CircuitBreakers
      yield* opened(yield* registry.get("memo-shared"))
      // a breaker made on the store in context sees the registry's circuit
      const direct = yield* CircuitBreaker.make("memo-shared", { failureThreshold: 1 })
      expect(yield* direct.state).toBe("OPEN")
    }).pipe(
      Effect.provide(Layer.merge(
        CircuitBreakers.layer({ defaults: { failureThreshold: 1 } }).pipe(Layer.provide(CircuitStore.layerMemory)),
        CircuitStore.layerMemory
      ))
    ))

  it.effect("an inner Effect.provide(CircuitBreakers.layer(…)) gets a registry of its own", () => {
    const Breakers = CircuitBreakers.layer({ defaults: { failureThreshold: 1 } })
    return Effect.gen(function*() {
      const outer = yield* Effect.flatMap(CircuitBreakers.CircuitBreakers, (registry) => registry.get("memo-registry"))
      const inner = yield* Effect.flatMap(CircuitBreakers.CircuitBreakers, (registry) => registry.get("memo-registry"))
        .pipe(Effect.provide(Breakers))
      expect(inner).not.toBe(outer)
      // on the same store (the one in context)
      yield* opened(outer)
      expect(yield* inner.state).toBe("OPEN")
    }).pipe(Effect.provide(Breakers), Effect.provide(CircuitStore.layerMemory))
  })

  it("a ManagedRuntime's store is not reused by an Effect.provide run on it", async () => {
    const runtime = ManagedRuntime.make(CircuitStore.layerMemory)
    try {
      await runtime.runPromise(
        Effect.flatMap(CircuitBreaker.make("memo-runtime", { failureThreshold: 1 }), opened)
      )
      const onRuntime = await runtime.runPromise(
        Effect.flatMap(CircuitBreaker.make("memo-runtime"), (breaker) => breaker.state)
      )
      const provided = await runtime.runPromise(
        Effect.flatMap(CircuitBreaker.make("memo-runtime"), (breaker) => breaker.state).pipe(
          Effect.provide(CircuitStore.layerMemory)
        )
      )
      expect([onRuntime, provided]).toEqual(["OPEN", "CLOSED"])
    } finally {
      await runtime.dispose()
    }
  })
})

describe("metrics", () => {
  it.effect("a breaker's metrics reach the metric registry under the shared names, help and buckets", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make("metrics-names", { failureThreshold: 1, backoffJitter: 0 })
      for (let i = 0; i < 3; i++) yield* Effect.succeed(1).pipe(breaker.protect)
      yield* opened(breaker)
      yield* Effect.result(Effect.succeed(1).pipe(breaker.protect))
      const snapshot = (yield* CircuitBreakerMetrics.snapshot).filter((m) =>
        m.attributes?.["service"] === "metrics-names"
      )
      const series = snapshot.map((m) => `${m.id}|${m.type}|${JSON.stringify(m.attributes)}|${m.description}`).sort()
      expect(series).toEqual([
        `${names.latency.name}|Histogram|{"service":"metrics-names"}|${names.latency.help}`,
        `${names.calls.name}|Counter|{"service":"metrics-names","outcome":"failure"}|${names.calls.help}`,
        `${names.calls.name}|Counter|{"service":"metrics-names","outcome":"rejected"}|${names.calls.help}`,
        `${names.calls.name}|Counter|{"service":"metrics-names","outcome":"success"}|${names.calls.help}`,
        `${names.state.name}|Gauge|{"service":"metrics-names"}|${names.state.help}`,
        `${names.transitions.name}|Counter|{"service":"metrics-names","from":"CLOSED","to":"OPEN"}|${names.transitions.help}`
      ].sort())
      const latency = snapshot.find((m) => m.id === names.latency.name)!
      expect(latency.type === "Histogram" && latency.state.buckets.map(([bound]) => bound)).toEqual([
        ...names.latencyBoundaries,
        Infinity
      ])
      expect(latency.type === "Histogram" && latency.state.count).toBe(4)
      const state = snapshot.find((m) => m.id === names.state.name)!
      expect(state.type === "Gauge" && state.state.value).toBe(CircuitBreakerMetrics.stateValue.OPEN)
      // the public metrics read the same series
      const rejected = yield* Metric.value(
        CircuitBreakerMetrics.calls.pipe(Metric.withAttributes({ service: "metrics-names", outcome: "rejected" }))
      )
      expect(rejected.count).toBe(1)
      // and the Prometheus text shows them
      const text = prometheus.render(
        { circuits: [], total: 0, nextCursor: null, complete: true, unreadable: 0, reason: null },
        snapshot
      )
      expect(text).toContain(`# TYPE ${names.calls.name} counter`)
      expect(text).toContain(`${names.calls.name}{service="metrics-names",outcome="success"} 3`)
      expect(text).toContain(`${names.state.name}{service="metrics-names"} 2`)
      expect(text).toContain(`${names.latency.name}_bucket{service="metrics-names",le="+Inf"} 4`)
      expect(text).toContain(`${names.latency.name}_count{service="metrics-names"} 4`)
    }).pipe(
      // a registry of this test's own
      Effect.provideService(Metric.MetricRegistry, new Map()),
      Effect.provide(CircuitStore.layerMemory)
    ))

  it.effect("each metric registry holds the metrics of the breakers made with it", () =>
    Effect.gen(function*() {
      const registryA = new Map()
      const registryB = new Map()
      const calls = (registry: Metric.MetricRegistry) =>
        Effect.gen(function*() {
          const breaker = yield* CircuitBreaker.make("metrics-per-registry")
          yield* Effect.succeed(1).pipe(breaker.protect)
          return yield* Metric.value(
            CircuitBreakerMetrics.calls.pipe(
              Metric.withAttributes({ service: "metrics-per-registry", outcome: "success" })
            )
          )
        }).pipe(Effect.provideService(Metric.MetricRegistry, registry))
      expect((yield* calls(registryA)).count).toBe(1)
      expect((yield* calls(registryA)).count).toBe(2)
      expect((yield* calls(registryB)).count).toBe(1)
    }).pipe(Effect.provide(CircuitStore.layerMemory)))

  it.effect("circuits a registry makes on demand stay off the metric registry, and snapshot exports them", () =>
    Effect.gen(function*() {
      const registry = yield* CircuitBreakers.CircuitBreakers
      const breaker = yield* registry.get("metrics-tenant-42")
      yield* Effect.succeed(1).pipe(breaker.protect)
      const inRegistry = (yield* Metric.snapshot).filter((m) => m.attributes?.["service"] === "metrics-tenant-42")
      expect(inRegistry).toEqual([])
      const exported = (yield* CircuitBreakerMetrics.snapshot).filter((m) =>
        m.attributes?.["service"] === "metrics-tenant-42" && m.id === names.calls.name
      )
      expect(exported.map((m) => m.type === "Counter" && m.state.count)).toEqual([1])
    }).pipe(
      Effect.provideService(Metric.MetricRegistry, new Map()),
      Effect.provide(CircuitBreakers.layer().pipe(Layer.provide(CircuitStore.layerMemory)))
    ))
})
