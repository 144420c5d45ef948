/**
 * The Effect 4 driver of the state machine's scenarios (test/shared/scenarios/stateMachine.ts):
 * makes the scenario's breakers on the `CircuitStore` in context, runs each step on the TestClock
 * and checks its expectations. It returns how many steps it ran, for the suite to hold against the
 * scenario's length.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Random from "effect/Random"
import * as Result from "effect/Result"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/testing/TestClock"
import * as CircuitBreaker from "../../src/CircuitBreaker.js"
import { CircuitOpen } from "../../src/CircuitBreakerError.js"
import type { CircuitStore } from "../../src/CircuitStore.js"
import type { Transition } from "../../../shared/model.js"
import {
  breakersOf,
  type CallExpectation,
  type CallKind,
  NotFound,
  type Scenario,
  scenarioCount,
  scenarios,
  type Step
} from "../../../test/shared/scenarios/stateMachine.js"

/** The error of a failing call: what `"error"` expectations hold the outcome against. */
export class Boom extends Error {
  readonly _tag = "Boom"
}

/**
 * Waits (in real time, up to 10 s) until `check` holds: forked fibers and
 * store round trips make progress meanwhile, whatever the TestClock says.
 */
export const eventually = <E, R>(check: Effect.Effect<boolean, E, R>): Effect.Effect<void, E | Error, R> =>
  Effect.gen(function*() {
    for (let i = 0; i < 2_000; i++) {
      if (yield* check) return
      yield* TestClock.withLive(Effect.sleep("5 millis"))
    }
    return yield* Effect.fail(new Error("condition not reached within 10 s"))
  })

/**
 * The wake-up times of the fibers sleeping on the TestClock. Effect 4's `TestClock` has no public
 * accessor for them: its implementation keeps them in `sleeps` (entries with a `timestamp`).
 */
const sleepsOf = (testClock: TestClock.TestClock): ReadonlyArray<number> =>
  ((testClock as unknown as { readonly sleeps?: ReadonlyArray<{ readonly timestamp: number }> }).sleeps ?? []).map(
    (entry) => entry.timestamp
  )

/**
 * Advances the TestClock by `duration` once some fiber sleeps until exactly
 * then: a forked call may first need a store round trip before it sleeps.
 */
export const adjustWhenSleeping = (duration: Duration.Input) =>
  TestClock.testClockWith((testClock) =>
    Effect.gen(function*() {
      const due = testClock.currentTimeMillisUnsafe() + Duration.toMillis(Duration.fromInputUnsafe(duration))
      yield* eventually(Effect.sync(() => sleepsOf(testClock).includes(due)))
      yield* TestClock.adjust(duration)
    })
  )

/** A `Random` whose doubles are `values`, in a cycle (Effect 3's `withRandomFixed`). */
const fixedRandom = (values: ReadonlyArray<number>): Random.Random => {
  let i = 0
  const next = () => values[i++ % values.length]!
  return {
    nextDoubleUnsafe: next,
    nextIntUnsafe: () => Math.floor(next() * Number.MAX_SAFE_INTEGER)
  }
}

type CallResult = Result.Result<unknown, unknown>

interface Held {
  readonly latch: Deferred.Deferred<void>
  readonly fiber: Fiber.Fiber<ReadonlyArray<CallResult>>
}

