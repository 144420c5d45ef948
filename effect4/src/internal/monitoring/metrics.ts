/**
 * The metrics of every breaker: the `Metric`s, and where a service's metrics
 * are counted. Every service counts on plain numbers held by its `Hooks`. A
 * service named by `CircuitBreaker.make` or a `CircuitBreakers` config (at
 * most `maxTagged` services per metric registry) registers those numbers in
 * the `Metric.MetricRegistry` of the context its first breaker was made in
 * (`Metric.registerUnsafe`: the registry reads them when it is read); any
 * other (circuits made on demand, one per tenant) is exported by
 * `snapshotOf` alone, while a breaker of it is alive.
 *
 * @internal
 */
import * as Context from "effect/Context"
import * as Metric from "effect/Metric"
import { HistogramCounts } from "../../../../shared/monitoring/histogram.js"
import * as names from "../../../../shared/monitoring/metricNames.js"
import { LocalServices } from "../../../../shared/monitoring/localServices.js"
import { type MetricId, ServiceUpdaters, type Updater } from "../../../../shared/monitoring/serviceUpdaters.js"
import { globalValue } from "../globalValue.js"

/** A counter that only goes up (Prometheus `_total`). */
const counter = ({ help, name }: names.MetricName): Metric.Counter<number> =>
  Metric.counter(name, { description: help, incremental: true })

/** @internal */
export const calls = counter(names.calls)
/** @internal */
export const transitions = counter(names.transitions)
/** @internal */
export const state: Metric.Gauge<number> = Metric.gauge(names.state.name, { description: names.state.help })
/** The latency histogram's bucket bounds, ascending (the last is +Infinity). */
const latencyBounds: ReadonlyArray<number> = Metric.boundariesFromIterable(names.latencyBoundaries)
/** @internal */
export const latency: Metric.Histogram<number> = Metric.histogram(names.latency.name, {
  description: names.latency.help,
  boundaries: latencyBounds
})
/** @internal */
export const storeErrors = counter(names.storeErrors)
/** @internal */
export const storeRoundTrips = counter(names.storeRoundTrips)

/** The metric of each name a service's breakers update. */
const metrics: Record<MetricId, Metric.Metric<number, any>> = {
  calls,
  transitions,
  state,
  latency,
  storeErrors,
  storeRoundTrips
}

/** @internal */
export const clockSkew: Metric.Gauge<number> = Metric.gauge(names.clockSkew.name, {
  description: names.clockSkew.help
})

/** @internal */
export { stateValue } from "../../../../shared/monitoring/prometheus.js"

/**
 * Which services have their metrics where, for the whole process: see
 * `hooksFor`.
 */
interface Services {
  /**
   * Per metric registry, the services whose metrics are registered in it,
   * made once each. A registry keeps what is registered in it, so each map
   * is bounded by `maxTagged`.
   */
  readonly tagged: WeakMap<Metric.MetricRegistry, Map<string, Hooks>>
  /**
   * Services whose metrics are counted on the breakers (not registered),
   * while a breaker of the service is alive: exported by `snapshotOf`.
   */
  readonly local: LocalServices<Hooks>
  /** The most services whose metrics go to one metric registry (see `setMaxTaggedServices`). */
  maxTagged: number
}

const services: Services = globalValue(
  Symbol.for("effect-circuit-breaker-redis/CircuitBreakerMetrics/services"),
  () => ({ tagged: new WeakMap(), local: new LocalServices<Hooks>(), maxTagged: 100 })
)

/**
 * One service's latency histogram as a plain fixed-bucket array
 * (shared/monitoring/histogram.ts); `state` is exactly the state an Effect
 * histogram of the same boundaries would have.
 *
 * @internal
 */
export class Latency {
  // Effect's own histogram starts its maximum at -Number.MAX_VALUE
  private readonly counts = new HistogramCounts(latencyBounds, -Number.MAX_VALUE)

  update(value: number): void {
    this.counts.update(value)
  }

  /** The histogram's state, as an Effect histogram of the same boundaries would give it. */
  get state(): Metric.HistogramState {
    const { count, max, min, sum } = this.counts
    return { buckets: this.counts.cumulative(), count, min, max, sum }
  }
}

/**
 * One service's count of something (call outcomes, transitions, store
 * errors and round trips) as a plain number.
 *
 * @internal
 */
export class Count {
  private value = 0
  update(value: number): void {
    if (value >= 0) this.value += value
  }
  /** The counter's state. */
  get state(): Metric.CounterState<number> {
    return { count: this.value, incremental: true }
  }
}

/** One service's state gauge as a plain number, as `Count` is. */
class Gauge {
  private value = 0
  update(value: number): void {
    this.value = value
  }
  get state(): Metric.GaugeState<number> {
    return { value: this.value }
  }
}

/** The service and `tags` (`[name, value, …]`) as metric attributes. */
const attributesOf = (service: string, tags: ReadonlyArray<string>): Metric.Metric.AttributeSet => {
  const attributes: Record<string, string> = { service }
  for (let i = 0; i < tags.length; i += 2) attributes[tags[i]!] = tags[i + 1]!
  return attributes
}

