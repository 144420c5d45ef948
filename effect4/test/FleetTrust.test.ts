/**
 * The fleet's guarantees when parts of it lie or forget, tried as an adversary
 * would, with the default settings unless said otherwise, against real
 * `redis-server` processes, over TCP and over the Upstash bridge (the Effect 4 edition):
 *
 * - instances whose clocks are off (±30 s, ±1 h, +1 day) cannot run extra
 *   probes, hold a circuit open past its open period, freeze or wipe the
 *   window, or undo another instance's transition (the store runs on Redis's
 *   clock, through the offset each instance learns from `TIME`);
 * - a caller that gives up during the acquire round trip (its own timeout, or
 *   `storeTimeout`) does not leak the probe permit for `probeLease`;
 * - an admin hold is put back after Redis lost it (restart, flush) in the
 *   round trip that finds it missing, but never after an operator's reset
 *   superseded it and the key expired;
 * - an error about one circuit's data (here: an ACL that forbids its keys)
 *   does not pause the store for the others; a registry key of the wrong type
 *   is repaired.
 *
 * Each "instance" is a store of its own (its own client, cache and clock
 * offset) and a skewed `Clock`. These tests run on real time: the clock under
 * test is Redis's, which `TestClock` cannot move.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as TestClock from "effect/testing/TestClock"
import { CircuitBreaker, type CircuitConfig, CircuitStore, RedisCircuitStore, type RedisClient } from "../src/index.js"
import { IORedisClient } from "../src/ioredis.js"
import { UpstashClient } from "../src/upstash.js"
import { type RedisServer, redisServerScoped } from "./support/redisServer.js"
import { freshPrefix, upstashBridgeScoped } from "./support/redisStores.js"

const SECOND = 1_000
const HOUR = 3_600_000
const DAY = 86_400_000

/** The caller's clock, `skew` ms off. */
const skewed = (base: Clock.Clock, skew: number): Clock.Clock => ({
  currentTimeMillisUnsafe: () => base.currentTimeMillisUnsafe() + skew,
  currentTimeNanosUnsafe: () => base.currentTimeNanosUnsafe() + BigInt(skew) * BigInt(1_000_000),
  currentTimeMillis: Effect.sync(() => base.currentTimeMillisUnsafe() + skew),
  currentTimeNanos: Effect.sync(() => base.currentTimeNanosUnsafe() + BigInt(skew) * BigInt(1_000_000)),
  monotonicTimeNanosUnsafe: () => base.monotonicTimeNanosUnsafe(),
  monotonicTimeNanos: base.monotonicTimeNanos,
  sleep: (duration) => base.sleep(duration)
})

type Transport = "tcp" | "upstash"

interface Setup {
  readonly server: RedisServer
  readonly client: () => Layer.Layer<RedisClient.RedisClient, unknown>
}

const setup = (transport: Transport): Effect.Effect<Setup, never, Scope.Scope> =>
  Effect.gen(function*() {
    const server = yield* redisServerScoped()
    if (transport === "tcp") return { server, client: () => IORedisClient.layer({ url: server.url }) }
    const token = "fleet-trust-token"
    const bridge = yield* upstashBridgeScoped(server, token)
    return { server, client: () => UpstashClient.layer({ url: bridge.url, token: Redacted.make(token) }) }
  })

/** One instance of the fleet: a store of its own over `client`, and a clock `skew` ms off. */
interface Instance {
  readonly make: (name: string, config: CircuitConfig.Input) => Effect.Effect<CircuitBreaker.CircuitBreaker>
  /** Runs an effect on this instance's clock (a breaker reads the clock of the fiber calling it). */
  readonly run: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}

const instance = (
  client: Layer.Layer<RedisClient.RedisClient, unknown>,
  prefix: string,
  skew: number,
  options: RedisCircuitStore.Options = {}
): Effect.Effect<Instance, never, Scope.Scope> =>
  Effect.gen(function*() {
    const base = yield* Clock.Clock
    const clock = skewed(base, skew)
    const context = yield* Layer.build(
      RedisCircuitStore.layer({ prefix, ...options }).pipe(Layer.provide(client), Layer.orDie)
    )
    const run = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.provideService(effect, Clock.Clock, clock)
    return {
      run,
      make: (name, config) => run(Effect.orDie(Effect.provide(CircuitBreaker.make(name, config), context)))
    }
  })

