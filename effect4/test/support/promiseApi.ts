/**
 * What the Effect 4 edition's Promise API suites share (as the Effect 3 edition's
 * test/support/promiseApi.ts, on this edition's `promise` module): one `redis-server` reached over TCP (ioredis) and over the
 * Upstash REST protocol (the test bridge, and a dead bridge whose every request fails), with the
 * store environment variables cleared for the suite; and the helpers that drive a breaker.
 */
import { afterAll, afterEach, beforeAll } from "@effect/vitest"
import { Redis as IORedis } from "ioredis"
import { vi } from "vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as TestClock from "effect/testing/TestClock"
import { CircuitStore } from "../../src/index.js"
import { disposeCircuitBreakers, makeCircuitBreakerRuntime, type PersistentCircuitBreaker } from "../../src/promise.js"
import { type RedisServer, startRedis } from "../../../test/shared/redisServer.js"
import { startUpstashBridge, type UpstashBridge } from "../../../test/shared/upstashBridge.js"

let prefixes = 0
/** A Redis key prefix no other test uses. */
export const freshPrefix = (): string => `t${process.pid}-${++prefixes}-${Date.now().toString(36)}`

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

/** The Redis of a Promise API suite; its fields are set once the suite's `beforeAll` has run. */
export interface PromiseApiRedis {
  readonly server: RedisServer
  readonly bridge: UpstashBridge
  /** A bridge whose every request fails (a dead Upstash), for store-unavailable paths. */
  readonly deadBridge: UpstashBridge
  readonly ioredis: IORedis
  /** A runtime on the shared Redis over TCP, with a key prefix of its own. */
  readonly tcpRuntime: (prefix?: string) => ReturnType<typeof makeCircuitBreakerRuntime>
}

const ENV_KEYS = ["UPSTASH_REDIS_REST_URL", "UPSTASH_REDIS_REST_TOKEN", "REDIS_URL"] as const

/**
 * Starts the suite's Redis and bridges in `beforeAll` (the environment's store variables cleared
 * meanwhile), stops them and disposes the default runtime in `afterAll`, restores mocks after
 * each test.
 */
export const promiseApiRedis = (token: string): PromiseApiRedis => {
  const env = {
    tcpRuntime: (prefix = freshPrefix()) => makeCircuitBreakerRuntime({ redis: env.ioredis, prefix })
  } as { -readonly [K in keyof PromiseApiRedis]: PromiseApiRedis[K] }
  const savedEnv: Partial<Record<(typeof ENV_KEYS)[number], string>> = {}

  beforeAll(async () => {
    for (const key of ENV_KEYS) {
      const value = process.env[key]
      if (value !== undefined) savedEnv[key] = value
      delete process.env[key]
    }
    env.server = await startRedis()
    env.bridge = await startUpstashBridge({ redisUrl: env.server.url, token })
    env.deadBridge = await startUpstashBridge({ redisUrl: env.server.url, token })
    env.deadBridge.injectFault({
      type: "http",
      status: 500,
      body: JSON.stringify({ error: "ERR bridge: redis is down" })
    })
    env.ioredis = new IORedis(env.server.url)
  })

  afterAll(async () => {
    await disposeCircuitBreakers()
    env.ioredis?.disconnect()
    await env.deadBridge?.close()
    await env.bridge?.close()
    await env.server?.stop()
    for (const key of ENV_KEYS) {
      delete process.env[key]
      const value = savedEnv[key]
      if (value !== undefined) process.env[key] = value
    }
  })

  afterEach(() => {
    vi.restoreAllMocks()
  })

  return env
}

/** Waits `ms` of real time. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

let names = 0
/** A service name no other test uses. */
export const unique = (label: string) => `${label}-${++names}-${Date.now().toString(36)}`

/** The error the failing operations throw. */
export class Boom extends Error {
  override readonly name = "Boom"
}

/** Runs `n` failing calls; returns what each rejected with. */
export const failTimes = async (breaker: PersistentCircuitBreaker, n: number): Promise<Array<unknown>> => {
  const errors: Array<unknown> = []
  for (let i = 0; i < n; i++) {
    errors.push(
      await breaker.execute(async () => {
        throw new Boom(`boom ${i}`)
      }).then(() => undefined, (error: unknown) => error)
    )
  }
  return errors
}

/** Runs `n` successful calls. */
export const succeedTimes = async (breaker: PersistentCircuitBreaker, n: number): Promise<void> => {
  for (let i = 0; i < n; i++) await breaker.execute(async () => i)
}

/** Captures everything written with console.log (where the Promise API's runtimes log, as logfmt lines). */
export const captureConsole = () => {
  const lines: Array<string> = []
  vi.spyOn(console, "log").mockImplementation((...args: Array<unknown>) => {
    lines.push(args.map(String).join(" "))
  })
  return lines
}
