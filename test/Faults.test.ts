/**
 * When Redis misbehaves (README, "When Redis misbehaves"), against real processes and no mocks: a
 * `redis-server` killed with SIGKILL, frozen with SIGSTOP, restarted empty, flushed of its
 * scripts, protected by a password we get wrong; the Upstash bridge answering garbage,
 * resetting connections or never answering; a state key overwritten by someone else.
 *
 * Everything runs on the real clock (`it.live` / `it.scopedLive`): network timeouts are real,
 * and every latency below is measured with `performance.now()`. Every store call is bounded by
 * `storeTimeout`, kept small here (200 ms), and the store's own breaker cools down for 1 s,
 * so the file runs in well under a minute.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import { inspect } from "node:util"
import { vi } from "vitest"
import {
  CircuitBreaker,
  type CircuitConfig,
  CircuitOpen,
  CircuitStore,
  RedisCircuitStore,
  RedisClient,
  ServiceUnavailable
} from "../src/index.js"
import * as scripts from "../shared/redis/luaScripts.js"
import { type RedisServer, redisServerScoped } from "./support/redisServer.js"
import { freshPrefix, upstashBridgeScoped } from "./support/stores.js"
import { type BridgeFault, type UpstashBridge } from "./shared/upstashBridge.js"
import { UpstashClient } from "../src/upstash.js"
import { IORedisClient } from "../src/ioredis.js"
import { runFaultScenario } from "./support/faultsDriver.js"
import {
  BOUND,
  CLIENT_TIMEOUT,
  COOLDOWN,
  faultScenarios,
  frozenScenarios,
  policyScenarios,
  restartScenarios,
  STORE_TIMEOUT,
  TOKEN
} from "./shared/scenarios/faults.js"

// ---------------------------------------------------------------------------
// budgets
// ---------------------------------------------------------------------------

// STORE_TIMEOUT, MARGIN, BOUND, COOLDOWN and CLIENT_TIMEOUT: test/shared/scenarios/faults.ts

/**
 * A call that makes no round trip finishes in well under a millisecond; 50 ms leaves room for
 * a GC pause or a late timer on a loaded machine and is still a quarter of a round trip that
 * times out, so a call that waited for Redis cannot pass for one that did not.
 */
const FAST = 50

// ---------------------------------------------------------------------------
// processes and layers
// ---------------------------------------------------------------------------

/** A redis-server of the test's own (it may be killed, paused or restarted), stopped with the scope. */
const redisServer = redisServerScoped

const tcpClient = (server: RedisServer) => IORedisClient.layer({ url: server.url, commandTimeout: CLIENT_TIMEOUT })

const upstashClient = (bridge: UpstashBridge, token: string = bridge.token) =>
  UpstashClient.layer({ url: bridge.url, token: Redacted.make(token), requestTimeout: CLIENT_TIMEOUT })

const storeOn = (
  client: Layer.Layer<RedisClient.RedisClient, unknown>,
  options: RedisCircuitStore.Options = {}
) =>
  RedisCircuitStore.layer({ prefix: freshPrefix(), cooldown: COOLDOWN, ...options }).pipe(
    Layer.provide(client),
    Layer.orDie
  )

const cli = (server: RedisServer, ...args: ReadonlyArray<string>) => Effect.promise(() => server.cli(...args))

/** Calls of a command Redis has served so far, from INFO commandstats. */
const commandCalls = (server: RedisServer, ...commands: ReadonlyArray<string>) =>
  Effect.map(cli(server, "INFO", "commandstats"), (info) =>
    commands.reduce((total, command) => {
      const match = new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info)
      return total + (match === null ? 0 : Number(match[1]))
    }, 0))

/** Round trips of the circuit script Redis has served so far. */
const scriptCalls = (server: RedisServer) => commandCalls(server, "evalsha", "eval")

// ---------------------------------------------------------------------------
// calls, timed and classified
// ---------------------------------------------------------------------------

/** The protected dependency's own error. */
class DependencyError extends Data.TaggedError("DependencyError")<{}> {}

/** How a protected call ended: success, one of the three typed failures, or anything else. */
type Outcome = "ok" | "DependencyError" | "CircuitOpen" | "ServiceUnavailable" | "untyped"

interface Call {
  readonly outcome: Outcome
  /** Real time the call took. */
  readonly ms: number
  /** The typed failure, or the squashed cause of an untyped one. */
  readonly error: unknown
  /** `Cause.pretty` of an untyped failure. */
  readonly detail: string
}

