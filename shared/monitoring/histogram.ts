/**
 * A fixed-bucket histogram as plain numbers: what a breaker's latency is
 * counted on (an update is a few comparisons and additions). Each edition
 * turns it into the state of its own metric histogram.
 *
 * @internal
 */

/** @internal */
export class HistogramCounts {
  private readonly counts: Array<number>
  count = 0
  sum = 0
  min = Number.MAX_VALUE
  max: number

  /**
   * `bounds`: the buckets' upper bounds, ascending, the last +Infinity;
   * `initialMax`: the maximum before any update (as the edition's own
   * histogram starts it).
   */
  constructor(readonly bounds: ReadonlyArray<number>, initialMax: number) {
    this.counts = bounds.map(() => 0)
    this.max = initialMax
  }

  update(value: number): void {
    const bounds = this.bounds
    let i = 0
    while (value > bounds[i]!) i++
    this.counts[i]!++
    this.count++
    this.sum += value
    if (value < this.min) this.min = value
    if (value > this.max) this.max = value
  }

  /** Each bucket's upper bound with the count of values up to it. */
  cumulative(): Array<[number, number]> {
    let cumulated = 0
    return this.bounds.map((bound, i): [number, number] => [bound, cumulated += this.counts[i]!])
  }
}