/** What one protected call did: ran (`ok` / `failed`) or was rejected (`CircuitOpen`, ...). */
const outcome = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<string, never, R> =>
  Effect.map(Effect.exit(effect), (exit) => {
    if (Exit.isSuccess(exit)) return "ok"
    const failure = Cause.findErrorOption(exit.cause)
    if (failure._tag === "None") return Cause.hasInterruptsOnly(exit.cause) ? "interrupted" : "defect"
    const error = failure.value as { readonly _tag?: string }
    return error._tag ?? "failed"
  })

const hget = (server: RedisServer, prefix: string, name: string, field: string) =>
  Effect.promise(() => server.cli("HGET", RedisCircuitStore.stateKey(name, { prefix }), field))

/** Every Effect log line at WARN or above, as text. */
const captureWarnings = () => {
  const lines: Array<string> = []
  const logger = Logger.make(({ logLevel, message }) => {
    if (LogLevel.isGreaterThanOrEqualTo(logLevel, "Warn")) {
      lines.push((Array.isArray(message) ? message : [message]).map(String).join(" "))
    }
  })
  return { lines, layer: Logger.layer([logger]) }
}

const boom = Effect.fail({ _tag: "DependencyError" as const })

for (const transport of ["tcp", "upstash"] as const) {
  describe(`clocks that lie (${transport})`, () => {
    it.live(
      "an instance 30 s ahead takes no second probe permit, and the honest probe's success closes",
      () =>
        Effect.gen(function*() {
          const { client, server } = yield* setup(transport)
          const prefix = freshPrefix()
          const honest = yield* instance(client(), prefix, 0)
          const ahead = yield* instance(client(), prefix, 30 * SECOND)
          const config = {
            failureThreshold: 1,
            recoveryTimeout: 200,
            backoffJitter: 0,
            halfOpenMaxProbes: 1,
            successThreshold: 1,
            probeLease: 5 * SECOND,
            stateCacheTtl: 0
          }
          const h = yield* honest.make("lease", config)
          const a = yield* ahead.make("lease", config)
          yield* honest.run(outcome(h.protect(boom)))
          expect(yield* hget(server, prefix, "lease", "state")).toBe("OPEN")
          yield* Effect.sleep("250 millis")
          let probesRun = 0
          const probe = yield* Effect.forkChild(honest.run(outcome(h.protect(
            Effect.sync(() => probesRun++).pipe(Effect.andThen(Effect.sleep("300 millis")))
          ))))
          yield* Effect.sleep("80 millis")
          const aheadTried = yield* ahead.run(outcome(a.protect(Effect.sync(() => probesRun++))))
          const probed = yield* Fiber.join(probe)
          console.info(`[skew +30 s, ${transport}] probes run: ${probesRun}; the instance ahead got: ${aheadTried}`)
          expect(aheadTried).toBe("CircuitOpen")
          expect(probesRun).toBe(1)
          expect(probed).toBe("ok")
          expect(yield* hget(server, prefix, "lease", "state")).toBe("CLOSED")
        }),
      30_000
    )

    it.live(
      "an instance 1 h ahead opens the circuit and goes idle: the fleet probes when the open period ends",
      () =>
        Effect.gen(function*() {
          const { client } = yield* setup(transport)
          const prefix = freshPrefix()
          const honest = yield* instance(client(), prefix, 0)
          const ahead = yield* instance(client(), prefix, HOUR)
          const config = {
            failureThreshold: 1,
            recoveryTimeout: 300,
            backoffJitter: 0,
            stateCacheTtl: 0,
            successThreshold: 1
          }
          const a = yield* ahead.make("idle", config)
          const h = yield* honest.make("idle", config)
          yield* ahead.run(outcome(a.protect(boom)))
          const openedAt = Date.now()
          let rejected = 0
          let result = "CircuitOpen"
          while (result === "CircuitOpen" && Date.now() - openedAt < 5_000) {
            result = yield* honest.run(outcome(h.protect(Effect.void)))
            if (result === "CircuitOpen") {
              rejected++
              yield* Effect.sleep("20 millis")
            }
          }
          const openFor = Date.now() - openedAt
          console.info(
            `[skew +1 h, ${transport}] the honest instance ran its first call ${openFor} ms after the open ` +
              `(recoveryTimeout 300 ms, storeTimeout 500 ms); ${rejected} rejections before it`
          )
          expect(result).toBe("ok")
          expect(openFor).toBeLessThan(300 + 500)
        }),
      30_000
    )

    it.live(
      "an admin reset from a machine 1 day ahead does not freeze the window, nor the next open period",
      () =>
        Effect.gen(function*() {
          const { client, server } = yield* setup(transport)
          const prefix = freshPrefix()
          const honest = yield* instance(client(), prefix, 0)
          const ahead = yield* instance(client(), prefix, DAY)
          const config = {
            failureThreshold: 2,
            monitoringPeriod: 400,
            recoveryTimeout: 300,
            backoffJitter: 0,
            stateCacheTtl: 0,
            successThreshold: 1
          }
          const admin = yield* ahead.make("window", config)
          const h = yield* honest.make("window", config)
          yield* ahead.run(admin.reset)
          // two failures further apart than the window: the window slides, nothing opens
          yield* honest.run(outcome(h.protect(boom)))
          yield* Effect.sleep("600 millis")
          yield* honest.run(outcome(h.protect(boom)))
          expect(yield* hget(server, prefix, "window", "state")).toBe("CLOSED")
          // two failures within it open the circuit, for its open period, not for stateTtl
          yield* honest.run(outcome(h.protect(boom)))
          expect(yield* hget(server, prefix, "window", "state")).toBe("OPEN")
          const openedAt = Date.now()
          let result = "CircuitOpen"
          while (result === "CircuitOpen" && Date.now() - openedAt < 5_000) {
            result = yield* honest.run(outcome(h.protect(Effect.void)))
            if (result === "CircuitOpen") yield* Effect.sleep("20 millis")
          }
          const openFor = Date.now() - openedAt
          console.info(
            `[skew +1 day reset, ${transport}] window slid; the next open lasted ${openFor} ms (recoveryTimeout 300 ms)`
          )
          expect(result).toBe("ok")
          expect(openFor).toBeLessThan(300 + 500)
        }),
      30_000
    )

    it.live(
      "an instance 1 h behind: its OPEN holds for the fleet, and its writes do not wipe the window",
      () =>
        Effect.gen(function*() {
          const { client, server } = yield* setup(transport)
          const prefix = freshPrefix()
          const honest = yield* instance(client(), prefix, 0)
          const behind = yield* instance(client(), prefix, -HOUR)
          const config = { failureThreshold: 4, recoveryTimeout: "1 minute" as const, stateCacheTtl: 0 }
          const h = yield* honest.make("behind", config)
          const b = yield* behind.make("behind", config)
          // four failures, two from each: the fourth opens it, whoever records it
          yield* honest.run(outcome(h.protect(boom)))
          yield* behind.run(outcome(b.protect(boom)))
          yield* honest.run(outcome(h.protect(boom)))
          expect(yield* hget(server, prefix, "behind", "state")).toBe("CLOSED")
          yield* behind.run(outcome(b.protect(boom)))
          expect(yield* hget(server, prefix, "behind", "state")).toBe("OPEN")
          // and the OPEN the instance behind wrote holds for the honest one
          const next = yield* honest.run(outcome(h.protect(Effect.void)))
          console.info(
            `[skew -1 h, ${transport}] opened after 4 failures (2 + 2); the honest instance then got ${next}`
          )
          expect(next).toBe("CircuitOpen")
          // each instance sees the skew it learned
          const skew = (yield* behind.run(b.health)).clockSkewMs!
          expect(Math.abs(skew - HOUR)).toBeLessThan(1_000)
          expect(Math.abs((yield* honest.run(h.health)).clockSkewMs!)).toBeLessThan(1_000)
        }),
      30_000
    )
  })

  describe(`probe permits of callers that give up (${transport})`, () => {
    const config = {
      failureThreshold: 1,
      recoveryTimeout: 100,
      backoffJitter: 0,
      halfOpenMaxProbes: 1,
      successThreshold: 1,
      probeLease: 5 * SECOND,
      stateCacheTtl: 0,
      storeTimeout: 300
    }

    for (const way of ["its own timeout", "storeTimeout"] as const) {
      it.live(
        `a caller that gives up during the acquire (${way}) releases its lease: the next probe comes at once`,
        () =>
          Effect.gen(function*() {
            const { client, server } = yield* setup(transport)
            const prefix = freshPrefix()
            const first = yield* instance(client(), prefix, 0)
            const second = yield* instance(client(), prefix, 0)
            const f = yield* first.make("leak", config)
            const s = yield* second.make("leak", config)
            yield* first.run(outcome(f.protect(boom)))
            yield* Effect.sleep("150 millis")
            // Redis freezes while the first caller asks for the probe permit; the caller gives up
            server.pause()
            const gaveUp = way === "its own timeout"
              ? yield* first.run(outcome(f.protect(Effect.void).pipe(Effect.timeout("30 millis"))))
              : yield* first.run(outcome(f.protect(Effect.void)))
            yield* Effect.sleep(way === "its own timeout" ? "100 millis" : "50 millis")
            server.resume()
            const resumedAt = Date.now()
            // the frozen acquire runs now and takes the permit; the release sent after it frees it
            let result = "CircuitOpen"
            while (result === "CircuitOpen" && Date.now() - resumedAt < 6_000) {
              result = yield* second.run(outcome(s.protect(Effect.void)))
              if (result === "CircuitOpen") yield* Effect.sleep("10 millis")
            }
            const waited = Date.now() - resumedAt
            console.info(
              `[lease, ${way}, ${transport}] the caller gave up (${gaveUp}); the next probe ran ${waited} ms after Redis ` +
                `answered again (storeTimeout 300 ms, probeLease 5,000 ms)`
            )
            expect(result).toBe("ok")
            expect(waited).toBeLessThanOrEqual(300 + 50)
            expect(yield* hget(server, prefix, "leak", "state")).toBe("CLOSED")
          }),
        30_000
      )
    }
  })
}

