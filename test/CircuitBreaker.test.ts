/**
 * The state machine (ARCHITECTURE.md, "Layers"), run against every store in
 * `support/stores.ts`. Time is the TestClock's; jitter comes from a fixed
 * `Random` where the exact open period matters.
 */
import { describe, expect, it } from "@effect/vitest"
import { inject } from "vitest"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as TestContext from "effect/TestContext"
import * as TestServices from "effect/TestServices"
import { createServer } from "node:net"
import { vi } from "vitest"
import { CircuitBreaker, CircuitBreakers, CircuitOpen, CircuitStore, RedisCircuitStore } from "../src/index.js"
import { UpstashClient } from "../src/upstash.js"
import type { CircuitConfig } from "../src/index.js"
import { layer } from "./support/layer.js"
import { FreshStore, storeBackends } from "./support/stores.js"

class Boom extends Error {
  readonly _tag = "Boom"
}
class NotFound extends Error {
  readonly _tag = "NotFound"
}

const boom = Effect.fail(new Boom("boom"))
const ok = Effect.succeed("ok")

/** Runs `n` failing calls through the breaker, ignoring their errors. */
const failTimes = (breaker: CircuitBreaker.CircuitBreaker, n: number) =>
  Effect.forEach(Array.from({ length: n }), () => Effect.either(breaker.protect(boom)), { discard: true })

const succeedTimes = (breaker: CircuitBreaker.CircuitBreaker, n: number) =>
  Effect.forEach(Array.from({ length: n }), () => Effect.either(breaker.protect(ok)), { discard: true })

/**
 * Waits (in real time, up to 10 s) until `check` holds: forked fibers and
 * store round trips make progress meanwhile, whatever the TestClock says.
 */
const eventually = <E, R>(check: Effect.Effect<boolean, E, R>): Effect.Effect<void, E | Error, R> =>
  Effect.gen(function*() {
    for (let i = 0; i < 2_000; i++) {
      if (yield* check) return
      yield* TestServices.provideLive(Effect.sleep("5 millis"))
    }
    return yield* Effect.fail(new Error("condition not reached within 10 s"))
  })

/**
 * Advances the TestClock by `duration` once some fiber sleeps until exactly
 * then: a forked call may first need a store round trip before it sleeps.
 */
const adjustWhenSleeping = (duration: Duration.DurationInput) =>
  Effect.gen(function*() {
    const now = yield* TestClock.currentTimeMillis
    const due = now + Duration.toMillis(duration)
    yield* eventually(Effect.map(TestClock.sleeps(), Chunk.some((at) => at === due)))
    yield* TestClock.adjust(duration)
  })

const expectOpenError = (result: Either.Either<unknown, unknown>): CircuitOpen => {
  if (Either.isRight(result) || !(result.left instanceof CircuitOpen)) {
    throw new Error(`expected CircuitOpen, got ${JSON.stringify(result)}`)
  }
  return result.left
}

// the project picks the backends (vitest.config.ts): the memory store in `unit`, the Redis ones in `integration`
const backends = inject("storeBackends")

