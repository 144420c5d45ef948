/**
 * What is particular to the Redis store: the embedded scripts, NOSCRIPT,
 * the round-trip budget of ARCHITECTURE.md (counted by Redis itself), the
 * key layout, TTLs, the registry and the server time source.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Supervisor from "effect/Supervisor"
import * as TestClock from "effect/TestClock"
import { readFileSync } from "node:fs"
import { CircuitBreaker, CircuitConfig, CircuitStore, RedisCircuitStore, RedisClient } from "../src/index.js"
import * as scripts from "../shared/redis/luaScripts.js"
import { keysOf } from "../shared/redis/keys.js"
import { scriptArgs, scriptArgv } from "../shared/redis/scriptArgs.js"
import { toReply } from "../src/internal/redis/scriptReply.js"
import { render, target } from "../scripts/embed-lua.js"
import { type RedisServer, startRedis } from "./support/redisServer.js"
import { freshPrefix } from "./support/stores.js"
import { startUpstashBridge, type UpstashBridge } from "./shared/upstashBridge.js"
import { UpstashClient } from "../src/upstash.js"
import { IORedisClient } from "../src/ioredis.js"
import { Redis } from "ioredis"

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

/** Counts the fibers started under it. */
class FibersStarted extends Supervisor.AbstractSupervisor<void> {
  started = 0
  value = Effect.void
  override onStart() {
    this.started++
  }
}

/** Script calls made while `effect` runs. */
const countScriptCalls = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const before = yield* scriptCalls
    const result = yield* effect
    return [result, (yield* scriptCalls) - before] as const
  })

