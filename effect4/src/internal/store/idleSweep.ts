/**
 * Eviction of what no call used for `idleTtl`, one sweep shared by the
 * `CircuitBreakers` registry, the memory store and the Redis store: the
 * option decoded (`idleTtlMillis`), and when a sweep is due (`IdleSweep`).
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { CircuitConfigError } from "../../CircuitConfig.js"

/**
 * How long something unused is kept by default: 10 minutes.
 *
 * @internal
 */
export const defaultIdleTtl = 10 * 60_000

/**
 * The `idleTtl` option decoded: a duration in milliseconds (`Infinity` keeps
 * everything), or a `CircuitConfigError` naming the bad value.
 *
 * @internal
 */
export const idleTtlMillis = <D extends Duration.Input | undefined>(
  owner: string,
  input: Duration.Input | undefined,
  fallback: D
): Effect.Effect<D extends undefined ? number | undefined : number, CircuitConfigError> =>
  Effect.suspend(() => {
    const chosen = input ?? fallback
    if (chosen === undefined) return Effect.succeed(undefined as never)
    const decoded = Duration.fromInput(chosen)
    const millis = Option.isSome(decoded) ? Duration.toMillis(decoded.value) : Number.NaN
    if (Number.isNaN(millis) || millis < 0 || (typeof chosen === "number" && chosen < 0)) {
      return Effect.fail(
        new CircuitConfigError({
          service: owner,
          issues: [
            `idleTtl must be a duration such as "10 minutes" or Duration.infinity (got ${String(chosen).slice(0, 40)})`
          ]
        })
      )
    }
    return Effect.succeed(millis as never)
  })

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
