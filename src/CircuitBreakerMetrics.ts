/**
 * Effect `Metric`s of every breaker, all named `circuit_breaker_*` and tagged
 * with `service`. They count what this instance did; the fleet's counts come
 * from `CircuitBreakerMonitoring`. The metrics of breakers made with
 * `CircuitBreaker.make` or named in a `CircuitBreakers` config (at most
 * `setMaxTaggedServices` services) live in Effect's global metric registry,
 * so any exporter reading it (OpenTelemetry) sees them; those of circuits
 * made on demand (one per tenant, say) are counted on their breakers and
 * exported by `snapshot` (the Prometheus route of `CircuitBreakerHttp`, the
 * CLI), so that the registry does not grow with every name.
 *
 * @example
 * ```ts
 * import { CircuitBreakerMetrics } from "effect-circuit-breaker-redis"
 * import { Effect, Metric } from "effect"
 *
 * const rejected = Metric.value(
 *   CircuitBreakerMetrics.calls.pipe(Metric.tagged("service", "payments"), Metric.tagged("outcome", "rejected"))
 * )
 * ```
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import type * as MetricHook from "effect/MetricHook"
import type * as MetricKey from "effect/MetricKey"
import type * as MetricPair from "effect/MetricPair"
import type * as MetricState from "effect/MetricState"
import * as MutableHashMap from "effect/MutableHashMap"
// modules that effect 4 does not have, read through the barrel (see internal/effect3.ts)
import * as Effect3 from "effect"
import type { State } from "./CircuitState.js"

const callsKey = Effect3.MetricKey.counter("circuit_breaker_calls_total", {
  description: "Calls through the circuit breaker, by outcome",
  incremental: true
})
const transitionsKey = Effect3.MetricKey.counter("circuit_breaker_transitions_total", {
  description: "State transitions seen by this instance",
  incremental: true
})
const stateKey = Effect3.MetricKey.gauge("circuit_breaker_state", {
  description: "Circuit state: 0 CLOSED, 1 HALF_OPEN, 2 OPEN, 3 FORCED_OPEN, 4 FORCED_CLOSED"
})
const latencyKey = Effect3.MetricKey.histogram(
  "circuit_breaker_call_duration_ms",
  Effect3.MetricBoundaries.fromIterable([1, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000]),
  "Duration of the calls that ran, in milliseconds"
)
const storeErrorsKey = Effect3.MetricKey.counter("circuit_breaker_store_errors_total", {
  description: "Circuit store operations that failed",
  incremental: true
})
const storeRoundTripsKey = Effect3.MetricKey.counter("circuit_breaker_store_round_trips_total", {
  description: "Round trips made to the circuit store",
  incremental: true
})
const clockSkewKey = Effect3.MetricKey.gauge("circuit_breaker_clock_skew_ms", {
  description: "Redis's clock minus this instance's, in milliseconds, as learned from Redis TIME"
})

/**
 * Redis's clock minus this instance's clock, in milliseconds, as the Redis
 * store last measured it (`timeSource: "server"`, the default). The store
 * runs on Redis's clock whatever this is; a large value says this machine's
 * clock is wrong.
 *
 * @since 0.1.0
 * @category metrics
 */
export const clockSkew = Metric.fromMetricKey(clockSkewKey)

/**
 * Calls by `outcome`: `success`, `failure` (slow calls included), `rejected`
 * (by an open circuit), `probe` (half-open probes let through).
 *
 * @since 0.1.0
 * @category metrics
 */
export const calls = Metric.fromMetricKey(callsKey)

/**
 * State transitions seen by this instance, tagged `from` and `to`.
 *
 * @since 0.1.0
 * @category metrics
 */
export const transitions = Metric.fromMetricKey(transitionsKey)

/**
 * The current state as a number: see `stateValue`.
 *
 * @since 0.1.0
 * @category metrics
 */
export const state = Metric.fromMetricKey(stateKey)

/**
 * Duration of the calls that ran, in milliseconds.
 *
 * @since 0.1.0
 * @category metrics
 */
export const latency = Metric.fromMetricKey(latencyKey)

/**
 * Store operations that failed (Redis unreachable, timed out, bad reply).
 *
 * @since 0.1.0
 * @category metrics
 */
export const storeErrors = Metric.fromMetricKey(storeErrorsKey)

/**
 * Round trips made to the store (Redis script calls).
 *
 * @since 0.1.0
 * @category metrics
 */
