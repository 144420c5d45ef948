/**
 * Run by test/Eviction.test.ts in a process of its own (a small heap, nothing
 * else running): touches `TENANTS` tenant circuits once each through
 * `CircuitBreakers` on the memory store, lets them be evicted (TestClock),
 * and prints, as JSON, how many bytes of objects (code excluded, see
 * `heap.ts`) the process holds beyond its baseline after GC, and how many
 * circuits are left.
 *
 *   TENANTS=20000 node --expose-gc --import ./bench/register.mjs test/support/evictionHeap.ts
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as TestClock from "effect/TestClock"
import * as TestContext from "effect/TestContext"
import { CircuitBreaker, CircuitBreakers, CircuitStore } from "../../src/index.js"
import { heapSplit } from "./heap.js"

const tenants = Number(process.env.TENANTS ?? 20_000)
const warm = Array.from({ length: 1_000 }, (_, i) => `warm-${i}`)
const names = Array.from({ length: tenants }, (_, i) => `tenant-${i}`)
const boom = Effect.fail(new Error("down"))
const gc = (globalThis as { gc?: () => void }).gc!

/**
 * Collects garbage, letting the event loop turn in between: what was made in
 * the last job stays alive until it ends (a `WeakRef`'s target does), and
 * `FinalizationRegistry` callbacks run as tasks of their own.
 */
const settle = Effect.promise(async () => {
  for (let i = 0; i < 4; i++) {
    gc()
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  return heapSplit()
})

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
  yield* touch(["live", ...warm])
  yield* evict
  // the first snapshot loads what taking one needs: not the circuits' doing
  yield* settle
  const before = yield* settle
  yield* touch(names)
  yield* evict
  const after = yield* settle
  const registry = yield* CircuitBreakers.CircuitBreakers
  const store = yield* CircuitStore.CircuitStore
  return {
    objects: after.objects - before.objects,
    code: after.code - before.code,
    scheduler: after.scheduler - before.scheduler,
    breakers: (yield* registry.all).length,
    circuits: (yield* store.names).length
  }
})

const result = await Effect.runPromise(program.pipe(
  Effect.provide(CircuitBreakers.layer().pipe(Layer.provideMerge(CircuitStore.layerMemory))),
  Effect.provide(TestContext.TestContext)
))
console.log(JSON.stringify(result))
