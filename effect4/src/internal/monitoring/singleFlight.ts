/**
 * Single flight by key, scoped to a layer.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as FiberMap from "effect/FiberMap"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
// modules that effect 3 does not have, read through the barrel (see internal/effect4.ts)
import * as Effect4 from "effect"

/**
 * `effect` runs on a fiber of a `FiberMap` under `key`, and whoever asks for
 * that key while it runs joins it. A caller that gives up leaves it running
 * for the others; the scope closing interrupts it; once it ends, the next
 * caller runs it again.
 *
 * @internal
 */
export const singleFlight = <A>(): Effect.Effect<
  (key: string, effect: Effect.Effect<A>) => Effect.Effect<A>,
  never,
  Scope.Scope
> =>
  Effect.gen(function*() {
    const fibers = yield* FiberMap.make<string, A, never>()
    // the look-up and the start as one step: no second fiber for a key between them
    const lock = yield* Effect4.Semaphore.make(1)
    return (key, effect) =>
      Effect.flatMap(
        lock.withPermits(1)(Effect.suspend(() => {
          const running = FiberMap.getUnsafe(fibers, key)
          return Option.isSome(running) ? Effect.succeed(running.value) : FiberMap.run(fibers, key, effect)
        })),
        Fiber.join
      )
  })
