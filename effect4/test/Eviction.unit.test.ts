/**
 * Bounded memory per process on the memory store: idle breakers, store entries and metric state
 * are evicted (driven by the callers' Clock, so TestClock), a breaker still held keeps working
 * after its entry went, the metric registry does not grow with per-tenant names, and a bad
 * idleTtl is named. The Redis store's eviction is in the Redis store's suites.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as TestClock from "effect/testing/TestClock"
import * as CircuitBreaker from "../src/CircuitBreaker.js"
import * as CircuitBreakerMetrics from "../src/CircuitBreakerMetrics.js"
import * as CircuitBreakers from "../src/CircuitBreakers.js"
import * as CircuitConfig from "../src/CircuitConfig.js"
import * as CircuitStore from "../src/CircuitStore.js"
import { tick, touchTenants } from "./support/calls.js"

let runs = 0
const unique = (base: string) => `${base}-${process.pid}-${++runs}`
const boom = Effect.fail(new Error("down"))

/** Whether a metric's attributes name `service`. */
const ofService = (metric: Metric.Metric.Snapshot, service: string) => metric.attributes?.["service"] === service

describe("eviction, memory store", () => {
  it.effect("idle tenant circuits leave the registry and the store; the live ones stay", () =>
    Effect.gen(function*() {
      const base = unique("mem-tenant")
      const live = unique("mem-live")
      const registryBefore = (yield* Metric.snapshot).length
      yield* tick(live)
      yield* touchTenants(base, 300)
      const store = yield* CircuitStore.CircuitStore
      const registry = yield* CircuitBreakers.CircuitBreakers
      expect((yield* store.names).length).toBe(301)
      expect((yield* registry.all).length).toBe(301)
      // per-tenant names added nothing to the metric registry; their metrics are exported at read time
      expect((yield* Metric.snapshot).length - registryBefore).toBeLessThanOrEqual(2)
      const exported = (yield* CircuitBreakerMetrics.snapshot).filter((metric) =>
        metric.id === "circuit_breaker_calls_total" && ofService(metric, `${base}-7`)
      )
      expect(exported.map((metric) => (metric.state as { count: number }).count).sort()).toEqual([1, 1])

      // less than the idle TTL: nothing goes
      yield* TestClock.adjust("9 minutes")
      yield* tick(live)
      expect((yield* store.names).length).toBe(301)
      expect((yield* registry.all).length).toBe(301)

      yield* TestClock.adjust("2 minutes")
      yield* tick(live)
      yield* tick(live)
      expect(yield* store.names).toEqual([live])
      expect((yield* registry.all).map((breaker) => breaker.name)).toEqual([live])
    }).pipe(Effect.provide(CircuitBreakers.layer().pipe(Layer.provideMerge(CircuitStore.layerMemory)))))

  it.effect("a process that keeps the breakers it uses, and asks the registry for no other, still lets the idle ones go", () =>
    Effect.gen(function*() {
      const registry = yield* CircuitBreakers.CircuitBreakers
      const store = yield* CircuitStore.CircuitStore
      const kept = yield* registry.get(unique("mem-kept"))
      yield* touchTenants(unique("mem-burst"), 200)
      expect((yield* registry.all).length).toBe(201)
      // from here on only the kept breaker is called: the registry is never asked again
      yield* TestClock.adjust("11 minutes")
      yield* Effect.succeed(1).pipe(CircuitBreaker.protect(kept))
      expect((yield* registry.all).map((breaker) => breaker.name)).toEqual([kept.name])
      yield* Effect.succeed(1).pipe(CircuitBreaker.protect(kept))
      expect(yield* store.names).toEqual([kept.name])
    }).pipe(Effect.provide(CircuitBreakers.layer().pipe(Layer.provideMerge(CircuitStore.layerMemory)))))

  it.effect("a kept breaker the sweep let go while idle is back in the registry at its next call, the same breaker", () =>
    Effect.gen(function*() {
      const registry = yield* CircuitBreakers.CircuitBreakers
      const a = yield* registry.get(unique("mem-kept-a"))
      const b = yield* registry.get(unique("mem-kept-b"))
      yield* TestClock.adjust("11 minutes")
      // b's call sweeps: a, idle, goes
      yield* Effect.succeed(1).pipe(CircuitBreaker.protect(b))
      expect((yield* registry.all).map((breaker) => breaker.name)).toEqual([b.name])
      // a is called again by the one who kept it: the registry (monitoring, admin routes) sees it again
      yield* Effect.succeed(1).pipe(CircuitBreaker.protect(a))
      expect((yield* registry.all).map((breaker) => breaker.name).sort()).toEqual([a.name, b.name].sort())
      expect(yield* registry.get(a.name)).toBe(a)
      // and goes again when idle
      yield* TestClock.adjust("11 minutes")
      yield* Effect.succeed(1).pipe(CircuitBreaker.protect(b))
      expect((yield* registry.all).map((breaker) => breaker.name)).toEqual([b.name])
    }).pipe(Effect.provide(CircuitBreakers.layer().pipe(Layer.provideMerge(CircuitStore.layerMemory)))))

  it.effect("a circuit with failures in its window, or open, is not dropped; an admin hold never is", () =>
    Effect.gen(function*() {
      const store = yield* CircuitStore.CircuitStore
      const config = CircuitConfig.decodeEither("x")
      expect(config._tag).toBe("Success")
      const open = yield* CircuitBreaker.make(unique("mem-open"), { failureThreshold: 1, recoveryTimeout: "1 hour" })
      const held = yield* CircuitBreaker.make(unique("mem-forced"))
      yield* Effect.result(boom.pipe(CircuitBreaker.protect(open)))
      yield* held.forceOpen
      const live = yield* CircuitBreaker.make(unique("mem-live"))
      yield* TestClock.adjust("11 minutes")
      yield* Effect.succeed(1).pipe(CircuitBreaker.protect(live))
      expect(new Set(yield* store.names)).toEqual(new Set([open.name, held.name, live.name]))
      expect(yield* open.state).toBe("OPEN")
      expect(yield* held.state).toBe("FORCED_OPEN")
    }).pipe(Effect.provide(CircuitStore.layerMemoryWith({ idleTtl: "10 minutes" }))))

  it.effect("a breaker still held works after its slot was evicted, on the same state as a new one", () =>
    Effect.gen(function*() {
      const name = unique("mem-held")
      const registry = yield* CircuitBreakers.CircuitBreakers
      const store = yield* CircuitStore.CircuitStore
      const held = yield* registry.get(name)
      yield* Effect.succeed(1).pipe(CircuitBreaker.protect(held))
      yield* TestClock.adjust("11 minutes")
      yield* tick(unique("mem-other"))
      yield* tick(unique("mem-other"))
      expect(yield* store.names).not.toContain(name)
      // meanwhile the registry made a new breaker for the name
      const fresh = yield* registry.get(name)
      expect(fresh).not.toBe(held)
      // the held breaker takes a slot again; the registry's new breaker shares it, and stays the registry's
      for (let i = 0; i < 3; i++) yield* Effect.result(boom.pipe(CircuitBreaker.protect(held)))
      expect(yield* fresh.state).toBe("OPEN")
      expect(yield* registry.get(name)).toBe(fresh)
      const rejected = yield* Effect.result(Effect.succeed(1).pipe(CircuitBreaker.protect(fresh)))
      expect(rejected._tag === "Failure" && rejected.failure._tag).toBe("CircuitOpen")
    }).pipe(Effect.provide(
      CircuitBreakers.layer({ defaults: { failureThreshold: 3 } }).pipe(Layer.provideMerge(CircuitStore.layerMemory))
    )))
})