const outcomeOf = (exit: Exit.Exit<unknown, unknown>): Omit<Call, "ms"> => {
  if (Exit.isSuccess(exit)) return { outcome: "ok", error: undefined, detail: "" }
  const cause = exit.cause
  const failures = Chunk.toReadonlyArray(Cause.failures(cause))
  if (failures.length === 1 && Chunk.isEmpty(Cause.defects(cause)) && !Cause.isInterrupted(cause)) {
    const error = failures[0]
    if (error instanceof DependencyError) return { outcome: "DependencyError", error, detail: "" }
    if (error instanceof CircuitOpen) return { outcome: "CircuitOpen", error, detail: "" }
    if (error instanceof ServiceUnavailable) return { outcome: "ServiceUnavailable", error, detail: "" }
  }
  return { outcome: "untyped", error: Cause.squash(cause), detail: Cause.pretty(cause) }
}

/** Runs `effect`, measuring its real duration; never fails. */
const timed = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<Call, never, R> =>
  Effect.suspend(() => {
    const start = performance.now()
    return Effect.map(Effect.exit(effect), (exit) => ({ ...outcomeOf(exit), ms: performance.now() - start }))
  })

const maxMs = (calls: ReadonlyArray<Call>) => calls.reduce((max, call) => Math.max(max, call.ms), 0)

const round = (ms: number) => Math.round(ms)

/** Polls `check` every 25 ms until it holds; dies after `timeoutMs`. Returns how long it took. */
const eventually = <E, R>(check: Effect.Effect<boolean, E, R>, timeoutMs: number, what: string) =>
  Effect.gen(function*() {
    const start = performance.now()
    while (performance.now() - start < timeoutMs) {
      if (yield* check) return performance.now() - start
      yield* Effect.sleep("25 millis")
    }
    return yield* Effect.dieMessage(`not the case after ${timeoutMs} ms: ${what}`)
  })

// ---------------------------------------------------------------------------
// logs
// ---------------------------------------------------------------------------

const text = (u: unknown): string => (typeof u === "string" ? u : inspect(u, { depth: 5 }))

/** Every Effect log line (all levels, with its cause and annotations), as text. */
const captureLogs = () => {
  const lines: Array<string> = []
  const logger = Logger.make(({ annotations, cause, logLevel, message }) => {
    const parts = Array.isArray(message) ? message : [message]
    lines.push(
      `${logLevel.label} ${parts.map(text).join(" ")}${Cause.isEmpty(cause) ? "" : ` ${Cause.pretty(cause)}`} ${
        text(annotations)
      }`
    )
  })
  const layer = Layer.merge(Logger.replace(Logger.defaultLogger, logger), Logger.minimumLogLevel(LogLevel.All))
  return { lines, layer }
}

/** Everything written through `console` while the scope is open (clients print there, if anywhere). */
const captureConsole = Effect.acquireRelease(
  Effect.sync(() => {
    const lines: Array<string> = []
    const spies = (["log", "info", "warn", "error", "debug", "trace"] as const).map((method) =>
      vi.spyOn(console, method).mockImplementation((...args: Array<unknown>) => {
        lines.push(args.map(text).join(" "))
      })
    )
    return { lines, spies }
  }),
  ({ spies }) => Effect.sync(() => spies.forEach((spy) => spy.mockRestore()))
)

// ---------------------------------------------------------------------------
// 1. kill -9 under concurrent traffic
// ---------------------------------------------------------------------------

