/**
 * A recent time without a clock read per call: the last time read from a
 * clock, trusted until a one-shot timer on that same clock says it is older
 * than `tick`. The timer is armed by the first read after it fired, so
 * nothing runs while nothing is called, and no timer holds a process for
 * longer than one `tick`.
 *
 * A timer may also never fire: a platform can drop the timers of a request
 * that ended (an isolate of an Edge runtime) or freeze a process between
 * invocations (a serverless function). So the clock is read again at least
 * every `maxReuse` uses of the last time, and a timer that is overdue by
 * then is taken for lost and armed again.
 *
 * Each edition's `internal/breaker/recentTime.ts` reads its `Clock` and runs
 * the timer on it (so that a `TestClock` drives it).
 *
 * @internal
 */

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

/**
 * The recent time of one clock; an edition says how the clock is read
 * (`read`) and how a timer of `tick` ms is started on it (`arm`), whose end
 * calls `expired`.
 *
 * @internal
 */
export abstract class RecentClock {
  /** The last time read from the clock. */
  private last = 0
  /** Whether `last` is younger than `tick` (its timer has not fired yet). */
  private armed = false
  /** When the timer was armed. */
  private armedAt = 0
  /** Uses of `last` left before the clock is read again. */
  private reuse = 0

  /** The clock's time now, in ms. */
  protected abstract read(): number
  /** Starts a timer of `tick` ms on the clock, which calls `expired` when it fires. */
  protected abstract arm(): void

  /** The timer fired: the last time is `tick` old. */
  protected readonly expired = (): void => {
    this.armed = false
  }

  /** A time read at most `tick` ago: no clock read while the last one is young. */
  get recent(): number {
    return this.armed && --this.reuse > 0 ? this.last : this.now()
  }

  /** Reads the clock (and arms the timer if it is not armed, or was lost). */
  readonly now = (): number => {
    const now = this.read()
    this.last = now
    this.reuse = maxReuse
    if (!this.armed || now - this.armedAt >= 2 * tick) {
      this.armed = true
      this.armedAt = now
      this.arm()
    }
    return now
  }
}
