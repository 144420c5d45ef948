/**
 * A wrong Redis is never silent (README, "A wrong Redis in the logs"): a wrong password, a closed
 * port, an unknown host are each told by one warning when the round trips start failing (where
 * Redis is, what is wrong, never a secret) and one line when Redis answers again, in both APIs,
 * however many calls run meanwhile; a malformed URL is a `CircuitConfigError` when the layer is
 * built; a database index in the URL is the one used. Real `redis-server` processes, real clock. The Effect 4 edition's
 * Effect API (the Promise API's suites and the exit of a finished process are the Promise
 * API's and the bench's).
 */
import { NodeRedis } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { inspect } from "node:util"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Redacted from "effect/Redacted"
import * as References from "effect/References"
import { CircuitBreaker, type CircuitConfig, RedisCircuitStore, RedisClient } from "../src/index.js"
import { classify } from "../src/internal/redis/errors.js"
import { IORedisClient } from "../src/ioredis.js"
import { UpstashClient } from "../src/upstash.js"
import { redisServerScoped } from "./support/redisServer.js"
import { freshPrefix, upstashBridgeScoped } from "./support/redisStores.js"

const text = (u: unknown): string => (typeof u === "string" ? u : inspect(u, { depth: 5 }))

/** Every Effect log line (all levels), as text. */
const captureLogs = () => {
  const lines: Array<string> = []
  const logger = Logger.make(({ cause, logLevel, message }) => {
    const parts = Array.isArray(message) ? message : [message]
    lines.push(
      `${logLevel.toUpperCase()} ${parts.map(text).join(" ")}${
        cause.reasons.length === 0 ? "" : ` ${Cause.pretty(cause)}`
      }`
    )
  })
  const layer = Layer.merge(Logger.layer([logger]), Layer.succeed(References.MinimumLogLevel, "All"))
  return { lines, layer }
}

const config: CircuitConfig.Input = { storeTimeout: 200, stateCacheTtl: 0, onStoreUnavailable: "local" }

/** Calls through two breakers, every 20 ms, for `ms` (real time); how many ran. */
const callFor = (ms: number) =>
  Effect.gen(function*() {
    const breakers = [yield* CircuitBreaker.make("wrong-a", config), yield* CircuitBreaker.make("wrong-b", config)]
    let ran = 0
    const start = performance.now()
    while (performance.now() - start < ms) {
      for (const breaker of breakers) yield* breaker.protect(Effect.sync(() => ran++))
      yield* Effect.sleep("20 millis")
    }
    return ran
  })

/** Calls until `done` holds (real time, at most `ms`). */
const callUntil = (done: () => boolean, ms: number) =>
  Effect.gen(function*() {
    const breaker = yield* CircuitBreaker.make("wrong-a", config)
    const start = performance.now()
    while (!done() && performance.now() - start < ms) {
      yield* breaker.protect(Effect.void)
      yield* Effect.sleep("50 millis")
    }
  })

const storeLines = (lines: ReadonlyArray<string>) => lines.filter((line) => line.includes("circuit breaker store"))
const started = (lines: ReadonlyArray<string>) => storeLines(lines).filter((line) => /(^|level=)WARN\b/.test(line))
const ended = (lines: ReadonlyArray<string>) => storeLines(lines).filter((line) => /answers again/.test(line))

/** ioredis's own words, which must not reach a user. */
const internals = /Stream isn't writeable|enableOfflineQueue|Invalid URL/

/** The store over ioredis on `url`, pausing 300 ms once Redis is deemed unavailable. */
const storeAt = (url: string, password?: string) =>
  RedisCircuitStore.layer({ prefix: freshPrefix(), cooldown: 300 }).pipe(
    Layer.provide(IORedisClient.layer({
      url,
      commandTimeout: 2_000,
      ...(password !== undefined ? { password: Redacted.make(password) } : {})
    })),
    Layer.orDie
  )