export const storeRoundTrips = Metric.fromMetricKey(storeRoundTripsKey)

/**
 * The number the `state` gauge shows for each state.
 *
 * @since 0.1.0
 * @category metrics
 */
export const stateValue: Readonly<Record<State, number>> = {
  CLOSED: 0,
  HALF_OPEN: 1,
  OPEN: 2,
  FORCED_OPEN: 3,
  FORCED_CLOSED: 4
}

type AnyHook = MetricHook.MetricHook<number, unknown>

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
   * while a breaker of the service is alive: exported by `snapshot`.
   */
  readonly local: Map<string, { deref(): Hooks | undefined }>
  /** The most services whose metrics go to Effect's global registry (see `setMaxTaggedServices`). */
  maxTagged: number
  readonly collected: FinalizationRegistry<string> | undefined
}

const services: Services = Effect3.GlobalValue.globalValue(Symbol.for("effect-circuit-breaker-redis/CircuitBreakerMetrics/services"), () => {
  const local = new Map<string, { deref(): Hooks | undefined }>()
  return {
    tagged: new Map(),
    local,
    maxTagged: 100,
    collected: typeof FinalizationRegistry === "function"
      ? new FinalizationRegistry<string>((service) => {
        if (local.get(service)?.deref() === undefined) local.delete(service)
      })
      : undefined
  }
})

/**
 * Where the runtime has no `WeakRef` (Cloudflare Workers without the
 * `enable_weak_ref` flag), locally counted services are held strongly, at
 * most this many (the oldest leaves the export first; its breakers go on
 * counting).
 */
const maxHeldWithoutWeakRef = 1_000
const weakRefs = typeof WeakRef === "function"
const refTo = (hooks: Hooks): { deref(): Hooks | undefined } => weakRefs ? new WeakRef(hooks) : { deref: () => hooks }

/** The latency histogram's bucket bounds, ascending (the last is +Infinity). */
const latencyBounds: ReadonlyArray<number> = [...latencyKey.keyType.boundaries.values].sort((a, b) => a - b)

/**
 * One service's latency histogram as a plain fixed-bucket array: an update
 * is a few comparisons and additions (a few ns), where an update of an Effect
 * histogram hook costs 20–30 ns on the hot path. Effect reads it at read time
 * through `hook`, which gives exactly the state an Effect histogram of the
 * same key would (`Metric.unsafeSnapshot`, OpenTelemetry, Prometheus).
 *
 * @internal
 */
export class Latency {
  private readonly buckets: Array<number> = latencyBounds.map(() => 0)
  private count = 0
  private sum = 0
  // as Effect's own histogram starts them
  private min = Number.MAX_VALUE
  private max = Number.MIN_VALUE
  private made: AnyHook | undefined = undefined

  update(value: number): void {
    let i = 0
    while (value > latencyBounds[i]!) i++
    this.buckets[i]!++
    this.count++
    this.sum += value
    if (value < this.min) this.min = value
    if (value > this.max) this.max = value
  }

  /** The histogram's state, as an Effect histogram of the same key would give it. */
  get state(): MetricState.MetricState.Histogram {
    let cumulated = 0
    const buckets = latencyBounds.map((bound, i): readonly [number, number] => [bound, cumulated += this.buckets[i]!])
    return Effect3.MetricState.histogram({ buckets, count: this.count, min: this.min, max: this.max, sum: this.sum })
  }

  /** The histogram as Effect's metric registry reads it (made when first asked for). */
  get hook(): MetricHook.MetricHook<number, MetricState.MetricState.Histogram> {
    return (this.made ??= Effect3.MetricHook.make({
      get: () => this.state,
      update: (value: number) => this.update(value),
      modify: (value: number) => this.update(value)
    })) as MetricHook.MetricHook<number, MetricState.MetricState.Histogram>
  }
}

/**
 * One service's count of something (call outcomes, transitions, store
 * errors and round trips) as a plain number (an update is an addition):
 * read through `hook` by Effect's metric registry for a service there, and
 * through `state` by `snapshot` for one counted locally.
 *
 * @internal
 */