describe("kill -9 of Redis under concurrent traffic", () => {
  it.scopedLive(
    "calls stay bounded and typed, the local breaker protects, health is degraded; after a restart the fleet state rules again",
    () =>
      Effect.gen(function*() {
        const server = yield* redisServer()
        const prefix = freshPrefix()
        const name = "kill9"
        const CONCURRENCY = 20
        const failureThreshold = 5
        const config: CircuitConfig.Input = {
          storeTimeout: STORE_TIMEOUT,
          stateCacheTtl: 50,
          failureThreshold,
          recoveryTimeout: "1 minute",
          onStoreUnavailable: "local"
        }
        type Phase = "up" | "down" | "down, failing" | "restarted" | "fleet"
        const calls: Array<Call & { readonly phase: Phase }> = []
        let phase: Phase = "up"
        let running = true
        // the dependency fails for the calls that start in the "down, failing" phase, and only those
        const dependency = (at: Phase) =>
          at === "down, failing" ? Effect.fail(new DependencyError()) : Effect.succeed("ok")

        yield* Effect.gen(function*() {
          const breaker = yield* CircuitBreaker.make(name, config)
          const caller = Effect.gen(function*() {
            while (running) {
              const at = phase
              const call = yield* timed(breaker.protect(dependency(at)))
              calls.push({ ...call, phase: at })
              yield* Effect.sleep("5 millis")
            }
          })
          const callers = yield* Effect.fork(
            Effect.all(Array.from({ length: CONCURRENCY }, () => caller), { concurrency: "unbounded", discard: true })
          )

          yield* Effect.sleep("400 millis")
          phase = "down"
          yield* Effect.promise(() => server.kill())
          yield* Effect.sleep("800 millis")
          const healthDown = yield* breaker.health

          phase = "down, failing"
          yield* Effect.sleep("800 millis")
          const healthTripped = yield* breaker.health

          phase = "restarted"
          yield* Effect.promise(() => server.restart())
          // Redis is back, empty: once the cool-down has passed and ioredis has reconnected, the
          // instance drops its local breaker (OPEN) and reads the fleet's state again (CLOSED)
          const resumedIn = yield* eventually(
            Effect.map(breaker.health, (health) => health.status === "healthy" && health.state === "CLOSED"),
            10_000,
            "the instance reads CLOSED from the restarted Redis"
          )

          phase = "fleet"
          // another instance, on a store of its own, opens the circuit in Redis
          const opened = yield* Effect.gen(function*() {
            const other = yield* CircuitBreaker.make(name, config)
            for (let i = 0; i < failureThreshold; i++)
              yield* Effect.exit(other.protect(Effect.fail(new DependencyError())))
            return yield* other.snapshot
          }).pipe(Effect.provide(storeOn(tcpClient(server), { prefix })))
          expect(opened.state).toBe("OPEN")
          expect(yield* cli(server, "HGET", RedisCircuitStore.stateKey(name, { prefix }), "state")).toBe("OPEN")
          const followedIn = yield* eventually(
            Effect.map(timed(breaker.protect(Effect.void)), (call) => call.outcome === "CircuitOpen"),
            2_000,
            "the first instance follows the OPEN written by the other one"
          )
          const followed = yield* breaker.snapshot
          running = false
          yield* Fiber.join(callers)

          const inPhase = (p: Phase) => calls.filter((call) => call.phase === p)
          const count = (list: ReadonlyArray<Call>, outcome: Outcome) =>
            list.filter((call) => call.outcome === outcome).length
          const failingCalls = inPhase("down, failing")
          console.info(
            `[kill -9] ${calls.length} calls by ${CONCURRENCY} fibers; max latency ${round(maxMs(calls))} ms ` +
              `(storeTimeout ${STORE_TIMEOUT} ms, bound ${BOUND} ms); by phase: ${
                (["up", "down", "down, failing", "restarted", "fleet"] as const).map((p) =>
                  `${p}: ${inPhase(p).length} calls, max ${round(maxMs(inPhase(p)))} ms`
                ).join("; ")
              }; while failing: ${count(failingCalls, "DependencyError")} reached the dependency, ` +
              `${count(failingCalls, "CircuitOpen")} CircuitOpen; back on Redis ${
                round(resumedIn)
              } ms after restart(); ` +
              `fleet OPEN followed in ${round(followedIn)} ms`
          )

          // no call waited much longer than one store round trip (soft: the checks below still run)
          expect.soft(round(maxMs(calls)), "max latency of a protected call (ms)").toBeLessThanOrEqual(BOUND)
          // every failure a caller saw is a typed one
          expect(calls.filter((call) => call.outcome === "untyped").map((call) => call.detail)).toEqual([])
          expect(count(calls, "ServiceUnavailable")).toBe(0) // "local" never fails closed
          // Redis up, then down with a healthy dependency: every call served
          expect(inPhase("up").length).toBeGreaterThan(0)
          expect(inPhase("up").every((call) => call.outcome === "ok")).toBe(true)
          expect(inPhase("down").length).toBeGreaterThan(0)
          expect(inPhase("down").every((call) => call.outcome === "ok")).toBe(true)
          expect(healthDown.status).toBe("degraded")
          expect(healthDown.state).toBe("CLOSED")
          // the dependency fails during the outage: the local breaker trips and sheds the load
          expect(
            count(failingCalls, "DependencyError"),
            "calls that reached the failing dependency during the outage (0: the callers were stuck in store calls)"
          ).toBeGreaterThanOrEqual(failureThreshold)
          expect(count(failingCalls, "DependencyError")).toBeLessThanOrEqual(failureThreshold + CONCURRENCY)
          expect(failingCalls.slice(-CONCURRENCY).map((call) => call.outcome)).toEqual(
            Array.from({ length: CONCURRENCY }, () => "CircuitOpen")
          )
          expect(healthTripped.state).toBe("OPEN")
          // the fleet's OPEN is what the first instance now follows (its own local breaker would have another retryAt)
          expect(followed.state).toBe("OPEN")
          // (each instance sees it on its own clock, through the offset it measured to Redis's: within a few ms)
          expect(Math.abs(followed.retryAt - opened.retryAt)).toBeLessThanOrEqual(5)
          expect(followed.version).toBe(opened.version)
          expect((yield* breaker.health).status).toBe("unhealthy")
        }).pipe(Effect.provide(storeOn(tcpClient(server), { prefix })))
      }),
    60_000
  )
})

