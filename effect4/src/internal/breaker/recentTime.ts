/**
 * A recent time without a clock read per call (`RecentTime`, the breaker's
 * `CallTime`): the last time read from a `Clock`, trusted until a one-shot
 * timer on that same clock says it is older than `tick`. The timer is armed
 * by the first read after it fired, so nothing runs while nothing is called,
 * and no timer holds a process for longer than one `tick`. Under `TestClock`
 * the timer fires when the test moves time by `tick` or more.
 *
 * A timer may also never fire: a platform can drop the timers of a request
 * that ended (an isolate of an Edge runtime) or freeze a process between
 * invocations (a serverless function). So the clock is read again at least
 * every `maxReuse` uses of the last time, and a timer that is overdue by
 * then is taken for lost and armed again. The logic is
 * `shared/breaker/recentTime.ts`; this module runs it on a `Clock`.
 *
 * @internal
 */
import type * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type { CallTime } from "../../CircuitStore.js"
import { RecentClock, tick } from "../../../../shared/breaker/recentTime.js"
import { globalValue } from "../globalValue.js"

/** @internal */
export { maxReuse, tick } from "../../../../shared/breaker/recentTime.js"

/**
 * The recent time of a `Clock` (the breaker's `CallTime`): read with the
 * clock's own time, the timer a fiber sleeping on it.
 *
 * @internal
 */
export class RecentTime extends RecentClock implements CallTime {
  /** The timer: made once, forked at each arming. */
  private readonly expire: Effect.Effect<void>

  constructor(readonly clock: Clock.Clock) {
    super()
    this.expire = Effect.andThen(clock.sleep(Duration.millis(tick)), Effect.sync(this.expired))
  }

  protected read(): number {
    return this.clock.currentTimeMillisUnsafe()
  }

  protected arm(): void {
    Effect.runFork(this.expire)
  }
}

/** One `RecentTime` per clock (one timer for every breaker on it), held as long as the clock is. */
const byClock = globalValue(
  Symbol.for("effect-circuit-breaker-redis/RecentTime/byClock"),
  () => new WeakMap<Clock.Clock, RecentTime>()
)

/**
 * The `RecentTime` of `clock`, shared by every breaker made on it.
 *
 * @internal
 */
export const recentTimeOf = (clock: Clock.Clock): RecentTime => {
  let time = byClock.get(clock)
  if (time === undefined) {
    time = new RecentTime(clock)
    byClock.set(clock, time)
  }
  return time
}