for (const id of backends) {
  const backend = storeBackends[id]
  layer(backend.layer, { timeout: "120 seconds" })(`state machine (${backend.name} store)`, (it) => {
    const make = (config?: CircuitConfig.Input<any>, name = "svc") => CircuitBreaker.make(name, config)
    // a fresh store, and test services of the test's own: the backend's layer (and its TestClock) is shared
    // by the whole suite, each test starts at time 0
    const run = <A, E>(effect: Effect.Effect<A, E, CircuitStore.CircuitStore>) =>
      Effect.flatMap(
        FreshStore,
        (store) => effect.pipe(Effect.provide(store.fresh()), Effect.provide(TestContext.TestContext))
      )

    // -----------------------------------------------------------------------
    // CLOSED
    // -----------------------------------------------------------------------

    it.effect("CLOSED: successes and failures below the threshold keep it closed", () =>
      run(Effect.gen(function*() {
        const breaker = yield* make({ failureThreshold: 3 })
        expect(yield* breaker.protect(ok)).toBe("ok")
        yield* failTimes(breaker, 2)
        yield* succeedTimes(breaker, 5)
        expect(yield* breaker.state).toBe("CLOSED")
        const snapshot = yield* breaker.snapshot
        expect(snapshot.failures).toBe(2)
        expect(snapshot.calls).toBe(8)
      })))

    it.effect("CLOSED: failureThreshold failures within the window open it (k = 0)", () =>
      run(Effect.gen(function*() {
        const breaker = yield* make({ failureThreshold: 3, recoveryTimeout: "10 seconds", backoffJitter: 0 })
        yield* failTimes(breaker, 3)
        const snapshot = yield* breaker.snapshot
        expect(snapshot.state).toBe("OPEN")
        expect(snapshot.openCount).toBe(0)
        expect(snapshot.retryAt - snapshot.openedAt).toBe(10_000)
      })))

    it.effect("CLOSED: failures older than monitoringPeriod slide out of the window", () =>
      run(Effect.gen(function*() {
        const breaker = yield* make({ failureThreshold: 3, monitoringPeriod: "60 seconds" })
        yield* failTimes(breaker, 2)
        yield* TestClock.adjust("61 seconds")
        yield* failTimes(breaker, 2)
        expect(yield* breaker.state).toBe("CLOSED")
        expect((yield* breaker.snapshot).failures).toBe(2)
        yield* failTimes(breaker, 1)
        expect(yield* breaker.state).toBe("OPEN")
      })))

    it.effect("CLOSED: the effect's own error passes through unchanged", () =>
      run(Effect.gen(function*() {
        const breaker = yield* make()
        const error = yield* Effect.flip(breaker.protect(boom))
        expect(error).toBeInstanceOf(Boom)
      })))

    it.effect("CLOSED: defects count as failures; interruptions never count", () =>
      run(Effect.gen(function*() {
        const breaker = yield* make({ failureThreshold: 2 })
        yield* Effect.exit(breaker.protect(Effect.die("defect")))
        expect((yield* breaker.snapshot).failures).toBe(1)
        const started = yield* Deferred.make<void>()
        const fiber = yield* Effect.fork(
          breaker.protect(Effect.zipRight(Deferred.succeed(started, undefined), Effect.never))
        )
        yield* Deferred.await(started)
        yield* Fiber.interrupt(fiber)
        expect((yield* breaker.snapshot).failures).toBe(1)
        expect(yield* breaker.state).toBe("CLOSED")
        yield* Effect.exit(breaker.protect(Effect.die("defect")))
        expect(yield* breaker.state).toBe("OPEN")
      })))

    // -----------------------------------------------------------------------
    // OPEN
    // -----------------------------------------------------------------------

    it.effect("OPEN: calls fail fast with CircuitOpen { retryAfter } and never run", () =>
      run(Effect.gen(function*() {
        const breaker = yield* make({ failureThreshold: 1, recoveryTimeout: "30 seconds", backoffJitter: 0 })
        yield* failTimes(breaker, 1)
        yield* TestClock.adjust("10 seconds")
        const ran = yield* Ref.make(0)
        const error = expectOpenError(yield* Effect.either(breaker.protect(Ref.update(ran, (n) => n + 1))))
        expect(yield* Ref.get(ran)).toBe(0)
        expect(error.service).toBe("svc")
        expect(error.state).toBe("OPEN")
        expect(Duration.toMillis(error.retryAfter)).toBe(20_000)
        expect(error.message).toContain("svc")
        expect(yield* breaker.isAvailable).toBe(false)
      })))

    it.effect("OPEN: the first call at retryAt moves to HALF_OPEN and runs as a probe", () =>
      run(Effect.gen(function*() {
        const breaker = yield* make({ failureThreshold: 1, recoveryTimeout: "30 seconds", backoffJitter: 0 })
        yield* failTimes(breaker, 1)
        yield* TestClock.adjust("29999 millis")
        expectOpenError(yield* Effect.either(breaker.protect(ok)))
        yield* TestClock.adjust("1 millis")
        expect(yield* breaker.isAvailable).toBe(true)
        expect(yield* breaker.protect(ok)).toBe("ok")
        const snapshot = yield* breaker.snapshot
        expect(snapshot.state).toBe("HALF_OPEN")
        expect(snapshot.halfOpenSuccesses).toBe(1)
      })))

    // -----------------------------------------------------------------------
    // HALF_OPEN
    // -----------------------------------------------------------------------

    const openThenWait = (config: CircuitConfig.Input) =>
      Effect.gen(function*() {
        const breaker = yield* make({ failureThreshold: 1, recoveryTimeout: "30 seconds", backoffJitter: 0, ...config })
        yield* failTimes(breaker, 1)
        yield* TestClock.adjust("30 seconds")
        return breaker
      })

    it.effect("HALF_OPEN: successThreshold probe successes close it and reset the backoff", () =>
      run(Effect.gen(function*() {
        const breaker = yield* openThenWait({ successThreshold: 3 })
        yield* succeedTimes(breaker, 2)
        expect(yield* breaker.state).toBe("HALF_OPEN")
        yield* succeedTimes(breaker, 1)
        const snapshot = yield* breaker.snapshot
        expect(snapshot.state).toBe("CLOSED")
        expect(snapshot.openCount).toBe(0)
        expect(snapshot.failures).toBe(0)
        // the next open period is the first one again
        yield* failTimes(breaker, 1)
        const reopened = yield* breaker.snapshot
        expect(reopened.retryAt - reopened.openedAt).toBe(30_000)
      })))

    it.effect("HALF_OPEN: one probe failure re-opens with k + 1", () =>
      run(Effect.gen(function*() {
        const breaker = yield* openThenWait({ successThreshold: 3 })
        yield* succeedTimes(breaker, 1)
        yield* failTimes(breaker, 1)
        const snapshot = yield* breaker.snapshot
        expect(snapshot.state).toBe("OPEN")
        expect(snapshot.openCount).toBe(1)
        expect(snapshot.retryAt - snapshot.openedAt).toBe(60_000)
      })))

    it.effect("HALF_OPEN: at most halfOpenMaxProbes probes in flight; others get a short retryAfter", () =>
      run(Effect.gen(function*() {
        const breaker = yield* openThenWait({ successThreshold: 2, halfOpenMaxProbes: 2 })
        const latch = yield* Deferred.make<void>()
        const probes = yield* Effect.fork(
          Effect.all([breaker.protect(Deferred.await(latch)), breaker.protect(Deferred.await(latch))], {
            concurrency: "unbounded"
          })
        )
        yield* eventually(Effect.map(breaker.snapshot, (s) => s.probes === 2))
        const rejected = expectOpenError(yield* Effect.either(breaker.protect(ok)))
        expect(rejected.state).toBe("HALF_OPEN")
        expect(Duration.toMillis(rejected.retryAfter)).toBeGreaterThan(0)
        expect(Duration.toMillis(rejected.retryAfter)).toBeLessThanOrEqual(1_000)
        yield* Deferred.succeed(latch, undefined)
        yield* Fiber.join(probes)
        expect(yield* breaker.state).toBe("CLOSED")
      })))

    it.effect("HALF_OPEN: 10,000 concurrent fibers, exactly halfOpenMaxProbes run", () =>
      run(Effect.gen(function*() {
        const breaker = yield* openThenWait({ successThreshold: 3, halfOpenMaxProbes: 3 })
        const latch = yield* Deferred.make<void>()
        const ran = yield* Ref.make(0)
        const calls = yield* Effect.fork(
          Effect.forEach(
            Array.from({ length: 10_000 }),
            () => Effect.either(breaker.protect(Effect.zipRight(Ref.update(ran, (n) => n + 1), Deferred.await(latch)))),
            { concurrency: "unbounded" }
          )
        )
        yield* eventually(Effect.map(breaker.metrics, (m) => m.rejections === 9_997))
        expect(yield* Ref.get(ran)).toBe(3)
        yield* Deferred.succeed(latch, undefined)
        const results = yield* Fiber.join(calls)
        expect(results.filter(Either.isRight).length).toBe(3)
        expect(results.filter((r) => Either.isLeft(r) && r.left instanceof CircuitOpen).length).toBe(9_997)
        expect(yield* breaker.state).toBe("CLOSED")
      })))

    it.effect("HALF_OPEN: a lease whose holder never reports expires and the permit returns", () =>
      run(Effect.gen(function*() {
        const breaker = yield* openThenWait({ successThreshold: 1, halfOpenMaxProbes: 1, probeLease: "5 seconds" })
        const stuck = yield* Effect.fork(breaker.protect(Effect.never))
        yield* eventually(Effect.map(breaker.snapshot, (s) => s.probes === 1))
        expectOpenError(yield* Effect.either(breaker.protect(ok)))
        yield* TestClock.adjust("4999 millis")
        expectOpenError(yield* Effect.either(breaker.protect(ok)))
        yield* TestClock.adjust("1 millis")
        expect((yield* breaker.snapshot).probes).toBe(0)
        expect(yield* breaker.protect(ok)).toBe("ok")
        expect(yield* breaker.state).toBe("CLOSED")
        // the late holder reports nothing that matters
        yield* Fiber.interrupt(stuck)
        expect(yield* breaker.state).toBe("CLOSED")
      })))

    it.effect("HALF_OPEN: a probe reporting after its lease expired does not count", () =>
      run(Effect.gen(function*() {
        const breaker = yield* openThenWait({ successThreshold: 1, halfOpenMaxProbes: 1, probeLease: "5 seconds" })
        const fiber = yield* Effect.fork(breaker.protect(Effect.zipRight(Effect.sleep("6 seconds"), boom)))
        yield* adjustWhenSleeping("6 seconds")
        yield* Effect.either(Fiber.join(fiber))
        const snapshot = yield* breaker.snapshot
        expect(snapshot.state).toBe("HALF_OPEN")
        expect(snapshot.openCount).toBe(0)
      })))

    it.effect("HALF_OPEN: an interrupted probe returns its permit and counts as neither", () =>
      run(Effect.gen(function*() {
        const breaker = yield* openThenWait({ successThreshold: 2, halfOpenMaxProbes: 1 })
        yield* succeedTimes(breaker, 1)
        const fiber = yield* Effect.fork(breaker.protect(Effect.never))
        yield* eventually(Effect.map(breaker.snapshot, (s) => s.probes === 1))
        yield* Fiber.interrupt(fiber)
        const snapshot = yield* breaker.snapshot
        expect(snapshot.state).toBe("HALF_OPEN")
        expect(snapshot.probes).toBe(0)
        expect(snapshot.halfOpenSuccesses).toBe(1)
        expect(yield* breaker.protect(ok)).toBe("ok")
        expect(yield* breaker.state).toBe("CLOSED")
      })))

    // -----------------------------------------------------------------------
    // Backoff
    // -----------------------------------------------------------------------

    it.effect("backoff: 30 s, 60 s, 120 s, 240 s, then capped at 300 s (defaults, jitter sample 0.5)", () =>
      run(
        Effect.gen(function*() {
          const breaker = yield* make({ failureThreshold: 1, successThreshold: 1 })
          yield* failTimes(breaker, 1)
          const periods: Array<number> = []
          for (let i = 0; i < 6; i++) {
            const snapshot = yield* breaker.snapshot
            expect(snapshot.openCount).toBe(i)
            periods.push(snapshot.retryAt - snapshot.openedAt)
            yield* TestClock.adjust(Duration.millis(snapshot.retryAt - snapshot.openedAt))
            yield* failTimes(breaker, 1) // the probe fails: re-open with k + 1
          }
          expect(periods).toEqual([30_000, 60_000, 120_000, 240_000, 300_000, 300_000])
        }).pipe(Effect.withRandomFixed([0.5]))
      ))

    it.effect("backoff: each open period lies within the jitter band", () =>
      run(
        Effect.gen(function*() {
          const breaker = yield* make({ failureThreshold: 1, successThreshold: 1 })
          yield* failTimes(breaker, 1)
          const base = [30_000, 60_000, 120_000, 240_000, 300_000, 300_000]
          for (const expected of base) {
            const snapshot = yield* breaker.snapshot
            const period = snapshot.retryAt - snapshot.openedAt
            expect(period).toBeGreaterThanOrEqual(expected * 0.9 - 1)
            expect(period).toBeLessThanOrEqual(expected * 1.1)
            yield* TestClock.adjust(Duration.millis(period))
            yield* failTimes(breaker, 1)
          }
        }).pipe(Effect.withRandomFixed([0, 0.999999, 0.25, 0.75, 0.1, 0.9]))
      ))

    // -----------------------------------------------------------------------
    // isFailure, slow calls, the rate rule
    // -----------------------------------------------------------------------

    it.effect("isFailure: errors it excuses count as successes", () =>
      run(Effect.gen(function*() {
        const breaker = yield* make({
          failureThreshold: 2,
          isFailure: (error: unknown) => !(error instanceof NotFound)
        })
        for (let i = 0; i < 5; i++) yield* Effect.either(breaker.protect(Effect.fail(new NotFound("404"))))
        expect(yield* breaker.state).toBe("CLOSED")
        expect((yield* breaker.snapshot).failures).toBe(0)
        yield* failTimes(breaker, 2)
        expect(yield* breaker.state).toBe("OPEN")
      })))

    it.effect("slow calls count as failures, and still return their result", () =>
      run(Effect.gen(function*() {
        const breaker = yield* make({ failureThreshold: 2, slowCallDuration: "1 second" })
        const slow = breaker.protect(Effect.as(Effect.sleep("2 seconds"), "late"))
        const fast = breaker.protect(Effect.as(Effect.sleep("400 millis"), "fast"))
        const f1 = yield* Effect.fork(fast)
        yield* adjustWhenSleeping("400 millis")
        expect(yield* Fiber.join(f1)).toBe("fast")
        expect((yield* breaker.snapshot).failures).toBe(0)
        const f2 = yield* Effect.fork(slow)
        yield* adjustWhenSleeping("2 seconds")
        expect(yield* Fiber.join(f2)).toBe("late")
        expect((yield* breaker.snapshot).failures).toBe(1)
        const f3 = yield* Effect.fork(slow)
        yield* adjustWhenSleeping("2 seconds")
        expect(yield* Fiber.join(f3)).toBe("late")
        expect(yield* breaker.state).toBe("OPEN")
        expect((yield* breaker.metrics).slowCalls).toBe(2)
      })))

    it.effect("rate rule: opens when failures / calls reach the threshold once minimumCalls is met", () =>
      run(Effect.gen(function*() {
        const breaker = yield* make({ failureThreshold: 1000, failureRateThreshold: 0.5, minimumCalls: 10 })
        yield* failTimes(breaker, 4)
        yield* succeedTimes(breaker, 4)
        yield* failTimes(breaker, 1)
        // 5 of 9: above the rate, but below minimumCalls
        expect(yield* breaker.state).toBe("CLOSED")
        yield* succeedTimes(breaker, 1)
        expect(yield* breaker.state).toBe("CLOSED") // successes never trip
        yield* failTimes(breaker, 1)
        // 6 of 11
        expect(yield* breaker.state).toBe("OPEN")
      })))

    it.effect("rate rule: a rate below the threshold keeps it closed", () =>
      run(Effect.gen(function*() {
        const breaker = yield* make({ failureThreshold: 1000, failureRateThreshold: 0.5, minimumCalls: 10 })
        yield* succeedTimes(breaker, 12)
        yield* failTimes(breaker, 11)
        expect(yield* breaker.state).toBe("CLOSED")
        yield* failTimes(breaker, 1)
        expect(yield* breaker.state).toBe("OPEN")
      })))

    // -----------------------------------------------------------------------
    // Admin states
    // -----------------------------------------------------------------------

    it.effect("FORCED_OPEN rejects every call until reset", () =>
      run(Effect.gen(function*() {
        const breaker = yield* make()
        yield* breaker.forceOpen
        const error = expectOpenError(yield* Effect.either(breaker.protect(ok)))
        expect(error.state).toBe("FORCED_OPEN")
        yield* TestClock.adjust("1 hour")
        expectOpenError(yield* Effect.either(breaker.protect(ok)))
        expect((yield* breaker.health).status).toBe("unhealthy")
        yield* breaker.reset
        expect(yield* breaker.protect(ok)).toBe("ok")
      })))

    it.effect("FORCED_CLOSED runs every call, counts outcomes, never trips", () =>
      run(Effect.gen(function*() {
        const breaker = yield* make({ failureThreshold: 2 })
        yield* breaker.forceClose
        yield* failTimes(breaker, 10)
        expect(yield* breaker.state).toBe("FORCED_CLOSED")
        expect((yield* breaker.snapshot).failures).toBe(10)
        expect((yield* breaker.metrics).failures).toBe(10)
        expect(yield* breaker.protect(ok)).toBe("ok")
        yield* breaker.reset
        expect(yield* breaker.state).toBe("CLOSED")
        yield* failTimes(breaker, 2)
        expect(yield* breaker.state).toBe("OPEN")
      })))

    it.effect("reset returns an open circuit to CLOSED with an empty window and backoff", () =>
      run(Effect.gen(function*() {
        const breaker = yield* openThenWait({})
        yield* failTimes(breaker, 1) // probe fails: k = 1
        expect((yield* breaker.snapshot).openCount).toBe(1)
        yield* breaker.reset
        const snapshot = yield* breaker.snapshot
        expect(snapshot).toMatchObject({ state: "CLOSED", openCount: 0, failures: 0, calls: 0, probes: 0 })
        yield* failTimes(breaker, 1)
        const reopened = yield* breaker.snapshot
        expect(reopened.retryAt - reopened.openedAt).toBe(30_000)
      })))

    // -----------------------------------------------------------------------
    // Observability
    // -----------------------------------------------------------------------

    it.effect("stateChanges reports each transition this instance saw", () =>
      run(Effect.gen(function*() {
        const breaker = yield* openThenWait({ successThreshold: 1 }).pipe(
          Effect.tap((b) => b.reset)
        )
        const collected = yield* Effect.fork(Stream.runCollect(Stream.take(breaker.stateChanges, 3)))
        for (let i = 0; i < 5; i++) yield* Effect.yieldNow()
        yield* failTimes(breaker, 1)
        yield* TestClock.adjust("30 seconds")
        yield* succeedTimes(breaker, 1)
        const transitions = Chunk.toArray(yield* Fiber.join(collected))
        expect(transitions.map((t) => `${t.from}->${t.to}`)).toEqual([
          "CLOSED->OPEN",
          "OPEN->HALF_OPEN",
          "HALF_OPEN->CLOSED"
        ])
        expect(transitions[1].at).toBe(transitions[0].at + 30_000)
        expect(transitions.every((t) => t.service === "svc")).toBe(true)
      })))

    it.effect("health and metrics follow the state", () =>
      run(Effect.gen(function*() {
        const breaker = yield* make({ failureThreshold: 2, recoveryTimeout: "1 second", backoffJitter: 0 })
        yield* succeedTimes(breaker, 3)
        let health = yield* breaker.health
        expect(health).toMatchObject({ service: "svc", status: "healthy", state: "CLOSED" })
        expect(health.metrics).toMatchObject({ calls: 3, successes: 3, failures: 0, rejections: 0 })
        yield* failTimes(breaker, 3)
        health = yield* breaker.health
        expect(health).toMatchObject({ status: "unhealthy", state: "OPEN" })
        expect(health.metrics).toMatchObject({ calls: 5, failures: 2, rejections: 1, openCount: 0 })
        yield* TestClock.adjust("1 second")
        const latch = yield* Deferred.make<void>()
        const probe = yield* Effect.fork(breaker.protect(Deferred.await(latch)))
        yield* eventually(Effect.map(breaker.snapshot, (s) => s.probes === 1))
        health = yield* breaker.health
        expect(health).toMatchObject({ status: "degraded", state: "HALF_OPEN" })
        expect(health.metrics.probes).toBe(1)
        yield* Deferred.succeed(latch, undefined)
        yield* Fiber.join(probe)
      })))

    it.effect("breakers with the same name share one circuit; other names are independent", () =>
      run(Effect.gen(function*() {
        const a = yield* make({ failureThreshold: 2 }, "shared")
        const b = yield* make({ failureThreshold: 2 }, "shared")
        const other = yield* make({ failureThreshold: 2 }, "other")
        yield* failTimes(a, 1)
        yield* failTimes(b, 1)
        expect(yield* a.state).toBe("OPEN")
        expectOpenError(yield* Effect.either(b.protect(ok)))
        expect(yield* other.protect(ok)).toBe("ok")
      })))
  })
}

