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
import * as Schedule from "effect/Schedule"
// modules that effect 4 does not have, read through the barrel (see internal/effect3.ts)
import * as Effect3 from "effect"
import type { CircuitConfig } from "./CircuitConfig.js"
import * as machine from "../../shared/breaker/machine.js"

/**
 * The backoff as an Effect `Schedule`: the n-th recurrence waits for the n-th
 * open period. Its output is the undelayed exponential duration.
 *
 * @example
 * ```ts
 * import { Backoff, CircuitConfig } from "effect-circuit-breaker-redis"
 * import { Effect, Either } from "effect"
 *
 * const config = Either.getOrThrow(CircuitConfig.decodeEither("api"))
 * const schedule = Backoff.schedule(config) // 30 s, 60 s, 120 s, 240 s, 300 s, ... ± 10 %
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const schedule = (
  config: Pick<CircuitConfig, "recoveryTimeout" | "maxRecoveryTimeout" | "backoffMultiplier" | "backoffJitter">
): Schedule.Schedule<Duration.Duration> => {
  const cap = Duration.millis(config.maxRecoveryTimeout)
  return Schedule.exponential(Duration.millis(config.recoveryTimeout), config.backoffMultiplier).pipe(
    Schedule.modifyDelay((_, delay) => Duration.min(delay, cap)),
    Schedule.jitteredWith({ min: 1 - config.backoffJitter, max: 1 + config.backoffJitter })
  )
}

/**
 * The open period after `k` consecutive re-opens for the jitter sample `u` in
 * [0, 1), in whole milliseconds. Pure: this is what the stores use.
 *
 * @since 0.1.0
 * @category getters
 */
export const openPeriod: (config: CircuitConfig, k: number, u: number) => number = machine.openPeriod

/**
 * The first `count` open periods of the schedule, without sleeping: the
 * schedule is stepped by hand, drawing jitter from the `Random` in context.
 *
 * @since 0.1.0
 * @category getters
 */
export const delays = (
  self: Schedule.Schedule<unknown>,
  count: number
): Effect.Effect<Array<Duration.Duration>> =>
  Effect.gen(function*() {
    let now = yield* Clock.currentTimeMillis
    let state = self.initial
    const result: Array<Duration.Duration> = []
    for (let i = 0; i < count; i++) {
      const [next, _, decision] = yield* self.step(now, undefined, state)
      if (Effect3.ScheduleDecision.isDone(decision)) break
      const start = Effect3.ScheduleIntervals.start(decision.intervals)
      result.push(Duration.millis(Math.max(0, start - now)))
      now = start
      state = next
    }
    return result
  })

/**
 * The `n`-th open period (0-based) of a schedule, without sleeping.
 *
 * @since 0.1.0
 * @category getters
 */
export const nth = (self: Schedule.Schedule<unknown>, n: number): Effect.Effect<Option.Option<Duration.Duration>> =>
  Effect.map(delays(self, n + 1), (all) => Option.fromNullable(all[n]))
