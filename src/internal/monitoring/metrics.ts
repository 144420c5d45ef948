/**
 * The metrics of every breaker: their keys, and where a service's metrics
 * are counted. A service named by `CircuitBreaker.make` or a
 * `CircuitBreakers` config (at most `maxTagged` services) updates the hooks
 * of Effect's global metric registry; any other (circuits made on demand, one
 * per tenant) counts on plain numbers held by its breakers, which
 * `unsafeSnapshot` turns into metric pairs when metrics are read.
 *
 * @internal
 */
import * as Metric from "effect/Metric"
import type * as MetricKey from "effect/MetricKey"
import type * as MetricPair from "effect/MetricPair"
import type * as MetricState from "effect/MetricState"
// modules that effect 4 does not have, read through the barrel (see internal/effect3.ts)
import * as Effect3 from "effect"
import { HistogramCounts } from "../../../shared/monitoring/histogram.js"
import * as names from "../../../shared/monitoring/metricNames.js"
import { LocalServices } from "../../../shared/monitoring/localServices.js"
import { type MetricId, ServiceUpdaters, type Updater } from "../../../shared/monitoring/serviceUpdaters.js"

/** A counter that only goes up (Prometheus `_total`). */
const counterKey = ({ help, name }: names.MetricName) =>
  Effect3.MetricKey.counter(name, { description: help, incremental: true })

/** @internal */
export const callsKey = counterKey(names.calls)
/** @internal */
export const transitionsKey = counterKey(names.transitions)
/** @internal */
export const stateKey = Effect3.MetricKey.gauge(names.state.name, { description: names.state.help })
/** @internal */
export const latencyKey = Effect3.MetricKey.histogram(
  names.latency.name,
  Effect3.MetricBoundaries.fromIterable(names.latencyBoundaries),
  names.latency.help
)
/** @internal */
export const storeErrorsKey = counterKey(names.storeErrors)
/** @internal */
export const storeRoundTripsKey = counterKey(names.storeRoundTrips)
/** @internal */
export const clockSkewKey = Effect3.MetricKey.gauge(names.clockSkew.name, { description: names.clockSkew.help })

/** The key of each metric a service's breakers update. */
const metricKeys: Record<MetricId, MetricKey.MetricKey.Untyped> = {
  calls: callsKey,
  transitions: transitionsKey,
  state: stateKey,
  latency: latencyKey,
  storeErrors: storeErrorsKey,
  storeRoundTrips: storeRoundTripsKey
}

/** @internal */
export { stateValue } from "../../../shared/monitoring/prometheus.js"

/**
 * Which services have their metrics where, for the whole process (one
 * registry per process, as Effect's own metric registry is): see `hooksFor`.
 */
interface Services {
  /**
   * Services whose metrics live in Effect's global registry, made once each.
   * Registry entries are never removed, so this map (and the registry) is
   * bounded by `maxTagged`.
   */
  readonly tagged: Map<string, Hooks>
  /**
   * Services whose metrics are counted on the breakers (not in the registry),
   * while a breaker of the service is alive: exported by `unsafeSnapshot`.
   */
  readonly local: LocalServices<Hooks>
  /** The most services whose metrics go to Effect's global registry (see `setMaxTaggedServices`). */
  maxTagged: number
}

const services: Services = Effect3.GlobalValue.globalValue(
  Symbol.for("effect-circuit-breaker-redis/CircuitBreakerMetrics/services"),
  () => ({ tagged: new Map(), local: new LocalServices<Hooks>(), maxTagged: 100 })
)

/** The latency histogram's bucket bounds, ascending (the last is +Infinity). */
const latencyBounds: ReadonlyArray<number> = [...latencyKey.keyType.boundaries.values].sort((a, b) => a - b)

/**
 * One locally counted service's latency histogram as a plain fixed-bucket
 * array (shared/monitoring/histogram.ts); `state` is exactly the state an
 * Effect histogram of the same key would have.
 *
 * @internal
 */
export class Latency {
  // Effect's own histogram starts its maximum at Number.MIN_VALUE
  private readonly counts = new HistogramCounts(latencyBounds, Number.MIN_VALUE)

  update(value: number): void {
    this.counts.update(value)
  }

  /** The histogram's state, as an Effect histogram of the same key would give it. */
  get state(): MetricState.MetricState.Histogram {
    const { count, max, min, sum } = this.counts
    return Effect3.MetricState.histogram({ buckets: this.counts.cumulative(), count, min, max, sum })
  }
}

/**
 * One locally counted service's count of something (call outcomes,
 * transitions, store errors and round trips) as a plain number.
 *
 * @internal
 */
