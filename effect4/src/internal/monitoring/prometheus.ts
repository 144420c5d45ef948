/**
 * Prometheus text of the fleet and of this instance's Effect metrics: the
 * metric registry's snapshots as the plain samples of
 * shared/monitoring/prometheus.ts, which writes the text.
 *
 * @internal
 */
import type * as Metric from "effect/Metric"
import type { FleetRead } from "../../../../shared/model.js"
import * as text from "../../../../shared/monitoring/prometheus.js"

/** @internal */
export const contentType = text.contentType

/**
 * Effect's metric snapshots as samples: histograms with their buckets,
 * counters and gauges; other kinds (frequencies, summaries) are left out.
 *
 * @internal
 */
export const samplesOf = (snapshots: ReadonlyArray<Metric.Metric.Snapshot>): Array<text.Sample> => {
  const samples: Array<text.Sample> = []
  for (const snapshot of snapshots) {
    const name = snapshot.id
    const labels = Object.entries(snapshot.attributes ?? {}).map(([key, value]) => [key, value] as const)
    const help = snapshot.description ?? name
    switch (snapshot.type) {
      case "Histogram": {
        const state = snapshot.state
        samples.push({
          name,
          help,
          labels,
          type: "histogram",
          buckets: state.buckets,
          count: state.count,
          sum: state.sum
        })
        break
      }
      case "Counter":
        samples.push({ name, help, labels, type: "counter", value: Number(snapshot.state.count) })
        break
      case "Gauge":
        samples.push({ name, help, labels, type: "gauge", value: Number(snapshot.state.value) })
        break
    }
  }
  return samples
}

/** @internal */
export const render = (
  fleet: FleetRead,
  instance: ReadonlyArray<Metric.Metric.Snapshot>,
  perCircuit: "all" | "non-closed" | "none" = "all",
  ageMillis?: number
): string => text.render(fleet, samplesOf(instance), perCircuit, ageMillis)