for (const transport of ["tcp", "upstash"] as const) {
  describe(`Redis that forgets (${transport})`, () => {
    it.live(
      "a restart with an empty dataset: the admin hold and the open count come back, with one warning",
      () => {
        const warnings = captureWarnings()
        return Effect.gen(function*() {
          const { client, server } = yield* setup(transport)
          const prefix = freshPrefix()
          const admin = yield* instance(client(), prefix, 0, { cooldown: 200 })
          const other = yield* instance(client(), prefix, 0, { cooldown: 200 })
          const config = {
            failureThreshold: 1,
            successThreshold: 1,
            recoveryTimeout: 40,
            backoffMultiplier: 2,
            backoffJitter: 0,
            stateCacheTtl: 50
          }
          // "held": forced open by an operator; "flaky": re-opened three times in a row (open count 3)
          const held = yield* admin.make("held", config)
          // (its open periods outlast the restart: past them, the next call would probe)
          const flaky = yield* admin.make("flaky", { ...config, recoveryTimeout: 200 })
          const heldElsewhere = yield* other.make("held", config)
          yield* admin.run(held.forceOpen)
          yield* admin.run(outcome(flaky.protect(boom)))
          for (let k = 1; k <= 3; k++) {
            // wait out the open period, then a failing probe re-opens with k
            yield* Effect.sleep(Duration.millis(200 * 2 ** (k - 1) + 20))
            expect(yield* admin.run(outcome(flaky.protect(boom)))).toBe("DependencyError")
          }
          expect(yield* hget(server, prefix, "flaky", "openCount")).toBe("3")
          expect(yield* admin.run(outcome(heldElsewhere.protect(Effect.void)))).toBe("CircuitOpen")

          yield* Effect.promise(() => server.restart())
          const restartedAt = Date.now()
          // the instance that knew them asks Redis after its stateCacheTtl (its client reconnecting
          // meanwhile, when the local fallback keeps the hold), finds them gone and puts them back
          // (a TCP client sees the restart as an outage first: its local fallback keeps the admin hold)
          const seen: Array<string> = []
          while (Date.now() - restartedAt < 5_000) {
            yield* Effect.sleep("30 millis")
            seen.push(yield* admin.run(outcome(held.protect(Effect.void))))
            yield* admin.run(outcome(flaky.protect(Effect.void)))
            const states = [yield* hget(server, prefix, "held", "state"), yield* hget(server, prefix, "flaky", "state")]
            if (states[0] === "FORCED_OPEN" && states[1] === "OPEN") break
          }
          const backAfter = Date.now() - restartedAt
          expect(seen.filter((call) => call !== "CircuitOpen")).toEqual([])
          expect(yield* hget(server, prefix, "held", "state")).toBe("FORCED_OPEN")
          expect(yield* hget(server, prefix, "flaky", "state")).toBe("OPEN")
          expect(yield* hget(server, prefix, "flaky", "openCount")).toBe("3")
          // the rest of the fleet follows
          yield* Effect.sleep("60 millis")
          expect(yield* other.run(outcome(heldElsewhere.protect(Effect.void)))).toBe("CircuitOpen")
          const lost = warnings.lines.filter((line) => line.includes("Redis lost its state"))
          console.info(
            `[forgetting, ${transport}] FORCED_OPEN and OPEN (open count 3) back in Redis ${backAfter} ms after the restart; ` +
              `${lost.length} warnings: ${lost.join(" | ")}`
          )
          expect(lost).toHaveLength(2)
          expect(lost.some((line) => line.includes("\"held\"") && line.includes("FORCED_OPEN"))).toBe(true)
          // the next failing probe of "flaky" re-opens it with k = 4: the backoff went on
          const retryAt = Number(yield* hget(server, prefix, "flaky", "retryAt"))
          const [seconds, micros] = (yield* Effect.promise(() => server.cli("TIME"))).split("\n").map(Number)
          yield* Effect.sleep(Duration.millis(Math.max(0, retryAt - (seconds! * 1000 + micros! / 1000)) + 20))
          expect(yield* admin.run(outcome(flaky.protect(boom)))).toBe("DependencyError")
          expect(yield* hget(server, prefix, "flaky", "openCount")).toBe("4")
        }).pipe(Effect.provide(warnings.layer))
      },
      30_000
    )
  })
}