export class Count {
  private value = 0
  private made: AnyHook | undefined = undefined
  update(value: number): void {
    this.value += value
  }
  /** The counter's state. */
  get state(): MetricState.MetricState.Counter<number> {
    return Effect3.MetricState.counter(this.value)
  }
  /**
   * The counter as Effect's metric registry reads it (made when first asked
   * for): as the counters of this module are `incremental`, an update below
   * zero through it is ignored.
   */
  get hook(): MetricHook.MetricHook<number, MetricState.MetricState.Counter<number>> {
    return (this.made ??= Effect3.MetricHook.make({
      get: () => this.state,
      update: (value: number) => value >= 0 && this.update(value),
      modify: (value: number) => value >= 0 && this.update(value)
    })) as MetricHook.MetricHook<number, MetricState.MetricState.Counter<number>>
  }
}

/** One service's state gauge as a plain number, as `Count` is. */
class Gauge {
  private value = 0
  update(value: number): void {
    this.value = value
  }
  get state(): MetricState.MetricState.Gauge<number> {
    return Effect3.MetricState.gauge(this.value)
  }
}

/** What the hot path updates: a `Count`, a `Latency`, or an Effect metric hook. */
interface Updater {
  update(value: number): void
}

/**
 * Puts `hook` into Effect's global metric registry under `key`, where the
 * registry would otherwise make a hook of its own on first use. The registry
 * has no public way to take a hook (its entries are a `MutableHashMap` in a
 * field): when that field is not there, or the key has a hook already, this
 * returns the registry's hook, which the caller then updates instead.
 */
const intoRegistry = (key: MetricKey.MetricKey.Untyped, hook: AnyHook): AnyHook => {
  const map = (Metric.globalMetricRegistry as unknown as { readonly map?: unknown }).map
  if (typeof map === "object" && map !== null && Symbol.for("effect/MutableHashMap") in map) {
    const entries = map as MutableHashMap.MutableHashMap<MetricKey.MetricKey.Untyped, AnyHook>
    const existing = MutableHashMap.get(entries, key)
    if (existing._tag === "Some") return existing.value
    MutableHashMap.set(entries, key, hook)
    return hook
  }
  return Metric.globalMetricRegistry.get(key as MetricKey.MetricKey.Histogram) as AnyHook
}

/** The tags of a call count, besides the service, by outcome (shared by every service). */
const outcomeTags = {
  success: ["outcome", "success"],
  failure: ["outcome", "failure"],
  rejected: ["outcome", "rejected"],
  probe: ["outcome", "probe"]
} as const satisfies Record<string, ReadonlyArray<string>>

const noTags: ReadonlyArray<string> = []

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
    let key = Effect3.MetricKey.tagged(this.key, "service", service)
    for (let i = 0; i < this.tags.length; i += 2) key = Effect3.MetricKey.tagged(key, this.tags[i]!, this.tags[i + 1]!)
    return Effect3.MetricPair.unsafeMake(key as any, this.metric.state as any)
  }
}

/**
 * The hooks of one service's metrics. Updating a hook directly costs a few
 * nanoseconds, where `Metric.increment` with tags looks the key up on every
 * call: this is what keeps the hot path of `protect` cheap.
 *
 * A service is either in Effect's global metric registry (`tagged`: every
 * key a registry entry, never removed) or counted locally: plain numbers
 * kept on this object (held by the service's breakers, gone with them), whose
 * keys and metric values `snapshot` makes when metrics are read.
 *
 * @internal
 */
export class Hooks {
  constructor(readonly service: string, readonly tagged: boolean) {}
  /** A locally counted service's metrics, for `snapshot`. */
  readonly locals: Array<LocalMetric> = []
  // made on first use: an idle breaker costs no registry entry
  private latencyUpdater: Updater | undefined
  private success: Updater | undefined
  private failure: Updater | undefined
  private rejected: Updater | undefined
  private probe: Updater | undefined
  private stateHook: Updater | undefined
  private storeErrorsHook: Updater | undefined
  private storeRoundTripsHook: Updater | undefined
  private transitionHooks: Map<string, Updater> | undefined

  /**
   * A metric this object keeps itself (a `Count`, a `Latency` or a `Gauge`):
   * for a tagged service, put into Effect's registry (unless the registry has
   * a hook of its own for the key already: then that one is updated; a gauge
   * is the registry's own); for a locally counted one, onto `locals`.
   */
  private plain(key: MetricKey.MetricKey.Untyped, tags: ReadonlyArray<string>, made: Count | Latency | Gauge): Updater {
    if (!this.tagged) {
      this.locals.push(new LocalMetric(key, tags, made))
      return made
    }
    let taggedKey = Effect3.MetricKey.tagged(key, "service", this.service)
    for (let i = 0; i < tags.length; i += 2) taggedKey = Effect3.MetricKey.tagged(taggedKey, tags[i]!, tags[i + 1]!)
    if (made instanceof Gauge) return Metric.globalMetricRegistry.get(taggedKey as MetricKey.MetricKey.Gauge<number>)
    const inRegistry = intoRegistry(taggedKey, made.hook as AnyHook)
    return inRegistry === made.hook ? made : inRegistry
  }

