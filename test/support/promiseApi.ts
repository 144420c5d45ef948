/**
 * The Promise API suites' support (test/shared/promiseApi.ts) on this edition's `promise`
 * module, ioredis and vitest.
 */
import { afterAll, afterEach, beforeAll } from "@effect/vitest"
import { Redis as IORedis } from "ioredis"
import { vi } from "vitest"
import { disposeCircuitBreakers, makeCircuitBreakerRuntime } from "../../src/promise.js"
import { promiseApiSupport } from "../shared/promiseApi.js"

export { Boom, failTimes, sleep, succeedTimes, unique } from "../shared/promiseApi.js"

export const { captureConsole, promiseApiRedis } = promiseApiSupport({
  makeCircuitBreakerRuntime,
  disposeCircuitBreakers,
  IORedis,
  beforeAll,
  afterAll,
  afterEach,
  vi
})