// ---------------------------------------------------------------------------
// API shape (store-independent: on the memory store, in the project that runs it)
// ---------------------------------------------------------------------------

if (backends.includes("memory"))
  describe("CircuitBreaker API", () => {
    const provide = Effect.provide(CircuitStore.layerMemory)

    it.effect("protect is data-first and data-last, and breaker.protect works unbound in pipe", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make("api")
        expect(yield* ok.pipe(CircuitBreaker.protect(breaker))).toBe("ok")
        expect(yield* CircuitBreaker.protect(ok, breaker)).toBe("ok")
        expect(yield* ok.pipe(breaker.protect)).toBe("ok")
        expect(CircuitBreaker.isCircuitBreaker(breaker)).toBe(true)
      }).pipe(provide))

    it.effect("protect by name takes the breaker from the CircuitBreakers registry", () =>
      Effect.gen(function*() {
        yield* Effect.either(boom.pipe(CircuitBreaker.protect("payments")))
        const error = yield* Effect.flip(ok.pipe(CircuitBreaker.protect("payments")))
        expect(error).toBeInstanceOf(CircuitOpen)
        expect(yield* CircuitBreaker.protect(ok, "other")).toBe("ok")
        const registry = yield* CircuitBreakers.CircuitBreakers
        const payments = yield* registry.get("payments")
        expect(payments.config.failureThreshold).toBe(1)
        expect((yield* registry.get("other")).config.failureThreshold).toBe(5)
        expect((yield* registry.all).map((b) => b.name).sort()).toEqual(["other", "payments"])
      }).pipe(
        Effect.provide(CircuitBreakers.layer({ circuits: { payments: { failureThreshold: 1 } } })),
        provide
      ))

    it.effect("the registry rejects a bad config when it is built", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(
          CircuitBreakers.make({ circuits: { payments: { backoffJitter: 2 } } })
        )
        expect(error.message).toContain("backoffJitter must be between 0 and 1")
      }).pipe(provide))

    it.effect("retrySchedule waits for retryAfter on CircuitOpen instead of hammering", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make("flaky", {
          failureThreshold: 1,
          successThreshold: 1,
          recoveryTimeout: "30 seconds",
          backoffJitter: 0
        })
        yield* failTimes(breaker, 1)
        const attempts = yield* Ref.make(0)
        const fiber = yield* Effect.fork(
          breaker.protect(Effect.as(Ref.update(attempts, (n) => n + 1), "recovered")).pipe(
            Effect.retry(
              CircuitBreaker.retrySchedule(Schedule.spaced("1 second").pipe(Schedule.intersect(Schedule.recurs(10))))
            )
          )
        )
        yield* TestClock.adjust("10 seconds")
        expect((yield* breaker.metrics).rejections).toBe(1) // no hammering
        yield* TestClock.adjust("20 seconds")
        expect(yield* Fiber.join(fiber)).toBe("recovered")
        expect(yield* Ref.get(attempts)).toBe(1)
        expect((yield* breaker.metrics).rejections).toBe(1)
      }).pipe(provide))

    it.effect("retrySchedule follows the caller's schedule for other errors", () =>
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make("retry-other", { failureThreshold: 100 })
        const attempts = yield* Ref.make(0)
        const fiber = yield* Effect.fork(
          breaker.protect(Effect.zipRight(Ref.update(attempts, (n) => n + 1), boom)).pipe(
            Effect.retry(
              CircuitBreaker.retrySchedule(Schedule.spaced("1 second").pipe(Schedule.intersect(Schedule.recurs(3))))
            )
          )
        )
        yield* TestClock.adjust("3 seconds")
        expect(yield* Effect.flip(Fiber.join(fiber))).toBeInstanceOf(Boom)
        expect(yield* Ref.get(attempts)).toBe(4)
      }).pipe(provide))
  })

