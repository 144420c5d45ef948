/**
 * The Promise side (`src/promise.ts`, the README's "Promise API") against a real Redis: one `redis-server`
 * started here, reached over TCP (ioredis) and over the Upstash REST protocol (`@upstash/redis`
 * with its default options, through the test bridge). Every test uses its own service names or
 * key prefix. Time is real, so open periods are short.
 */
import { Redis as Upstash } from "@upstash/redis"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "@effect/vitest"
import { Redis as IORedis } from "ioredis"
import * as Effect from "effect/Effect"
import { vi } from "vitest"
import { CircuitStore, RedisCircuitStore } from "../src/index.js"
import {
  CircuitBreakerError,
  CircuitBreakerMonitoring,
  configureCircuitBreakers,
  CircuitConfigError,
  createCircuitBreaker,
  CircuitBreakers,
  disposeCircuitBreakers,
  getCircuitBreaker,
  getCircuitBreakerHealth,
  HttpResponseError,
  makeCircuitBreakerRuntime,
  type PersistentCircuitBreaker,
  withCircuitBreaker
} from "../src/promise.js"
import { type RedisServer, startRedis } from "./support/redisServer.js"
import { freshPrefix, memoryStoreOnTestClock } from "./support/stores.js"
import { startUpstashBridge, type UpstashBridge } from "./support/upstashBridge.js"

const TOKEN = "promise-test-token-5d1e9c"

let server: RedisServer
let bridge: UpstashBridge
/** A bridge whose every request fails (a dead Upstash), for store-unavailable paths. */
let deadBridge: UpstashBridge
let ioredis: IORedis

const ENV_KEYS = ["UPSTASH_REDIS_REST_URL", "UPSTASH_REDIS_REST_TOKEN", "REDIS_URL"] as const
const savedEnv: Partial<Record<(typeof ENV_KEYS)[number], string>> = {}

beforeAll(async () => {
  for (const key of ENV_KEYS) {
    const value = process.env[key]
    if (value !== undefined) savedEnv[key] = value
    delete process.env[key]
  }
  server = await startRedis()
  bridge = await startUpstashBridge({ redisUrl: server.url, token: TOKEN })
  deadBridge = await startUpstashBridge({ redisUrl: server.url, token: TOKEN })
  deadBridge.injectFault({ type: "http", status: 500, body: JSON.stringify({ error: "ERR bridge: redis is down" }) })
  ioredis = new IORedis(server.url)
})

afterAll(async () => {
  await disposeCircuitBreakers()
  ioredis.disconnect()
  await deadBridge?.close()
  await bridge?.close()
  await server?.stop()
  for (const key of ENV_KEYS) {
    delete process.env[key]
    const value = savedEnv[key]
    if (value !== undefined) process.env[key] = value
  }
})

afterEach(() => {
  vi.restoreAllMocks()
})

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

let names = 0
/** A service name no other test uses. */
const unique = (label: string) => `${label}-${++names}-${Date.now().toString(36)}`

class Boom extends Error {
  override readonly name = "Boom"
}

