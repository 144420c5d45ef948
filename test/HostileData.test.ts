/**
 * A writer sharing the prefix that puts anything into a circuit's keys (a
 * bug, an attacker, a hand edit) cannot make a script call hold Redis, hurt
 * the other circuits, or make a monitoring read write anything, against a
 * real `redis-server`:
 *
 * - every numeric word of every field of a circuit's hashes replaced by large
 *   whole numbers, in CLOSED, OPEN and HALF_OPEN, under backoff multipliers 1
 *   and 2: no script call runs over 20 ms (`SLOWLOG`), no call fails;
 * - the open period of the script equals `Backoff.openPeriod` for any open
 *   count, however large;
 * - huge fields (400k probe leases, 8,000 metric fields) are repaired by the
 *   first writer, in one bounded call;
 * - a peek (monitoring) over every hostile case leaves both keys as they
 *   were (`DUMP`, `PTTL`), and trusts a stored config only if it is valid.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import type * as Scope from "effect/Scope"
import { Redis } from "ioredis"
import { Backoff, CircuitBreaker, CircuitConfig, CircuitStore, RedisCircuitStore } from "../src/index.js"
import { IORedisClient } from "../src/ioredis.js"
import { circuit as circuitScript } from "../shared/redis/luaScripts.js"
import { keysOf } from "../shared/redis/keys.js"
import { circuitFields, scriptArgs, scriptArgv } from "../shared/redis/scriptArgs.js"
import {
  type Case,
  configFor,
  contents,
  fieldsOf as fieldsIn,
  hostileCases as casesOf,
  peekCases,
  redisTime,
  type Seeded,
  seedCase
} from "./shared/hostileData.js"
import { type RedisServer, redisServerScoped } from "./support/redisServer.js"
import { freshPrefix } from "./support/stores.js"

const boom = Effect.fail({ _tag: "DependencyError" as const })

/** A call's failure other than the service's own error or a rejection, as text. */
const unexpectedFailure = (exit: Exit.Exit<unknown, unknown>): string | undefined => {
  if (Exit.isSuccess(exit)) return undefined
  const text = String(exit.cause)
  return text.includes("DependencyError") || text.includes("CircuitOpen") ? undefined : text
}

const decode = (input: CircuitConfig.Input) => Either.getOrThrow(CircuitConfig.decodeEither("hostile", input))

const argsFor = (multiplier: number) => scriptArgs(decode(configFor(multiplier)))

const fieldsOf = (state: Seeded, multiplier: number, now: number) => fieldsIn(argsFor(multiplier), state, now)

const hostileCases = (now: number) => casesOf(now, argsFor)

const redisNow = (server: RedisServer) => Effect.promise(() => redisTime(server))

/** Writes a case's hashes (no TTL: any a script sets shows). */
const seed = (redis: Redis, prefix: string, name: string, c: Case, now: number) =>
  Effect.promise(() => seedCase(redis, prefix, name, c, now, argsFor))

const storeOn = (server: RedisServer, prefix: string) =>
  Effect.gen(function*() {
    const context = yield* Layer.build(
      RedisCircuitStore.layer({ prefix }).pipe(Layer.provide(IORedisClient.layer({ url: server.url })), Layer.orDie)
    )
    return { context, store: Context.get(context, CircuitStore.CircuitStore) }
  })

const redisScoped = (server: RedisServer): Effect.Effect<Redis, never, Scope.Scope> =>
  Effect.acquireRelease(Effect.sync(() => new Redis(server.url)), (redis) => Effect.promise(() => redis.quit()))

