/**
 * The Effect 4 edition's Promise API's runtimes and stores: a user's own client (@upstash/redis, an `exec`-only
 * object, ioredis) given to `getCircuitBreaker`, several runtimes on one Redis, and the default
 * runtime (its store from the environment, `configureCircuitBreakers`, `disposeCircuitBreakers`,
 * logging), against a real Redis over TCP and the Upstash REST bridge.
 */
import { Redis as Upstash } from "@upstash/redis"
import { describe, expect, it } from "@effect/vitest"
import { Redis as IORedis } from "ioredis"
import { CircuitStore, RedisCircuitStore } from "../src/index.js"
import {
  CircuitBreakerMonitoring,
  configureCircuitBreakers,
  CircuitConfigError,
  createCircuitBreaker,
  CircuitBreakers,
  disposeCircuitBreakers,
  getCircuitBreaker,
  getCircuitBreakerHealth,
  makeCircuitBreakerRuntime
} from "../src/promise.js"
import {
  Boom,
  captureConsole,
  failTimes,
  freshPrefix,
  promiseApiRedis,
  succeedTimes,
  unique
} from "./support/promiseApi.js"

const TOKEN = "promise-test-token-5d1e9c"
const env = promiseApiRedis(TOKEN)

describe("getCircuitBreaker", () => {
  it("works on a user's @upstash/redis instance with default options (auto-deserialization, retries, auto-pipelining)", async () => {
    const redis = new Upstash({ url: env.bridge.url, token: TOKEN })
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
    expect(await env.server.cli("HGET", RedisCircuitStore.stateKey("123"), "state")).toBe("OPEN")

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
    const redis = new Upstash({ url: env.bridge.url, token: TOKEN })
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
    const client = new IORedis(env.server.url)
    try {
      const name = unique("io")
      const a = getCircuitBreaker(name, client, { failureThreshold: 3 })
      const b = getCircuitBreaker(name, client, { failureThreshold: 3 })
      await succeedTimes(a, 2)
      await succeedTimes(b, 3)
      expect((await a.getMetrics()).calls).toBe(5) // one runtime, one breaker

      // another client: another runtime (its own counts), the same circuit in Redis
      const other = new IORedis(env.server.url)
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
    const a = makeCircuitBreakerRuntime({ redis: new Upstash({ url: env.bridge.url, token: TOKEN }), prefix })
    const b = makeCircuitBreakerRuntime({ redis: env.ioredis, prefix })
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
    const before = await env.server.cli("DBSIZE")
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
    expect(await env.server.cli("DBSIZE")).toBe(before)
    expect(Object.keys(await CircuitBreakerMonitoring.getAllMetrics()).sort()).toEqual(
      [...breakers.map((b) => b.serviceName), "redis"].sort()
    )
    await disposeCircuitBreakers()
  })

  it("takes Upstash from UPSTASH_REDIS_REST_URL/TOKEN, else REDIS_URL, without a warning", async () => {
    const lines = captureConsole()
    try {
      process.env.REDIS_URL = env.server.url
      const tcpPrefix = freshPrefix()
      await configureCircuitBreakers({ prefix: tcpPrefix })
      const name = unique("env-tcp")
      await failTimes(createCircuitBreaker(name, { failureThreshold: 1 }), 1)
      expect(await env.server.cli("HGET", RedisCircuitStore.stateKey(name, { prefix: tcpPrefix }), "state")).toBe(
        "OPEN"
      )

      process.env.UPSTASH_REDIS_REST_URL = env.bridge.url
      process.env.UPSTASH_REDIS_REST_TOKEN = TOKEN
      const upstashPrefix = freshPrefix()
      await configureCircuitBreakers({ prefix: upstashPrefix })
      env.bridge.resetStats()
      const other = unique("env-upstash")
      await failTimes(createCircuitBreaker(other), 1)
      expect(env.bridge.requests).toBeGreaterThan(0)
      expect(await env.server.cli("ZSCORE", RedisCircuitStore.registryKey({ prefix: upstashPrefix }), other)).toMatch(
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
    await configureCircuitBreakers({ redis: env.ioredis, prefix })
    const name = unique("moves")
    const breaker = createCircuitBreaker(name, { failureThreshold: 50 })
    await succeedTimes(breaker, 9) // batched in this runtime, not yet in Redis
    await disposeCircuitBreakers()

    const reader = makeCircuitBreakerRuntime({ redis: env.ioredis, prefix })
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

    const bad = makeCircuitBreakerRuntime({ redis: env.ioredis, prefix: "has {braces}" })
    await expect(bad.createCircuitBreaker("x").execute(async () => 1)).rejects.toThrow(CircuitConfigError)
    await expect(bad.createCircuitBreaker("x").execute(async () => 1)).rejects.toThrow(/prefix must be/)
    await bad.dispose()
    expect(() => makeCircuitBreakerRuntime({ redis: env.ioredis, store: CircuitStore.layerMemory })).toThrow(TypeError)
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
