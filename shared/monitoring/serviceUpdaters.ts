/**
 * The updaters one service's breakers update, each made on first use and
 * kept: an update is then one field read and one call. Which updater a
 * metric gets (a plain number counted on the breaker, or one registered in
 * a metric registry) is the edition's `updater`.
 *
 * @internal
 */

/**
 * What the hot path updates: a plain count, gauge or histogram, or a hook of
 * a metric registry.
 *
 * @internal
 */
export interface Updater {
  update(value: number): void
}

/**
 * The metrics a service's breakers update, by name.
 *
 * @internal
 */
export type MetricId = "calls" | "transitions" | "state" | "latency" | "storeErrors" | "storeRoundTrips"

/**
 * The outcomes a call is counted by.
 *
 * @internal
 */
export type Outcome = "success" | "failure" | "rejected" | "probe"

/** The tags of a call count, besides the service, by outcome (shared by every service). */
const outcomeTags = {
  success: ["outcome", "success"],
  failure: ["outcome", "failure"],
  rejected: ["outcome", "rejected"],
  probe: ["outcome", "probe"]
} as const satisfies Record<Outcome, ReadonlyArray<string>>

const noTags: ReadonlyArray<string> = []

/**
 * One service's updaters, made on first use (an idle breaker costs no
 * registry entry) by `updater`, and kept.
 *
 * @internal
 */
export abstract class ServiceUpdaters {
  private latencyUpdater: Updater | undefined
  private success: Updater | undefined
  private failure: Updater | undefined
  private rejected: Updater | undefined
  private probe: Updater | undefined
  private stateHook: Updater | undefined
  private storeErrorsHook: Updater | undefined
  private storeRoundTripsHook: Updater | undefined
  private transitionHooks: Map<string, Updater> | undefined

  /** The updater of `metric` with `tags` (`[name, value, …]`, besides the service). */
  protected abstract updater(metric: MetricId, tags: ReadonlyArray<string>): Updater

  /** The count of calls that ended with `outcome`. */
  call(outcome: Outcome): Updater {
    const cached = this[outcome]
    if (cached !== undefined) return cached
    return (this[outcome] = this.updater("calls", outcomeTags[outcome]))
  }
  /** A success (the hot path: one field read, one update). */
  succeeded(): void {
    ;(this.success ?? this.call("success")).update(1)
  }
  /** The latency histogram. */
  get latency(): Updater {
    return this.latencyUpdater ?? (this.latencyUpdater = this.updater("latency", noTags))
  }
  get state(): Updater {
    return this.stateHook ?? (this.stateHook = this.updater("state", noTags))
  }
  get storeErrors(): Updater {
    return this.storeErrorsHook ?? (this.storeErrorsHook = this.updater("storeErrors", noTags))
  }
  get storeRoundTrips(): Updater {
    return this.storeRoundTripsHook ?? (this.storeRoundTripsHook = this.updater("storeRoundTrips", noTags))
  }
  /** A transition from the state `from` to `to`. */
  transition(from: string, to: string): void {
    const id = `${from}>${to}`
    if (this.transitionHooks === undefined) this.transitionHooks = new Map()
    let hook = this.transitionHooks.get(id)
    if (hook === undefined) {
      hook = this.updater("transitions", ["from", from, "to", to])
      this.transitionHooks.set(id, hook)
    }
    hook.update(1)
  }
}