// ---------------------------------------------------------------------------
// 2. SIGSTOP / SIGCONT
// ---------------------------------------------------------------------------

describe("a frozen Redis (SIGSTOP, SIGCONT)", () => {
  it.scopedLive(
    "each call waits at most storeTimeout; after unavailableAfter failures the store's breaker opens (no round trips) and, after SIGCONT and the cool-down, closes",
    () =>
      Effect.gen(function*() {
        const server = yield* redisServer()
        const unavailableAfter = 3
        const cooldown = 1_500
        yield* Effect.gen(function*() {
          // stateCacheTtl 0: every call asks Redis, so every round trip the guard lets through shows
          const breaker = yield* CircuitBreaker.make("frozen", {
            storeTimeout: STORE_TIMEOUT,
            stateCacheTtl: 0,
            onStoreUnavailable: "local"
          })
          const call = timed(breaker.protect(Effect.succeed("ok")))
          expect((yield* call).outcome).toBe("ok")
          const before = yield* scriptCalls(server)

          yield* Effect.sync(() => server.pause())
          // the first unavailableAfter calls each wait for storeTimeout, then run on the local breaker
          const slow: Array<Call> = []
          // the cool-down starts when the last failing round trip gives up
          let lastFailureEndedAt = 0
          for (let i = 0; i < unavailableAfter; i++) {
            slow.push(yield* call)
            lastFailureEndedAt = Date.now()
          }
          // the store's breaker is open: calls make no round trip and cost nothing
          const fast: Array<Call> = []
          const openedAt = performance.now()
          while (performance.now() - openedAt < 500) {
            fast.push(yield* call)
            yield* Effect.sleep("10 millis")
          }
          const healthFrozen = yield* breaker.health

          yield* Effect.sync(() => server.resume())
          yield* Effect.sleep("100 millis") // Redis serves what reached it while frozen
          // still cooling down: no round trip even though Redis answers again
          const coolingDown: Array<Call> = []
          for (let i = 0; i < 3; i++) coolingDown.push(yield* call)
          const roundTripsSincePause = (yield* scriptCalls(server)) - before
          const cooledDown = Date.now() - lastFailureEndedAt < cooldown

          // after the cool-down: round trips again, health no longer degraded
          yield* Effect.sleep(Math.max(0, lastFailureEndedAt + cooldown + 100 - Date.now()))
          const mark = yield* scriptCalls(server)
          const back: Array<Call> = []
          for (let i = 0; i < 5; i++) back.push(yield* call)
          const roundTripsAfter = (yield* scriptCalls(server)) - mark
          const healthBack = yield* breaker.health

          console.info(
            `[SIGSTOP] ${unavailableAfter} calls waiting for Redis: ${slow.map((c) => round(c.ms)).join(", ")} ms ` +
              `(storeTimeout ${STORE_TIMEOUT} ms, bound ${BOUND} ms); then ${fast.length} calls during the cool-down, ` +
              `max ${round(maxMs(fast))} ms; script round trips from SIGSTOP to the end of the cool-down: ` +
              `${roundTripsSincePause}; after the cool-down: ${roundTripsAfter} round trips for ${back.length} calls`
          )

          expect([...slow, ...fast, ...coolingDown, ...back].map((c) => c.outcome).filter((o) => o !== "ok")).toEqual(
            []
          )
          for (const c of slow) {
            expect(c.ms, "a call that waited for the frozen Redis").toBeGreaterThanOrEqual(STORE_TIMEOUT - 5)
            expect.soft(round(c.ms), "a call that waited for the frozen Redis (ms)").toBeLessThanOrEqual(BOUND)
          }
          expect(healthFrozen.status).toBe("degraded")
          expect(cooledDown, "the checks above ran within the cool-down").toBe(true)
          expect(fast.length).toBeGreaterThanOrEqual(10)
          expect.soft(round(maxMs(fast)), "calls during the cool-down (ms)").toBeLessThanOrEqual(FAST)
          expect.soft(round(maxMs(coolingDown)), "calls after SIGCONT, still cooling down (ms)").toBeLessThanOrEqual(
            FAST
          )
          // exactly the unavailableAfter round trips that timed out reached Redis; none during the cool-down
          // the unavailableAfter acquires that timed out, and the lease releases sent right after each of
          // them while the store's breaker was still closed (the last one's is refused): none after that
          expect(roundTripsSincePause).toBe(2 * unavailableAfter - 1)
          expect(roundTripsAfter).toBeGreaterThanOrEqual(back.length)
          expect(healthBack.status).toBe("healthy")
        }).pipe(Effect.provide(storeOn(tcpClient(server), { unavailableAfter, cooldown })))
      }),
    30_000
  )

  // shared by both editions: test/shared/scenarios/faults.ts
  for (const scenario of frozenScenarios) {
    it.scopedLive(scenario.name, () =>
      Effect.map(runFaultScenario(scenario), (ran) => {
        expect(ran).toBe(scenario.steps.length)
      }), 30_000)
  }
})

