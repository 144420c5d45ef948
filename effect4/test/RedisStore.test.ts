/**
 * What is particular to the Redis store of the Effect 4 edition: the
 * scripts as its clients send them (allow-key-locking, NOSCRIPT), the
 * round-trip budget of ARCHITECTURE.md (counted by Redis itself), the key
 * layout, TTLs, the registry and the server time source; and the store over
 * Effect 4's own Redis service (`effect/persistence/Redis`, `NodeRedis`).
 * The scripts themselves (embedding, SHA-1s, the short path, the batch
 * script) are Effect-free and checked by the root suite.
 */
import { NodeRedis } from "@effect/platform-node"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Redis from "effect/persistence/Redis"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as TestClock from "effect/testing/TestClock"
import { CircuitBreaker, CircuitConfig, CircuitStore, RedisCircuitStore, RedisClient } from "../src/index.js"
import { IORedisClient } from "../src/ioredis.js"
import { UpstashClient } from "../src/upstash.js"
import * as scripts from "../../shared/redis/luaScripts.js"
import { keysOf } from "../../shared/redis/keys.js"
import { scriptArgs, scriptArgv } from "../../shared/redis/scriptArgs.js"
import { startUpstashBridge, type UpstashBridge } from "../../test/shared/upstashBridge.js"
import { type RedisServer, startRedis } from "./support/redisServer.js"
import { effectRedisStore, freshPrefix } from "./support/redisStores.js"

let server: RedisServer
let bridge: UpstashBridge
const token = "round-trip-token-8d1e"

beforeAll(async () => {
  server = await startRedis()
  bridge = await startUpstashBridge({ redisUrl: server.url, token })
}, 60_000)

afterAll(async () => {
  await bridge?.close()
  await server?.stop()
})

const tcp = () => IORedisClient.layer({ url: server.url })
const upstash = () => UpstashClient.layer({ url: bridge.url, token: Redacted.make(token) })
const effectRedis = () =>
  RedisClient.layerEffectRedis().pipe(Layer.provide(NodeRedis.layer({ url: server.url, disableOfflineQueue: true })))
const storeOn = (client: Layer.Layer<RedisClient.RedisClient, unknown>, prefix = freshPrefix()) =>
  RedisCircuitStore.layer({ prefix }).pipe(Layer.provide(client), Layer.orDie)

/** Script calls Redis has served so far (EVALSHA + EVAL), from INFO commandstats. */
const scriptCalls = Effect.promise(async () => {
  const info = await server.cli("INFO", "commandstats")
  let total = 0
  for (const command of ["evalsha", "eval"]) {
    const match = new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info)
    if (match) total += Number(match[1])
  }
  return total
})

/** Calls of `command` Redis has served so far (run by clients or inside scripts), from INFO commandstats. */
const commandCalls = (command: string) =>
  Effect.promise(async () =>
    Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(await server.cli("INFO", "commandstats"))?.[1] ?? 0)
  )

/** Script calls made while `effect` runs. */
const countScriptCalls = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const before = yield* scriptCalls
    const result = yield* effect
    return [result, (yield* scriptCalls) - before] as const
  })