describe("Lua scripts", () => {
  it("the embedded module is up to date with lua/ (run `npm run generate`)", () => {
    expect(readFileSync(target, "utf8")).toBe(render())
  })

  it("the embedded SHA-1s are what SCRIPT LOAD returns", async () => {
    expect(await server.cli("SCRIPT", "LOAD", scripts.circuit.source)).toBe(scripts.circuit.sha)
    expect(await server.cli("SCRIPT", "LOAD", scripts.manyCircuits.source)).toBe(scripts.manyCircuits.sha)
  })

  it("the script touches no key but its KEYS (so Upstash may lock only those)", () => {
    const source = scripts.circuit.source
    const commands = [...source.matchAll(/(?:call|pcall)\("([A-Z]+)", ([^,)]+)/g)]
    expect(commands.length).toBeGreaterThan(5)
    // (PUBLISH names a channel, not a key)
    for (const [, command, key] of commands) if (command !== "PUBLISH") expect(["key", "metricsKey"]).toContain(key)
    // commands built as tables, run with unpack
    for (const [, key] of source.matchAll(/\{ "[A-Z]+", ([^,}]+)/g))
      expect(["key", "metricsKey"]).toContain(key!.trim())
    expect(source).toMatch(/^local key, metricsKey = KEYS\[1\], KEYS\[2\]$/m)
  })

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
          const call = yield* Effect.either(breaker.protect(Effect.fail("boom")))
          return call._tag === "Left" && call.left === "boom" && (yield* breaker.state) === "OPEN"
        }).pipe(
          Effect.provide(storeOn(UpstashClient.layer({ url: proxy.url, token: Redacted.make(token), allowKeyLocking })))
        )
      expect(yield* opens(undefined)).toBe(true)
      expect(yield* opens(true)).toBe(false)
    }).pipe(Effect.scoped))

  it.live("Upstash gets the script flagged allow-key-locking, which Redis itself refuses; TCP clients send the plain one", () =>
    Effect.gen(function*() {
      const flagged = scripts.circuit.keyLocking
      expect(flagged.source.startsWith("#!lua flags=allow-key-locking\n")).toBe(true)
      expect(flagged.source.endsWith(scripts.circuit.source)).toBe(true)
      const refused = yield* Effect.promise(() => server.cli("EVAL", flagged.source, "2", "a", "b"))
      expect(refused).toMatch(/Unexpected flag in script shebang: allow-key-locking/)

      // over the Upstash bridge (which drops the flag before Redis, as only Upstash honours it)
      bridge.resetStats()
      yield* Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make("key-locking", { failureThreshold: 2 })
        yield* Effect.either(breaker.protect(Effect.fail("boom")))
        yield* Effect.either(breaker.protect(Effect.fail("boom")))
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

      // over TCP: the plain script (Redis would refuse the other)
      yield* Effect.promise(() => server.cli("SCRIPT", "FLUSH"))
      yield* Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make("plain", { failureThreshold: 2 })
        yield* Effect.either(breaker.protect(Effect.fail("boom")))
        yield* Effect.either(breaker.protect(Effect.fail("boom")))
        expect(yield* breaker.state).toBe("OPEN")
      }).pipe(Effect.provide(storeOn(tcp())))
      expect(yield* Effect.promise(() => server.cli("SCRIPT", "EXISTS", scripts.circuit.sha))).toBe("1")
    }))

  it("lua/manyCircuits.lua is lua/circuit.lua, once per pair of keys", () => {
    expect(scripts.manyCircuits.source).toContain(`local function circuit(KEYS, ARGV)\n${scripts.circuit.source}end\n`)
    expect(scripts.manyCircuits.keyLocking.source.startsWith("#!lua flags=allow-key-locking\n")).toBe(true)
  })

  it("a record that changes no state writes and answers as the whole machine does (its short path)", async () => {
    const redis = new Redis(server.url)
    try {
      await redis.script("LOAD", scripts.circuit.source)
      const now = 1_800_000_000_000
      const decode = (input: CircuitConfig.Input) => {
        const config = CircuitConfig.decodeEither("x", input)
        if (config._tag === "Left") throw config.left
        return scriptArgs(config.right)
      }
      const configs = [
        decode({ failureThreshold: 4, monitoringPeriod: "1 minute" }),
        decode({ failureThreshold: 100, failureRateThreshold: 0.5, minimumCalls: 4, monitoringPeriod: "1 minute" })
      ]
      // "0 0 0 1" (a probe count to add) makes the script take the whole machine; "" the short path
      // where it applies. The state hash and the reply must be the same either way
      const steps: ReadonlyArray<{ outcome: string; batch: number; at: number; force?: string }> = [
        { outcome: "success", batch: 0, at: 0 },
        { outcome: "failure", batch: 0, at: 10 },
        { outcome: "failure", batch: 3, at: 20 },
        { outcome: "release", batch: 0, at: 30 },
        { outcome: "failure", batch: 0, at: 40 },
        { outcome: "success", batch: 2, at: 7_000 },
        { outcome: "failure", batch: 0, at: 7_010 },
        { outcome: "failure", batch: 0, at: 7_020 },
        { outcome: "failure", batch: 0, at: 70_000, force: "FORCED_CLOSED" },
        { outcome: "failure", batch: 5, at: 70_010 },
        { outcome: "success", batch: 0, at: 70_020 },
        { outcome: "failure", batch: 0, at: 70_030, force: "RESET" },
        { outcome: "failure", batch: 0, at: 70_040 },
        { outcome: "failure", batch: 0, at: 70_050 },
        { outcome: "failure", batch: 0, at: 70_060 },
        { outcome: "failure", batch: 0, at: 70_070 }
      ]
      let shortReplies = 0
      for (const [c, args] of configs.entries()) {
        const [shortKeys, wholeKeys] = [keysOf(freshPrefix(), `short-${c}`), keysOf(freshPrefix(), `whole-${c}`)]
        for (const step of steps) {
          const replies = []
          for (const [keys, probes] of [[shortKeys, 0], [wholeKeys, 1]] as const) {
            if (step.force !== undefined) {
              await redis.evalsha(
                scripts.circuit.sha,
                2,
                ...keys,
                ...scriptArgv(args, { op: "force", now: now + step.at - 1, outcome: step.force })
              )
            }
            replies.push(
              await redis.evalsha(
                scripts.circuit.sha,
                2,
                ...keys,
                ...scriptArgv(args, {
                  op: "record",
                  now: now + step.at,
                  outcome: step.outcome,
                  batch: step.batch,
                  sample: 0.5,
                  unsent: { successes: 0, failures: 0, rejections: 0, probes }
                })
              )
            )
          }
          // the short path answers in the short reply: the same once decoded
          if ((replies[0] as Array<unknown>).length === 7) shortReplies++
          expect(Either.isRight(toReply(replies[1], 0))).toBe(true)
          expect(toReply(replies[0], 0), JSON.stringify(step)).toEqual(toReply(replies[1], 0))
          expect(await redis.hgetall(shortKeys[0]), JSON.stringify(step)).toEqual(await redis.hgetall(wholeKeys[0]))
          expect(await redis.pttl(shortKeys[0]) > 0).toBe(await redis.pttl(wholeKeys[0]) > 0)
        }
      }
      expect(shortReplies).toBeGreaterThan(0)
    } finally {
      redis.disconnect()
    }
  })

  it("the breaker's record goes in the short form (10 ARGV); the script refuses one whose packed config is not 13 words", async () => {
    const config = CircuitConfig.decodeEither("x", { failureThreshold: 4 })
    if (config._tag === "Left") throw config.left
    const args = scriptArgs(config.right)
    const now = 1_800_000_000_000
    const short = scriptArgv(args, { op: "record", now, outcome: "failure", sample: 0.5 })
    expect(short).toEqual(["r", String(now), "failure", "0.5", args[0], args[1], args[2], args[10], args[11], args[13]])
    // anything else a record carries needs the long form
    expect(scriptArgv(args, { op: "record", now, outcome: "failure", probe: "p" })).toHaveLength(23)
    expect(scriptArgv(args, { op: "record", now, outcome: "failure", batch: 1 })).toHaveLength(23)
    expect(scriptArgv(args, { op: "record", now, outcome: "release" })).toHaveLength(23)
    const redis = new Redis(server.url)
    try {
      await redis.script("LOAD", scripts.circuit.source)
      const keys = keysOf(freshPrefix(), "short-form")
      for (
        const packed of [`${args[13]} 1`, args[13]!.replace(" ", "  "), args[13]!.slice(0, args[13]!.lastIndexOf(" "))]
      ) {
        await expect(redis.evalsha(scripts.circuit.sha, 2, ...keys, ...short.slice(0, 9), packed)).rejects.toThrow(
          "bad arguments"
        )
      }
      expect(await redis.exists(keys[0])).toBe(0)
      const reply = (await redis.evalsha(scripts.circuit.sha, 2, ...keys, ...short)) as Array<unknown>
      // state, then failures and calls in the window
      expect([reply[0], reply[6], reply[7]]).toEqual(["CLOSED", 1, 1])
    } finally {
      redis.disconnect()
    }
  })

  it("a record on stored words the short path must not take as they are answers as the whole machine does", async () => {
    const redis = new Redis(server.url)
    try {
      await redis.script("LOAD", scripts.circuit.source)
      const config = CircuitConfig.decodeEither("x", { failureThreshold: 4, monitoringPeriod: "1 minute" })
      if (config._tag === "Left") throw config.left
      const args = scriptArgs(config.right)
      const now = 1_800_000_000_000
      // the window's bucket of now (monitoringPeriod / 10)
      const bucket = Math.floor(now / 6_000)
      const stored = [
        // changedAt ahead of now (within the tolerance): t is changedAt
        `CLOSED 3 0 100 0 ${now + 30_000} ${now + 30_000} 0 ${bucket + 5} 1 1 0 0`,
        // words with leading zeros (whole numbers below LIMIT, not what the script writes)
        `CLOSED 00000000000003 0 0 0 0 ${now - 10} 0 ${bucket} 01 1 0 0`,
        `CLOSED 3 0 0 0 0 ${now - 10} 0 ${bucket} 2 1 00000000000001 1`,
        // a window with other buckets, one with garbage in it
        `CLOSED 3 0 0 0 0 ${now - 10} 0 ${bucket} 2 1 3 2 ${bucket - 1} 3 2`,
        `CLOSED 3 0 0 0 0 ${now - 10} 0 ${bucket} 2 1 3 2 ${bucket - 1} 3 x`,
        `CLOSED 3 0 0 0 0 ${now - 10} 0 ${bucket} 2 1 3 2 ${bucket - 1} 30000000000000 2`,
        // a word past LIMIT, a time far ahead, an expired state, another bucket
        `CLOSED 3 0 0 0 0 ${now - 10} 0 ${bucket} 20000000000000 1 0 0`,
        `CLOSED 10000000000000 0 0 0 0 ${now - 10} 0 ${bucket} 2 1 0 0`,
        `CLOSED 3 0 ${now + 120_000} 0 0 ${now - 10} 0 ${bucket} 2 1 0 0`,
        `CLOSED 3 0 0 0 0 ${now - 700_000} 0 ${bucket} 2 1 0 0`,
        `CLOSED 3 0 0 0 0 ${now - 10} 0 ${bucket - 1} 2 1 0 0`,
        // what CLOSED never holds: an open count, a retryAt, half-open successes
        `CLOSED 3 1 0 0 0 ${now - 10} 0 ${bucket} 2 1 0 0`,
        `CLOSED 3 0 0 5 0 ${now - 10} 0 ${bucket} 2 1 0 0`,
        `CLOSED 3 0 0 0 0 ${now - 10} 1 ${bucket} 2 1 0 0`,
        // three failures in the window: the next opens the circuit
        `CLOSED 3 0 0 0 0 ${now - 10} 0 ${bucket} 2 2 1 1`
      ]
      for (const s of stored) {
        for (const outcome of ["failure", "success"]) {
          const [shortKeys, wholeKeys] = [keysOf(freshPrefix(), "short"), keysOf(freshPrefix(), "whole")]
          const replies = []
          // "0 0 0 1" (a probe count to add) makes the script take the whole machine
          for (const [keys, probes] of [[shortKeys, 0], [wholeKeys, 1]] as const) {
            await redis.hset(keys[0], { s, config: args[args.length - 1]! })
            replies.push(
              await redis.evalsha(
                scripts.circuit.sha,
                2,
                ...keys,
                ...scriptArgv(args, {
                  op: "record",
                  now,
                  outcome,
                  sample: 0.5,
                  unsent: { successes: 0, failures: 0, rejections: 0, probes }
                })
              )
            )
          }
          expect(toReply(replies[0], 0), `${s} ${outcome}`).toEqual(toReply(replies[1], 0))
          expect(await redis.hgetall(shortKeys[0]), `${s} ${outcome}`).toEqual(await redis.hgetall(wholeKeys[0]))
          expect(await redis.pttl(shortKeys[0]) > 0).toBe(await redis.pttl(wholeKeys[0]) > 0)
        }
      }
    } finally {
      redis.disconnect()
    }
  })

  it("lua/manyCircuits.lua answers and writes each circuit as lua/circuit.lua does, whatever its data", async () => {
    const redis = new Redis(server.url)
    try {
      const now = 1_800_000_000_000
      const config = CircuitConfig.decodeEither("x", {
        failureThreshold: 2,
        recoveryTimeout: "1 minute",
        metricsTtl: "1 hour"
      })
      if (config._tag === "Left") throw config.left
      const args = scriptArgs(config.right)
      const other = scriptArgs({ ...config.right, stateTtl: 3_600_000, monitoringPeriod: 120_000 })
      const run = (prefix: string, name: string, call: Parameters<typeof scriptArgv>[1], with_ = args) =>
        redis.evalsha(scripts.circuit.sha, 2, ...keysOf(prefix, name), ...scriptArgv(with_, call))
      const fail = {
        op: "record" as const,
        outcome: "failure" as const,
        unsent: { successes: 0, failures: 1, rejections: 0, probes: 0 }
      }
      await redis.script("LOAD", scripts.circuit.source)
      /** The same fleet under `prefix`: a circuit in each state, and data no script wrote. */
      const build = async (prefix: string) => {
        await run(prefix, "closed", { op: "record", now, outcome: "success", batch: 3 })
        await run(prefix, "one-failure", { ...fail, now })
        for (const t of [now, now + 1]) await run(prefix, "open", { ...fail, now: t })
        for (const t of [now - 120_000, now - 119_999]) await run(prefix, "half-open", { ...fail, now: t })
        await run(prefix, "half-open", { op: "acquire", now: now - 30_000, probe: "p1" })
        await run(prefix, "forced", { op: "force", now, outcome: "FORCED_OPEN" })
        // written by a fleet with another config: a reader with this one sees the writers' stateTtl
        await run(prefix, "other-config", { ...fail, now: now - 1_000_000 }, other)
        // expired for this config
        await run(prefix, "expired", { ...fail, now: now - 1_000_000 })
        await redis.hset(keysOf(prefix, "garbage")[0], "s", "OPEN 1 x")
        await redis.set(keysOf(prefix, "wrong-type")[0], "a string")
        await redis.hset(keysOf(prefix, "future")[0], "s", `OPEN 3 1 ${now} ${now + 10 ** 9} ${now} ${now} 0 0 0 0 0 0`)
        await redis.set(keysOf(prefix, "bad-metrics")[1], "a string")
        await run(prefix, "bad-metrics", { ...fail, now }).catch(() => undefined)
      }
      const names = [
        "closed",
        "one-failure",
        "open",
        "half-open",
        "forced",
        "other-config",
        "expired",
        "garbage",
        "wrong-type",
        "future",
        "bad-metrics",
        "missing"
      ]
      const [one, many] = [freshPrefix(), freshPrefix()]
      await build(one)
      await build(many)
      const read = scriptArgv(args, { op: "metrics", now: now + 5_000, peek: true })
      const single: Array<unknown> = []
      for (const name of names)
        single.push(
          await redis.evalsha(scripts.circuit.sha, 2, ...keysOf(one, name), ...read).catch((e: Error) => e.message)
        )
      const batch = (await redis.eval(
        scripts.manyCircuits.source,
        names.length * 2,
        ...names.flatMap((name) => keysOf(many, name)),
        ...read
      )) as Array<unknown>
      expect(batch.map((reply) => (reply instanceof Error ? reply.message : reply))).toEqual(single)
      expect(single.filter((reply) => Array.isArray(reply) && reply[0] === "OPEN").length).toBeGreaterThanOrEqual(2)
      expect(single.filter((reply) => Array.isArray(reply) && reply[14] === 1).length).toBeGreaterThanOrEqual(2) // repaired
      // and the data each left behind
      for (const name of names) {
        for (
          const [a, b] of [[keysOf(one, name)[0], keysOf(many, name)[0]], [keysOf(one, name)[1], keysOf(many, name)[1]]]
        ) {
          expect([await redis.type(b!), await redis.pttl(b!) > 0]).toEqual([
            await redis.type(a!),
            await redis.pttl(a!) > 0
          ])
          if ((await redis.type(a!)) === "hash") expect(await redis.hgetall(b!)).toEqual(await redis.hgetall(a!))
        }
      }
    } finally {
      redis.disconnect()
    }
  })

  it.live("NOSCRIPT after SCRIPT FLUSH: the script is sent again with EVAL", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make("noscript", { failureThreshold: 2 })
      yield* Effect.either(breaker.protect(Effect.fail("boom")))
      yield* Effect.promise(() => server.cli("SCRIPT", "FLUSH"))
      const evalsBefore = yield* Effect.promise(() => server.cli("INFO", "commandstats"))
      yield* Effect.either(breaker.protect(Effect.fail("boom")))
      expect(yield* breaker.state).toBe("OPEN")
      const evalsAfter = yield* Effect.promise(() => server.cli("INFO", "commandstats"))
      const evals = (info: string) => Number(/cmdstat_eval:calls=(\d+)/.exec(info)?.[1] ?? 0)
      expect(evals(evalsAfter) - evals(evalsBefore)).toBe(1)
    }).pipe(Effect.provide(storeOn(tcp()))))
})

