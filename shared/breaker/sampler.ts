/**
 * Which calls a breaker measures the duration of, when nothing needs every
 * call's: a seeded sampler, the same in every edition.
 *
 * @internal
 */

/**
 * Which calls have their duration measured, when nothing needs every
 * call's (no `slowCallDuration`): each of a breaker's first
 * `Sampler.everyFirst` calls, then a random one in `Sampler.oneIn` (the gap
 * to the next measured call is drawn from a geometric distribution, so the
 * choice is independent of the calls themselves and the latency histogram
 * is a uniform random sample of them). The generator (xorshift32) is seeded
 * from the edition's `Random` when the breaker is made.
 *
 * @internal
 */
export class Sampler {
  static readonly everyFirst = 100
  static readonly oneIn = 64
  private static readonly logKeep = Math.log(1 - 1 / Sampler.oneIn)
  /** Calls left until the next measured one (1: the next call is measured). */
  private left = 1
  private measured = 0
  private state: number
  constructor(seed: number) {
    this.state = (seed | 0) === 0 ? 0x9e3779b9 | 0 : seed | 0
  }

  /** Whether this call is measured. */
  next(): boolean {
    if (--this.left > 0) return false
    this.left = this.measured < Sampler.everyFirst ? (this.measured++, 1) : this.gap()
    return true
  }

  /** A geometric gap (at least 1) with mean `oneIn`. */
  private gap(): number {
    let x = this.state
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    this.state = x
    // in (0, 1]: never 0, whose log is -Infinity
    const u = ((x >>> 0) + 1) / 4294967296
    return 1 + Math.floor(Math.log(u) / Sampler.logKeep)
  }
}