describe("a wrong Redis is told once per episode (Effect API)", () => {
  it.live(
    "wrong password: one warning naming host:port and the credentials, one line once it answers",
    () =>
      Effect.gen(function*() {
        const server = yield* redisServerScoped({ password: "right-pass-5e1a" })
        const wrong = "wrong-pass-8c2f"
        const logs = captureLogs()
        yield* Effect.gen(function*() {
          const ran = yield* callFor(1_500)
          expect(ran).toBeGreaterThan(50)
          expect(started(logs.lines)).toHaveLength(1)
          expect(started(logs.lines)[0]).toContain(`127.0.0.1:${server.port}`)
          expect(started(logs.lines)[0]).toMatch(/credentials refused/)
          expect(ended(logs.lines)).toHaveLength(0)
          // the server now takes that password: the client's next reconnection gets in
          yield* Effect.promise(() => server.cli("CONFIG", "SET", "requirepass", wrong))
          yield* callUntil(() => ended(logs.lines).length > 0, 10_000)
        }).pipe(Effect.provide(storeAt(`redis://127.0.0.1:${server.port}`, wrong)), Effect.provide(logs.layer))
        console.info(storeLines(logs.lines).join("\n"))
        expect(started(logs.lines)).toHaveLength(1)
        expect(ended(logs.lines)).toHaveLength(1)
        expect(ended(logs.lines)[0]).toContain(`127.0.0.1:${server.port}`)
        for (const line of logs.lines) {
          expect(line).not.toContain(wrong)
          expect(line).not.toContain("right-pass-5e1a")
          expect(line).not.toMatch(internals)
        }
      }),
    60_000
  )

  it.live(
    "closed port: one warning (connection refused), one line once a server listens there",
    () =>
      Effect.gen(function*() {
        const server = yield* redisServerScoped()
        yield* Effect.promise(() => server.kill())
        const logs = captureLogs()
        yield* Effect.gen(function*() {
          expect(yield* callFor(1_500)).toBeGreaterThan(50)
          expect(started(logs.lines)).toHaveLength(1)
          expect(started(logs.lines)[0]).toContain(`127.0.0.1:${server.port}`)
          expect(started(logs.lines)[0]).toMatch(/unreachable \(connection refused\)/)
          yield* Effect.promise(() => server.restart())
          yield* callUntil(() => ended(logs.lines).length > 0, 10_000)
          // and no more warnings
          yield* callFor(500)
        }).pipe(Effect.provide(storeAt(server.url)), Effect.provide(logs.layer))
        console.info(storeLines(logs.lines).join("\n"))
        expect(started(logs.lines)).toHaveLength(1)
        expect(ended(logs.lines)).toHaveLength(1)
        for (const line of logs.lines) expect(line).not.toMatch(internals)
      }),
    60_000
  )

  it.live(
    "a Redis that stops answering (SIGSTOP): one warning (timed out) once the store pauses, one line after",
    () =>
      Effect.gen(function*() {
        const server = yield* redisServerScoped()
        const logs = captureLogs()
        yield* Effect.gen(function*() {
          yield* callFor(200)
          expect(storeLines(logs.lines)).toHaveLength(0)
          server.pause()
          expect(yield* callFor(1_500)).toBeGreaterThan(20)
          expect(started(logs.lines)).toHaveLength(1)
          expect(started(logs.lines)[0]).toMatch(new RegExp(`127\\.0\\.0\\.1:${server.port}: timed out`))
          server.resume()
          yield* callUntil(() => ended(logs.lines).length > 0, 10_000)
        }).pipe(Effect.provide(storeAt(server.url)), Effect.provide(logs.layer))
        console.info(storeLines(logs.lines).join("\n"))
        expect(started(logs.lines)).toHaveLength(1)
        expect(ended(logs.lines)).toHaveLength(1)
      }),
    60_000
  )

  it.live("unknown host: one warning naming it", () =>
    Effect.gen(function*() {
      const logs = captureLogs()
      const ran = yield* callFor(1_500).pipe(
        Effect.provide(storeAt("redis://:host-secret-77@nonexistent.invalid:6390")),
        Effect.provide(logs.layer)
      )
      console.info(storeLines(logs.lines).join("\n"))
      expect(ran).toBeGreaterThan(50)
      expect(started(logs.lines)).toHaveLength(1)
      expect(started(logs.lines)[0]).toContain("nonexistent.invalid:6390")
      expect(started(logs.lines)[0]).toMatch(/unreachable \(unknown host\)/)
      for (const line of logs.lines) {
        expect(line).not.toContain("host-secret-77")
        expect(line).not.toMatch(internals)
      }
    }), 60_000)
})

