/**
 * Run by test/Eviction.test.ts in a process of its own (a small heap, nothing
 * else running): makes `NAMES` breakers with `CircuitBreaker.make` (one
 * success and one failure each) in a `ManagedRuntime`, disposes it and keeps
 * its handle (as an application's module-level runtime is kept), and prints,
 * as JSON, how many bytes of objects (code excluded, see `heap.ts`) the
 * process holds beyond its baseline after GC.
 *
 * `STORE=memory` (the default) or `STORE=redis` (`REDIS_URL`, on a fresh
 * prefix). The baseline is taken after a first runtime of 1,000 names was
 * made, used, disposed and kept the same way, so that what any runtime
 * keeps (modules, the runtime's own objects) is in it.
 *
 *   NAMES=20000 STORE=redis REDIS_URL=redis://127.0.0.1:6379 \
 *     node --expose-gc --import ./bench/register.mjs test/support/disposeHeap.ts
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { CircuitBreaker, CircuitStore, RedisCircuitStore } from "../../src/index.js"
import { IORedisClient } from "../../src/ioredis.js"
import { settledHeapSplit } from "./heap.js"

const count = Number(process.env.NAMES ?? 20_000)
const store = process.env.STORE ?? "memory"
const error = new Error("down")

const settle = settledHeapSplit

let runs = 0
const layer = (): Layer.Layer<CircuitStore.CircuitStore, unknown> =>
  store === "redis"
    ? RedisCircuitStore.layer({ prefix: `dispose-${process.pid}-${++runs}`, timeSource: "client" }).pipe(
      Layer.provide(IORedisClient.layer({ url: process.env.REDIS_URL! }))
    )
    : CircuitStore.layerMemory

/** A runtime in which `names` breakers were made and used, disposed. */
const used = async (names: ReadonlyArray<string>) => {
  const runtime = ManagedRuntime.make(layer())
  await runtime.runPromise(Effect.forEach(names, (name) =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make(name)
      yield* breaker.protect(Effect.succeed(1))
      yield* Effect.either(breaker.protect(Effect.fail(error)))
    }), { discard: true }))
  await runtime.dispose()
  return runtime
}

/** The runtimes' handles, kept as an application keeps its module-level runtime. */
const kept: Array<unknown> = []
kept.push(await used(Array.from({ length: 1_000 }, (_, i) => `warm-${i}`)))
// the first snapshot loads what taking one needs: not the runtime's doing
await settle()
const before = await settle()
kept.push(await used(Array.from({ length: count }, (_, i) => `tenant-${i}`)))
const after = await settle()
const objects = after.objects - before.objects
console.log(JSON.stringify({ objects, perName: objects / count, runtimes: kept.length }))