// ---------------------------------------------------------------------------
// the local fallback's clock
// ---------------------------------------------------------------------------

/** A TCP port nothing listens on (bound once by the OS, then closed). */
const closedPort = Effect.promise(() =>
  new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { readonly port: number }
      server.close(() => resolve(port))
    })
  })
)

describe("the local fallback (store unavailable)", () => {
  it.scoped("runs on the breaker's clock: its open period follows the TestClock and the live clock is never read", () =>
    Effect.gen(function*() {
      // a Redis store whose server is not there: every store call fails at once (connection refused)
      const port = yield* closedPort
      const unavailable = RedisCircuitStore.layer({ prefix: "local-clock" }).pipe(
        Layer.provide(UpstashClient.layer({ url: `http://127.0.0.1:${port}`, token: Redacted.make("token") }))
      )
      // the clock of Effect's default services: what an effect run without the breaker's services reads
      const liveClock = Effect.runSync(Effect.clock)
      const liveReads = vi.spyOn(liveClock, "unsafeCurrentTimeMillis")
      yield* Effect.addFinalizer(() => Effect.sync(() => liveReads.mockRestore()))
      yield* TestClock.adjust("1 hour")

      const breaker = yield* CircuitBreaker.make("local-clock", {
        failureThreshold: 2,
        recoveryTimeout: "30 seconds",
        backoffJitter: 0,
        onStoreUnavailable: "local"
      }).pipe(Effect.provide(unavailable))
      yield* failTimes(breaker, 2)
      const opened = yield* breaker.snapshot
      expect(opened.state).toBe("OPEN")
      // on this test's own clock (an hour after its start), never the live clock's epoch time
      expect(opened.openedAt).toBe(3_600_000)
      expect(opened.retryAt).toBe(3_600_000 + 30_000)
      expect(yield* Effect.flip(breaker.protect(ok))).toBeInstanceOf(CircuitOpen)
      yield* TestClock.adjust("30 seconds")
      expect(yield* breaker.protect(ok)).toBe("ok")
      expect((yield* breaker.health).status).toBe("degraded")
      expect(liveReads).not.toHaveBeenCalled()
    }))
})

describe("test isolation", () => {
  it.effect("a test collected after the state-machine suite runs outside its layer, on a TestClock of its own", () =>
    Effect.gen(function*() {
      expect(Option.isNone(yield* Effect.serviceOption(FreshStore))).toBe(true)
      expect(yield* TestClock.currentTimeMillis).toBe(0)
    }))
})