export class Count {
  private value = 0
  update(value: number): void {
    this.value += value
  }
  /** The counter's state. */
  get state(): MetricState.MetricState.Counter<number> {
    return Effect3.MetricState.counter(this.value)
  }
}

/** One locally counted service's state gauge as a plain number, as `Count` is. */
class Gauge {
  private value = 0
  update(value: number): void {
    this.value = value
  }
  get state(): MetricState.MetricState.Gauge<number> {
    return Effect3.MetricState.gauge(this.value)
  }
}

/** `key` tagged with the service and `tags` (`[name, value, …]`). */
const taggedKey = (
  key: MetricKey.MetricKey.Untyped,
  service: string,
  tags: ReadonlyArray<string>
): MetricKey.MetricKey.Untyped => {
  let tagged = Effect3.MetricKey.tagged(key, "service", service)
  for (let i = 0; i < tags.length; i += 2) tagged = Effect3.MetricKey.tagged(tagged, tags[i]!, tags[i + 1]!)
  return tagged
}

/**
 * A metric of a locally counted service: its key without tags, its tags
 * besides the service (`[name, value, …]`), and its value. The tagged key is
 * made only when the metric is exported (`unsafeSnapshot`): a breaker that
 * ran calls holds no `MetricKey`.
 */
class LocalMetric {
  constructor(
    readonly key: MetricKey.MetricKey.Untyped,
    readonly tags: ReadonlyArray<string>,
    readonly metric: Count | Latency | Gauge
  ) {}
  pair(service: string): MetricPair.MetricPair.Untyped {
    return Effect3.MetricPair.unsafeMake(taggedKey(this.key, service, this.tags) as any, this.metric.state as any)
  }
}

/**
 * What one service's breakers update. Each updater is looked up once and
 * kept: an update is then one call on it, where `Metric.increment` with tags
 * looks the key up in the registry on every call.
 *
 * A service is either in Effect's global metric registry (`tagged`: the
 * updaters are the registry's own hooks, every key an entry never removed)
 * or counted locally: plain numbers kept on this object (held by the
 * service's breakers, gone with them), whose keys and metric values
 * `unsafeSnapshot` makes when metrics are read.
 *
 * @internal
 */
export class Hooks extends ServiceUpdaters {
  constructor(readonly service: string, readonly tagged: boolean) {
    super()
  }
  /** A locally counted service's metrics, for `unsafeSnapshot`. */
  readonly locals: Array<LocalMetric> = []

  /**
   * The updater of `metric` with `tags`: for a tagged service, the hook of
   * Effect's registry for the tagged key; for a locally counted one, a plain
   * number kept on `locals`.
   */
  protected updater(metric: MetricId, tags: ReadonlyArray<string>): Updater {
    const key = metricKeys[metric]
    if (!this.tagged) {
      const local = metric === "latency" ? new Latency() : metric === "state" ? new Gauge() : new Count()
      this.locals.push(new LocalMetric(key, tags, local))
      return local
    }
    return Metric.globalMetricRegistry.get(taggedKey(key, this.service, tags) as MetricKey.MetricKey.Counter<number>)
  }
}

/**
 * The hooks of `service`. With `registry` (a breaker made by
 * `CircuitBreaker.make`, or named in a `CircuitBreakers` config), the
 * service's metrics go to Effect's global registry while fewer than
 * `maxTagged` services do; otherwise (and for every circuit a registry makes
 * on demand: per-tenant names) they are counted on the breaker and exported
 * by `unsafeSnapshot`. A service already in the registry stays there.
 *
 * @internal
 */
export const hooksFor = (service: string, registry: boolean): Hooks => {
  const { local, tagged } = services
  const known = tagged.get(service)
  if (known !== undefined) return known
  if (registry && tagged.size < services.maxTagged) {
    const hooks = new Hooks(service, true)
    tagged.set(service, hooks)
    return hooks
  }
  const live = local.get(service)
  if (live !== undefined) return live
  const hooks = new Hooks(service, false)
  local.add(service, hooks)
  return hooks
}

/** @internal */
export const setMaxTaggedServices = (max: number): void => {
  services.maxTagged = Math.max(0, Math.floor(max))
}

/** @internal */
export const unsafeSnapshot = (): Array<MetricPair.MetricPair.Untyped> => {
  const { local, tagged } = services
  const pairs = [...Metric.unsafeSnapshot()]
  local.forEachLive((service, hooks) => {
    if (tagged.has(service)) return
    for (const metric of hooks.locals) pairs.push(metric.pair(service))
  })
  return pairs
}

/**
 * How many services have their metrics in Effect's registry, and how many
 * live ones are counted locally.
 *
 * @internal
 */
export const serviceCounts = (): { readonly tagged: number; readonly local: number } => ({
  tagged: services.tagged.size,
  local: services.local.size
})