// ---------------------------------------------------------------------------
// 3. the three policies, Redis killed; 4. SCRIPT FLUSH and a restart with no data
// (the scenarios both editions share: test/shared/scenarios/faults.ts)
// ---------------------------------------------------------------------------

describe("onStoreUnavailable, with Redis killed", () => {
  for (const scenario of policyScenarios) {
    it.scopedLive(scenario.name, () =>
      Effect.map(runFaultScenario(scenario), (ran) => {
        expect(ran).toBe(scenario.steps.length)
      }), 30_000)
  }
})

describe("NOSCRIPT and a restarted, empty Redis", () => {
  for (const scenario of restartScenarios) {
    it.scopedLive(scenario.name, () =>
      Effect.map(runFaultScenario(scenario), (ran) => {
        expect(ran).toBe(scenario.steps.length)
      }), 30_000)
  }
})

describe("the shared fault scenarios", () => {
  it("are all there, under names of their own", () => {
    expect(faultScenarios).toHaveLength(8)
    expect(new Set(faultScenarios.map((s) => s.name)).size).toBe(8)
  })
})

// ---------------------------------------------------------------------------
// 5. wrong credentials
// ---------------------------------------------------------------------------

describe("wrong credentials: fall back per policy, name the problem, never show the secret", () => {
  const serverPassword = "server-pass-61d0b7"
  const urlSecret = "wr0ng/url@pass:8e2f%c4"
  /**
   * `breakerReason`: what the breaker's own errors (ServiceUnavailable, the admin action's
   * CircuitStoreError) must say. Over HTTP every request gets a 401, so they name the auth
   * problem. Over TCP only the first command of a connection is answered WRONGPASS: ioredis
   * then treats the failed AUTH as fatal and reconnects with backoff, and the commands that
   * follow wait in its offline queue until `storeTimeout` or its retry limit ends them. So the
   * client's first error names the problem (checked through `send`/`runScript` below), and the
   * breaker's later ones can only be required to say that Redis is the trouble.
   */
  const cases: ReadonlyArray<{
    readonly label: string
    /** Every spelling of the secret that must not appear anywhere. */
    readonly secrets: ReadonlyArray<string>
    readonly breakerReason: RegExp
    readonly client: (
      server: RedisServer
    ) => Effect.Effect<Layer.Layer<RedisClient.RedisClient, unknown>, never, Scope.Scope>
  }> = [
    {
      label: "ioredis, wrong password option",
      secrets: ["wrong-option-pass-3b9e5d"],
      breakerReason: /Redis/,
      client: (server) =>
        Effect.succeed(IORedisClient.layer({
          url: `redis://127.0.0.1:${server.port}`,
          password: Redacted.make("wrong-option-pass-3b9e5d"),
          commandTimeout: CLIENT_TIMEOUT
        }))
    },
    {
      label: "ioredis, wrong password in the URL",
      secrets: [urlSecret, encodeURIComponent(urlSecret)],
      breakerReason: /Redis/,
      client: (server) =>
        Effect.succeed(IORedisClient.layer({
          url: `redis://:${encodeURIComponent(urlSecret)}@127.0.0.1:${server.port}`,
          commandTimeout: CLIENT_TIMEOUT
        }))
    },
    {
      label: "ioredis, wrong password in a Redacted URL",
      secrets: [urlSecret, encodeURIComponent(urlSecret)],
      breakerReason: /Redis/,
      client: (server) =>
        Effect.succeed(IORedisClient.layer({
          url: Redacted.make(`redis://:${encodeURIComponent(urlSecret)}@127.0.0.1:${server.port}`),
          commandTimeout: CLIENT_TIMEOUT
        }))
    },
    {
      label: "Upstash, wrong token",
      secrets: ["wrong-upstash-token-0a7c44"],
      breakerReason: /auth/i,
      client: (server) =>
        Effect.map(
          upstashBridgeScoped(server, TOKEN),
          (bridge) => upstashClient(bridge, "wrong-upstash-token-0a7c44")
        )
    }
  ]

  for (const { breakerReason, client: clientFor, label, secrets } of cases) {
    it.scopedLive(label, () =>
      Effect.gen(function*() {
        const server = yield* redisServer({ password: serverPassword })
        const client = yield* clientFor(server)
        const logs = captureLogs()
        const printed = yield* captureConsole

        // the client itself: a RedisClientError of kind Auth
        const direct = yield* Effect.gen(function*() {
          const redis = yield* RedisClient.RedisClient
          const ping = yield* Effect.flip(redis.send(["PING"]))
          const script = yield* Effect.flip(
            RedisClient.runScript(redis, scripts.circuit, [RedisCircuitStore.stateKey("auth")], ["read", "0"])
          )
          return { ping, script, description: redis.description }
        }).pipe(Effect.provide(client))
        for (const error of [direct.ping, direct.script]) {
          expect(error._tag).toBe("RedisClientError")
          expect(error.kind).toBe("Auth")
          expect(error.message).toMatch(/auth/i)
        }

        // the breakers fall back per policy
        // (unavailableAfter 10: the store's own breaker stays out of the way of these few calls)
        const seen = yield* Effect.gen(function*() {
          const base = { storeTimeout: STORE_TIMEOUT, stateCacheTtl: 0 }
          const closed = yield* CircuitBreaker.make("auth-closed", { ...base, onStoreUnavailable: "fail-closed" })
          const local = yield* CircuitBreaker.make("auth-local", { ...base, onStoreUnavailable: "local" })
          const refused = yield* timed(closed.protect(Effect.succeed(1)))
          const served = yield* timed(local.protect(Effect.succeed(1)))
          const health = yield* local.health
          const admin = yield* Effect.flip(closed.forceOpen)
          // what a user would log
          yield* Effect.logError("protected call failed", Cause.fail(refused.error))
          yield* Effect.logWarning("admin action failed", admin)
          return { refused, served, health, admin }
        }).pipe(Effect.provide(storeOn(client, { unavailableAfter: 10 })), Effect.provide(logs.layer))

        expect(seen.refused.outcome).toBe("ServiceUnavailable")
        const unavailable = seen.refused.error as ServiceUnavailable
        expect(unavailable.reason).toMatch(breakerReason)
        expect(seen.served.outcome).toBe("ok")
        expect(seen.health.status).toBe("degraded")
        expect(seen.admin._tag).toBe("CircuitStoreError")
        expect(seen.admin.reason).toMatch(breakerReason)
        expect.soft(round(Math.max(seen.refused.ms, seen.served.ms)), "latency (ms)").toBeLessThanOrEqual(BOUND)

        const texts: Array<string> = [direct.description, ...logs.lines, ...printed.lines]
        for (const error of [direct.ping, direct.script, unavailable, seen.admin]) {
          texts.push(
            error.message,
            String(error),
            JSON.stringify(error),
            inspect(error),
            Cause.pretty(Cause.fail(error))
          )
        }
        console.info(
          `[${label}] send: ${direct.ping.message} | fail-closed: ${unavailable.reason} | admin: ${seen.admin.reason}`
        )
        expect(logs.lines.length).toBeGreaterThanOrEqual(2)
        for (const secret of [...secrets, serverPassword]) {
          for (const line of texts) expect(line).not.toContain(secret)
        }
      }), 30_000)
  }
})