/**
 * A metric of a service: the `Metric` without attributes, its attributes
 * besides the service (`[name, value, …]`), and its value. The snapshot is
 * made only when metrics are read.
 */
class LocalMetric {
  constructor(
    readonly metric: Metric.Metric<number, unknown>,
    readonly tags: ReadonlyArray<string>,
    readonly value: Count | Latency | Gauge
  ) {}
  snapshot(service: string): Metric.Metric.Snapshot {
    return {
      id: this.metric.id,
      type: this.metric.type,
      description: this.metric.description,
      attributes: attributesOf(service, this.tags),
      state: this.value.state
    } as Metric.Metric.Snapshot
  }
}

/**
 * What one service's breakers update. Each updater is made once and kept:
 * an update is then one call on a plain number, where `Metric.update` looks
 * the series up in the registry on every call.
 *
 * A service is either registered (`registry`: each of its metrics is
 * registered in that metric registry at its first use, read from these
 * numbers whenever the registry is read) or counted locally (held by the
 * service's breakers, gone with them), exported by `snapshotOf`.
 *
 * @internal
 */
export class Hooks extends ServiceUpdaters {
  constructor(
    readonly service: string,
    /** The context whose metric registry holds this service's metrics, or `undefined`. */
    readonly registry: Context.Context<never> | undefined
  ) {
    super()
  }
  /** A locally counted service's metrics, for `snapshotOf`. */
  readonly locals: Array<LocalMetric> = []

  /**
   * The updater of `metric` with `tags`: a plain number, registered in the
   * service's metric registry, or kept on `locals`.
   */
  protected updater(id: MetricId, tags: ReadonlyArray<string>): Updater {
    const metric = metrics[id] as Metric.Metric<number, unknown>
    const value = id === "latency" ? new Latency() : id === "state" ? new Gauge() : new Count()
    const registry = this.registry
    if (registry === undefined) {
      this.locals.push(new LocalMetric(metric, tags, value))
      return value
    }
    Metric.registerUnsafe(Metric.withAttributes(metric, attributesOf(this.service, tags)), registry, {
      get: () => value.state,
      update: (input) => value.update(input),
      modify: (input) => value.update(input)
    })
    return value
  }
}

/** The context of the default metric registry (the one a context that provides none reads). */
const defaultContext: Context.Context<never> = Context.empty()

/**
 * The hooks of `service`. With `registry` (a breaker made by
 * `CircuitBreaker.make`, or named in a `CircuitBreakers` config), the
 * service's metrics are registered in the metric registry of `context`
 * while fewer than `maxTagged` services are; otherwise (and for every
 * circuit a registry makes on demand: per-tenant names) they are counted on
 * the breaker and exported by `snapshotOf`. A service already registered in
 * that registry stays there.
 *
 * @internal
 */
export const hooksFor = (
  service: string,
  registry: boolean,
  context: Context.Context<never> = defaultContext
): Hooks => {
  const { local } = services
  if (registry) {
    const metricRegistry = Context.get(context, Metric.MetricRegistry)
    let tagged = services.tagged.get(metricRegistry)
    if (tagged === undefined) services.tagged.set(metricRegistry, tagged = new Map())
    const known = tagged.get(service)
    if (known !== undefined) return known
    if (tagged.size < services.maxTagged) {
      const hooks = new Hooks(service, context)
      tagged.set(service, hooks)
      return hooks
    }
  }
  const live = local.get(service)
  if (live !== undefined) return live
  const hooks = new Hooks(service, undefined)
  local.add(service, hooks)
  return hooks
}

/** @internal */
export const setMaxTaggedServices = (max: number): void => {
  services.maxTagged = Math.max(0, Math.floor(max))
}

/**
 * Every metric of the metric registry of `context`, plus those of the
 * services counted locally (not registered in it).
 *
 * @internal
 */
export const snapshotOf = (context: Context.Context<never>): Array<Metric.Metric.Snapshot> => {
  const { local } = services
  const tagged = services.tagged.get(Context.get(context, Metric.MetricRegistry))
  const snapshots = [...Metric.snapshotUnsafe(context)]
  local.forEachLive((service, hooks) => {
    if (tagged?.has(service) === true) return
    for (const metric of hooks.locals) snapshots.push(metric.snapshot(service))
  })
  return snapshots
}

/** `snapshotOf` the default metric registry. @internal */
export const unsafeSnapshot = (): Array<Metric.Metric.Snapshot> => snapshotOf(defaultContext)

/**
 * How many services have their metrics in the default metric registry, and
 * how many live ones are counted locally.
 *
 * @internal
 */
export const serviceCounts = (): { readonly tagged: number; readonly local: number } => ({
  tagged: services.tagged.get(Context.get(defaultContext, Metric.MetricRegistry))?.size ?? 0,
  local: services.local.size
})
