/**
 * Test support: resources a whole file (or `describe` block) shares, written
 * as one scoped effect instead of a `beforeAll`/`afterAll` pair.
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import { afterAll, beforeAll } from "vitest"

/**
 * Runs `acquire` before the tests of the enclosing file or `describe` block,
 * in a scope closed after them (servers stop, bridges close, in reverse
 * order). `acquire` typically assigns the suite's variables:
 *
 * ```ts
 * let redis: RedisServer
 * beforeAllScoped(Effect.gen(function*() {
 *   redis = yield* redisServerScoped()
 * }))
 * ```
 */
export const beforeAllScoped = <E>(acquire: Effect.Effect<void, E, Scope.Scope>, timeoutMs = 60_000): void => {
  const scope = Effect.runSync(Scope.make())
  beforeAll(() => Effect.runPromise(Scope.extend(acquire, scope)), timeoutMs)
  afterAll(() => Effect.runPromise(Scope.close(scope, Exit.void)), timeoutMs)
}
