/**
 * Prometheus text of the fleet and of this instance's Effect metrics: the
 * metric registry's pairs as the plain samples of
 * shared/monitoring/prometheus.ts, which writes the text.
 *
 * @internal
 */
import type * as MetricPair from "effect/MetricPair"
import type { FleetRead } from "../../../../shared/model.js"
import * as text from "../../../../shared/monitoring/prometheus.js"

/** @internal */
export const contentType = text.contentType

/**
 * Effect's metric pairs as samples: histograms with their buckets, counters
 * (a state with a count) and gauges (a state with a value); other kinds are
 * left out.
 *
 * @internal
 */
export const samplesOf = (pairs: ReadonlyArray<MetricPair.MetricPair.Untyped>): Array<text.Sample> => {
  const samples: Array<text.Sample> = []
  for (const pair of pairs) {
    const key = pair.metricKey
    const name = key.name
    const labels = key.tags.map((label) => [label.key, label.value] as const)
    const help = key.description._tag === "Some" ? key.description.value : name
    const state = pair.metricState as any
    if ("buckets" in state) {
      samples.push({
        name,
        help,
        labels,
        type: "histogram",
        buckets: state.buckets,
        count: state.count,
        sum: state.sum
      })
    } else if ("count" in state) {
      samples.push({ name, help, labels, type: "counter", value: Number(state.count) })
    } else if ("value" in state) {
      samples.push({ name, help, labels, type: "gauge", value: Number(state.value) })
    }
  }
  return samples
}

/** @internal */
export const render = (
  fleet: FleetRead,
  instance: ReadonlyArray<MetricPair.MetricPair.Untyped>,
  perCircuit: "all" | "non-closed" | "none" = "all",
  ageMillis?: number
): string => text.render(fleet, samplesOf(instance), perCircuit, ageMillis)