describe("Lua scripts as the clients send them", () => {
  it.live("UpstashClient flags scripts allow-key-locking by default only on *.upstash.io (a REST proxy in front of Redis refuses the flag)", () =>
    Effect.gen(function*() {
      const flagOf = (url: string, allowKeyLocking?: boolean) =>
        Effect.map(
          UpstashClient.make({ url, token: Redacted.make(token), allowKeyLocking }),
          (client) => client.allowKeyLocking
        )
      expect(yield* flagOf("https://eu1-fine-cat-12345.upstash.io")).toBe(true)
      expect(yield* flagOf(bridge.url)).toBe(false)
      expect(yield* flagOf("http://localhost:8079")).toBe(false)
      expect(yield* flagOf("https://upstash.io.example.com")).toBe(false)
      expect(yield* flagOf(bridge.url, true)).toBe(true)
      expect(yield* flagOf("https://eu1-fine-cat-12345.upstash.io", false)).toBe(false)
      // a plain REST proxy in front of Redis (no Upstash): with the default the scripts run; flagged, Redis refuses them
      const proxy = yield* Effect.acquireRelease(
        Effect.promise(() => startUpstashBridge({ redisUrl: server.url, token, keyLocking: false })),
        (proxy) => Effect.promise(() => proxy.close())
      )
      const opens = (allowKeyLocking: boolean | undefined) =>
        Effect.gen(function*() {
          const breaker = yield* CircuitBreaker.make("through-a-proxy", {
            failureThreshold: 1,
            onStoreUnavailable: "fail-closed"
          })
          const call = yield* Effect.result(breaker.protect(Effect.fail("boom")))
          return Result.isFailure(call) && call.failure === "boom" && (yield* breaker.state) === "OPEN"
        }).pipe(
          Effect.provide(storeOn(UpstashClient.layer({ url: proxy.url, token: Redacted.make(token), allowKeyLocking })))
        )
      expect(yield* opens(undefined)).toBe(true)
      expect(yield* opens(true)).toBe(false)
    }))

  it.live("Upstash gets the script flagged allow-key-locking, which Redis itself refuses; TCP clients send the plain one", () =>
    Effect.gen(function*() {
      const flagged = scripts.circuit.keyLocking
      const refused = yield* Effect.promise(() => server.cli("EVAL", flagged.source, "2", "a", "b"))
      expect(refused).toMatch(/Unexpected flag in script shebang: allow-key-locking/)

      // over the Upstash bridge (which drops the flag before Redis, as only Upstash honours it)
      bridge.resetStats()
      yield* Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make("key-locking", { failureThreshold: 2 })
        yield* Effect.result(breaker.protect(Effect.fail("boom")))
        yield* Effect.result(breaker.protect(Effect.fail("boom")))
        expect(yield* breaker.state).toBe("OPEN")
      }).pipe(
        Effect.provide(
          storeOn(UpstashClient.layer({ url: bridge.url, token: Redacted.make(token), allowKeyLocking: true }))
        )
      )
      const sent = bridge.log.flatMap((request) => {
        const body = request.body as ReadonlyArray<unknown>
        return request.path === "/pipeline"
          ? (body as ReadonlyArray<ReadonlyArray<string>>)
          : [body as ReadonlyArray<string>]
      })
      const scriptCommands = sent.filter((command) => command[0] === "EVALSHA" || command[0] === "EVAL")
      expect(scriptCommands.length).toBeGreaterThanOrEqual(2)
      for (const command of scriptCommands) {
        expect(command[1]).toBe(command[0] === "EVALSHA" ? flagged.sha : flagged.source)
      }
      // (the first EVALSHA of the flagged SHA-1 is answered NOSCRIPT; the EVAL and what follows ran flagged)
      expect(bridge.keyLockingScripts).toBeGreaterThanOrEqual(scriptCommands.length - 1)

      // over TCP, and over Effect 4's Redis service: the plain script (Redis would refuse the other)
      for (const client of [tcp, effectRedis]) {
        yield* Effect.promise(() => server.cli("SCRIPT", "FLUSH"))
        yield* Effect.gen(function*() {
          const breaker = yield* CircuitBreaker.make("plain", { failureThreshold: 2 })
          yield* Effect.result(breaker.protect(Effect.fail("boom")))
          yield* Effect.result(breaker.protect(Effect.fail("boom")))
          expect(yield* breaker.state).toBe("OPEN")
        }).pipe(Effect.provide(storeOn(client())))
        expect(yield* Effect.promise(() => server.cli("SCRIPT", "EXISTS", scripts.circuit.sha))).toBe("1")
      }
    }))

  for (const [transport, client] of [["tcp", tcp], ["effect/persistence/Redis", effectRedis]] as const) {
    it.live(`NOSCRIPT after SCRIPT FLUSH: the script is sent again with EVAL (${transport})`, () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make("noscript", { failureThreshold: 2 })
        yield* Effect.result(breaker.protect(Effect.fail("boom")))
        yield* Effect.promise(() => server.cli("SCRIPT", "FLUSH"))
        const evalsBefore = yield* commandCalls("eval")
        yield* Effect.result(breaker.protect(Effect.fail("boom")))
        expect(yield* breaker.state).toBe("OPEN")
        expect((yield* commandCalls("eval")) - evalsBefore).toBe(1)
      }).pipe(Effect.provide(storeOn(client()))))
  }
})

