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
 * then is taken for lost and armed again.
 *
 * @internal
 */
import type * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type { CallTime } from "../../CircuitStore.js"
import { globalValue } from "../globalValue.js"

/**
 * How old (ms) a `recent` time may be while calls go on: what the
 * bookkeeping that uses it (idle eviction, the bucket of a success in the
 * window, the time of the last success) tolerates.
 *
 * @internal
 */
export const tick = 10

/**
 * The most uses of one clock read (see the module's doc): the staleness
 * bound when the timer is lost.
 *
 * @internal
 */
export const maxReuse = 256

/** @internal */
export class RecentTime implements CallTime {
  /** The last time read from the clock. */
  private last = 0
  /** Whether `last` is younger than `tick` (its timer has not fired yet). */
  private armed = false
  /** When the timer was armed. */
  private armedAt = 0
  /** Uses of `last` left before the clock is read again. */
  private reuse = 0
  /** The timer: made once, forked at each arming. */
  private readonly expire: Effect.Effect<void>

  constructor(readonly clock: Clock.Clock) {
    this.expire = Effect.andThen(
      clock.sleep(Duration.millis(tick)),
      Effect.sync(() => {
        this.armed = false
      })
    )
  }

  /** A time read at most `tick` ago: no clock read while the last one is young. */
  get recent(): number {
    return this.armed && --this.reuse > 0 ? this.last : this.now()
  }

  /** Reads the clock (and arms the timer if it is not armed, or was lost). */
  readonly now = (): number => {
    const now = this.clock.currentTimeMillisUnsafe()
    this.last = now
    this.reuse = maxReuse
    if (!this.armed || now - this.armedAt >= 2 * tick) {
      this.armed = true
      this.armedAt = now
      Effect.runFork(this.expire)
    }
    return now
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
