/**
 * Eviction of what no call used for `idleTtl`, one sweep shared by the
 * `CircuitBreakers` registry, the memory store and the Redis store: when a
 * sweep is due (`IdleSweep`). The same in every edition.
 *
 * @internal
 */

/**
 * How long something unused is kept by default: 10 minutes.
 *
 * @internal
 */
export const defaultIdleTtl = 10 * 60_000

/**
 * When to sweep, driven by the callers' clock: no timer runs (an idle
 * process sleeps, and `TestClock` drives it). A use at `now` runs the sweep
 * once `next` is reached, and the next one is due `min(idleTtl, 1 minute)`
 * later. What a sweep drops is its owner's (`run`); `idle` is the test every
 * owner applies first. Made without a `start`, the first use starts the
 * clock and sweeps nothing.
 *
 * @internal
 */
export class IdleSweep {
  /** When the next sweep is due (the callers' clock). */
  next: number
  private readonly every: number
  private started: boolean
  constructor(
    readonly idleTtl: number,
    start: number | undefined,
    private readonly run: (now: number) => void
  ) {
    this.every = Math.max(1, Math.min(idleTtl, 60_000))
    this.started = start !== undefined
    this.next = start === undefined ? -Infinity : start + this.every
  }

  /** A use at `now`: sweeps when a sweep is due. */
  used(now: number): void {
    if (now >= this.next) this.sweep(now)
  }

  /** Sweeps at `now`; the next sweep is due one interval later. */
  sweep(now: number): void {
    this.next = now + this.every
    if (!this.started) {
      this.started = true
      return
    }
    this.run(now)
  }

  /** Whether something last used at `usedAt` has been unused for `idleTtl` at `now`. */
  idle(usedAt: number, now: number): boolean {
    return now - usedAt >= this.idleTtl
  }
}