for (
  const [transport, client] of [["tcp", tcp], ["upstash", upstash], ["effect/persistence/Redis", effectRedis]] as const
) {
  describe(`round trips per call (${transport}), counted by Redis`, () => {
    const make = (config: CircuitConfig.Input) =>
      CircuitBreaker.make(`rt-${transport}`, { stateCacheTtl: "1 minute", ...config })

    it.live("CLOSED, fresh cache, call succeeds: 0", () =>
      Effect.gen(function*() {
        const breaker = yield* make({})
        yield* breaker.protect(Effect.void) // the first call reads the state
        const [, calls] = yield* countScriptCalls(
          Effect.forEach(Array.from({ length: 200 }), () => breaker.protect(Effect.succeed(1)), { discard: true })
        )
        expect(calls).toBe(0)
        // the batched successes reach Redis with the next round trip
        const [snapshot, flush] = yield* countScriptCalls(breaker.snapshot)
        expect(flush).toBe(1)
        expect(snapshot.calls).toBe(201)
      }).pipe(Effect.provide(storeOn(client()))))

    it.live("CLOSED, call fails: 1 (the reply carries the new state)", () =>
      Effect.gen(function*() {
        const breaker = yield* make({ failureThreshold: 20 })
        yield* breaker.protect(Effect.void)
        const [, calls] = yield* countScriptCalls(
          Effect.forEach(Array.from({ length: 10 }), () => Effect.result(breaker.protect(Effect.fail("boom"))), {
            discard: true
          })
        )
        expect(calls).toBe(10)
      }).pipe(Effect.provide(storeOn(client()))))

    it.live("CLOSED, call fails: the record writes no fleet metric; the failures reach them with the next other round trip", () =>
      Effect.gen(function*() {
        const prefix = freshPrefix()
        yield* Effect.gen(function*() {
          const breaker = yield* make({ failureThreshold: 20 })
          yield* breaker.protect(Effect.void)
          const before = yield* commandCalls("hincrby")
          const [, calls] = yield* countScriptCalls(
            Effect.forEach(Array.from({ length: 10 }), () => Effect.result(breaker.protect(Effect.fail("boom"))), {
              discard: true
            })
          )
          expect(calls).toBe(10)
          expect((yield* commandCalls("hincrby")) - before).toBe(0)
          // a read (or the flush within a second) carries them
          yield* breaker.snapshot
          const [, metrics] = keysOf(prefix, `rt-${transport}`)
          const fields = yield* Effect.promise(() => server.cli("HGETALL", metrics!))
          const lines = fields.split("\n").map((line) => line.trim()).filter((line) => line !== "")
          let failures = 0
          for (let i = 0; i + 1 < lines.length; i += 2) if (lines[i]!.endsWith(":f")) failures += Number(lines[i + 1])
          expect(failures).toBe(10)
        }).pipe(Effect.provide(storeOn(client(), prefix)))
      }))

    it.live("OPEN before retryAt: 0", () =>
      Effect.gen(function*() {
        const breaker = yield* make({ failureThreshold: 1, recoveryTimeout: "1 minute" })
        yield* Effect.result(breaker.protect(Effect.fail("boom")))
        const [results, calls] = yield* countScriptCalls(
          Effect.forEach(Array.from({ length: 200 }), () => Effect.result(breaker.protect(Effect.void)))
        )
        expect(calls).toBe(0)
        expect(results.every((r) => Result.isFailure(r) && r.failure._tag === "CircuitOpen")).toBe(true)
      }).pipe(Effect.provide(storeOn(client()))))

    it.live("HALF_OPEN probe: 1 to take the permit, 1 to report", () =>
      Effect.gen(function*() {
        const breaker = yield* make({
          failureThreshold: 1,
          successThreshold: 2,
          recoveryTimeout: "50 millis",
          backoffJitter: 0
        })
        yield* Effect.result(breaker.protect(Effect.fail("boom")))
        yield* Effect.sleep("60 millis")
        const [, calls] = yield* countScriptCalls(breaker.protect(Effect.void))
        expect(calls).toBe(2)
        expect(yield* breaker.state).toBe("HALF_OPEN")
      }).pipe(Effect.provide(storeOn(client()))))
  })
}