// ---------------------------------------------------------------------------
// 6. Upstash replies that make no sense
// ---------------------------------------------------------------------------

describe("Upstash faults: a typed store error, the policy applies, bounded by storeTimeout", () => {
  const faults: ReadonlyArray<readonly [string, BridgeFault, RegExp]> = [
    [
      "HTTP 500 with an HTML body",
      {
        type: "http",
        status: 500,
        body: "<html><head><title>500</title></head><body><h1>Internal Server Error</h1></body></html>",
        headers: { "content-type": "text/html" }
      },
      /parse|reply/i
    ],
    ["HTTP 502 with an empty body", { type: "http", status: 502, body: "" }, /parse|reply/i],
    ["HTTP 200 with an empty body", { type: "http", status: 200, body: "" }, /parse|reply/i],
    [
      "HTTP 200 with malformed JSON",
      {
        type: "http",
        status: 200,
        body: "{\"result\": [\"CLOSED\", 1,",
        headers: { "content-type": "application/json" }
      },
      /parse|reply/i
    ],
    [
      "HTTP 200 with a script reply of the wrong shape",
      { type: "http", status: 200, body: "{\"result\": \"garbage\"}", headers: { "content-type": "application/json" } },
      /unexpected reply/i
    ],
    ["a reset connection", { type: "reset" }, /connection|fetch failed|socket/i],
    ["a request that is never answered", { type: "hang" }, /storeTimeout/]
  ]

  for (const [label, fault, reason] of faults) {
    it.scopedLive(label, () =>
      Effect.gen(function*() {
        const server = yield* redisServer()
        const bridge = yield* upstashBridgeScoped(server, TOKEN)
        yield* Effect.gen(function*() {
          const store = yield* CircuitStore.CircuitStore
          const base = { storeTimeout: STORE_TIMEOUT, stateCacheTtl: 0 }
          const closed = yield* CircuitBreaker.make("fault-closed", { ...base, onStoreUnavailable: "fail-closed" })
          const local = yield* CircuitBreaker.make("fault-local", { ...base, onStoreUnavailable: "local" })
          let runs = 0
          const dependency = Effect.sync(() => ++runs)
          expect((yield* timed(closed.protect(dependency))).outcome).toBe("ok")
          expect((yield* timed(local.protect(dependency))).outcome).toBe("ok")
          const circuit = yield* store.circuit("fault-local", local.config)

          yield* Effect.sync(() => bridge.injectFault(fault))
          const refused = yield* timed(closed.protect(dependency))
          const served = yield* timed(local.protect(dependency))
          const readStart = performance.now()
          const read = yield* Effect.either(circuit.read(Date.now()))
          const readMs = performance.now() - readStart
          const health = yield* local.health
          const runsUnderFault = runs
          yield* Effect.sync(() => bridge.clearFault())
          const recovered = yield* timed(closed.protect(dependency))

          console.info(
            `[upstash: ${label}] fail-closed ${round(refused.ms)} ms, local ${round(served.ms)} ms, ` +
              `store read ${round(readMs)} ms; reason: ${
                refused.error instanceof ServiceUnavailable ? refused.error.reason : refused.outcome
              }`
          )
          // the store error is typed and says what went wrong
          expect(Either.isLeft(read)).toBe(true)
          if (Either.isLeft(read)) {
            expect(read.left).toBeInstanceOf(CircuitStore.CircuitStoreError)
            expect(read.left.reason).toMatch(reason)
          }
          // fail-closed: ServiceUnavailable, the dependency not called
          expect(refused.outcome).toBe("ServiceUnavailable")
          expect((refused.error as ServiceUnavailable).reason).toMatch(reason)
          // local: served by the local breaker, reported degraded
          expect(served.outcome).toBe("ok")
          expect(health.status).toBe("degraded")
          expect(runsUnderFault).toBe(3)
          // the fault cleared, Redis is used again
          expect(recovered.outcome).toBe("ok")
          expect(runs).toBe(4)
          for (
            const [what, ms] of [["fail-closed", refused.ms], ["local", served.ms], ["store read", readMs]] as const
          ) {
            expect.soft(round(ms), `${what} call under the fault (ms)`).toBeLessThanOrEqual(BOUND)
          }
        }).pipe(Effect.provide(storeOn(upstashClient(bridge), { unavailableAfter: 10 })))
      }), 30_000)
  }
})

