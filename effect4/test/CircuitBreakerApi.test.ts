/**
 * What the breaker's API has beyond the state machine (whose scenarios are in
 * StateMachine.test.ts): `protect`'s forms, the registry by name, `retrySchedule`, and the local
 * fallback's clock.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as TestClock from "effect/testing/TestClock"
import { createServer } from "node:net"
import { vi } from "vitest"
import * as CircuitBreaker from "../src/CircuitBreaker.js"
import { CircuitOpen } from "../src/CircuitBreakerError.js"
import * as CircuitBreakers from "../src/CircuitBreakers.js"
import * as CircuitStore from "../src/CircuitStore.js"
import * as RedisCircuitStore from "../src/RedisCircuitStore.js"
import { UpstashClient } from "../src/upstash.js"

class Boom extends Error {
  readonly _tag = "Boom"
}

const boom = Effect.fail(new Boom("boom"))
const ok = Effect.succeed("ok")

/** Runs `n` failing calls through the breaker, ignoring their errors. */
const failTimes = (breaker: CircuitBreaker.CircuitBreaker, n: number) =>
  Effect.forEach(Array.from({ length: n }), () => Effect.result(breaker.protect(boom)), { discard: true })

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
      yield* Effect.result(boom.pipe(CircuitBreaker.protect("payments")))
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
      const fiber = yield* Effect.forkChild(
        breaker.protect(Effect.as(Ref.update(attempts, (n) => n + 1), "recovered")).pipe(
          Effect.retry(
            CircuitBreaker.retrySchedule(Schedule.spaced("1 second").pipe(Schedule.upTo({ times: 10 })))
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
      const fiber = yield* Effect.forkChild(
        breaker.protect(Effect.andThen(Ref.update(attempts, (n) => n + 1), boom)).pipe(
          Effect.retry(
            CircuitBreaker.retrySchedule(Schedule.spaced("1 second").pipe(Schedule.upTo({ times: 3 })))
          )
        )
      )
      yield* TestClock.adjust("3 seconds")
      expect(yield* Effect.flip(Fiber.join(fiber))).toBeInstanceOf(Boom)
      expect(yield* Ref.get(attempts)).toBe(4)
    }).pipe(provide))
})

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
  it.effect("runs on the breaker's clock: its open period follows the TestClock and the live clock is never read", () =>
    Effect.gen(function*() {
      // a Redis store whose server is not there: every store call fails at once (connection refused)
      const port = yield* closedPort
      const unavailable = RedisCircuitStore.layer({ prefix: "local-clock" }).pipe(
        Layer.provide(UpstashClient.layer({ url: `http://127.0.0.1:${port}`, token: Redacted.make("token") }))
      )
      // the clock of Effect's default services: what an effect run without the breaker's services reads
      const liveClock = Effect.runSync(Clock.clockWith(Effect.succeed))
      const liveReads = vi.spyOn(liveClock, "currentTimeMillisUnsafe")
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