/** Runs `scenario` on the store in context; returns the number of steps run. */
export const runScenario = (scenario: Scenario): Effect.Effect<number, unknown, CircuitStore> => {
  const program = Effect.gen(function*() {
    const breakers = new Map<string, CircuitBreaker.CircuitBreaker>()
    for (const [key, name, config] of breakersOf(scenario)) {
      breakers.set(key, yield* CircuitBreaker.make(name, config))
    }
    const breaker = (on: string | undefined) => {
      const found = breakers.get(on ?? "main")
      if (found === undefined) throw new Error(`scenario ${scenario.name}: no breaker ${on}`)
      return found
    }
    const held = new Map<string, Held>()
    let started = 0
    let ran = 0
    let transitions: Fiber.Fiber<Array<Transition>> | undefined
    let transitionsOf = ""

    const errorOf = (kind: CallKind): unknown => kind === "excused" ? new NotFound("404") : new Boom("boom")
    const call = (b: CircuitBreaker.CircuitBreaker, kind: CallKind, expectation: CallExpectation | undefined) =>
      Effect.gen(function*() {
        const error = errorOf(kind)
        let runs = 0
        const effect = Effect.suspend((): Effect.Effect<string, unknown> => {
          runs++
          return kind === "ok" ? Effect.succeed("ok") : kind === "die" ? Effect.die(error) : Effect.fail(error)
        })
        if (expectation === undefined) {
          yield* Effect.exit(b.protect(effect))
          return
        }
        const result = yield* Effect.result(b.protect(effect))
        if (expectation === "ok") {
          expect(Result.isSuccess(result) ? result.success : result).toBe("ok")
        } else if (expectation === "error") {
          expect(Result.isFailure(result) && result.failure === error, "the effect's own error, unchanged").toBe(true)
        } else {
          expect(runs, "a rejected call never runs").toBe(0)
          if (Result.isSuccess(result) || !(result.failure instanceof CircuitOpen)) {
            throw new Error(`expected CircuitOpen, got ${JSON.stringify(result)}`)
          }
          const rejected = result.failure
          expect(rejected.service).toBe(b.name)
          const want = expectation.open
          if (want.state !== undefined) expect(rejected.state).toBe(want.state)
          const retryAfter = Duration.toMillis(rejected.retryAfter)
          if (want.retryAfter !== undefined) expect(retryAfter).toBe(want.retryAfter)
          if (want.retryAfterAbove !== undefined) expect(retryAfter).toBeGreaterThan(want.retryAfterAbove)
          if (want.retryAfterMax !== undefined) expect(retryAfter).toBeLessThanOrEqual(want.retryAfterMax)
          if (want.messageContains !== undefined) expect(rejected.message).toContain(want.messageContains)
        }
      })

    const step = (s: Step): Effect.Effect<void, unknown> =>
      Effect.gen(function*() {
        if ("call" in s) {
          for (let i = 0; i < (s.times ?? 1); i++) yield* call(breaker(s.on), s.call, s.expect)
        } else if ("advance" in s) {
          yield* TestClock.adjust(Duration.millis(s.advance))
        } else if ("advanceOpenPeriod" in s) {
          const snapshot = yield* breaker(s.on).snapshot
          yield* TestClock.adjust(Duration.millis(snapshot.retryAt - snapshot.openedAt))
        } else if ("slow" in s) {
          const b = breaker(s.on)
          const error = new Boom("boom")
          const fiber = yield* Effect.forkChild(
            b.protect(
              Effect.andThen(
                Effect.sleep(Duration.millis(s.slow)),
                s.outcome === "ok" ? Effect.succeed("late") : Effect.fail(error)
              )
            )
          )
          yield* adjustWhenSleeping(Duration.millis(s.slow))
          const result = yield* Effect.result(Fiber.join(fiber))
          if (s.expect === "ok") expect(Result.isSuccess(result) ? result.success : result).toBe("late")
          if (s.expect === "error") expect(Result.isFailure(result) ? result.failure : result).toBe(error)
        } else if ("hold" in s) {
          const b = breaker(s.on)
          const latch = yield* Deferred.make<void>()
          const before = started
          const fiber = yield* Effect.forkChild(
            Effect.forEach(
              Array.from({ length: s.count ?? 1 }),
              () => Effect.result(b.protect(Effect.andThen(Effect.sync(() => started++), Deferred.await(latch)))),
              { concurrency: "unbounded" }
            )
          )
          held.set(s.hold, { latch, fiber })
          // a single held call: wait until it runs (or was rejected), as a caller holding it would
          if ((s.count ?? 1) === 1) {
            yield* eventually(Effect.sync(() => started > before || fiber.pollUnsafe() !== undefined))
          }
        } else if ("release" in s) {
          const h = held.get(s.release)!
          yield* Deferred.succeed(h.latch, undefined)
          const results = yield* Fiber.join(h.fiber)
          if (s.expect?.ok !== undefined) expect(results.filter(Result.isSuccess).length).toBe(s.expect.ok)
          if (s.expect?.open !== undefined) {
            expect(results.filter((r) => Result.isFailure(r) && r.failure instanceof CircuitOpen).length).toBe(
              s.expect.open
            )
          }
        } else if ("interrupt" in s) {
          yield* Fiber.interrupt(held.get(s.interrupt)!.fiber)
        } else if ("waitFor" in s) {
          const b = breaker(s.on)
          const { probes, rejections } = s.waitFor
          if (probes !== undefined) yield* eventually(Effect.map(b.snapshot, (x) => x.probes === probes))
          if (rejections !== undefined) yield* eventually(Effect.map(b.metrics, (x) => x.rejections === rejections))
        } else if ("expectStarted" in s) {
          expect(started).toBe(s.expectStarted)
        } else if ("admin" in s) {
          const b = breaker(s.on)
          yield* (s.admin === "forceOpen" ? b.forceOpen : s.admin === "forceClose" ? b.forceClose : b.reset)
        } else if ("expectState" in s) {
          expect(yield* breaker(s.on).state).toBe(s.expectState)
        } else if ("expectSnapshot" in s) {
          expect(yield* breaker(s.on).snapshot).toMatchObject(s.expectSnapshot)
        } else if ("expectOpenPeriod" in s) {
          const snapshot = yield* breaker(s.on).snapshot
          const period = snapshot.retryAt - snapshot.openedAt
          if (typeof s.expectOpenPeriod === "number") {
            expect(period).toBe(s.expectOpenPeriod)
          } else {
            expect(period).toBeGreaterThanOrEqual(s.expectOpenPeriod.min)
            expect(period).toBeLessThanOrEqual(s.expectOpenPeriod.max)
          }
        } else if ("expectMetrics" in s) {
          expect(yield* breaker(s.on).metrics).toMatchObject(s.expectMetrics)
        } else if ("expectHealth" in s) {
          expect(yield* breaker(s.on).health).toMatchObject(s.expectHealth)
        } else if ("expectAvailable" in s) {
          expect(yield* breaker(s.on).isAvailable).toBe(s.expectAvailable)
        } else if ("collectTransitions" in s) {
          const b = breaker(s.on)
          transitionsOf = b.name
          transitions = yield* Effect.forkChild(Stream.runCollect(Stream.take(b.stateChanges, s.collectTransitions)))
          for (let i = 0; i < 5; i++) yield* Effect.yieldNow
        } else {
          const collected = yield* Fiber.join(transitions!)
          expect(collected.map((t) => `${t.from}->${t.to}`)).toEqual(s.expectTransitions)
          s.gaps?.forEach((gap, i) => {
            if (gap !== undefined) expect(collected[i + 1]!.at).toBe(collected[i]!.at + gap)
          })
          expect(collected.every((t) => t.service === transitionsOf)).toBe(true)
        }
        ran++
      })

    for (const s of scenario.steps) yield* step(s)
    return ran
  })
  return scenario.random === undefined
    ? program
    : program.pipe(Effect.provideService(Random.Random, fixedRandom(scenario.random)))
}

/**
 * Registers every shared scenario as a test of `it.effect` on `store()` (a fresh, empty store per
 * test; each test on a TestClock of its own, from 0), each checked to run all its steps, and a
 * test that the scenarios are all there.
 */
export const stateMachineSuite = (
  label: string,
  store: () => Layer.Layer<CircuitStore, unknown>
): void => {
  describe(`state machine (${label} store)`, () => {
    for (const scenario of scenarios) {
      it.effect(scenario.name, () =>
        Effect.gen(function*() {
          const ran = yield* runScenario(scenario).pipe(Effect.provide(Layer.fresh(store())))
          expect(ran).toBe(scenario.steps.length)
        }), 120_000)
    }

    it("runs every shared scenario, under names of their own", () => {
      expect(scenarios.length).toBe(scenarioCount)
      expect(scenarioCount).toBeGreaterThanOrEqual(26)
      expect(new Set(scenarios.map((s) => s.name)).size).toBe(scenarioCount)
    })
  })
}