describe("metrics of per-tenant circuits", () => {
  it.effect("breakers made by CircuitBreaker.make are in the metric registry; circuits made on demand are not, and are exported while alive", () =>
    Effect.gen(function*() {
      const named = unique("metrics-named")
      const tenant = unique("metrics-tenant")
      const breaker = yield* CircuitBreaker.make(named)
      yield* Effect.succeed(1).pipe(CircuitBreaker.protect(breaker))
      yield* Effect.succeed(1).pipe(CircuitBreaker.protect(tenant))
      const registered = yield* Metric.snapshot
      const exported = yield* CircuitBreakerMetrics.snapshot
      expect(registered.some((metric) => ofService(metric, named))).toBe(true)
      expect(registered.some((metric) => ofService(metric, tenant))).toBe(false)
      expect(exported.some((metric) => ofService(metric, named))).toBe(true)
      expect(exported.some((metric) => ofService(metric, tenant))).toBe(true)
      const value = yield* Metric.value(
        CircuitBreakerMetrics.calls.pipe(Metric.withAttributes({ service: named, outcome: "success" }))
      )
      expect(value.count).toBe(1)
    }).pipe(Effect.provide(CircuitBreakers.layer().pipe(Layer.provideMerge(CircuitStore.layerMemory)))))
})