// ---------------------------------------------------------------------------
// 7. a state key overwritten by someone else
// ---------------------------------------------------------------------------

describe("a state key overwritten by someone else", () => {
  const corruptions: ReadonlyArray<readonly [string, (key: string) => ReadonlyArray<string>]> = [
    // "s" is what the script reads (lua/circuit.lua): "<state> <version> <openCount> <openedAt> <retryAt> …"
    ["a state hash overwritten with garbage", (key) => ["HSET", key, "s", "BANANA x 0 0 0 0 0 0 0 0 0 0 0"]],
    ["a state key replaced by a string (wrong type)", (key) => ["SET", key, "hello"]],
    ["retryAt inf", (key) => ["HSET", key, "s", "OPEN 1 0 0 inf 0 0 0 0 0 0 0 0"]]
  ]
  for (const [label, corrupt] of corruptions) {
    it.scopedLive(
      `${label}: repaired with a warning; an instance that never knew it starts CLOSED, the one that knew it OPEN re-asserts it`,
      () => {
        const logs = captureLogs()
        return Effect.gen(function*() {
          const server = yield* redisServer()
          const prefix = freshPrefix()
          const name = "overwritten"
          const key = RedisCircuitStore.stateKey(name, { prefix })
          const config = {
            storeTimeout: STORE_TIMEOUT,
            stateCacheTtl: 50,
            failureThreshold: 1,
            recoveryTimeout: "1 minute" as const
          }
          const knowing = yield* Layer.build(storeOn(tcpClient(server), { prefix }))
          const unknowing = yield* Layer.build(storeOn(tcpClient(server), { prefix }))
          const breaker = yield* Effect.provide(CircuitBreaker.make(name, config), knowing)
          expect((yield* timed(breaker.protect(Effect.fail(new DependencyError())))).outcome).toBe("DependencyError")
          expect(yield* cli(server, "HGET", key, "state")).toBe("OPEN")

          yield* cli(server, ...corrupt(key))
          // an instance that never heard of the circuit: the unreadable state is repaired to CLOSED
          const stranger = yield* Effect.provide(CircuitBreaker.make(name, config), unknowing)
          expect((yield* timed(stranger.protect(Effect.succeed("ok")))).outcome).toBe("ok")
          // dropped (a key of another type) or rewritten as a CLOSED state
          expect(yield* cli(server, "TYPE", key)).toMatch(/^(hash|none)$/)
          expect(yield* cli(server, "HGET", key, "state")).toMatch(/^(CLOSED|)$/)
          const repaired = logs.lines.filter((line) => line.startsWith("WARN") && line.includes("was repaired"))
          expect(repaired.length).toBeGreaterThanOrEqual(1)

          // the instance that knew it OPEN (past its stateCacheTtl, so it asks Redis) puts it back
          yield* Effect.sleep("80 millis")
          expect((yield* timed(breaker.protect(Effect.succeed("ok")))).outcome).toBe("CircuitOpen")
          expect(yield* cli(server, "HGET", key, "state")).toBe("OPEN")
          const retryAt = Number(yield* cli(server, "HGET", key, "retryAt"))
          expect(Number.isFinite(retryAt)).toBe(true)
          expect(retryAt - Date.now()).toBeLessThanOrEqual(66_000)
          const lost = logs.lines.filter((line) => line.startsWith("WARN") && line.includes("Redis lost its state"))
          console.info(`[${label}] logged: ${repaired[0]} / ${lost[0] ?? "(nothing)"}`)
          expect(lost).toHaveLength(1)
          // and the stranger now sees what the fleet knew
          yield* Effect.sleep("80 millis")
          expect((yield* timed(stranger.protect(Effect.succeed("ok")))).outcome).toBe("CircuitOpen")
        }).pipe(Effect.provide(logs.layer))
      },
      30_000
    )
  }
})