describe("Redis data model", () => {
  it.live("keys share one hash tag per circuit; names are encoded; state writes set the TTL", () =>
    Effect.gen(function*() {
      const prefix = freshPrefix()
      const name = "pay}ments {v2}:*"
      yield* Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make(name, { failureThreshold: 1, stateTtl: "20 minutes" })
        yield* Effect.result(breaker.protect(Effect.fail("boom")))
      }).pipe(Effect.provide(storeOn(tcp(), prefix)))
      const key = RedisCircuitStore.stateKey(name, { prefix })
      expect(key).toBe(`${prefix}:{pay%7Dments%20%7Bv2%7D%3A*}:state`)
      const tag = /\{([^}]*)\}/.exec(key)?.[1]
      expect(tag).toBe("pay%7Dments%20%7Bv2%7D%3A*")
      expect(yield* Effect.promise(() => server.cli("HGET", key, "state"))).toBe("OPEN")
      const ttl = Number(yield* Effect.promise(() => server.cli("PTTL", key)))
      expect(ttl).toBeGreaterThan(19 * 60_000)
      expect(ttl).toBeLessThanOrEqual(20 * 60_000)
      const slots = new Set<string>()
      for (const suffix of ["state", "window", "probes"]) {
        slots.add(yield* Effect.promise(() => server.cli("CLUSTER", "KEYSLOT", key.replace(/state$/, suffix))))
      }
      expect(slots.size).toBe(1)
    }))

  it.live("names that differ only in characters the encoding touches do not collide", () =>
    Effect.gen(function*() {
      const a = yield* CircuitBreaker.make("a b", { failureThreshold: 1 })
      const b = yield* CircuitBreaker.make("a%20b", { failureThreshold: 1 })
      yield* Effect.result(a.protect(Effect.fail("boom")))
      expect(yield* a.state).toBe("OPEN")
      expect(yield* b.state).toBe("CLOSED")
    }).pipe(Effect.provide(storeOn(tcp()))))

  it.live("the registry lists every circuit the fleet created, across store instances and clients", () =>
    Effect.gen(function*() {
      const prefix = freshPrefix()
      yield* CircuitBreaker.make("alpha").pipe(Effect.provide(storeOn(tcp(), prefix)))
      yield* CircuitBreaker.make("beta").pipe(Effect.provide(storeOn(upstash(), prefix)))
      yield* CircuitBreaker.make("gamma").pipe(Effect.provide(storeOn(effectRedis(), prefix)))
      const names = yield* CircuitStore.CircuitStore.use((store) => store.names).pipe(
        Effect.provide(storeOn(tcp(), prefix))
      )
      expect([...names].sort()).toEqual(["alpha", "beta", "gamma"])
    }))

  const serverTimePrefix = freshPrefix()
  it.effect("timeSource \"server\" (the default): Redis holds Redis's time; the instance sees its own clock's", () =>
    Effect.gen(function*() {
      // the TestClock says 1970; Redis knows better
      const breaker = yield* CircuitBreaker.make("server-time", { failureThreshold: 1 })
      yield* Effect.result(breaker.protect(Effect.fail("boom")))
      const [seconds] = (yield* Effect.promise(() => server.cli("TIME"))).split("\n")
      const key = RedisCircuitStore.stateKey("server-time", { prefix: serverTimePrefix })
      const written = Number(yield* Effect.promise(() => server.cli("HGET", key, "openedAt")))
      expect(Math.abs(written - Number(seconds) * 1000)).toBeLessThan(5_000)
      // on this instance's clock (the TestClock at 0) it opened just now
      const snapshot = yield* breaker.snapshot
      expect(Math.abs(snapshot.openedAt)).toBeLessThan(1_000)
      // the skew it learned is in its health
      const health = yield* breaker.health
      expect(Math.abs(health.clockSkewMs! - Number(seconds) * 1000)).toBeLessThan(5_000)
    }).pipe(Effect.provide(storeOn(tcp(), serverTimePrefix))))

  it.effect("a refresh of Redis's clock that is never answered gives up after storeTimeout: the next one runs", () =>
    Effect.gen(function*() {
      const inner = yield* Layer.build(tcp()).pipe(Effect.map(Context.get(RedisClient.RedisClient)))
      let times = 0
      // the second TIME (the first background refresh) is never answered
      const client = RedisClient.RedisClient.of({
        ...inner,
        send: (command) => command[0] === "TIME" && ++times === 2 ? Effect.never : inner.send(command)
      })
      const store = RedisCircuitStore.layer({ prefix: freshPrefix() }).pipe(
        Layer.provide(Layer.succeed(RedisClient.RedisClient, client)),
        Layer.orDie
      )
      yield* Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make("refresh", { failureThreshold: 1_000, storeTimeout: 500 })
        const fail = Effect.result(breaker.protect(Effect.fail("boom")))
        yield* fail
        expect(times).toBe(1)
        // a minute later the offset is old: a refresh starts in the background, and hangs
        yield* TestClock.adjust("61 seconds")
        yield* fail
        yield* Effect.yieldNow
        expect(times).toBe(2)
        // past storeTimeout it has given up, so the next call starts another
        yield* TestClock.adjust("501 millis")
        yield* fail
        for (let i = 0; i < 10 && times < 3; i++) yield* Effect.yieldNow
        expect(times).toBe(3)
      }).pipe(Effect.provide(store))
    }))

  it.effect("under TestClock, a script round trip that gets no reply ends when the clock passes storeTimeout", () =>
    Effect.gen(function*() {
      const frozen = yield* Effect.acquireRelease(
        Effect.promise(() => startRedis()),
        (s) => Effect.promise(() => s.stop())
      )
      const settle = Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 50)))
      yield* Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make("no-reply", { storeTimeout: 500, timeSource: "client" })
        yield* breaker.protect(Effect.void)
        yield* Effect.sync(() => frozen.pause())
        const call = yield* Effect.forkChild(Effect.result(breaker.protect(Effect.fail("boom"))))
        yield* settle
        yield* TestClock.adjust("499 millis")
        yield* settle
        expect(call.pollUnsafe()).toBeUndefined()
        yield* TestClock.adjust("1 millis")
        const result = yield* Fiber.join(call)
        // the failure is the caller's own (the local breaker took the outcome)
        expect(result).toEqual(Result.fail("boom"))
        yield* Effect.sync(() => frozen.resume())
      }).pipe(Effect.provide(storeOn(IORedisClient.layer({ url: frozen.url }))))
    }))

  it.live("each Effect.provide of one store layer builds a store and a connection of its own while both live (as in Effect 3)", () =>
    Effect.gen(function*() {
      const Store = storeOn(tcp())
      const clients = Effect.promise(async () =>
        Number(/connected_clients:(\d+)/.exec(await server.cli("INFO", "clients"))?.[1] ?? 0)
      )
      const before = yield* clients
      const latch = yield* Deferred.make<void>()
      const held = (counted: Deferred.Deferred<void>) =>
        Effect.gen(function*() {
          const store = yield* CircuitStore.CircuitStore
          yield* Deferred.succeed(counted, undefined)
          yield* Deferred.await(latch)
          return store
        }).pipe(Effect.provide(Store))
      const [a, b] = [yield* Deferred.make<void>(), yield* Deferred.make<void>()]
      const fiber = yield* Effect.forkChild(Effect.all([held(a), held(b)], { concurrency: 2 }))
      yield* Deferred.await(a)
      yield* Deferred.await(b)
      // two stores alive: each with its own ioredis connection (each count's redis-cli counts itself)
      expect((yield* clients) - before).toBe(2)
      yield* Deferred.succeed(latch, undefined)
      const [first, second] = yield* Fiber.join(fiber)
      expect(first).not.toBe(second)
    }))

  it("a bad prefix fails with a CircuitConfigError", async () => {
    const result = await Effect.runPromise(
      Effect.result(Effect.scoped(RedisCircuitStore.make({ prefix: "a{b" }))).pipe(Effect.provide(tcp()), Effect.orDie)
    )
    expect(Result.isFailure(result)).toBe(true)
    if (Result.isFailure(result)) expect(result.failure.message).toContain("prefix must be")
  })
})

