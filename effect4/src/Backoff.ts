/**
 * The backoff of open periods: exponential by `backoffMultiplier`, capped at
 * `maxRecoveryTimeout`, jittered by `backoffJitter` through `Random`.
 *
 * The store computes the same sequence (`openPeriod`, and its Lua twin) from
 * the same parameters, with the jitter sample passed in by the caller.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"
// modules that effect 3 does not have, read through the barrel (see internal/effect4.ts)
import * as Effect4 from "effect"
import type { CircuitConfig } from "./CircuitConfig.js"
import * as machine from "../../shared/breaker/machine.js"

/**
 * The backoff as an Effect `Schedule`: the n-th recurrence waits for the n-th
 * open period. Its output is the undelayed exponential duration.
 *
 * @example
 * ```ts
 * import { Backoff, CircuitConfig } from "effect-circuit-breaker-redis"
 * import { Result } from "effect"
 *
 * const config = Result.getOrThrow(CircuitConfig.decodeEither("api"))
 * const schedule = Backoff.schedule(config) // 30 s, 60 s, 120 s, 240 s, 300 s, ... ± 10 %
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const schedule = (
  config: Pick<CircuitConfig, "recoveryTimeout" | "maxRecoveryTimeout" | "backoffMultiplier" | "backoffJitter">
): Schedule.Schedule<Duration.Duration> => {
  const cap = config.maxRecoveryTimeout
  const min = 1 - config.backoffJitter
  const max = 1 + config.backoffJitter
  // each delay is capped, then scaled by a factor drawn from `Random` in [min, max)
  return Schedule.exponential(Duration.millis(config.recoveryTimeout), config.backoffMultiplier).pipe(
    Schedule.modifyDelay(({ duration }) =>
      Effect.map(Random.next, (random) => {
        const millis = Math.min(Duration.toMillis(duration), cap)
        return Duration.millis(millis * min * (1 - random) + millis * max * random)
      })
    )
  )
}

/**
 * The open period after `k` consecutive re-opens for the jitter sample `u` in
 * [0, 1), in whole milliseconds. Pure: this is what the stores use.
 *
 * @example
 * ```ts
 * import { Backoff, CircuitConfig } from "effect-circuit-breaker-redis"
 * import { Result } from "effect"
 *
 * const config = Result.getOrThrow(CircuitConfig.decodeEither("api", { backoffJitter: 0 }))
 * const afterThirdReopen = Backoff.openPeriod(config, 3, 0.5) // milliseconds
 * ```
 *
 * @since 0.1.0
 * @category getters
 */
export const openPeriod: (config: CircuitConfig, k: number, u: number) => number = machine.openPeriod

/**
 * The first `count` open periods of the schedule, without sleeping: the
 * schedule is stepped by hand, drawing jitter from the `Random` in context.
 *
 * @example
 * ```ts
 * import { Backoff, CircuitConfig } from "effect-circuit-breaker-redis"
 * import { Effect, Result } from "effect"
 *
 * const config = Result.getOrThrow(CircuitConfig.decodeEither("api", { backoffJitter: 0 }))
 * const firstThree = Backoff.delays(Backoff.schedule(config), 3) // 30 s, 60 s, 120 s
 * ```
 *
 * @since 0.1.0
 * @category getters
 */
export const delays = (
  self: Schedule.Schedule<unknown>,
  count: number
): Effect.Effect<Array<Duration.Duration>> =>
  Effect.gen(function*() {
    const step = yield* Schedule.toStep(self)
    let now = yield* Clock.currentTimeMillis
    const result: Array<Duration.Duration> = []
    for (let i = 0; i < count; i++) {
      // a schedule that is done fails its step with `Cause.Done`
      const delay = yield* step(now, undefined).pipe(
        Effect.map(([_, delay]) => delay),
        Effect4.Pull.catchDone(() => Effect.succeed(undefined)),
        Effect.orDie
      )
      if (delay === undefined) break
      const millis = Math.max(0, Duration.toMillis(delay))
      result.push(Duration.millis(millis))
      now += millis
    }
    return result
  })

/**
 * The `n`-th open period (0-based) of a schedule, without sleeping.
 *
 * @example
 * ```ts
 * import { Backoff, CircuitConfig } from "effect-circuit-breaker-redis"
 * import { Effect, Option, Result } from "effect"
 *
 * const config = Result.getOrThrow(CircuitConfig.decodeEither("api", { backoffJitter: 0 }))
 * const second = Backoff.nth(Backoff.schedule(config), 1).pipe(Effect.map(Option.getOrUndefined))
 * ```
 *
 * @since 0.1.0
 * @category getters
 */
export const nth = (self: Schedule.Schedule<unknown>, n: number): Effect.Effect<Option.Option<Duration.Duration>> =>
  Effect.map(delays(self, n + 1), (all) => Option.fromNullishOr(all[n]))
