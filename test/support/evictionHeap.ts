/**
 * Run by test/Eviction.test.ts in a process of its own (a small heap, nothing
 * else running): touches `TENANTS` tenant circuits once each on the memory
 * store, lets them be evicted (TestClock), and prints, as JSON, how many bytes
 * of objects (code excluded, see `heap.ts`) the process holds beyond its
 * baseline after GC, and how many circuits are left.
 *
 * `API=effect` (the default) goes through `CircuitBreakers` and
 * `CircuitBreaker.protect(name)`; `API=promise` through the Promise API: a
 * handle made per call for each tenant (`createCircuitBreaker(name).execute`),
 * and one handle kept for the live circuit, the only one used afterwards.
 *
 *   TENANTS=20000 API=promise node --expose-gc --import ./bench/register.mjs test/support/evictionHeap.ts
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Runtime from "effect/Runtime"
import * as TestClock from "effect/TestClock"
import * as TestContext from "effect/TestContext"
import { CircuitBreaker, CircuitBreakers, CircuitStore } from "../../src/index.js"
import { makeCircuitBreakerRuntime } from "../../src/promise.js"
import { settledHeapSplit } from "./heap.js"
import { memoryStoreOnTestClock } from "./stores.js"

const tenants = Number(process.env.TENANTS ?? 20_000)
const api = process.env.API ?? "effect"
const warm = Array.from({ length: 1_000 }, (_, i) => `warm-${i}`)
const names = Array.from({ length: tenants }, (_, i) => `tenant-${i}`)
const error = new Error("down")
const boom = Effect.fail(error)

const settle = settledHeapSplit

/** What one run measured. */
interface Result {
  readonly objects: number
  readonly code: number
  readonly scheduler: number
  /** Breakers the registry holds (Effect), or circuits the runtime's health lists (Promise). */
  readonly breakers: number
  readonly circuits: number
}

/** The run itself: touch the warm-up names, evict, baseline, touch the tenants, evict, after. */
const measure = async (touch: (batch: ReadonlyArray<string>) => Promise<void>, evict: () => Promise<void>) => {
  await touch(["live", ...warm])
  await evict()
  // the first snapshot loads what taking one needs: not the circuits' doing
  await settle()
  const before = await settle()
  await touch(names)
  await evict()
  const after = await settle()
  return {
    objects: after.objects - before.objects,
    code: after.code - before.code,
    scheduler: after.scheduler - before.scheduler
  }
}

const viaEffect = (): Promise<Result> => {
  const touch = (batch: ReadonlyArray<string>) =>
    Effect.forEach(batch, (name) =>
      Effect.zipRight(
        Effect.succeed(1).pipe(CircuitBreaker.protect(name)),
        Effect.either(boom.pipe(CircuitBreaker.protect(name)))
      ), { discard: true })
  /** Past the idle TTL, then two calls on the live circuit: the first notes the time, the second sweeps. */
  const evict = Effect.zipRight(
    TestClock.adjust("11 minutes"),
    Effect.repeatN(Effect.succeed(1).pipe(CircuitBreaker.protect("live")), 1)
  )
  const program = Effect.gen(function*() {
    const runtime = yield* Effect.runtime<CircuitBreakers.CircuitBreakers>()
    const run = <E>(effect: Effect.Effect<unknown, E, CircuitBreakers.CircuitBreakers>) =>
      Runtime.runPromise(runtime, Effect.asVoid(Effect.orDie(effect)))
    const figures = yield* Effect.promise(() => measure((batch) => run(touch(batch)), () => run(evict)))
    const registry = yield* CircuitBreakers.CircuitBreakers
    const store = yield* CircuitStore.CircuitStore
    return { ...figures, breakers: (yield* registry.all).length, circuits: (yield* store.names).length }
  })
  return Effect.runPromise(program.pipe(
    Effect.provide(CircuitBreakers.layer().pipe(Layer.provideMerge(CircuitStore.layerMemory))),
    Effect.provide(TestContext.TestContext)
  ))
}

const viaPromise = async (): Promise<Result> => {
  const { clock, store } = memoryStoreOnTestClock()
  const rt = makeCircuitBreakerRuntime({ store })
  // kept, and used once: from then on it asks the registry again after a second of its clock
  const live = rt.createCircuitBreaker("live")
  await live.execute(() => 1)
  const touch = async (batch: ReadonlyArray<string>) => {
    for (const name of batch) {
      await rt.createCircuitBreaker(name).execute(() => 1)
      await rt.createCircuitBreaker(name).execute(() => Promise.reject(error)).catch(() => undefined)
    }
  }
  /** Past the idle TTL, then calls through the kept handle only. */
  const evict = async () => {
    await Effect.runPromise(clock().adjust("11 minutes"))
    for (let i = 0; i < 3; i++) await live.execute(() => 1)
  }
  const figures = await measure(touch, evict)
  const listed = Object.keys((await rt.getCircuitBreakerHealth()).services).length
  await rt.dispose()
  return { ...figures, breakers: listed, circuits: listed }
}

console.log(JSON.stringify(await (api === "promise" ? viaPromise() : viaEffect())))
