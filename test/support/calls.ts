/**
 * Calls through the breakers of the `CircuitBreakers` registry in context, by name: what the
 * eviction and monitoring suites drive their circuits with.
 */
import * as Effect from "effect/Effect"
import { CircuitBreaker, CircuitBreakers } from "../../src/index.js"

const boom = Effect.fail(new Error("down"))

/** Touches `count` tenant circuits once each: one success, one failure. */
export const touchTenants = (base: string, count: number) =>
  Effect.forEach(Array.from({ length: count }, (_, i) => `${base}-${i}`), (name) =>
    Effect.zipRight(
      Effect.succeed(1).pipe(CircuitBreaker.protect(name)),
      Effect.either(boom.pipe(CircuitBreaker.protect(name)))
    ), { discard: true })

/** A call on `name`, twice: the first notes the time, the second lets the registry sweep on it. */
export const tick = (name: string) =>
  Effect.zipRight(
    Effect.succeed(1).pipe(CircuitBreaker.protect(name)),
    Effect.succeed(1).pipe(CircuitBreaker.protect(name))
  )

/** `ok` successful calls on the breaker `name`, then `failed` failing ones. */
export const calls = (name: string, ok: number, failed: number) =>
  Effect.gen(function*() {
    const breaker = yield* Effect.flatMap(CircuitBreakers.CircuitBreakers, (r) => r.get(name))
    for (let i = 0; i < ok; i++) yield* breaker.protect(Effect.void)
    for (let i = 0; i < failed; i++) yield* Effect.either(breaker.protect(Effect.fail("boom")))
  })