  /** The count of calls that ended with `outcome`. */
  call(outcome: "success" | "failure" | "rejected" | "probe"): Updater {
    const cached = this[outcome]
    if (cached !== undefined) return cached
    return (this[outcome] = this.plain(callsKey, outcomeTags[outcome], new Count()))
  }
  /** A success (the hot path: one field read, one addition). */
  succeeded(): void {
    ;(this.success ?? this.call("success")).update(1)
  }
  /** The latency histogram. */
  get latency(): Updater {
    return this.latencyUpdater ?? (this.latencyUpdater = this.plain(latencyKey, noTags, new Latency()))
  }
  get state(): Updater {
    return this.stateHook ?? (this.stateHook = this.plain(stateKey, noTags, new Gauge()))
  }
  get storeErrors(): Updater {
    return this.storeErrorsHook ?? (this.storeErrorsHook = this.plain(storeErrorsKey, noTags, new Count()))
  }
  get storeRoundTrips(): Updater {
    return this.storeRoundTripsHook ?? (this.storeRoundTripsHook = this.plain(storeRoundTripsKey, noTags, new Count()))
  }
  transition(from: State, to: State): void {
    const id = `${from}>${to}`
    if (this.transitionHooks === undefined) this.transitionHooks = new Map()
    let hook = this.transitionHooks.get(id)
    if (hook === undefined) {
      hook = this.plain(transitionsKey, ["from", from, "to", to], new Count())
      this.transitionHooks.set(id, hook)
    }
    hook.update(1)
  }
}

/**
 * The hooks of `service`. With `registry` (a breaker made by
 * `CircuitBreaker.make`, or named in a `CircuitBreakers` config), the
 * service's metrics go to Effect's global registry while fewer than
 * `maxTaggedServices` services do; otherwise (and for every circuit a
 * registry makes on demand: per-tenant names) they are counted on the
 * breaker and exported by `snapshot`. A service already in the registry stays
 * there.
 *
 * @internal
 */
export const hooksFor = (service: string, registry: boolean): Hooks => {
  const { collected, local, tagged } = services
  const known = tagged.get(service)
  if (known !== undefined) return known
  if (registry && tagged.size < services.maxTagged) {
    const hooks = new Hooks(service, true)
    tagged.set(service, hooks)
    return hooks
  }
  const live = local.get(service)?.deref()
  if (live !== undefined) return live
  const hooks = new Hooks(service, false)
  local.set(service, refTo(hooks))
  collected?.register(hooks, service)
  if (!weakRefs && local.size > maxHeldWithoutWeakRef) local.delete(local.keys().next().value!)
  return hooks
}

/**
 * Sets how many services, at most, have their metrics in Effect's global
 * metric registry (default 100). Every distinct tag set is a registry entry
 * that is never removed; the metrics of any other service are counted on its
 * breakers and exported by `snapshot` while a breaker of it is alive. Services
 * already in the registry stay there.
 *
 * @since 0.1.0
 * @category metrics
 */
export const setMaxTaggedServices = (max: number): void => {
  services.maxTagged = Math.max(0, Math.floor(max))
}

/**
 * Every `circuit_breaker_*` metric of this instance, as `Metric.snapshot`
 * gives them, plus those counted on live breakers rather than in Effect's
 * registry (see `hooksFor`): what the Prometheus route and the CLI export.
 *
 * @since 0.1.0
 * @category metrics
 */
export const unsafeSnapshot = (): Array<MetricPair.MetricPair.Untyped> => {
  const { local, tagged } = services
  const pairs = [...Metric.unsafeSnapshot()]
  for (const [service, ref] of local) {
    const hooks = ref.deref()
    if (hooks === undefined) {
      local.delete(service)
      continue
    }
    if (tagged.has(service)) continue
    for (const metric of hooks.locals) pairs.push(metric.pair(service))
  }
  return pairs
}

/**
 * `unsafeSnapshot` as an effect.
 *
 * @since 0.1.0
 * @category metrics
 */
export const snapshot: Effect.Effect<Array<MetricPair.MetricPair.Untyped>> = Effect.sync(unsafeSnapshot)

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