describe("a wrong Redis over Effect 4's Redis service (NodeRedis)", () => {
  it.live(
    "wrong password: the service's layer fails to build; the classified error names the credentials, never the password",
    () =>
      Effect.gen(function*() {
        const server = yield* redisServerScoped({ password: "right-pass-3b7d" })
        const wrong = "wrong-pass-6a0e"
        const error = yield* Effect.flip(
          Layer.build(NodeRedis.layer({ url: `redis://:${wrong}@127.0.0.1:${server.port}` }))
        )
        expect(error._tag).toBe("RedisError")
        const classified = classify(error.cause, [wrong])
        expect(classified.kind).toBe("Auth")
        expect(classified.reason).not.toContain(wrong)
      }),
    30_000
  )

  it.live(
    "a server that goes away: one warning naming the description, one line once it answers again",
    () =>
      Effect.gen(function*() {
        const server = yield* redisServerScoped()
        const logs = captureLogs()
        yield* Effect.gen(function*() {
          yield* callFor(200)
          expect(storeLines(logs.lines)).toHaveLength(0)
          server.pause()
          expect(yield* callFor(1_500)).toBeGreaterThan(20)
          expect(started(logs.lines)).toHaveLength(1)
          expect(started(logs.lines)[0]).toContain(`node-redis 127.0.0.1:${server.port}`)
          server.resume()
          yield* callUntil(() => ended(logs.lines).length > 0, 10_000)
        }).pipe(
          Effect.provide(
            RedisCircuitStore.layer({ prefix: freshPrefix(), cooldown: 300 }).pipe(
              Layer.provide(RedisClient.layerEffectRedis({ description: `node-redis 127.0.0.1:${server.port}` })),
              Layer.provide(NodeRedis.layer({ url: server.url, disableOfflineQueue: true })),
              Layer.orDie
            )
          ),
          Effect.provide(logs.layer)
        )
        console.info(storeLines(logs.lines).join("\n"))
        expect(started(logs.lines)).toHaveLength(1)
        expect(ended(logs.lines)).toHaveLength(1)
      }),
    60_000
  )
  it.live(
    "a server that is killed and restarted: calls go on meanwhile, one warning, one line once it answers",
    () =>
      Effect.gen(function*() {
        const server = yield* redisServerScoped()
        const logs = captureLogs()
        yield* Effect.gen(function*() {
          yield* callFor(200)
          expect(storeLines(logs.lines)).toHaveLength(0)
          yield* Effect.promise(() => server.kill())
          expect(yield* callFor(1_500)).toBeGreaterThan(50)
          expect(started(logs.lines)).toHaveLength(1)
          expect(started(logs.lines)[0]).toMatch(/unreachable/)
          yield* Effect.promise(() => server.restart())
          yield* callUntil(() => ended(logs.lines).length > 0, 15_000)
        }).pipe(
          Effect.provide(
            RedisCircuitStore.layer({ prefix: freshPrefix(), cooldown: 300 }).pipe(
              Layer.provide(RedisClient.layerEffectRedis({ description: `node-redis 127.0.0.1:${server.port}` })),
              Layer.provide(NodeRedis.layer({ url: server.url, disableOfflineQueue: true })),
              Layer.orDie
            )
          ),
          Effect.provide(logs.layer)
        )
        console.info(storeLines(logs.lines).join("\n"))
        expect(started(logs.lines)).toHaveLength(1)
        expect(ended(logs.lines)).toHaveLength(1)
      }),
    60_000
  )
})

describe("a wrong Upstash token is told once per episode", () => {
  it.live("one warning naming the REST host and the credentials, never the token", () =>
    Effect.gen(function*() {
      const server = yield* redisServerScoped()
      const bridge = yield* upstashBridgeScoped(server, "right-token-40c1")
      const logs = captureLogs()
      const store = RedisCircuitStore.layer({ prefix: freshPrefix(), cooldown: 300 }).pipe(
        Layer.provide(UpstashClient.layer({ url: bridge.url, token: Redacted.make("wrong-token-91d3") })),
        Layer.orDie
      )
      expect(yield* callFor(1_500).pipe(Effect.provide(store), Effect.provide(logs.layer))).toBeGreaterThan(50)
      console.info(storeLines(logs.lines).join("\n"))
      expect(started(logs.lines)).toHaveLength(1)
      expect(started(logs.lines)[0]).toContain(new URL(bridge.url).host)
      expect(started(logs.lines)[0]).toMatch(/credentials refused/)
      for (const line of logs.lines) {
        expect(line).not.toContain("wrong-token-91d3")
        expect(line).not.toContain("right-token-40c1")
      }
    }), 60_000)
})