describe("hostile data cannot make a script hold Redis", () => {
  it.scopedLive(
    "every numeric word replaced by large whole numbers: no script call over 20 ms, no BUSY, no store error",
    () =>
      Effect.gen(function*() {
        const server = yield* redisServerScoped()
        const redis = yield* redisScoped(server)
        const prefix = freshPrefix()
        const { context, store } = yield* storeOn(server, prefix)
        yield* Effect.promise(() => server.cli("CONFIG", "SET", "slowlog-log-slower-than", "20000"))
        yield* Effect.promise(() => server.cli("CONFIG", "SET", "busy-reply-threshold", "1000"))
        const now = yield* redisNow(server)
        const cases = hostileCases(now)
        let n = 0
        /** Seeds the case under a new name and drives calls; what Redis and the calls then say. */
        const drive = (c: Case) =>
          Effect.gen(function*() {
            const name = `hostile-${n++}`
            yield* Effect.promise(() => redis.slowlog("RESET"))
            yield* seed(redis, prefix, name, c, now)
            const breaker = yield* Effect.orDie(
              Effect.provide(CircuitBreaker.make(name, configFor(c.multiplier)), context)
            )
            // calls: a failing one (in OPEN past its period: a probe that re-opens), then others
            const exits = [
              yield* Effect.exit(breaker.protect(boom)),
              yield* Effect.exit(breaker.protect(boom)),
              yield* Effect.exit(breaker.protect(Effect.void)),
              yield* Effect.exit(breaker.forceOpen),
              yield* Effect.exit(breaker.reset),
              yield* Effect.exit(breaker.protect(boom))
            ]
            const inspected = yield* Effect.exit(store.inspect(name, decode(configFor(c.multiplier)), Date.now()))
            const health = yield* breaker.health
            return {
              case: c.label,
              slowlog: (yield* Effect.promise(() => redis.slowlog("GET", 3))) as ReadonlyArray<unknown>,
              ping: yield* Effect.promise(() => redis.ping()),
              storeErrors: health.metrics.storeErrors,
              unexpected: exits.map(unexpectedFailure).filter((failure) => failure !== undefined),
              inspected: Exit.isSuccess(inspected)
            }
          })
        let retried = 0
        for (const c of cases) {
          let seen = yield* drive(c)
          // a slow call once can be this machine's scheduler (a shared CPU): a case is slow when it is slow twice
          if (seen.slowlog.length > 0) {
            retried++
            console.info(`[hostile] ${c.label}: slow once (${JSON.stringify(seen.slowlog[0])}), driven again`)
            seen = yield* drive(c)
          }
          expect(seen).toEqual({
            case: c.label,
            slowlog: [],
            ping: "PONG",
            storeErrors: 0,
            unexpected: [],
            inspected: true
          })
        }
        console.info(`[hostile] ${cases.length} cases, every script call under 20 ms (${retried} driven twice)`)
      }).pipe(Logger.withMinimumLogLevel(LogLevel.Error)),
    120_000
  )

  it.scopedLive(
    "the open period of the script equals Backoff.openPeriod for any open count (multipliers 1, 1.5, 2, 1.0000001)",
    () =>
      Effect.gen(function*() {
        const server = yield* redisServerScoped()
        const redis = yield* redisScoped(server)
        const prefix = freshPrefix()
        const [key, metricsKey] = keysOf(prefix, "backoff")
        const now = 1_800_000_000_000
        yield* Effect.promise(() =>
          redis.config("SET", "slowlog-log-slower-than", "20000").then(() => redis.slowlog("RESET"))
        )
        const checked: Array<string> = []
        for (const multiplier of [1, 1.5, 2, 1.0000001]) {
          for (const jitter of [0, 0.3]) {
            const config = decode({
              recoveryTimeout: 1_000,
              maxRecoveryTimeout: 3_600_000,
              backoffMultiplier: multiplier,
              backoffJitter: jitter
            })
            const args = scriptArgs(config)
            for (const k of [1, 2, 3, 7, 20, 53, 54, 1_000, 2 ** 24, 2 ** 40 + 1, 9_999_999_999_999]) {
              for (const u of [0, 0.37, 0.999]) {
                const fields = circuitFields(args, {
                  state: "HALF_OPEN",
                  version: 1,
                  openCount: k - 1,
                  openedAt: now - 1_000,
                  retryAt: now - 1,
                  changedAt: now - 1_000,
                  writtenAt: now - 1_000,
                  halfOpenSuccesses: 0
                })
                yield* Effect.promise(() =>
                  redis.del(key, metricsKey).then(() => redis.hset(key, { ...fields, probes: `p ${now + 500}` }))
                )
                const reply = (yield* Effect.promise(() =>
                  redis.eval(
                    circuitScript.source,
                    2,
                    key,
                    metricsKey,
                    ...scriptArgv(args, { op: "record", now, probe: "p", outcome: "failure", sample: u })
                  )
                )) as ReadonlyArray<unknown>
                expect(reply[0]).toBe("OPEN")
                expect(reply[2]).toBe(k)
                expect({ multiplier, jitter, k, u, period: (reply[4] as number) - now }).toEqual({
                  multiplier,
                  jitter,
                  k,
                  u,
                  period: Backoff.openPeriod(config, k, u)
                })
              }
            }
            checked.push(`×${multiplier}±${jitter}: k=7 ${Backoff.openPeriod(config, 7, 0)} ms`)
          }
        }
        // no call ran 20 ms in Redis
        expect(yield* Effect.promise(() => redis.slowlog("GET", 3))).toEqual([])
        console.info(`[backoff] Lua = TS for huge open counts; ${checked.join("; ")}`)
      }).pipe(Logger.withMinimumLogLevel(LogLevel.Error)),
    60_000
  )

  it.scopedLive(
    "a stored version of 99999999999999: a force-open holds (FORCED_OPEN in Redis and for the calls), the state is repaired once",
    () =>
      Effect.gen(function*() {
        const server = yield* redisServerScoped()
        const redis = yield* redisScoped(server)
        const prefix = freshPrefix()
        const { context } = yield* storeOn(server, prefix)
        const now = yield* redisNow(server)
        const [key] = keysOf(prefix, "edge")
        const fields = fieldsOf("CLOSED", 2, now)
        const words = fields.s!.split(" ")
        words[1] = "99999999999999"
        yield* Effect.promise(() => redis.hset(key, { ...fields, s: words.join(" "), version: "99999999999999" }))
        const breaker = yield* Effect.orDie(Effect.provide(CircuitBreaker.make("edge", configFor(2)), context))
        yield* breaker.forceOpen
        const calls = [
          yield* Effect.exit(breaker.protect(Effect.void)),
          yield* Effect.exit(breaker.protect(Effect.void))
        ]
        const stored = yield* Effect.promise(() => redis.hget(key, "s"))
        console.info(`[edge] after the force-open: s = ${stored}`)
        expect(stored!.split(" ")[0]).toBe("FORCED_OPEN")
        expect(stored).toMatch(/^FORCED_OPEN \d{1,13} /)
        expect(calls.every(Exit.isFailure)).toBe(true)
        expect((yield* breaker.health).state).toBe("FORCED_OPEN")
      }).pipe(Logger.withMinimumLogLevel(LogLevel.Error)),
    30_000
  )

  it.scopedLive(
    "400k probe leases and 8,000 junk metric fields: the first writer drops them in one call under 20 ms; the other circuits never notice",
    () =>
      Effect.gen(function*() {
        const server = yield* redisServerScoped()
        const redis = yield* redisScoped(server)
        const prefix = freshPrefix()
        const { context } = yield* storeOn(server, prefix)
        yield* Effect.promise(() => server.cli("CONFIG", "SET", "slowlog-log-slower-than", "20000"))
        const now = yield* redisNow(server)
        const [key, metricsKey] = keysOf(prefix, "stuffed")
        const leases = Array.from({ length: 400_000 }, (_, i) => `junk:${i} ${now + 500}`).join(" ")
        const junk: Record<string, string> = {}
        for (let i = 0; i < 8_000; i++) junk[`junk-${i}`] = "1"
        yield* Effect.promise(async () => {
          await redis.hset(key, { ...fieldsOf("HALF_OPEN", 2, now), probes: leases })
          await redis.hset(metricsKey, junk)
        })
        yield* Effect.promise(() => server.cli("SLOWLOG", "RESET"))
        const config = { ...configFor(2), storeTimeout: 1_000 }
        const stuffed = yield* Effect.orDie(Effect.provide(CircuitBreaker.make("stuffed", config), context))
        const bystander = yield* Effect.orDie(Effect.provide(CircuitBreaker.make("bystander", config), context))
        // a probe (the junk leases are dropped), then a failure counted in the metrics (the junk fields are dropped)
        const first = yield* Effect.exit(stuffed.protect(Effect.void))
        const again = [
          yield* Effect.exit(stuffed.protect(boom)),
          yield* Effect.exit(stuffed.protect(boom)),
          yield* Effect.exit(stuffed.protect(boom))
        ]
        for (let i = 0; i < 5; i++)
          expect(Exit.isSuccess(yield* Effect.exit(bystander.protect(Effect.void)))).toBe(true)
        const probes = yield* Effect.promise(() => redis.hget(key, "probes"))
        const fields = yield* Effect.promise(() => redis.hlen(metricsKey))
        const slow = yield* Effect.promise(() => server.cli("SLOWLOG", "GET", "3"))
        console.info(
          `[stuffed] probes field after: ${probes?.length ?? 0} bytes; metrics fields after: ${fields}; slowlog: ${
            JSON.stringify(slow)
          }`
        )
        expect(Exit.isSuccess(first)).toBe(true)
        expect(again.map((exit) => Exit.isFailure(exit))).toEqual([true, true, true])
        expect(probes === null || probes.length < 100).toBe(true)
        expect(fields).toBeLessThan(20)
        expect(slow).toBe("")
        expect((yield* stuffed.health).metrics.storeErrors).toBe(0)
        expect((yield* bystander.health).metrics.storeErrors).toBe(0)
      }).pipe(Logger.withMinimumLogLevel(LogLevel.Error)),
    60_000
  )
})

