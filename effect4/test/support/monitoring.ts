/**
 * What the monitoring suites drive their circuits with: calls through the
 * breakers of the `CircuitBreakers` registry in context, by name.
 */
import * as Effect from "effect/Effect"
import * as CircuitBreakers from "../../src/CircuitBreakers.js"

/** `ok` successful calls on the breaker `name`, then `failed` failing ones. */
export const calls = (name: string, ok: number, failed: number) =>
  Effect.gen(function*() {
    const registry = yield* CircuitBreakers.CircuitBreakers
    const breaker = yield* registry.get(name)
    for (let i = 0; i < ok; i++) yield* breaker.protect(Effect.void)
    for (let i = 0; i < failed; i++) yield* Effect.result(breaker.protect(Effect.fail("boom")))
  })
