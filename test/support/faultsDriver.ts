/**
 * The Effect 3 driver of the shared fault scenarios (test/shared/scenarios/faults.ts): a
 * `redis-server` of the scenario's own, one breaker on a Redis store over the scenario's
 * transport, each step run on the real clock and checked. Returns the number of steps run.
 */
import { expect } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import { inspect } from "node:util"
import {
  CircuitBreaker,
  CircuitOpen,
  CircuitStore,
  RedisCircuitStore,
  type RedisClient,
  ServiceUnavailable
} from "../../src/index.js"
import { IORedisClient } from "../../src/ioredis.js"
import { UpstashClient } from "../../src/upstash.js"
import {
  BOUND,
  CLIENT_TIMEOUT,
  COOLDOWN,
  type FaultOutcome,
  type FaultScenario,
  type FaultStep,
  TOKEN
} from "../shared/scenarios/faults.js"
import { type RedisServer, redisServerScoped } from "./redisServer.js"
import { freshPrefix, upstashBridgeScoped } from "./stores.js"

/** The protected dependency's own error. */
export class DependencyError extends Data.TaggedError("DependencyError")<{}> {}

interface Call {
  readonly outcome: FaultOutcome
  readonly ms: number
  readonly error: unknown
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

const text = (u: unknown): string => (typeof u === "string" ? u : inspect(u, { depth: 5 }))

/** Every Effect log line (all levels, with its cause), as text. */
const captureLogs = () => {
  const lines: Array<string> = []
  const logger = Logger.make(({ cause, logLevel, message }) => {
    const parts = Array.isArray(message) ? message : [message]
    lines.push(`${logLevel.label} ${parts.map(text).join(" ")}${Cause.isEmpty(cause) ? "" : ` ${Cause.pretty(cause)}`}`)
  })
  const layer = Layer.merge(Logger.replace(Logger.defaultLogger, logger), Logger.minimumLogLevel(LogLevel.All))
  return { lines, layer }
}

const clientFor = (
  scenario: FaultScenario,
  server: RedisServer
): Effect.Effect<Layer.Layer<RedisClient.RedisClient, unknown>, never, Scope.Scope> =>
  scenario.transport === "ioredis"
    ? Effect.succeed(IORedisClient.layer({ url: server.url, commandTimeout: CLIENT_TIMEOUT }))
    : Effect.map(upstashBridgeScoped(server, TOKEN), (bridge) =>
      UpstashClient.layer({ url: bridge.url, token: Redacted.make(TOKEN), requestTimeout: CLIENT_TIMEOUT }))

/** Calls of a command Redis has served so far, from INFO commandstats. */
const commandCalls = async (server: RedisServer, command: string): Promise<number> => {
  const match = new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(await server.cli("INFO", "commandstats"))
  return match === null ? 0 : Number(match[1])
}

/** Runs `scenario` (live clock, in the test's scope); returns the number of steps run. */
export const runFaultScenario = (scenario: FaultScenario): Effect.Effect<number, unknown, Scope.Scope> =>
  Effect.gen(function*() {
    const server = yield* redisServerScoped()
    const client = yield* clientFor(scenario, server)
    const prefix = freshPrefix()
    const key = RedisCircuitStore.stateKey(scenario.circuit, { prefix })
    const logs = captureLogs()
    const store = RedisCircuitStore.layer({ prefix, cooldown: COOLDOWN }).pipe(Layer.provide(client), Layer.orDie)

    return yield* Effect.gen(function*() {
      const circuits = yield* CircuitStore.CircuitStore
      const breaker = yield* CircuitBreaker.make(scenario.circuit, scenario.config)
      const all: Array<Call> = []
      let unchecked: Array<Call> = []
      let runs = 0
      let evalMark = 0
      const remembered = new Map<string, string>()
      const call = (kind: "ok" | "fail") =>
        Effect.gen(function*() {
          const effect = Effect.suspend(() => {
            runs++
            return kind === "ok" ? Effect.succeed("ok") : Effect.fail(new DependencyError())
          })
          const result = yield* timed(breaker.protect(effect))
          all.push(result)
          unchecked.push(result)
          return result
        })
      const cli = (...args: ReadonlyArray<string>) => Effect.promise(() => server.cli(...args))
      const registered = Effect.map(Effect.orDie(circuits.names), (names) => names.includes(scenario.circuit))

      const step = (s: FaultStep): Effect.Effect<void, unknown> =>
        Effect.gen(function*() {
          if ("call" in s) {
            const calls = Array.from({ length: s.times ?? 1 }, () => call(s.call))
            yield* Effect.all(calls, { concurrency: s.concurrent === true ? "unbounded" : 1, discard: true })
          } else if ("expectOutcomes" in s) {
            const calls = unchecked
            unchecked = []
            expect(calls.filter((c) => c.outcome === "untyped").map((c) => c.detail)).toEqual([])
            expect(calls.map((c) => c.outcome)).toEqual(s.expectOutcomes)
            for (const c of calls) {
              if (c.error instanceof CircuitOpen && s.openState !== undefined) expect(c.error.state).toBe(s.openState)
              if (c.error instanceof ServiceUnavailable) {
                expect(c.error.service).toBe(scenario.circuit)
                if (s.unavailableReason !== undefined) expect(c.error.reason).toMatch(s.unavailableReason)
                expect(c.error.reason.length).toBeGreaterThan(20)
                expect(c.error.message).toContain(c.error.reason)
              }
            }
          } else if ("expectLast" in s) {
            const last = all.at(-1)
            expect(last?.outcome, last?.detail).toBe(s.expectLast)
          } else if ("callUntil" in s) {
            let result = yield* call("ok")
            const deadline = Date.now() + s.withinMs
            while (result.outcome !== s.callUntil && Date.now() < deadline) {
              yield* Effect.sleep("50 millis")
              result = yield* call("ok")
            }
            expect(result.outcome).toBe(s.callUntil)
          } else if ("expectRuns" in s) {
            expect(runs).toBe(s.expectRuns)
          } else if ("redis" in s) {
            if (s.redis === "kill") yield* Effect.promise(() => server.kill())
            else if (s.redis === "restart") yield* Effect.promise(() => server.restart())
            else if (s.redis === "pause") server.pause()
            else if (s.redis === "resume") server.resume()
            else yield* cli("SCRIPT", "FLUSH")
          } else if ("sleep" in s) {
            yield* Effect.sleep(s.sleep)
          } else if ("expectState" in s) {
            expect(yield* breaker.state).toBe(s.expectState)
          } else if ("expectHealth" in s) {
            expect(yield* breaker.health).toMatchObject(s.expectHealth)
          } else if ("expectStoreErrors" in s) {
            expect((yield* breaker.metrics).storeErrors).toBe(s.expectStoreErrors)
          } else if ("expectField" in s) {
            const value = yield* cli("HGET", key, s.expectField)
            if (s.is !== undefined) expect(value).toBe(s.is)
            if (s.sameAs !== undefined) expect(value).toBe(remembered.get(s.sameAs))
          } else if ("remember" in s) {
            remembered.set(s.remember, yield* cli("HGET", key, s.remember))
          } else if ("expectKeyExists" in s) {
            expect(yield* cli("EXISTS", key)).toBe(s.expectKeyExists ? "1" : "0")
          } else if ("expectRegistered" in s) {
            const deadline = Date.now() + (s.withinMs ?? 0)
            while (!(yield* registered) && Date.now() < deadline) yield* Effect.sleep("25 millis")
            expect(yield* registered).toBe(true)
          } else if ("expectWarnings" in s) {
            const warnings = logs.lines.filter((line) => line.startsWith("WARN") && line.includes(s.containing))
            expect(warnings).toHaveLength(s.expectWarnings)
          } else if ("markEvals" in s) {
            evalMark = yield* Effect.promise(() => commandCalls(server, "eval"))
          } else if ("expectEvalsSinceMark" in s) {
            const evals = yield* Effect.promise(() => commandCalls(server, "eval"))
            expect(evals - evalMark).toBeGreaterThanOrEqual(s.expectEvalsSinceMark.atLeast)
          } else {
            expect(Either.isRight(yield* Effect.either(breaker.reset))).toBe(true)
          }
        })

      let ran = 0
      for (const s of scenario.steps) {
        yield* step(s)
        ran++
      }
      const max = all.reduce((m, c) => Math.max(m, c.ms), 0)
      console.info(`[${scenario.name}] ${all.length} calls, max latency ${Math.round(max)} ms`)
      if (scenario.bounded === "soft") expect.soft(Math.round(max), "max latency (ms)").toBeLessThanOrEqual(BOUND)
      if (scenario.bounded === "hard") expect(Math.round(max), "the slowest call (ms)").toBeLessThanOrEqual(BOUND)
      return ran
    }).pipe(Effect.provide(store), Effect.provide(logs.layer))
  })