describe("monitoring reads are read-only", () => {
  it.scopedLive(
    "a peek over every hostile case leaves DUMP and PTTL of both keys as they were",
    () =>
      Effect.gen(function*() {
        const server = yield* redisServerScoped()
        const redis = yield* redisScoped(server)
        const prefix = freshPrefix()
        const { store } = yield* storeOn(server, prefix)
        const now = yield* redisNow(server)
        const cases: Array<Case> = [
          ...hostileCases(now),
          ...peekCases(now)
        ]
        const reader = decode({})
        let n = 0
        for (const c of cases) {
          const name = `peeked-${n++}`
          const [key, metricsKey] = keysOf(prefix, name)
          yield* seed(redis, prefix, name, c, now)
          const before = yield* Effect.promise(() => Promise.all([contents(redis, key), contents(redis, metricsKey)]))
          const one = yield* Effect.exit(store.inspect(name, reader, Date.now()))
          const many = yield* Effect.exit(store.inspectMany!([name], reader, Date.now()))
          const after = yield* Effect.promise(() => Promise.all([contents(redis, key), contents(redis, metricsKey)]))
          expect({ case: c.label, after }).toEqual({ case: c.label, after: before })
          expect(after[0].pttl).toBe(-1)
          expect(Exit.isSuccess(one) && Exit.isSuccess(many)).toBe(true)
        }
        // keys of another type: left as they are, and the circuit is not taken for gone (its name stays registered)
        const [key, metricsKey] = keysOf(prefix, "retyped")
        yield* Effect.promise(() =>
          redis.set(key, "not a hash").then(() => redis.rpush(metricsKey, "not", "a", "hash"))
        )
        // registered long ago: a circuit read as missing would leave the registry
        yield* Effect.promise(() => redis.zadd(RedisCircuitStore.registryKey({ prefix }), 1, "retyped"))
        yield* store.names
        const before = yield* Effect.promise(() => Promise.all([contents(redis, key), contents(redis, metricsKey)]))
        const one = yield* Effect.exit(store.inspect("retyped", reader, Date.now()))
        const [many] = yield* store.inspectMany!(["retyped"], reader, Date.now())
        const after = yield* Effect.promise(() => Promise.all([contents(redis, key), contents(redis, metricsKey)]))
        expect(after).toEqual(before)
        expect(Exit.isSuccess(one)).toBe(true)
        expect(many!.missing).toBe(false)
        yield* Effect.sleep("50 millis")
        expect(yield* Effect.promise(() => redis.zscore(RedisCircuitStore.registryKey({ prefix }), "retyped"))).toBe(
          "1"
        )
        console.info(`[peek] ${cases.length} hostile cases and keys of another type read, nothing written`)
      }).pipe(Logger.withMinimumLogLevel(LogLevel.Error)),
    120_000
  )

  it.scopedLive(
    "an OPEN whose stored config says stateTtl 1 ms reads OPEN, and keeps its TTL",
    () =>
      Effect.gen(function*() {
        const server = yield* redisServerScoped()
        const redis = yield* redisScoped(server)
        const prefix = freshPrefix()
        const { store } = yield* storeOn(server, prefix)
        const now = yield* redisNow(server)
        const [key] = keysOf(prefix, "open")
        const fields = fieldsOf("OPEN", 2, now)
        fields.s = fields.s!.replace(/^(\S+ \S+ \S+ \S+) \S+/, `$1 ${now + 30_000}`)
        fields.config = fields.config!.replace(/^(\S+) \S+/, "$1 1")
        yield* Effect.promise(() => redis.hset(key, fields).then(() => redis.pexpire(key, 600_000)))
        const [snapshot] = yield* store.inspect("open", decode({}), Date.now())
        const [many] = yield* store.inspectMany!(["open"], decode({}), Date.now())
        const pttl = yield* Effect.promise(() => redis.pttl(key))
        console.info(`[peek] OPEN with a stored stateTtl of 1 ms reads ${snapshot.state}; PTTL after ${pttl} ms`)
        expect(snapshot.state).toBe("OPEN")
        expect(many!.read?.[0].state).toBe("OPEN")
        expect(pttl).toBeGreaterThan(590_000)
      }).pipe(Logger.withMinimumLogLevel(LogLevel.Error)),
    30_000
  )
})