/** Script calls Redis has run so far (`EVALSHA` and `EVAL`). */
const scriptCalls = (server: RedisServer) =>
  Effect.promise(async () => {
    const stats = await server.cli("INFO", "commandstats")
    let calls = 0
    for (const match of stats.matchAll(/cmdstat_(?:evalsha|eval):calls=(\d+)/g)) calls += Number(match[1])
    return calls
  })

describe("an operator's reset is final; a lost hold comes back in one round trip", () => {
  // a short stateTtl; the script runs on the callers' TestClock (timeSource "client")
  const config = {
    recoveryTimeout: 1_000,
    maxRecoveryTimeout: 1_000,
    backoffJitter: 0,
    probeLease: 1_000,
    stateTtl: 5_000,
    stateCacheTtl: 100
  }

  it.effect(
    "A forces open, B resets, nothing calls for stateTtl and the key expires: A's next call runs and leaves it CLOSED",
    () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(1_800_000_000_000)
        const server = yield* redisServerScoped()
        const prefix = freshPrefix()
        const a = yield* instance(IORedisClient.layer({ url: server.url }), prefix, 0, { timeSource: "client" })
        const b = yield* instance(IORedisClient.layer({ url: server.url }), prefix, 0, { timeSource: "client" })
        const held = yield* a.make("held", config)
        const elsewhere = yield* b.make("held", config)
        // A makes no call after its force-open (a call would have a rejection to send, and that round trip would see the reset)
        yield* held.forceOpen
        yield* elsewhere.reset
        const key = RedisCircuitStore.stateKey("held", { prefix })
        const ttl = Number(yield* Effect.promise(() => server.cli("PTTL", key)))
        expect(ttl).toBeGreaterThan(0)
        expect(ttl).toBeLessThanOrEqual(5_000)
        // stateTtl passes without a call; Redis drops the key as its TTL ends
        yield* TestClock.adjust(Duration.millis(5_000))
        yield* Effect.promise(() => server.cli("DEL", key))
        const next = yield* outcome(held.protect(Effect.void))
        const state = yield* hget(server, prefix, "held", "state")
        console.info(`[reset is final] A's next call: ${next}; state in Redis: ${state}`)
        expect(next).toBe("ok")
        expect(state).not.toBe("FORCED_OPEN")
        expect(yield* outcome(elsewhere.protect(Effect.void))).toBe("ok")
      }),
    30_000
  )

  it.effect(
    "FLUSHALL within stateTtl of the last read: the next round trip of the instance that knew the hold puts it back, in that one script call",
    () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(1_800_000_000_000)
        const server = yield* redisServerScoped()
        const prefix = freshPrefix()
        const a = yield* instance(IORedisClient.layer({ url: server.url }), prefix, 0, { timeSource: "client" })
        const b = yield* instance(IORedisClient.layer({ url: server.url }), prefix, 0, { timeSource: "client" })
        const held = yield* a.make("held", config)
        const newcomer = yield* b.make("held", config)
        yield* held.forceOpen
        yield* Effect.promise(() => server.cli("FLUSHALL"))
        yield* TestClock.adjust(Duration.millis(4_000))
        const before = yield* scriptCalls(server)
        const call = yield* outcome(held.protect(Effect.void))
        const calls = (yield* scriptCalls(server)) - before
        const state = yield* hget(server, prefix, "held", "state")
        console.info(`[flush] A's next call: ${call}; script calls: ${calls}; state in Redis: ${state}`)
        expect(call).toBe("CircuitOpen")
        expect(calls).toBe(1)
        expect(state).toBe("FORCED_OPEN")
        // an instance that never knew the hold sees it at its first call
        expect(yield* outcome(newcomer.protect(Effect.void))).toBe("CircuitOpen")
      }),
    30_000
  )

  it.live(
    "FLUSHALL under traffic: the hold is back in Redis with the next round trip of the instance that knew it",
    () =>
      Effect.gen(function*() {
        const server = yield* redisServerScoped()
        const prefix = freshPrefix()
        const a = yield* instance(IORedisClient.layer({ url: server.url }), prefix, 0)
        const held = yield* a.make("held", {})
        yield* held.forceOpen
        expect(yield* outcome(held.protect(Effect.void))).toBe("CircuitOpen")
        const fiber = yield* Effect.forkChild(
          Effect.forever(Effect.andThen(outcome(held.protect(Effect.void)), Effect.sleep("10 millis")))
        )
        yield* Effect.sleep("300 millis")
        yield* Effect.promise(() => server.cli("FLUSHALL"))
        const flushedAt = performance.now()
        const before = yield* scriptCalls(server)
        let state: string = ""
        while (state !== "FORCED_OPEN" && performance.now() - flushedAt < 5_000) {
          yield* Effect.sleep("5 millis")
          state = yield* hget(server, prefix, "held", "state")
        }
        const backAfter = performance.now() - flushedAt
        const calls = (yield* scriptCalls(server)) - before
        yield* Fiber.interrupt(fiber)
        console.info(
          `[flush, live] FORCED_OPEN back in Redis ${
            backAfter.toFixed(0)
          } ms after FLUSHALL; script calls meanwhile: ${calls}`
        )
        // (the exact count is the test above's, on TestClock: here a flush of batched rejections may follow at once)
        expect(state).toBe("FORCED_OPEN")
        expect(calls).toBeLessThanOrEqual(2)
      }),
    30_000
  )
})