/** Sets environment variables for the scope. */
const withEnv = (vars: Record<string, string | undefined>) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const saved: Record<string, string | undefined> = {}
      for (const [key, value] of Object.entries(vars)) {
        saved[key] = process.env[key]
        if (value === undefined) delete process.env[key]
        else process.env[key] = value
      }
      return saved
    }),
    (saved) =>
      Effect.sync(() => {
        for (const [key, value] of Object.entries(saved)) {
          if (value === undefined) delete process.env[key]
          else process.env[key] = value
        }
      })
  )

const noUpstash = { UPSTASH_REDIS_REST_URL: undefined, UPSTASH_REDIS_REST_TOKEN: undefined }

describe("a malformed URL is a CircuitConfigError when the layer is built", () => {
  const malformed: ReadonlyArray<readonly [string, string]> = [
    ["another scheme", "http://user:url-secret-1@127.0.0.1:6379"],
    ["a bare word", "localhost"],
    ["a port that is not a number", "redis://:url-secret-1@127.0.0.1:abc"],
    ["a port out of range", "redis://127.0.0.1:70000"],
    ["no host", "redis://:url-secret-1@:6379"],
    ["a path that is not a database index", "redis://:url-secret-1@127.0.0.1:6379/cache"]
  ]
  for (const [label, url] of malformed) {
    it.effect(`${label}: IORedisClient.layer and layerFromEnv`, () =>
      Effect.gen(function*() {
        const direct = yield* Effect.flip(Layer.build(Layer.fresh(IORedisClient.layer({ url: Redacted.make(url) }))))
        expect(direct._tag).toBe("CircuitConfigError")
        expect(direct.message).toMatch(/url must/)
        yield* withEnv({ ...noUpstash, REDIS_URL: url })
        const env = yield* Effect.flip(Layer.build(RedisCircuitStore.layerFromEnv()))
        expect(env._tag).toBe("CircuitConfigError")
        expect(env.message).toMatch(/REDIS_URL must/)
        for (const error of [direct, env])
          expect(String((error as Error).message)).not.toContain("url-secret-1")
      }))
  }

  it.effect("Upstash: a REST URL that is not http(s)", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        Layer.build(UpstashClient.layer({ url: "redis://127.0.0.1:6379", token: Redacted.make("token-secret-9") }))
      )
      expect(error._tag).toBe("CircuitConfigError")
      expect(error.message).toMatch(/url must be the REST URL/)
      expect(error.message).not.toContain("token-secret-9")
    }))
})

describe("the database index in the URL", () => {
  const write = (url: string) =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make("db-index", { ...config, failureThreshold: 1 })
      yield* Effect.result(breaker.protect(Effect.fail("down")))
      return yield* breaker.state
    }).pipe(Effect.provide(
      RedisCircuitStore.layer({ prefix: "dbidx" }).pipe(
        Layer.provide(IORedisClient.layer({ url })),
        Layer.orDie
      )
    ))

  it.live("is the database written to", () =>
    Effect.gen(function*() {
      const server = yield* redisServerScoped({ args: ["--databases", "100"] })
      expect(yield* write(`${server.url}/99`)).toBe("OPEN")
      const key = RedisCircuitStore.stateKey("db-index", { prefix: "dbidx" })
      expect(yield* Effect.promise(() => server.cli("-n", "99", "EXISTS", key))).toBe("1")
      expect(yield* Effect.promise(() => server.cli("-n", "0", "DBSIZE"))).toBe("0")
    }), 30_000)

  it.live(
    "one the server does not have fails every command, naming it; nothing goes to database 0",
    () =>
      Effect.gen(function*() {
        const server = yield* redisServerScoped()
        const logs = captureLogs()
        // the local fallback: OPEN after one failure, without Redis
        expect(yield* write(`${server.url}/99`).pipe(Effect.provide(logs.layer))).toBe("OPEN")
        expect(started(logs.lines)).toHaveLength(1)
        expect(started(logs.lines)[0]).toMatch(/database index refused.*refused database 99/)
        expect(yield* Effect.promise(() => server.cli("-n", "0", "DBSIZE"))).toBe("0")
      }),
    30_000
  )
})

describe("secrets in client errors", () => {
  it("are scrubbed before the reason is cut to 300 characters", () => {
    const secret = "tok_" + "s3cr3t".repeat(10)
    // the secret starts 20 characters before the cut
    const error = classify(new Error(`${"x".repeat(280)}${secret} and more`), [secret])
    expect(error.reason.length).toBeLessThanOrEqual(300)
    expect(error.reason).not.toContain(secret.slice(0, 8))
    expect(error.reason).toContain("<redacted>".slice(0, 10))
  })
})