/** Runs `n` failing calls; returns what each rejected with. */
const failTimes = async (breaker: PersistentCircuitBreaker, n: number): Promise<Array<unknown>> => {
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

const succeedTimes = async (breaker: PersistentCircuitBreaker, n: number): Promise<void> => {
  for (let i = 0; i < n; i++) await breaker.execute(async () => i)
}

/** Captures everything written with console.log (where Effect's default logger writes). */
const captureConsole = () => {
  const lines: Array<string> = []
  vi.spyOn(console, "log").mockImplementation((...args: Array<unknown>) => {
    lines.push(args.map(String).join(" "))
  })
  return lines
}

/** A runtime on the shared Redis over TCP, with a key prefix of its own. */
const tcpRuntime = (prefix = freshPrefix()) => makeCircuitBreakerRuntime({ redis: ioredis, prefix })

describe("createCircuitBreaker / execute", () => {
  it("resolves with the operation's value; rejects with its own error, not wrapped", async () => {
    const rt = tcpRuntime()
    try {
      const breaker = rt.createCircuitBreaker(unique("values"))
      expect(await breaker.execute(async () => ({ id: 7 }))).toEqual({ id: 7 })
      const boom = new Boom("no")
      const error = await breaker.execute(async () => {
        throw boom
      }).catch((e: unknown) => e)
      expect(error).toBe(boom)
      // a synchronous throw and a plain (non-Promise) value work too
      const sync = new Boom("sync")
      expect(
        await breaker.execute(() => {
          throw sync
        }).catch((e: unknown) => e)
      ).toBe(sync)
      expect(await breaker.execute(() => 42)).toBe(42)
      const metrics = await breaker.getMetrics()
      expect(metrics).toMatchObject({ calls: 4, successes: 2, failures: 2, state: "CLOSED" })
    } finally {
      await rt.dispose()
    }
  })

  it("opens after failureThreshold failures and then rejects with CIRCUIT_OPEN without running the operation", async () => {
    const rt = tcpRuntime()
    try {
      const name = unique("opens")
      const breaker = rt.createCircuitBreaker(name, { failureThreshold: 3, recoveryTimeout: 20_000, backoffJitter: 0 })
      const errors = await failTimes(breaker, 3)
      expect(errors.every((e) => e instanceof Boom)).toBe(true)
      expect(await breaker.getCurrentState()).toBe("OPEN")
      expect(await breaker.isAvailable()).toBe(false)

      let ran = false
      const rejected = await breaker.execute(async () => {
        ran = true
      }).catch((e: unknown) => e)
      expect(ran).toBe(false)
      expect(rejected).toBeInstanceOf(CircuitBreakerError)
      expect(rejected).toBeInstanceOf(Error)
      const error = rejected as CircuitBreakerError
      expect(error.code).toBe("CIRCUIT_OPEN")
      expect(error.serviceName).toBe(name)
      expect(error.state).toBe("OPEN")
      expect(error.retryAfter).toBeGreaterThan(18_000)
      expect(error.retryAfter).toBeLessThanOrEqual(20_000)
      expect(error.name).toBe("CircuitBreakerError")
      expect(error.toJSON()).toMatchObject({ code: "CIRCUIT_OPEN", serviceName: name })
      expect((await breaker.getMetrics()).rejections).toBe(1)
    } finally {
      await rt.dispose()
    }
  })

  it("a bad config or name throws a CircuitConfigError at once, naming the field and the rule", () => {
    expect(() => createCircuitBreaker("x", { backoffJitter: 1.5 })).toThrow(CircuitConfigError)
    expect(() => createCircuitBreaker("x", { backoffJitter: 1.5 })).toThrow(/backoffJitter must be between 0 and 1/)
    expect(() => createCircuitBreaker("x", { failureThreshold: 0, recoveryTimeout: -1 })).toThrow(
      /failureThreshold must be a positive integer.*recoveryTimeout must not be negative/
    )
    expect(() => createCircuitBreaker("")).toThrow(/service name must not be empty/)
    expect(() => createCircuitBreaker("x", { nope: 1 } as never)).toThrow(/nope is not a known field/)
    expect(() => withCircuitBreaker(async () => new Response(), "x", { successThreshold: 1.5 })).toThrow(
      CircuitConfigError
    )
  })

  it("the same name reaches the same circuit; a different config later is ignored with one warning", async () => {
    const lines = captureConsole()
    const rt = tcpRuntime()
    try {
      const name = unique("same")
      const a = rt.createCircuitBreaker(name, { failureThreshold: 2 })
      const b = rt.createCircuitBreaker(name, { failureThreshold: 2 })
      await failTimes(a, 1)
      await failTimes(b, 1)
      expect(await a.getCurrentState()).toBe("OPEN")
      expect((await b.getMetrics()).calls).toBe(2) // one breaker behind both

      const c = rt.createCircuitBreaker(name, { failureThreshold: 50 })
      const d = rt.createCircuitBreaker(name, { failureThreshold: 60 })
      expect(await c.getCurrentState()).toBe("OPEN")
      expect(await d.getCurrentState()).toBe("OPEN")
      const warnings = lines.filter((line) => line.includes("already exists in this runtime"))
      expect(warnings).toHaveLength(1)
      expect(warnings[0]).toContain("failureThreshold")
    } finally {
      await rt.dispose()
    }
  })

  it("a breaker let go idle takes its config with it: the next handle's config makes a new breaker", async () => {
    const lines = captureConsole()
    const { clock, store } = memoryStoreOnTestClock()
    const rt = makeCircuitBreakerRuntime({ store })
    try {
      const name = unique("claims")
      const first = rt.createCircuitBreaker(name, { failureThreshold: 2 })
      await first.execute(() => 1)
      // while the breaker is in the registry: the first config is kept, a different one is warned of once
      const other = rt.createCircuitBreaker(name, { failureThreshold: 7 })
      await other.execute(() => 1)
      expect((await other.getMetrics()).calls).toBe(2)
      const warnings = () => lines.filter((line) => line.includes("already exists in this runtime"))
      expect(warnings()).toHaveLength(1)

      // idle past the registry's TTL (10 minutes); another name's first call sweeps
      await Effect.runPromise(clock().adjust("11 minutes"))
      await rt.createCircuitBreaker(unique("claims-other")).execute(() => 1)

      // a new breaker, made with the config of the handle that asked for it, without a warning
      const later = rt.createCircuitBreaker(name, { failureThreshold: 7 })
      expect((await later.getMetrics()).calls).toBe(0)
      await failTimes(later, 2)
      expect(await later.getCurrentState()).toBe("CLOSED")
      expect(warnings()).toHaveLength(1)
      // the rule holds again for the new breaker
      await rt.createCircuitBreaker(name, { failureThreshold: 2 }).execute(() => 1)
      expect(warnings()).toHaveLength(2)
      expect(warnings()[1]).toContain("failureThreshold")
      // a handle that held the old breaker keeps working on the same circuit
      await first.execute(() => 1)
      expect(await first.getCurrentState()).toBe("CLOSED")
    } finally {
      await rt.dispose()
    }
  })

  it("calls through a handle that is kept let the registry sweep: idle breakers of other names go", async () => {
    const { clock, store } = memoryStoreOnTestClock()
    const rt = makeCircuitBreakerRuntime({ store })
    try {
      const live = rt.createCircuitBreaker(unique("held"))
      await live.execute(() => 1)
      for (let i = 0; i < 50; i++) await rt.createCircuitBreaker(unique("tenant")).execute(() => 1)
      expect(Object.keys((await rt.getCircuitBreakerHealth()).services)).toHaveLength(51)
      // from now on only the kept handle is used: past the idle TTL, its calls ask the registry again
      await Effect.runPromise(clock().adjust("11 minutes"))
      for (let i = 0; i < 3; i++) await live.execute(() => 1)
      expect(Object.keys((await rt.getCircuitBreakerHealth()).services)).toEqual([live.serviceName])
      expect((await live.getMetrics()).calls).toBe(4)
    } finally {
      await rt.dispose()
    }
  })

  it("half-open probes close the circuit after successThreshold successes; a failed probe re-opens it", async () => {
    const rt = tcpRuntime()
    try {
      const breaker = rt.createCircuitBreaker(unique("probe"), {
        failureThreshold: 1,
        successThreshold: 2,
        recoveryTimeout: 150,
        backoffJitter: 0,
        backoffMultiplier: 1
      })
      await failTimes(breaker, 1)
      expect(await breaker.getCurrentState()).toBe("OPEN")
      await sleep(200)
      expect(await breaker.isAvailable()).toBe(true)
      expect(await breaker.execute(async () => "probe 1")).toBe("probe 1")
      expect(await breaker.getCurrentState()).toBe("HALF_OPEN")
      await failTimes(breaker, 1)
      expect(await breaker.getCurrentState()).toBe("OPEN")
      expect((await breaker.getMetrics()).openCount).toBe(1)
      await sleep(200)
      await succeedTimes(breaker, 2)
      expect(await breaker.getCurrentState()).toBe("CLOSED")
      expect((await breaker.getMetrics()).probes).toBe(4)
    } finally {
      await rt.dispose()
    }
  })

  it("forceOpen, forceClose and reset hold for the whole fleet", async () => {
    const prefix = freshPrefix()
    const one = makeCircuitBreakerRuntime({ redis: ioredis, prefix })
    const other = makeCircuitBreakerRuntime({ redis: new Upstash({ url: bridge.url, token: TOKEN }), prefix })
    try {
      const name = unique("admin")
      const here = one.createCircuitBreaker(name, { failureThreshold: 1, stateCacheTtl: 0 })
      const there = other.createCircuitBreaker(name, { failureThreshold: 1, stateCacheTtl: 0 })
      await here.forceOpen()
      expect(await there.getCurrentState()).toBe("FORCED_OPEN")
      const rejected = await there.execute(async () => 1).catch((e: unknown) => e)
      expect(rejected).toMatchObject({ code: "CIRCUIT_OPEN", state: "FORCED_OPEN" })

      await there.forceClose()
      expect(await here.getCurrentState()).toBe("FORCED_CLOSED")
      await failTimes(here, 3) // never trips
      expect(await there.getCurrentState()).toBe("FORCED_CLOSED")
      expect(await here.isAvailable()).toBe(true)

      await here.reset()
      expect(await there.getCurrentState()).toBe("CLOSED")
      await failTimes(there, 1)
      expect(await here.getCurrentState()).toBe("OPEN")
    } finally {
      await one.dispose()
      await other.dispose()
    }
  })

  it("isFailure excuses errors, slowCallDuration counts slow successes as failures", async () => {
    const rt = tcpRuntime()
    try {
      const excused = rt.createCircuitBreaker(unique("excused"), {
        failureThreshold: 2,
        isFailure: (error) => !(error instanceof Boom && error.message === "not found")
      })
      for (let i = 0; i < 4; i++) {
        await expect(excused.execute(async () => {
          throw new Boom("not found")
        })).rejects.toThrow("not found")
      }
      expect(await excused.getCurrentState()).toBe("CLOSED")
      expect((await excused.getMetrics()).successes).toBe(4)

      const slow = rt.createCircuitBreaker(unique("slow"), { failureThreshold: 2, slowCallDuration: 20 })
      for (let i = 0; i < 2; i++) {
        expect(await slow.execute(() => sleep(40).then(() => "late"))).toBe("late")
      }
      expect(await slow.getCurrentState()).toBe("OPEN")
      expect((await slow.getMetrics()).slowCalls).toBe(2)
    } finally {
      await rt.dispose()
    }
  })

  it("the call path without a fiber and the one through protect count the same", async () => {
    // logLevel "Debug" sends named calls through `protect` on a fiber; the default takes the local path
    const scenario = async (logLevel: "Debug" | "Info") => {
      vi.spyOn(console, "log").mockImplementation(() => {})
      const rt = makeCircuitBreakerRuntime({ store: CircuitStore.layerMemory, logLevel })
      const breaker = rt.createCircuitBreaker("equivalence", {
        failureThreshold: 4,
        slowCallDuration: 100,
        isFailure: (error) => !(error instanceof Boom && error.message === "excused")
      })
      const outcomes: Array<string> = []
      const record = (p: Promise<unknown>) =>
        p.then(
          (v) => outcomes.push(`ok ${String(v)}`),
          (e: unknown) => outcomes.push(e instanceof CircuitBreakerError ? e.code : `error ${(e as Error).message}`)
        )
      for (let i = 0; i < 3; i++) await record(breaker.execute(async () => i, "op"))
      await record(breaker.execute(async () => {
        throw new Boom("excused")
      }, "op"))
      await record(breaker.execute(() => sleep(130).then(() => "slow"), "op"))
      for (let i = 0; i < 3; i++) {
        await record(breaker.execute(() => {
          throw new Boom(`sync ${i}`)
        }, "op"))
      }
      await record(breaker.execute(async () => "after", "op"))
      const { instanceId: _, lastFailureAt: _f, lastSuccessAt: _s, lastTransitionAt: _t, retryAt: _r, ...metrics } =
        await breaker.getMetrics()
      await rt.dispose()
      vi.restoreAllMocks()
      return { outcomes, metrics }
    }
    const viaFiber = await scenario("Debug")
    const local = await scenario("Info")
    expect(local).toEqual(viaFiber)
    expect(local.outcomes).toEqual([
      "ok 0",
      "ok 1",
      "ok 2",
      "error excused",
      "ok slow",
      "error sync 0",
      "error sync 1",
      "error sync 2",
      "CIRCUIT_OPEN"
    ])
    expect(local.metrics).toMatchObject({
      state: "OPEN",
      calls: 8,
      successes: 4,
      failures: 3,
      slowCalls: 1,
      rejections: 1
    })
  })

  it("rejects with SERVICE_UNAVAILABLE (no secret in it) when Redis is down and the policy is fail-closed", async () => {
    const lines = captureConsole()
    const dead = new Upstash({ url: deadBridge.url, token: TOKEN })
    const rt = makeCircuitBreakerRuntime({ redis: dead, prefix: freshPrefix() })
    try {
      const name = unique("fail-closed")
      const closed = rt.createCircuitBreaker(name, { onStoreUnavailable: "fail-closed" })
      let ran = false
      const error = await closed.execute(async () => {
        ran = true
      }).catch((e: unknown) => e)
      expect(ran).toBe(false)
      expect(error).toBeInstanceOf(CircuitBreakerError)
      expect(error).toMatchObject({ code: "SERVICE_UNAVAILABLE", serviceName: name })
      expect((error as Error).message).toContain("redis is down")

      // the default policy ("local") keeps protecting with an in-memory breaker, and says so
      const local = rt.createCircuitBreaker(unique("local"), { failureThreshold: 2 })
      expect(await local.execute(async () => "still served")).toBe("still served")
      await failTimes(local, 2)
      expect(await local.getCurrentState()).toBe("OPEN")
      expect((await local.getHealth()).status).toBe("unhealthy")

      // an admin action reaches this instance only, and says so
      const reset = await local.reset().catch((e: unknown) => e)
      expect(reset).toMatchObject({ code: "SERVICE_UNAVAILABLE" })
      expect(await local.getCurrentState()).toBe("CLOSED")
      expect((await local.getHealth()).status).toBe("degraded")

      const alerts = await rt.CircuitBreakerMonitoring.getAlerts()
      expect(alerts.some((alert) => alert.kind === "store-unavailable")).toBe(true)
      const everything = JSON.stringify([error, (error as Error).message, reset, alerts, lines])
      expect(everything).not.toContain(TOKEN)
    } finally {
      await rt.dispose()
    }
  })

  it("rejects a non-function operation", async () => {
    const rt = makeCircuitBreakerRuntime({ store: CircuitStore.layerMemory })
    try {
      await expect(rt.createCircuitBreaker("x").execute(42 as never)).rejects.toThrow(TypeError)
    } finally {
      await rt.dispose()
    }
  })
})

describe("getCircuitBreaker", () => {
  it("works on a user's @upstash/redis instance with default options (auto-deserialization, retries, auto-pipelining)", async () => {
    const redis = new Upstash({ url: bridge.url, token: TOKEN })
    // what the default options do to a script reply: numeric strings become numbers
    expect(await redis.exec(["EVAL", "return {'CLOSED', '12', 3, ''}", "0"])).toEqual(["CLOSED", 12, 3, ""])

    // names that JSON.parse would turn into something else
    const names = ["123", "true", "null", "{\"a\":1}", "\"quoted\"", unique("plain")]
    const breakers = names.map((name) => getCircuitBreaker(name, redis, { failureThreshold: 2 }))
    for (const breaker of breakers)
      expect(await breaker.execute(async () => breaker.serviceName)).toBe(breaker.serviceName)
    await failTimes(breakers[0]!, 2)
    expect(await breakers[0]!.getCurrentState()).toBe("OPEN")
    // the state is in Redis, under the default prefix
    expect(await server.cli("HGET", RedisCircuitStore.stateKey("123"), "state")).toBe("OPEN")

    const monitor = makeCircuitBreakerRuntime({ redis })
    try {
      const all = await monitor.CircuitBreakerMonitoring.getAllMetrics()
      for (const name of names) expect(Object.keys(all)).toContain(name)
      expect(all["123"]!.state).toBe("OPEN")
      expect(all["true"]!.state).toBe("CLOSED")
    } finally {
      await monitor.dispose()
    }
  })

  it("drives an object that only has exec (replies auto-deserialized) as well", async () => {
    const redis = new Upstash({ url: bridge.url, token: TOKEN })
    const execOnly = { exec: (command: [string, ...Array<string>]) => redis.exec(command) }
    const prefix = freshPrefix()
    const rt = makeCircuitBreakerRuntime({ redis: execOnly as never, prefix })
    try {
      const breaker = rt.createCircuitBreaker("456", { failureThreshold: 2 })
      expect(await breaker.execute(async () => "ok")).toBe("ok")
      await failTimes(breaker, 2)
      expect(await breaker.getCurrentState()).toBe("OPEN")
      expect(Object.keys(await rt.CircuitBreakerMonitoring.getAllMetrics())).toEqual(["456"])
    } finally {
      await rt.dispose()
    }
  })

  it("works on a user's ioredis client, shares one runtime per client, and never closes the client", async () => {
    const client = new IORedis(server.url)
    try {
      const name = unique("io")
      const a = getCircuitBreaker(name, client, { failureThreshold: 3 })
      const b = getCircuitBreaker(name, client, { failureThreshold: 3 })
      await succeedTimes(a, 2)
      await succeedTimes(b, 3)
      expect((await a.getMetrics()).calls).toBe(5) // one runtime, one breaker

      // another client: another runtime (its own counts), the same circuit in Redis
      const other = new IORedis(server.url)
      try {
        const c = getCircuitBreaker(name, other, { failureThreshold: 3 })
        await failTimes(c, 3)
        expect((await c.getMetrics()).calls).toBe(3)
        expect(await a.getCurrentState()).toBe("OPEN")
      } finally {
        other.disconnect()
      }
      await disposeCircuitBreakers()
      expect(await client.ping()).toBe("PONG")
      // after dispose a new runtime is made on first use
      expect(await a.getCurrentState()).toBe("OPEN")
    } finally {
      client.disconnect()
    }
  })

  it("throws a TypeError for something that is not a Redis client", () => {
    expect(() => getCircuitBreaker("x", {} as never)).toThrow(TypeError)
    expect(() => getCircuitBreaker("x", null as never)).toThrow(/@upstash\/redis/)
  })
})

describe("a fleet of runtimes on one Redis", () => {
  it("counts from two runtimes add up in getAllMetrics", async () => {
    const prefix = freshPrefix()
    const a = makeCircuitBreakerRuntime({ redis: new Upstash({ url: bridge.url, token: TOKEN }), prefix })
    const b = makeCircuitBreakerRuntime({ redis: ioredis, prefix })
    try {
      const name = unique("fleet")
      const config = { failureThreshold: 100 }
      const onA = a.createCircuitBreaker(name, config)
      const onB = b.createCircuitBreaker(name, config)
      await succeedTimes(onA, 7)
      await failTimes(onA, 2)
      await succeedTimes(onA, 3)
      await succeedTimes(onB, 11)
      await failTimes(onB, 4)
      await succeedTimes(onB, 5)

      // successes on a fresh CLOSED circuit are batched locally; a runtime's next round trip carries them
      await b.dispose()
      const all = await a.CircuitBreakerMonitoring.getAllMetrics()
      const metrics = all[name]!
      expect(metrics.fleet).toMatchObject({ successes: 26, failures: 6, calls: 32, rejections: 0 })
      expect(metrics.fleet.failureRate).toBeCloseTo(6 / 32)
      expect(metrics.instance).toMatchObject({ calls: 12, successes: 10, failures: 2 })
      expect(metrics.windowFailures).toBe(6)
      expect(metrics.state).toBe("CLOSED")
    } finally {
      await a.dispose()
      await b.dispose()
    }
  })
})

describe("the default runtime and its store", () => {
  it("with nothing configured, runs on the memory store and warns once", async () => {
    await disposeCircuitBreakers()
    const lines = captureConsole()
    const before = await server.cli("DBSIZE")
    const breakers = [createCircuitBreaker(unique("mem")), createCircuitBreaker(unique("mem")), CircuitBreakers.auth]
    for (const breaker of breakers) {
      expect(await breaker.execute(async () => "ok")).toBe("ok")
      await failTimes(breaker, 1)
    }
    await getCircuitBreakerHealth()
    await CircuitBreakerMonitoring.getAllMetrics()
    await CircuitBreakers.redis.execute(async () => 1)
    const warnings = lines.filter((line) => /in-memory store/.test(line))
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toContain("level=WARN")
    expect(lines).toHaveLength(1)
    expect(await server.cli("DBSIZE")).toBe(before)
    expect(Object.keys(await CircuitBreakerMonitoring.getAllMetrics()).sort()).toEqual(
      [...breakers.map((b) => b.serviceName), "redis"].sort()
    )
    await disposeCircuitBreakers()
  })

  it("takes Upstash from UPSTASH_REDIS_REST_URL/TOKEN, else REDIS_URL, without a warning", async () => {
    const lines = captureConsole()
    try {
      process.env.REDIS_URL = server.url
      const tcpPrefix = freshPrefix()
      await configureCircuitBreakers({ prefix: tcpPrefix })
      const name = unique("env-tcp")
      await failTimes(createCircuitBreaker(name, { failureThreshold: 1 }), 1)
      expect(await server.cli("HGET", RedisCircuitStore.stateKey(name, { prefix: tcpPrefix }), "state")).toBe("OPEN")

      process.env.UPSTASH_REDIS_REST_URL = bridge.url
      process.env.UPSTASH_REDIS_REST_TOKEN = TOKEN
      const upstashPrefix = freshPrefix()
      await configureCircuitBreakers({ prefix: upstashPrefix })
      bridge.resetStats()
      const other = unique("env-upstash")
      await failTimes(createCircuitBreaker(other), 1)
      expect(bridge.requests).toBeGreaterThan(0)
      expect(await server.cli("ZSCORE", RedisCircuitStore.registryKey({ prefix: upstashPrefix }), other)).toMatch(
        /^\d+$/
      )
      expect(lines.filter((line) => /WARN/.test(line))).toEqual([])
    } finally {
      delete process.env.REDIS_URL
      delete process.env.UPSTASH_REDIS_REST_URL
      delete process.env.UPSTASH_REDIS_REST_TOKEN
      await disposeCircuitBreakers()
    }
  })

  it("configureCircuitBreakers moves existing breakers to the new runtime; disposeCircuitBreakers flushes batched counts", async () => {
    const prefix = freshPrefix()
    await configureCircuitBreakers({ redis: ioredis, prefix })
    const name = unique("moves")
    const breaker = createCircuitBreaker(name, { failureThreshold: 50 })
    await succeedTimes(breaker, 9) // batched in this runtime, not yet in Redis
    await disposeCircuitBreakers()

    const reader = makeCircuitBreakerRuntime({ redis: ioredis, prefix })
    try {
      expect((await reader.CircuitBreakerMonitoring.getAllMetrics())[name]!.fleet.successes).toBe(9)
    } finally {
      await reader.dispose()
    }

    const memory = CircuitStore.layerMemory
    await configureCircuitBreakers({ store: memory })
    await failTimes(breaker, 1)
    const all = await CircuitBreakerMonitoring.getAllMetrics()
    expect(all[name]!.instance).toMatchObject({ calls: 1, failures: 1 }) // a fresh breaker, in memory
    await disposeCircuitBreakers()
  })

  it("a disposed runtime rejects later calls; a store that cannot be built rejects with its error", async () => {
    const rt = makeCircuitBreakerRuntime({ store: CircuitStore.layerMemory })
    const breaker = rt.createCircuitBreaker("x")
    expect(await breaker.execute(async () => 1)).toBe(1)
    await rt.dispose()
    await expect(breaker.execute(async () => 1)).rejects.toThrow(/disposed/)
    await expect(rt.getCircuitBreakerHealth()).rejects.toThrow(/disposed/)

    const bad = makeCircuitBreakerRuntime({ redis: ioredis, prefix: "has {braces}" })
    await expect(bad.createCircuitBreaker("x").execute(async () => 1)).rejects.toThrow(CircuitConfigError)
    await expect(bad.createCircuitBreaker("x").execute(async () => 1)).rejects.toThrow(/prefix must be/)
    await bad.dispose()
    expect(() => makeCircuitBreakerRuntime({ redis: ioredis, store: CircuitStore.layerMemory })).toThrow(TypeError)
  })

  it("logLevel \"Debug\" logs every named operation and its outcome", async () => {
    const lines = captureConsole()
    const rt = makeCircuitBreakerRuntime({ store: CircuitStore.layerMemory, logLevel: "Debug" })
    try {
      const breaker = rt.createCircuitBreaker("debug-service", { failureThreshold: 1 })
      await breaker.execute(async () => 1, "debug-operation")
      await breaker.execute(async () => {
        throw new Boom("bad")
      }, "debug-operation").catch(() => {})
      await breaker.execute(async () => 1, "debug-operation").catch(() => {})
      const debug = lines.filter((line) => line.includes("level=DEBUG") && line.includes("operation=debug-operation"))
      expect(debug).toHaveLength(3)
      expect(debug[0]).toMatch(/succeeded in \d+ ms/)
      expect(debug[1]).toContain("Boom: bad")
      expect(debug[2]).toContain("not run: Circuit for \\\"debug-service\\\" is OPEN")
      expect(lines.some((line) => line.includes("unhandled error"))).toBe(false)
    } finally {
      await rt.dispose()
    }
  })
})

describe("health and alerts", () => {
  it("per state: CLOSED healthy, HALF_OPEN degraded, OPEN unhealthy (open alert), FORCED_OPEN unhealthy (forced-open alert)", async () => {
    const rt = tcpRuntime()
    try {
      const config = { failureThreshold: 1, successThreshold: 2, recoveryTimeout: 120, backoffJitter: 0 }
      const closed = rt.createCircuitBreaker(unique("h-closed"), config)
      const halfOpen = rt.createCircuitBreaker(unique("h-half"), config)
      const open = rt.createCircuitBreaker(unique("h-open"), { ...config, recoveryTimeout: 60_000 })
      const forced = rt.createCircuitBreaker(unique("h-forced"), config)

      await closed.execute(async () => "fine")
      expect(await rt.getCircuitBreakerHealth()).toMatchObject({ overall: "healthy" })
      expect(await rt.CircuitBreakerMonitoring.getAlerts()).toEqual([])

      await failTimes(halfOpen, 1)
      await sleep(160)
      await halfOpen.execute(async () => "probe")
      const degraded = await rt.getCircuitBreakerHealth()
      expect(degraded.overall).toBe("degraded")
      expect(degraded.services[halfOpen.serviceName]).toMatchObject({ status: "degraded", state: "HALF_OPEN" })

      await failTimes(open, 1)
      await forced.forceOpen()
      const health = await rt.getCircuitBreakerHealth()
      expect(health.overall).toBe("unhealthy")
      expect(typeof health.timestamp).toBe("number")
      expect(health.services[closed.serviceName]).toMatchObject({ status: "healthy", state: "CLOSED" })
      expect(health.services[closed.serviceName]!.metrics).toMatchObject({ calls: 1, successes: 1 })
      expect(health.services[open.serviceName]).toMatchObject({ status: "unhealthy", state: "OPEN" })
      expect(health.services[forced.serviceName]).toMatchObject({ status: "unhealthy", state: "FORCED_OPEN" })
      expect(await closed.getHealth()).toMatchObject({
        status: "healthy",
        state: "CLOSED",
        service: closed.serviceName
      })
      expect(await halfOpen.getHealth()).toMatchObject({ status: "degraded", state: "HALF_OPEN" })
      expect(await open.getHealth()).toMatchObject({ status: "unhealthy", state: "OPEN" })
      expect(await forced.getHealth()).toMatchObject({ status: "unhealthy", state: "FORCED_OPEN" })

      const alerts = await rt.CircuitBreakerMonitoring.getAlerts()
      const byService = (name: string) => alerts.filter((alert) => alert.service === name).map((alert) => alert.kind)
      expect(byService(closed.serviceName)).toEqual([])
      expect(byService(halfOpen.serviceName)).toEqual([])
      expect(byService(open.serviceName)).toEqual(["open"])
      expect(byService(forced.serviceName)).toEqual(["forced-open"])

      const results = await rt.CircuitBreakerMonitoring.resetAll()
      expect(results.every((result) => result.success)).toBe(true)
      expect(results.map((result) => result.service).sort()).toEqual(
        [closed, halfOpen, open, forced].map((b) => b.serviceName).sort()
      )
      expect(await rt.getCircuitBreakerHealth()).toMatchObject({ overall: "healthy" })
    } finally {
      await rt.dispose()
    }
  })
})

describe("withCircuitBreaker", () => {
  it("passes extra arguments through; 4xx is not a failure; 5xx is returned unchanged and counts; errors are rethrown and count", async () => {
    const rt = tcpRuntime()
    try {
      const name = unique("route")
      let status = 200
      let fail = false
      const handler = rt.withCircuitBreaker(
        async (request: Request, context: { readonly params: { readonly id: string } }) => {
          if (fail) throw new Boom("handler crashed")
          return new Response(`${request.method} ${context.params.id}`, { status, headers: { "x-from": "handler" } })
        },
        name,
        { failureThreshold: 3, recoveryTimeout: 45_000, backoffJitter: 0 }
      )
      const call = () => handler(new Request("http://localhost/api/items/1"), { params: { id: "1" } })
      const ok = await call()
      expect(ok.status).toBe(200)
      expect(await ok.text()).toBe("GET 1")

      status = 404
      expect((await call()).status).toBe(404)
      status = 502
      const bad = await call()
      expect(bad.status).toBe(502)
      expect(bad.headers.get("x-from")).toBe("handler")
      expect(await bad.text()).toBe("GET 1")
      fail = true
      await expect(call()).rejects.toThrow("handler crashed")
      const breaker = rt.createCircuitBreaker(name)
      expect(await breaker.getMetrics()).toMatchObject({ successes: 2, failures: 2, state: "CLOSED" })
      await expect(call()).rejects.toBeInstanceOf(Boom)

      fail = false
      status = 200
      const unavailable = await call()
      expect(unavailable.status).toBe(503)
      expect(unavailable.headers.get("content-type")).toBe("application/json")
      const body = await unavailable.json() as { retryAfter: number }
      expect(body).toMatchObject({ error: "Service Unavailable", code: "CIRCUIT_OPEN", service: name })
      expect(body.retryAfter).toBeGreaterThan(40_000)
      expect(body.retryAfter).toBeLessThanOrEqual(45_000)
      // seconds, rounded up
      expect(unavailable.headers.get("retry-after")).toBe(String(Math.ceil(body.retryAfter / 1000)))
    } finally {
      await rt.dispose()
    }
  })

  it("keeps the handler's own request type (e.g. Next.js's NextRequest)", async () => {
    class AppRequest extends Request {
      readonly tenant = "acme"
    }
    const rt = makeCircuitBreakerRuntime({ store: CircuitStore.layerMemory })
    try {
      const handler: (request: AppRequest) => Promise<Response> = rt.withCircuitBreaker(
        async (request: AppRequest) => new Response(request.tenant),
        "typed"
      )
      expect(await (await handler(new AppRequest("http://localhost/"))).text()).toBe("acme")
    } finally {
      await rt.dispose()
    }
  })

  it("isFailure sees an HttpResponseError for a 5xx answer", async () => {
    const rt = makeCircuitBreakerRuntime({ store: CircuitStore.layerMemory })
    try {
      const handler = rt.withCircuitBreaker(async () => new Response("not implemented", { status: 501 }), "legacy", {
        failureThreshold: 1,
        isFailure: (error) => !(error instanceof HttpResponseError && error.response.status === 501)
      })
      for (let i = 0; i < 3; i++) expect((await handler(new Request("http://localhost/"))).status).toBe(501)
      expect(await rt.createCircuitBreaker("legacy").getCurrentState()).toBe("CLOSED")
    } finally {
      await rt.dispose()
    }
  })

  it("answers 503 SERVICE_UNAVAILABLE without Retry-After when the store is down and the policy is fail-closed", async () => {
    const rt = makeCircuitBreakerRuntime({ redis: new Upstash({ url: deadBridge.url, token: TOKEN }) })
    try {
      let called = false
      const handler = rt.withCircuitBreaker(
        async () => {
          called = true
          return new Response("ok")
        },
        unique("closed-route"),
        { onStoreUnavailable: "fail-closed" }
      )
      const response = await handler(new Request("http://localhost/"))
      expect(called).toBe(false)
      expect(response.status).toBe(503)
      expect(response.headers.get("retry-after")).toBeNull()
      expect(await response.json()).toMatchObject({ code: "SERVICE_UNAVAILABLE" })
    } finally {
      await rt.dispose()
    }
  })
})

describe("execute with a result whose then getter throws", () => {
  // a thenable whose `then` throws when read: the operation failed, on every path
  const hostile = () => {
    const result = {}
    Object.defineProperty(result, "then", {
      get() {
        throw new Error("then getter threw")
      }
    })
    return result as PromiseLike<number>
  }

  it("the fast path (no fiber) rejects and counts a failure", async () => {
    const rt = makeCircuitBreakerRuntime({ store: CircuitStore.layerMemory })
    try {
      const breaker = rt.createCircuitBreaker("hostile-fast", { failureThreshold: 5 })
      await breaker.execute(() => 1) // builds the runtime: the next call takes the fast path
      let thrown: unknown
      const pending = (() => {
        try {
          return breaker.execute(hostile)
        } catch (error) {
          thrown = error
          return undefined
        }
      })()
      expect(thrown).toBeUndefined()
      await expect(pending).rejects.toThrow("then getter threw")
      expect((await breaker.getMetrics()).failures).toBe(1)
    } finally {
      await rt.dispose()
    }
  })

  it("the fiber path (a traced, named operation) rejects and counts a failure", async () => {
    const rt = makeCircuitBreakerRuntime({ store: CircuitStore.layerMemory, logLevel: "None" })
    const traced = makeCircuitBreakerRuntime({ store: CircuitStore.layerMemory, logLevel: "Debug" })
    try {
      const breaker = traced.createCircuitBreaker("hostile-fiber", { failureThreshold: 5 })
      await breaker.execute(() => 1)
      await expect(breaker.execute(hostile, "named")).rejects.toThrow("then getter threw")
      expect((await breaker.getMetrics()).failures).toBe(1)
    } finally {
      await rt.dispose()
      await traced.dispose()
    }
  })
})
