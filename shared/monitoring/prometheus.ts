/**
 * Prometheus text exposition (format 0.0.4) of the fleet's circuits and of
 * this instance's `circuit_breaker_*` metrics, given as plain samples (each
 * edition turns its metric registry's snapshot into `Sample`s).
 *
 * @internal
 */
import type { FleetRead, State } from "../model.js"

/** @internal */
export const contentType = "text/plain; version=0.0.4; charset=utf-8"

/**
 * The state as a number, in the `circuit_breaker_state` gauge and the
 * `circuit_breaker_fleet_state` family.
 *
 * @internal
 */
export const stateValue: Readonly<Record<State, number>> = {
  CLOSED: 0,
  HALF_OPEN: 1,
  OPEN: 2,
  FORCED_OPEN: 3,
  FORCED_CLOSED: 4
}

/**
 * One metric of this instance, with its labels: a counter or gauge value, or
 * a histogram's buckets (upper boundary, cumulative count), count and sum.
 *
 * @internal
 */
export type Sample =
  & {
    readonly name: string
    readonly help: string
    readonly labels: ReadonlyArray<readonly [string, string]>
  }
  & (
    | { readonly type: "counter" | "gauge"; readonly value: number }
    | {
      readonly type: "histogram"
      readonly buckets: ReadonlyArray<readonly [number, number]>
      readonly count: number
      readonly sum: number
    }
  )

const escapeLabel = (value: string): string => value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, "\\\"")

const escapeHelp = (value: string): string => value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")

const labels = (pairs: ReadonlyArray<readonly [string, string]>): string =>
  pairs.length === 0 ? "" : `{${pairs.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",")}}`

const number = (n: number): string =>
  Number.isNaN(n) ? "NaN" : n === Infinity ? "+Inf" : n === -Infinity ? "-Inf" : String(n)

/** A metric family: HELP and TYPE once, then its samples. */
class Family {
  readonly lines: Array<string> = []
  constructor(readonly name: string, readonly type: "gauge" | "counter" | "histogram", readonly help: string) {}
  sample(pairs: ReadonlyArray<readonly [string, string]>, value: number, suffix = ""): void {
    this.lines.push(`${this.name}${suffix}${labels(pairs)} ${number(value)}`)
  }
  render(): string {
    return [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.type}`, ...this.lines].join(
      "\n"
    )
  }
}

/** @internal */
export const render = (
  fleet: FleetRead,
  instance: ReadonlyArray<Sample>,
  perCircuit: "all" | "non-closed" | "none" = "all",
  ageMillis?: number
): string => {
  const families = new Map<string, Family>()
  const family = (name: string, type: Family["type"], help: string) => {
    let f = families.get(name)
    if (f === undefined) {
      f = new Family(name, type, help)
      families.set(name, f)
    }
    return f
  }

  // aggregates, whatever the size of the fleet
  const byState = new Map<string, number>(Object.keys(stateValue).map((state) => [state, 0]))
  for (const m of fleet.circuits) byState.set(m.state, (byState.get(m.state) ?? 0) + 1)
  const circuitsFamily = family("circuit_breaker_fleet_circuits", "gauge", "Circuits in the store, by state")
  for (const [state, count] of byState) circuitsFamily.sample([["state", state]], count)
  family(
    "circuit_breaker_fleet_read_complete",
    "gauge",
    "1 when every circuit in the store could be read for this scrape"
  )
    .sample([], fleet.complete ? 1 : 0)
  family(
    "circuit_breaker_fleet_unreadable",
    "gauge",
    "Circuits (or the registry) that could not be read for this scrape"
  )
    .sample([], fleet.unreadable)

  for (const m of fleet.circuits) {
    if (perCircuit === "none" || (perCircuit === "non-closed" && m.state === "CLOSED")) continue
    const circuit = [["circuit", m.name], ["service", m.service]] as const
    family(
      "circuit_breaker_fleet_state",
      "gauge",
      "Circuit state in the store: 0 CLOSED, 1 HALF_OPEN, 2 OPEN, 3 FORCED_OPEN, 4 FORCED_CLOSED"
    )
      .sample(circuit, stateValue[m.state])
    family("circuit_breaker_fleet_open_count", "gauge", "Consecutive re-opens of the circuit (the backoff exponent)")
      .sample(circuit, m.openCount)
    family("circuit_breaker_fleet_window_failures", "gauge", "Failures in the circuit's sliding window")
      .sample(circuit, m.windowFailures)
    family("circuit_breaker_fleet_window_calls", "gauge", "Calls in the circuit's sliding window")
      .sample(circuit, m.windowCalls)
    const calls = family(
      "circuit_breaker_fleet_calls",
      "gauge",
      "Calls by every instance within the metrics retention (metricsTtl), by outcome"
    )
    calls.sample([...circuit, ["outcome", "success"]], m.fleet.successes)
    calls.sample([...circuit, ["outcome", "failure"]], m.fleet.failures)
    calls.sample([...circuit, ["outcome", "rejected"]], m.fleet.rejections)
    calls.sample([...circuit, ["outcome", "probe"]], m.fleet.probes)
    family("circuit_breaker_fleet_opens", "gauge", "Times the circuit opened within the metrics retention (metricsTtl)")
      .sample(circuit, m.fleet.opens)
    family(
      "circuit_breaker_store_unavailable",
      "gauge",
      "1 while this instance runs the circuit locally because the store is unavailable"
    )
      .sample(circuit, m.storeUnavailable ? 1 : 0)
  }

  for (const sample of instance) {
    if (!sample.name.startsWith("circuit_breaker_")) continue
    const tags = sample.labels
    if (sample.type === "histogram") {
      const f = family(sample.name, "histogram", sample.help)
      for (const [boundary, count] of sample.buckets) f.sample([...tags, ["le", number(boundary)]], count, "_bucket")
      if (!sample.buckets.some(([boundary]) => boundary === Infinity)) {
        f.sample([...tags, ["le", "+Inf"]], sample.count, "_bucket")
      }
      f.sample(tags, sample.sum, "_sum")
      f.sample(tags, sample.count, "_count")
    } else {
      family(sample.name, sample.type, sample.help).sample(tags, sample.value)
    }
  }
  const age = ageMillis === undefined ? [] : [`# fleet read age: ${Math.round(ageMillis)} ms`]
  return [...age, ...[...families.values()].map((f) => f.render())].join("\n") + "\n"
}