describe("data errors and rotten keys do not pause the store", () => {
  it.live(
    "a circuit whose keys Redis refuses (ACL): its calls fail alone; an OPEN bystander stays OPEN for the fleet",
    () =>
      Effect.gen(function*() {
        const server = yield* redisServerScoped()
        const prefix = freshPrefix()
        const tag = (name: string) => `~${prefix}:{${name}}:*`
        yield* Effect.promise(() =>
          server.cli("ACL", "SETUSER", "app", "on", ">app-secret-5e1", tag("pay"), `~${prefix}:circuits`, "&*", "+@all")
        )
        const url = `redis://app:app-secret-5e1@127.0.0.1:${server.port}`
        const fleet = yield* instance(IORedisClient.layer({ url }), prefix, 0)
        const config = { failureThreshold: 1, recoveryTimeout: "1 minute" as const, stateCacheTtl: 50 }
        const pay = yield* fleet.make("pay", config)
        const bad = yield* fleet.make("bad", config)
        expect(yield* fleet.run(outcome(pay.protect(boom)))).toBe("DependencyError")
        expect(yield* hget(server, prefix, "pay", "state")).toBe("OPEN")
        // ten calls on the circuit whose keys are refused: each one's store call fails (NOPERM)
        const badCalls: Array<string> = []
        for (let i = 0; i < 10; i++) badCalls.push(yield* fleet.run(outcome(bad.protect(Effect.void))))
        expect((yield* fleet.run(bad.health)).status).toBe("degraded")
        // the store is not paused: the bystander asks Redis (past its cache) and stays OPEN
        yield* Effect.sleep("80 millis")
        let reached = 0
        const payCalls: Array<string> = []
        for (let i = 0; i < 3; i++) {
          payCalls.push(yield* fleet.run(outcome(pay.protect(Effect.sync(() => reached++)))))
          yield* Effect.sleep("60 millis")
        }
        console.info(
          `[ACL] bad: ${badCalls.join(",")}; pay (OPEN in Redis): ${payCalls.join(",")}; reached pay: ${reached}`
        )
        expect(reached).toBe(0)
        expect(payCalls).toEqual(["CircuitOpen", "CircuitOpen", "CircuitOpen"])
        expect((yield* fleet.run(pay.health)).status).toBe("unhealthy")
      }),
    30_000
  )

  it.live(
    "a circuit whose window holds a count that is not a whole number: repaired, failures still count and open the circuit",
    () =>
      Effect.gen(function*() {
        const server = yield* redisServerScoped()
        const prefix = freshPrefix()
        const fleet = yield* instance(IORedisClient.layer({ url: server.url }), prefix, 0)
        const config = {
          failureThreshold: 3,
          monitoringPeriod: "10 minutes" as const,
          recoveryTimeout: "1 minute" as const
        }
        const breaker = yield* fleet.make("window", config)
        expect(yield* fleet.run(outcome(breaker.protect(boom)))).toBe("DependencyError")
        // the window's counts ("<bucket> <calls> <failures> …" after the state words of "s") overwritten with garbage
        const key = RedisCircuitStore.stateKey("window", { prefix })
        const circuit = yield* Effect.promise(() => server.cli("HGET", key, "s"))
        const words = circuit.split(" ")
        expect(words.length).toBeGreaterThanOrEqual(13)
        words[9] = "1.5"
        words[10] = "abc"
        yield* Effect.promise(() => server.cli("HSET", key, "s", words.join(" ")))
        const results: Array<string> = []
        for (let i = 0; i < 3; i++) results.push(yield* fleet.run(outcome(breaker.protect(boom))))
        const health = yield* fleet.run(breaker.health)
        console.info(
          `[window] failures after the garbage: ${results.join(",")}; state ${health.state}, ${health.status}`
        )
        // the garbage replaced the first failure's count: three more failures open it, none is an error
        expect(results).toEqual(["DependencyError", "DependencyError", "DependencyError"])
        expect(yield* hget(server, prefix, "window", "state")).toBe("OPEN")
        expect(yield* fleet.run(outcome(breaker.protect(boom)))).toBe("CircuitOpen")
        expect(health.metrics.storeErrors).toBe(0)
      }),
    30_000
  )

  it.live("a registry key of the wrong type is repaired with a warning, and the store keeps serving", () => {
    const warnings = captureWarnings()
    return Effect.gen(function*() {
      const server = yield* redisServerScoped()
      const prefix = freshPrefix()
      yield* Effect.promise(() => server.cli("SET", RedisCircuitStore.registryKey({ prefix }), "not a set"))
      const fleet = yield* instance(IORedisClient.layer({ url: server.url }), prefix, 0)
      const context = yield* Layer.build(
        RedisCircuitStore.layer({ prefix }).pipe(Layer.provide(IORedisClient.layer({ url: server.url })), Layer.orDie)
      )
      const store = Context.get(context, CircuitStore.CircuitStore)
      const names = yield* store.names
      const b = yield* fleet.make("newcomer", { failureThreshold: 1, stateCacheTtl: 50 })
      expect(yield* fleet.run(outcome(b.protect(Effect.void)))).toBe("ok")
      expect(yield* fleet.run(outcome(b.protect(boom)))).toBe("DependencyError")
      expect(yield* fleet.run(outcome(b.protect(Effect.void)))).toBe("CircuitOpen")
      const type = yield* Effect.promise(() => server.cli("TYPE", RedisCircuitStore.registryKey({ prefix })))
      const members = yield* store.names
      console.info(
        `[registry] names read at first: ${JSON.stringify(names)}; then: ${JSON.stringify(members)}; ${
          warnings.lines[0]
        }`
      )
      expect(type).toBe("zset")
      expect(members).toContain("newcomer")
      expect(warnings.lines.some((line) => line.includes("was not a sorted set and was dropped"))).toBe(true)
    }).pipe(Effect.provide(warnings.layer))
  }, 30_000)
})
