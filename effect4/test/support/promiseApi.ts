/**
 * The Promise API suites' support (test/shared/promiseApi.ts, shared with the Effect 3
 * edition) on this edition's `promise` module, ioredis and vitest; and a memory store on a
 * `TestClock` for a runtime of its own.
 */
import { afterAll, afterEach, beforeAll } from "@effect/vitest"
import { Redis as IORedis } from "ioredis"
import { vi } from "vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as TestClock from "effect/testing/TestClock"
import { CircuitStore } from "../../src/index.js"
import { disposeCircuitBreakers, makeCircuitBreakerRuntime } from "../../src/promise.js"
import { promiseApiSupport } from "../../../test/shared/promiseApi.js"

export { freshPrefix } from "../../../test/shared/names.js"
export { Boom, failTimes, sleep, succeedTimes, unique } from "../../../test/shared/promiseApi.js"

export const { captureConsole, promiseApiRedis } = promiseApiSupport({
  makeCircuitBreakerRuntime,
  disposeCircuitBreakers,
  IORedis,
  beforeAll,
  afterAll,
  afterEach,
  vi
})

/**
 * A memory store for a runtime of its own (the Promise API's `store` option)
 * that runs that runtime on a `TestClock`: `clock()` is the clock, set once
 * the runtime is built, to `adjust` from outside.
 */
export const memoryStoreOnTestClock = () => {
  let clock: TestClock.TestClock | undefined
  const store = Layer.merge(
    CircuitStore.layerMemory,
    Layer.effectDiscard(TestClock.testClockWith((testClock) =>
      Effect.sync(() => {
        clock = testClock
      })
    ))
  ).pipe(Layer.provideMerge(TestClock.layer()))
  return { clock: (): TestClock.TestClock => clock!, store }
}
