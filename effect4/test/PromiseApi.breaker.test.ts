/**
 * The Effect 4 edition's Promise API's breaker (`createCircuitBreaker`, `execute`, health and alerts) against a real
 * Redis over TCP (ioredis) and the Upstash REST bridge. Every test uses its own service names or
 * key prefix. Time is real, so open periods are short.
 */
import { Redis as Upstash } from "@upstash/redis"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { vi } from "vitest"
import { CircuitStore } from "../src/index.js"
import {
  CircuitBreakerError,
  CircuitConfigError,
  createCircuitBreaker,
  makeCircuitBreakerRuntime,
  withCircuitBreaker
} from "../src/promise.js"
import {
  Boom,
  captureConsole,
  failTimes,
  freshPrefix,
  memoryStoreOnTestClock,
  promiseApiRedis,
  sleep,
  succeedTimes,
  unique
} from "./support/promiseApi.js"

const TOKEN = "promise-test-token-5d1e9c"
const env = promiseApiRedis(TOKEN)

describe("createCircuitBreaker / execute", () => {
  it("resolves with the operation's value; rejects with its own error, not wrapped", async () => {
    const rt = env.tcpRuntime()
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
    const rt = env.tcpRuntime()
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
    const rt = env.tcpRuntime()
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
    const rt = env.tcpRuntime()
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
    const one = makeCircuitBreakerRuntime({ redis: env.ioredis, prefix })
    const other = makeCircuitBreakerRuntime({ redis: new Upstash({ url: env.bridge.url, token: TOKEN }), prefix })
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
    const rt = env.tcpRuntime()
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
    const dead = new Upstash({ url: env.deadBridge.url, token: TOKEN })
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

describe("health and alerts", () => {
  it("per state: CLOSED healthy, HALF_OPEN degraded, OPEN unhealthy (open alert), FORCED_OPEN unhealthy (forced-open alert)", async () => {
    const rt = env.tcpRuntime()
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