for (const [transport, client] of [["tcp", tcp], ["upstash", upstash]] as const) {
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
          Effect.forEach(Array.from({ length: 10 }), () => Effect.either(breaker.protect(Effect.fail("boom"))), {
            discard: true
          })
        )
        expect(calls).toBe(10)
      }).pipe(Effect.provide(storeOn(client()))))

    it.live("CLOSED, call fails: its round trip starts no fiber (a timer fiber per round trip costs more than the round trip's own work)", () =>
      Effect.gen(function*() {
        const breaker = yield* make({ failureThreshold: 20 })
        yield* breaker.protect(Effect.void)
        // (the first failure's round trip may refresh Redis's clock or the registry in the background)
        yield* Effect.either(breaker.protect(Effect.fail("boom")))
        const supervisor = new FibersStarted()
        const [, calls] = yield* countScriptCalls(
          Effect.forEach(Array.from({ length: 10 }), () => Effect.either(breaker.protect(Effect.fail("boom"))), {
            discard: true
          }).pipe(Effect.supervised(supervisor))
        )
        expect(calls).toBe(10)
        expect(supervisor.started).toBe(0)
      }).pipe(Effect.provide(storeOn(client()))))

    it.live("CLOSED, call fails: the record writes no fleet metric; the failures reach them with the next other round trip", () =>
      Effect.gen(function*() {
        const prefix = freshPrefix()
        yield* Effect.gen(function*() {
          const breaker = yield* make({ failureThreshold: 20 })
          yield* breaker.protect(Effect.void)
          const before = yield* commandCalls("hincrby")
          const [, calls] = yield* countScriptCalls(
            Effect.forEach(Array.from({ length: 10 }), () => Effect.either(breaker.protect(Effect.fail("boom"))), {
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
        yield* Effect.either(breaker.protect(Effect.fail("boom")))
        const [results, calls] = yield* countScriptCalls(
          Effect.forEach(Array.from({ length: 200 }), () => Effect.either(breaker.protect(Effect.void)))
        )
        expect(calls).toBe(0)
        expect(results.every((r) => r._tag === "Left" && r.left._tag === "CircuitOpen")).toBe(true)
      }).pipe(Effect.provide(storeOn(client()))))

    it.live("HALF_OPEN probe: 1 to take the permit, 1 to report", () =>
      Effect.gen(function*() {
        const breaker = yield* make({
          failureThreshold: 1,
          successThreshold: 2,
          recoveryTimeout: "50 millis",
          backoffJitter: 0
        })
        yield* Effect.either(breaker.protect(Effect.fail("boom")))
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
        yield* Effect.either(breaker.protect(Effect.fail("boom")))
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
      yield* Effect.either(a.protect(Effect.fail("boom")))
      expect(yield* a.state).toBe("OPEN")
      expect(yield* b.state).toBe("CLOSED")
    }).pipe(Effect.provide(storeOn(tcp()))))

  it.live("the registry lists every circuit the fleet created, across store instances", () =>
    Effect.gen(function*() {
      const prefix = freshPrefix()
      yield* CircuitBreaker.make("alpha").pipe(Effect.provide(storeOn(tcp(), prefix)))
      yield* CircuitBreaker.make("beta").pipe(Effect.provide(storeOn(upstash(), prefix)))
      const names = yield* Effect.flatMap(CircuitStore.CircuitStore, (store) => store.names).pipe(
        Effect.provide(storeOn(tcp(), prefix))
      )
      expect([...names].sort()).toEqual(["alpha", "beta"])
    }))

  const serverTimePrefix = freshPrefix()
  it.effect("timeSource \"server\" (the default): Redis holds Redis's time; the instance sees its own clock's", () =>
    Effect.gen(function*() {
      // the TestClock says 1970; Redis knows better
      const breaker = yield* CircuitBreaker.make("server-time", { failureThreshold: 1 })
      yield* Effect.either(breaker.protect(Effect.fail("boom")))
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

  it.scoped("a refresh of Redis's clock that is never answered gives up after storeTimeout: the next one runs", () =>
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
        const fail = Effect.either(breaker.protect(Effect.fail("boom")))
        yield* fail
        expect(times).toBe(1)
        // a minute later the offset is old: a refresh starts in the background, and hangs
        yield* TestClock.adjust("61 seconds")
        yield* fail
        yield* Effect.yieldNow()
        expect(times).toBe(2)
        // past storeTimeout it has given up, so the next call starts another
        yield* TestClock.adjust("501 millis")
        yield* fail
        for (let i = 0; i < 10 && times < 3; i++) yield* Effect.yieldNow()
        expect(times).toBe(3)
      }).pipe(Effect.provide(store))
    }))

  it.scoped("under TestClock, a script round trip that gets no reply ends when the clock passes storeTimeout", () =>
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
        const call = yield* Effect.fork(Effect.either(breaker.protect(Effect.fail("boom"))))
        yield* settle
        yield* TestClock.adjust("499 millis")
        yield* settle
        expect(call.unsafePoll()).toBeNull()
        yield* TestClock.adjust("1 millis")
        const result = yield* Fiber.join(call)
        // the failure is the caller's own (the local breaker took the outcome)
        expect(result).toEqual(Either.left("boom"))
        yield* Effect.sync(() => frozen.resume())
      }).pipe(Effect.provide(storeOn(IORedisClient.layer({ url: frozen.url }))))
    }))

  it("a bad prefix fails with a CircuitConfigError", async () => {
    const result = await Effect.runPromise(
      Effect.either(Effect.scoped(RedisCircuitStore.make({ prefix: "a{b" }))).pipe(Effect.provide(tcp()), Effect.orDie)
    )
    expect(result._tag).toBe("Left")
    if (result._tag === "Left") expect(result.left.message).toContain("prefix must be")
  })
})