describe("metrics of a circuit made on demand, as exported", () => {
  it.effect("the same series, keys and values a named breaker has in the metric registry", () =>
    Effect.gen(function*() {
      const named = unique("series-named")
      const tenant = unique("series-tenant")
      const config = { failureThreshold: 1, recoveryTimeout: "1 minute" } as const
      const breaker = yield* CircuitBreaker.make(named, config)
      const registry = yield* CircuitBreakers.CircuitBreakers
      const onDemand = yield* registry.get(tenant)
      for (const b of [breaker, onDemand]) {
        yield* Effect.succeed(1).pipe(CircuitBreaker.protect(b))
        yield* Effect.result(boom.pipe(CircuitBreaker.protect(b)))
        yield* Effect.result(Effect.succeed(1).pipe(CircuitBreaker.protect(b)))
      }
      const of = (metrics: ReadonlyArray<Metric.Metric.Snapshot>, service: string) =>
        metrics.filter((metric) => ofService(metric, service))
      // the named breaker's series are the metric registry's; the tenant's are not there, only exported
      const registered = of(yield* Metric.snapshot, named)
      expect(registered).toHaveLength(6)
      expect(of(yield* Metric.snapshot, tenant)).toEqual([])
      const exported = of(yield* CircuitBreakerMetrics.snapshot, tenant)
      expect(exported).toHaveLength(6)
      // series for series (name, type, description, attributes in order, the service's value aside)
      // and state for state
      const id = (metric: Metric.Metric.Snapshot) =>
        `${metric.id}|${
          Object.entries(metric.attributes ?? {}).filter(([key]) => key !== "service").map(([key, value]) =>
            `${key}=${value}`
          )
        }`
      for (const metric of registered) {
        const other = exported.find((candidate) => id(candidate) === id(metric))!
        expect(other).toBeDefined()
        expect(other.type).toBe(metric.type)
        expect(other.description).toEqual(metric.description)
        expect(Object.keys(other.attributes ?? {})).toEqual(Object.keys(metric.attributes ?? {}))
        expect(JSON.stringify(other.state)).toEqual(JSON.stringify(metric.state))
      }
      expect(registered.map(id).sort()).toEqual([
        "circuit_breaker_call_duration_ms|",
        "circuit_breaker_calls_total|outcome=failure",
        "circuit_breaker_calls_total|outcome=rejected",
        "circuit_breaker_calls_total|outcome=success",
        "circuit_breaker_state|",
        "circuit_breaker_transitions_total|from=CLOSED,to=OPEN"
      ])
    }).pipe(Effect.provide(
      CircuitBreakers.layer({ defaults: { failureThreshold: 1, recoveryTimeout: "1 minute" } }).pipe(
        Layer.provideMerge(CircuitStore.layerMemory)
      )
    )))
})

describe("idleTtl", () => {
  it.effect("a bad idleTtl is a CircuitConfigError naming it, on the registry and on the memory store", () =>
    Effect.gen(function*() {
      const registry = yield* Effect.flip(
        Layer.build(
          CircuitBreakers.layer({ idleTtl: "soon" as never }).pipe(Layer.provide(CircuitStore.layerMemory))
        )
      )
      expect(registry._tag).toBe("CircuitConfigError")
      expect(registry.message).toContain("idleTtl must be a duration")
      const store = yield* Effect.flip(Layer.build(CircuitStore.layerMemoryWith({ idleTtl: -5 })))
      expect(store.message).toContain("idleTtl must be a duration such as \"10 minutes\" or Duration.infinity (got -5)")
    }))
})