describe("the store the environment asks for (layerFromEnv)", () => {
  /** `effect` with the environment `env` (a ConfigProvider of its own, not process.env). */
  const withEnv = (env: Record<string, string>) =>
    Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnvRecord(env))

  it.live("REDIS_URL: Redis over TCP (ioredis, loaded when the layer is built); the Upstash pair: Upstash; neither: memory", () =>
    Effect.gen(function*() {
      const prefix = freshPrefix()
      const opens = (env: Record<string, string>) =>
        Effect.gen(function*() {
          const breaker = yield* CircuitBreaker.make("from-env", { failureThreshold: 1 })
          yield* Effect.result(breaker.protect(Effect.fail("boom")))
          return yield* breaker.state
        }).pipe(Effect.provide(RedisCircuitStore.layerFromEnv({ prefix })), withEnv(env))
      const upstashEnv = { UPSTASH_REDIS_REST_URL: bridge.url, UPSTASH_REDIS_REST_TOKEN: token }
      expect(yield* RedisCircuitStore.sourceFromEnv.pipe(withEnv({ REDIS_URL: server.url }))).toBe("redis")
      expect(yield* RedisCircuitStore.sourceFromEnv.pipe(withEnv(upstashEnv))).toBe("upstash")
      expect(yield* RedisCircuitStore.sourceFromEnv.pipe(withEnv({}))).toBe("memory")
      const key = RedisCircuitStore.stateKey("from-env", { prefix })
      expect(yield* opens({ REDIS_URL: server.url })).toBe("OPEN")
      expect(yield* Effect.promise(() => server.cli("HGET", key, "state"))).toBe("OPEN")
      yield* Effect.promise(() => server.cli("DEL", key))
      expect(yield* opens(upstashEnv)).toBe("OPEN")
      expect(yield* Effect.promise(() => server.cli("HGET", key, "state"))).toBe("OPEN")
      yield* Effect.promise(() => server.cli("DEL", key))
      expect(yield* opens({})).toBe("OPEN")
      expect(yield* Effect.promise(() => server.cli("EXISTS", key))).toBe("0")
    }))
})

