/**
 * Calls through the breakers of the `CircuitBreakers` registry in context, by name: what the
 * eviction suite drives its circuits with.
 */
import * as Effect from "effect/Effect"
import * as CircuitBreaker from "../../src/CircuitBreaker.js"
import * as CircuitBreakers from "../../src/CircuitBreakers.js"

const boom = Effect.fail(new Error("down"))

/** Touches `count` tenant circuits once each: one success, one failure. */
export const touchTenants = (base: string, count: number) =>
  Effect.forEach(Array.from({ length: count }, (_, i) => `${base}-${i}`), (name) =>
    Effect.andThen(
      Effect.succeed(1).pipe(CircuitBreaker.protect(name)),
      Effect.result(boom.pipe(CircuitBreaker.protect(name)))
    ), { discard: true })

/** A call on `name`, twice: the first notes the time, the second lets the registry sweep on it. */
export const tick = (name: string) =>
  Effect.andThen(
    Effect.succeed(1).pipe(CircuitBreaker.protect(name)),
    Effect.succeed(1).pipe(CircuitBreaker.protect(name))
  )

/** `ok` successful calls on the breaker `name`, then `failed` failing ones. */
export const calls = (name: string, ok: number, failed: number) =>
  Effect.gen(function*() {
    const breaker = yield* Effect.flatMap(CircuitBreakers.CircuitBreakers, (r) => r.get(name))
    for (let i = 0; i < ok; i++) yield* breaker.protect(Effect.void)
    for (let i = 0; i < failed; i++) yield* Effect.result(breaker.protect(Effect.fail("boom")))
  })