describe("over Effect 4's Redis service (effect/persistence/Redis, NodeRedis)", () => {
  it.live("a breaker opens across two stores sharing one redis-server, and the other hears of it at once", () =>
    Effect.gen(function*() {
      const prefix = freshPrefix()
      // two instances of a fleet: a store each, each over a NodeRedis of its own, for the test's scope
      const a = yield* Layer.build(Layer.orDie(effectRedisStore(server, { prefix })))
      const b = yield* Layer.build(Layer.orDie(effectRedisStore(server, { prefix })))
      const config = { failureThreshold: 2, recoveryTimeout: "1 minute", stateCacheTtl: "1 minute" } as const
      const first = yield* CircuitBreaker.make("shared", config).pipe(Effect.provide(a))
      const second = yield* CircuitBreaker.make("shared", config).pipe(Effect.provide(b))
      // the second instance reads CLOSED and caches it for a minute
      yield* second.protect(Effect.void)
      expect(yield* second.state).toBe("CLOSED")
      // its subscription is live (notifications through the service's subscribe)
      for (let i = 0; i < 100 && (yield* second.health).notifications !== "connected"; i++) {
        yield* Effect.sleep("20 millis")
      }
      expect((yield* second.health).notifications).toBe("connected")
      yield* Effect.result(first.protect(Effect.fail("boom")))
      yield* Effect.result(first.protect(Effect.fail("boom")))
      expect(yield* first.state).toBe("OPEN")
      expect(yield* Effect.promise(() => server.cli("HGET", RedisCircuitStore.stateKey("shared", { prefix }), "state")))
        .toBe("OPEN")
      // the transition reaches the second instance before its cached CLOSED expires
      let rejected = false
      for (let i = 0; i < 100 && !rejected; i++) {
        const call = yield* Effect.result(second.protect(Effect.void))
        rejected = Result.isFailure(call) && call.failure._tag === "CircuitOpen"
        if (!rejected) yield* Effect.sleep("20 millis")
      }
      expect(rejected).toBe(true)
      // two connections each (commands, subscription): the stores share nothing but the server
      const clients = yield* Effect.promise(() => server.cli("CLIENT", "LIST"))
      expect(clients.split("\n").filter((line) => / cmd=(subscribe|ssubscribe)\b/.test(line)).length)
        .toBeGreaterThanOrEqual(2)
    }))

  it.live("commands fail as RedisClientErrors of this package's kinds (NOSCRIPT, a command Redis refuses)", () =>
    Effect.gen(function*() {
      const redis = yield* Redis.Redis
      const client = RedisClient.fromEffectRedis(redis)
      expect(client.description).toBe("effect/persistence/Redis")
      const noScript = yield* Effect.flip(client.send(["EVALSHA", "0".repeat(40), "0"]))
      expect(noScript.kind).toBe("NoScript")
      const wrong = yield* Effect.flip(client.send(["NOSUCHCOMMAND"]))
      expect(wrong.kind).toBe("Command")
      expect(wrong.message).toMatch(/^Redis Command error: ERR unknown command/)
      // the script runs through runScript, its source sent after NOSCRIPT
      yield* Effect.promise(() => server.cli("SCRIPT", "FLUSH"))
      const keys = keysOf(freshPrefix(), "direct")
      const args = scriptArgs(Result.getOrThrow(CircuitConfig.decodeEither("direct", { failureThreshold: 3 })))
      const reply = yield* RedisClient.runScript(
        client,
        scripts.circuit,
        keys,
        scriptArgv(args, { op: "read", now: Date.now() })
      )
      expect(Array.isArray(reply) && reply[0]).toBe("CLOSED")
      expect(yield* Effect.promise(() => server.cli("SCRIPT", "EXISTS", scripts.circuit.sha))).toBe("1")
    }).pipe(Effect.provide(NodeRedis.layer({ url: server.url, disableOfflineQueue: true }))))
})
