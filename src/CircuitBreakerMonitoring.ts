/**
 * Fleet-wide monitoring: every circuit the store knows (for Redis: created by
 * any instance), with its state and the fleet's counts, alerts, health, and
 * a reset of everything.
 *
 * @example
 * ```ts
 * import { CircuitBreakerMonitoring, CircuitBreakers, CircuitStore } from "effect-circuit-breaker-redis"
 * import { Effect, Layer } from "effect"
 *
 * const Monitoring = CircuitBreakerMonitoring.layer().pipe(
 *   Layer.provideMerge(CircuitBreakers.layer()),
 *   Layer.provideMerge(CircuitStore.layerMemory)
 * )
 *
 * const report = Effect.gen(function*() {
 *   const monitoring = yield* CircuitBreakerMonitoring.CircuitBreakerMonitoring
 *   const health = yield* monitoring.health // { overall, services, timestamp }
 *   const alerts = yield* monitoring.getAlerts
 * }).pipe(Effect.provide(Monitoring))
 * ```
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
// modules that effect 4 does not have, read through the barrel (see internal/effect3.ts)
import * as Effect3 from "effect"
import type { Health, HealthStatus, Metrics } from "./CircuitBreaker.js"
import { CircuitBreakers } from "./CircuitBreakers.js"
import * as CircuitConfig from "./CircuitConfig.js"
import type { Snapshot, State } from "./CircuitState.js"
import { CircuitStore, type FleetCounts, type Inspected } from "./CircuitStore.js"
import { instanceIdOfProcess, type Internal, internalOf, statusOf } from "./internal/breaker/circuitBreaker.js"
import { decoder, durationMillis, withDefault } from "./internal/breaker/configSchema.js"

/**
 * One circuit as the fleet sees it.
 *
 * @since 0.1.0
 * @category models
 */
export interface CircuitMetrics {
  /** The circuit's name (its key in the store). */
  readonly name: string
  readonly service: string
  readonly state: State
  readonly status: HealthStatus
  /** Failures and calls in the circuit's sliding window. */
  readonly windowFailures: number
  readonly windowCalls: number
  /** Consecutive re-opens (the backoff exponent). */
  readonly openCount: number
  /** When an OPEN circuit lets its first probe through (epoch ms), else null. */
  readonly retryAt: number | null
  readonly lastTransitionAt: number | null
  /** What every instance did with it (within `metricsTtl` for Redis). */
  readonly fleet: FleetCounts & {
    readonly calls: number
    /** failures / calls, or null with no calls. */
    readonly failureRate: number | null
  }
  /** This instance's own counts, when it has a breaker for the circuit. */
  readonly instance: Metrics | null
  /** True while this instance runs the circuit on its local fallback (store unavailable). */
  readonly storeUnavailable: boolean
}

/**
 * @since 0.1.0
 * @category models
 */
export type AlertSeverity = "critical" | "warning"

/**
 * @since 0.1.0
 * @category models
 */
export interface Alert {
  /** `store-unreadable`: the read could not see every circuit (its `service` is `"*"`). */
  readonly kind: "open" | "forced-open" | "failure-rate" | "flapping" | "store-unavailable" | "store-unreadable"
  readonly severity: AlertSeverity
  readonly service: string
  readonly message: string
  /** Since when the condition holds, epoch ms (for a rate: the read time). */
  readonly since: number
}

/**
 * A health status, or `unknown`: the store could not be read (entirely or in
 * part), so nothing says the fleet is healthy.
 *
 * @since 0.1.0
 * @category models
 */
export type OverallStatus = HealthStatus | "unknown"

/**
 * @since 0.1.0
 * @category models
 */
export interface OverallHealth {
  /**
   * `unhealthy` when any circuit read is OPEN or FORCED_OPEN; else `unknown`
   * when the read was not complete; else `degraded` when any circuit is
   * HALF_OPEN or running locally because the store is unavailable; else
   * `healthy` (also with no circuits, after a complete read).
   */
  readonly overall: OverallStatus
  /** Whether every circuit the store knows was read. */
  readonly complete: boolean
  /** Circuits that could not be read (the registry itself counts as one when it cannot be read). */
  readonly unreadable: number
  /** Why the read is not complete, or null. */
  readonly reason: string | null
  /** By circuit name (an object without prototype: any name, `__proto__` too, is an own key). */
  readonly services: Readonly<Record<string, Pick<Health, "status" | "state" | "metrics">>>
  readonly timestamp: number
}

/**
 * Filters and paging for `read`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ReadOptions {
  /** Only circuits in these states. */
  readonly state?: ReadonlyArray<State> | undefined
  /** Only circuits whose name starts with this. */
  readonly prefix?: string | undefined
  /** At most this many circuits (by name order), from `cursor` on. */
  readonly limit?: number | undefined
  /** The `nextCursor` of the previous page. */
  readonly cursor?: string | undefined
}

/**
 * One read of the fleet's circuits: what could be read, and whether that is
 * everything.
 *
 * @since 0.1.0
 * @category models
 */
export interface FleetRead {
  /** The circuits read, in name order, filtered and paged. */
  readonly circuits: ReadonlyArray<CircuitMetrics>
  /** Circuits that match the filters: all pages (with a `state` filter, from the cursor on). */
  readonly total: number
  /** Where the next page starts, or null on the last one. */
  readonly nextCursor: string | null
  readonly complete: boolean
  readonly unreadable: number
  readonly reason: string | null
}

/**
 * One read of every circuit, shared: the HTTP routes answer from it, whatever
 * their filters, cursors and limits. A new one is read at most once per
 * `snapshotTtl`; requests that arrive while it is read wait for that read.
 *
 * @since 0.1.0
 * @category models
 */
export interface FleetSnapshot {
  /** When the read began (epoch ms): an answer's age is measured from it. */
  readonly takenAt: number
  /** The circuits, filtered and paged as `read` does it, from this snapshot. */
  readonly read: (options?: ReadOptions) => FleetRead
  /** Every circuit, by name (as `getAllMetrics`). */
  readonly metrics: Readonly<Record<string, CircuitMetrics>>
  /** The alerts (as `getAlerts`). */
  readonly alerts: ReadonlyArray<Alert>
  /** The fleet's health (as `health`); its `timestamp` is `takenAt`. */
  readonly health: OverallHealth
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ResetResult {
  readonly service: string
  readonly success: boolean
  readonly error?: string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Alert when the fleet's failure rate reaches this fraction (default 0.5)… */
  readonly failureRateAlert?: number | undefined
  /** …over at least this many calls (default 20). */
  readonly failureRateMinimumCalls?: number | undefined
  /** Alert as flapping after this many consecutive re-opens (default 3). */
  readonly flappingReopens?: number | undefined
  /** The config used to read circuits this instance has no breaker for. */
  readonly defaults?: CircuitConfig.Input | undefined
  /**
   * How long one `snapshot` serves every request (default 1 second): any
   * number of requests costs the store at most one fleet read per interval.
   * `0` reads again for each request that does not find a read in flight.
   */
  readonly snapshotTtl?: Duration.DurationInput | undefined
}

/**
 * The monitoring service.
 *
 * @since 0.1.0
 * @category tags
 */
export class CircuitBreakerMonitoring extends Context.Tag("effect-circuit-breaker-redis/CircuitBreakerMonitoring")<
  CircuitBreakerMonitoring,
  {
    /**
     * Every circuit known to the store, by name. While the store is
     * unavailable: this instance's circuits, from their local fallback.
     */
    readonly getAllMetrics: Effect.Effect<Readonly<Record<string, CircuitMetrics>>>
    /**
     * The circuits, filtered and paged, with whether the read is complete:
     * a circuit that cannot be read (after retries) is counted in
     * `unreadable`, never left out silently.
     */
    readonly read: (options?: ReadOptions) => Effect.Effect<FleetRead>
    /** Alerts of every circuit, and `store-unreadable` when the read was not complete. */
    readonly getAlerts: Effect.Effect<ReadonlyArray<Alert>>
    /** Resets every circuit known to the store; one result per circuit. */
    readonly resetAll: Effect.Effect<ReadonlyArray<ResetResult>>
    readonly health: Effect.Effect<OverallHealth>
    /**
     * The shared snapshot of the fleet (what the HTTP routes answer from):
     * read again once it is older than `snapshotTtl`; callers that come while
     * it is read wait for that one read.
     */
    readonly snapshot: Effect.Effect<FleetSnapshot>
    /** Drops the snapshot: the next `snapshot` reads the store (after an admin action). */
    readonly invalidate: Effect.Effect<void>
  }
>() {}

/**
 * The alerts for one circuit (the rules of `getAlerts`).
 *
 * @since 0.1.0
 * @category alerts
 */
export const alertsFor = (metrics: CircuitMetrics, now: number, options: Options = {}): Array<Alert> => {
  const alerts: Array<Alert> = []
  const service = metrics.service
  const since = metrics.lastTransitionAt ?? now
  if (metrics.state === "OPEN") {
    alerts.push({
      kind: "open",
      severity: "critical",
      service,
      message: `circuit ${JSON.stringify(service)} is OPEN${
        metrics.openCount === 0 ? "" : ` (re-opened ${times(metrics.openCount)} without closing)`
      }`,
      since
    })
  } else if (metrics.state === "FORCED_OPEN") {
    alerts.push({
      kind: "forced-open",
      severity: "warning",
      service,
      message: `circuit ${JSON.stringify(service)} is held open by an operator`,
      since
    })
  }
  const rate = metrics.fleet.failureRate
  const threshold = options.failureRateAlert ?? 0.5
  if (rate !== null && metrics.fleet.calls >= (options.failureRateMinimumCalls ?? 20) && rate >= threshold) {
    alerts.push({
      kind: "failure-rate",
      severity: "warning",
      service,
      message: `failure rate of ${JSON.stringify(service)} is ${(rate * 100).toFixed(1)}% over ${metrics.fleet.calls} calls`,
      since: now
    })
  }
  if (metrics.openCount >= (options.flappingReopens ?? 3)) {
    alerts.push({
      kind: "flapping",
      severity: "warning",
      service,
      message: `circuit ${JSON.stringify(service)} re-opened ${times(metrics.openCount)} without closing`,
      since
    })
  }
  if (metrics.storeUnavailable) {
    alerts.push({
      kind: "store-unavailable",
      severity: "critical",
      service,
      message: `the circuit store is unavailable: ${JSON.stringify(service)} runs on this instance's local breaker`,
      since: now
    })
  }
  return alerts
}

const times = (n: number) => (n === 1 ? "once" : `${n} times`)

const decodeOptions = decoder(Schema.Struct({ snapshotTtl: withDefault(durationMillis({ infinite: false }), 1_000) }))

/**
 * Makes the service. Needs the store and the `CircuitBreakers` registry (for
 * the configs and local counts of this instance's breakers); its reads run
 * within the scope (closing it stops them).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options = {}
): Effect.Effect<
  CircuitBreakerMonitoring["Type"],
  CircuitConfig.CircuitConfigError,
  CircuitStore | CircuitBreakers | Scope.Scope
> =>
  Effect.gen(function*() {
    const store = yield* CircuitStore
    const registry = yield* CircuitBreakers
    const scope = yield* Effect.scope
    // decoded once: a circuit with no breaker here is read with this config and its own name
    const defaultConfig = yield* CircuitConfig.decode("defaults", options.defaults ?? {})
    const decodedOptions = decodeOptions({ snapshotTtl: options.snapshotTtl })
    if (Effect3.Either.isLeft(decodedOptions)) {
      return yield* new CircuitConfig.CircuitConfigError({ service: "CircuitBreakerMonitoring", issues: decodedOptions.left })
    }
    const snapshotTtl = decodedOptions.right.snapshotTtl
    const instanceId = yield* instanceIdOfProcess

    /** Every known circuit, with this instance's breaker for it if any; and why the list may be short. */
    const circuits = Effect.gen(function*() {
      // while the store is unavailable, this instance's own circuits are still reported
      const listed = yield* Effect.either(Effect.retry(store.names, retryRead))
      const names = Effect3.Either.isRight(listed) ? listed.right : []
      const local = new Map<string, Internal>()
      for (const breaker of yield* registry.all) {
        const internal = internalOf(breaker)
        if (internal !== undefined) local.set(breaker.name, internal)
      }
      const all = [...new Set([...names, ...local.keys()])].sort()
      const result: Array<Known> = []
      for (const name of all) {
        const breaker = local.get(name)
        if (breaker !== undefined) result.push({ name, breaker })
        // (a name no breaker could have made is left out)
        else if (CircuitConfig.serviceNameProblem(name) === undefined) result.push({ name, breaker: undefined })
      }
      return { circuits: result, listError: Effect3.Either.isLeft(listed) ? listed.left.reason : null }
    })

    /** A circuit's state and fleet counts: through this instance's breaker, or with the defaults and its name. */
    const readCircuit = ({ breaker, name }: Known, now: number) =>
      breaker !== undefined
        ? breaker.circuit.fleet(now)
        : store.inspect(name, { ...defaultConfig, serviceName: name }, now)

    /** A circuit the store or this instance knows, with this instance's breaker for it if any. */
    interface Known {
      readonly name: string
      readonly breaker: Internal | undefined
    }

    interface ReadResult {
      readonly name: string
      readonly metrics: CircuitMetrics | undefined
      readonly error: string | null
      /** Its state is gone (expired): not part of the fleet any more. */
      readonly missing: boolean
    }

    const readOne = (now: number, known: Known): Effect.Effect<ReadResult> =>
      Effect.gen(function*() {
        const { breaker, name } = known
        // a blip does not drop the circuit: a few retries within the read
        const read = yield* Effect.either(Effect.retry(readCircuit(known, now), retryRead))
        if (Effect3.Either.isLeft(read) && breaker === undefined) {
          return { name, metrics: undefined, error: read.left.reason, missing: false }
        }
        const [snapshot, fleet] = Effect3.Either.isRight(read)
          ? read.right
          : [yield* breaker!.localSnapshot(now), { successes: 0, failures: 0, rejections: 0, probes: 0, opens: 0 }] as const
        if (breaker !== undefined && Effect3.Either.isRight(read)) breaker.observe(snapshot.state, snapshot.version, now)
        const metrics = metricsOf(name, breaker, snapshot, fleet, Effect3.Either.isLeft(read))
        return { name, metrics, error: Effect3.Either.isLeft(read) ? read.left.reason : null, missing: false }
      })

    /** What monitoring says of a circuit, from what was read (or, when the store could not be read, known locally). */
    const metricsOf = (
      name: string,
      breaker: Internal | undefined,
      snapshot: Snapshot,
      fleet: FleetCounts,
      unread: boolean
    ): CircuitMetrics => {
      const instance = breaker === undefined ? null : breaker.metricsFrom(snapshot)
      const storeUnavailable = unread || (breaker?.degraded ?? false)
      const calls = fleet.successes + fleet.failures
      return {
        name,
        service: breaker?.config.serviceName ?? name,
        state: snapshot.state,
        status: statusOf(snapshot.state, storeUnavailable),
        windowFailures: snapshot.failures,
        windowCalls: snapshot.calls,
        openCount: snapshot.openCount,
        retryAt: snapshot.state === "OPEN" ? snapshot.retryAt : null,
        lastTransitionAt: snapshot.changedAt > 0 ? snapshot.changedAt : null,
        fleet: {
          successes: fleet.successes,
          failures: fleet.failures,
          rejections: fleet.rejections,
          probes: fleet.probes,
          opens: fleet.opens,
          calls,
          failureRate: calls === 0 ? null : fleet.failures / calls
        },
        instance,
        storeUnavailable
      }
    }

    /** One pass over the store: the circuits from `cursor` on (or only a page of `page` of them), each read or not. */
    interface Scan {
      readonly candidates: number
      readonly afterCursor: number
      readonly results: ReadonlyArray<ReadResult>
      readonly listError: string | null
    }

    const scan = (prefix: string | undefined, cursor: string | undefined, page: number | undefined): Effect.Effect<Scan> =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const { circuits: known, listError } = yield* circuits
        const candidates = prefix === undefined ? known : known.filter((c) => c.name.startsWith(prefix))
        const afterCursor = cursor === undefined ? candidates : candidates.filter((c) => c.name > cursor)
        const toRead = page === undefined ? afterCursor : afterCursor.slice(0, page + 1)
        // circuits no breaker here uses: all at once where the store can (Redis: 100 per script call)
        const inspected = new Map<string, Inspected>()
        const others = toRead.filter((c) => c.breaker === undefined).map((c) => c.name)
        if (store.inspectMany !== undefined && others.length > 0) {
          const many = yield* Effect.either(Effect.retry(store.inspectMany(others, defaultConfig, now), retryRead))
          if (Effect3.Either.isRight(many)) for (const one of many.right) inspected.set(one.name, one)
        }
        // read by the batch (no breaker here: nothing else to ask); the others, and those the batch
        // could not read (one more try on their own), one by one
        const results: Array<ReadResult> = new Array(toRead.length)
        const rest: Array<number> = []
        for (let i = 0; i < toRead.length; i++) {
          const name = toRead[i]!.name
          const one = inspected.get(name)
          if (one === undefined || (one.read === undefined && !one.missing)) rest.push(i)
          else if (one.read === undefined) results[i] = { name, metrics: undefined, error: null, missing: true }
          else results[i] = { name, metrics: metricsOf(name, undefined, one.read[0], one.read[1], false), error: null, missing: false }
        }
        yield* Effect.forEach(rest, (i) => Effect.map(readOne(now, toRead[i]!), (result) => {
          results[i] = result
        }), { concurrency: 16, discard: true })
        return { candidates: candidates.length, afterCursor: afterCursor.length, results, listError }
      })

    /**
     * Whole scans in flight, by prefix and cursor. A read that starts while
     * one runs takes its result instead of reading every circuit again (a
     * dashboard's sections and its alerts, health checks arriving together).
     * The scan runs on a fiber of its own in the layer's scope, so a reader
     * that gives up does not cut it short for the others.
     */
    const inFlight = new Map<string, Deferred.Deferred<Scan>>()
    const sharedScan = (prefix: string | undefined, cursor: string | undefined): Effect.Effect<Scan> =>
      Effect.suspend(() => {
        const key = `${prefix ?? ""}\u0000${cursor ?? ""}`
        const running = inFlight.get(key)
        if (running !== undefined) return Deferred.await(running)
        const deferred = Deferred.unsafeMake<Scan>(Effect3.FiberId.none)
        inFlight.set(key, deferred)
        // also when the layer's scope closes first: nobody waits for a scan that will not end
        const run = Effect.onExit(scan(prefix, cursor, undefined), (exit) => {
          inFlight.delete(key)
          return Deferred.done(deferred, exit)
        })
        return Effect.zipRight(Effect.forkIn(run, scope), Deferred.await(deferred))
      })

    const read = (readOptions: ReadOptions = {}): Effect.Effect<FleetRead> =>
      Effect.map(
        // without a state filter, only the page is read; with one, every candidate is
        readOptions.state === undefined && readOptions.limit !== undefined
          ? scan(readOptions.prefix, readOptions.cursor, readOptions.limit)
          : sharedScan(readOptions.prefix, readOptions.cursor),
        (scanned) => summarize(scanned, readOptions)
      )

    /** The circuits of `scanned` that match the filters, paged, with what could not be read. */
    const summarize = (scanned: Scan, { limit, state: states }: ReadOptions): FleetRead => {
      let unreadable = scanned.listError === null ? 0 : 1
      let reason = scanned.listError
      const matching: Array<CircuitMetrics> = []
      for (const result of scanned.results) {
        if (result.missing) continue // expired: gone from the fleet, and from the registry
        if (result.metrics === undefined || result.error !== null) {
          unreadable++
          reason ??= `circuit ${JSON.stringify(result.name)}: ${result.error}`
        }
        if (result.metrics !== undefined && (states === undefined || states.includes(result.metrics.state))) {
          matching.push(result.metrics)
        }
      }
      const page = limit === undefined ? matching : matching.slice(0, limit)
      // more after this page: read past the limit, or not read at all (paging without a state filter)
      const hasMore = limit !== undefined && (matching.length > limit || scanned.afterCursor > scanned.results.length)
      // with a state filter only what was read can be counted: the circuits from the cursor on
      const total = states === undefined ? scanned.candidates : matching.length
      return {
        circuits: page,
        total,
        nextCursor: hasMore && page.length > 0 ? page[page.length - 1]!.name : null,
        complete: unreadable === 0,
        unreadable,
        reason
      }
    }

    const metricsByName = ({ circuits }: FleetRead) => {
      const all: Record<string, CircuitMetrics> = Object.create(null)
      for (const metrics of circuits) all[metrics.name] = metrics
      return all
    }

    const alertsOf = (fleet: FleetRead, now: number) => {
      const alerts = fleet.circuits.flatMap((metrics) => alertsFor(metrics, now, options))
      if (!fleet.complete) {
        alerts.unshift({
          kind: "store-unreadable",
          severity: "critical",
          service: "*",
          message: `the circuit store could not be read: ${fleet.unreadable} circuit(s) unknown (${fleet.reason})`,
          since: now
        })
      }
      return alerts
    }

    const healthOf = (fleet: FleetRead, now: number): OverallHealth => {
      const services: Record<string, Pick<Health, "status" | "state" | "metrics">> = Object.create(null)
      let worst: HealthStatus = "healthy"
      for (const metrics of fleet.circuits) {
        services[metrics.name] = {
          status: metrics.status,
          state: metrics.state,
          metrics: metrics.instance ?? fleetOnly(metrics)
        }
        if (metrics.status === "unhealthy") worst = "unhealthy"
        else if (metrics.status === "degraded" && worst === "healthy") worst = "degraded"
      }
      const overall: OverallStatus = worst === "unhealthy" ? "unhealthy" : fleet.complete ? worst : "unknown"
      return {
        overall,
        complete: fleet.complete,
        unreadable: fleet.unreadable,
        reason: fleet.reason,
        services,
        timestamp: now
      }
    }

    const getAllMetrics = Effect.map(read(), metricsByName)
    const getAlerts = Effect.zipWith(read(), Clock.currentTimeMillis, alertsOf)
    const health = Effect.zipWith(read(), Clock.currentTimeMillis, healthOf)

    /** A snapshot of a whole scan: every view computed from it once, when first asked for. */
    const snapshotOf = (scanned: Scan, takenAt: number): FleetSnapshot => {
      const all = summarize(scanned, {})
      let metrics: FleetSnapshot["metrics"] | undefined
      let alerts: FleetSnapshot["alerts"] | undefined
      let health: FleetSnapshot["health"] | undefined
      return {
        takenAt,
        read: (readOptions = {}) => {
          const { cursor, limit, prefix, state } = readOptions
          if (prefix === undefined && cursor === undefined) {
            return limit === undefined && state === undefined ? all : summarize(scanned, readOptions)
          }
          // the results are in name order: the names with a prefix, and those after a cursor, are a range
          const names = scanned.results
          const from = prefix === undefined ? 0 : firstAtLeast(names, prefix)
          let to = names.length
          if (prefix !== undefined) {
            to = from
            while (to < names.length && names[to]!.name.startsWith(prefix)) to++
          }
          const candidates = names.slice(from, to)
          const results = cursor === undefined ? candidates : candidates.slice(firstAfter(candidates, cursor))
          return summarize(
            { candidates: candidates.length, afterCursor: results.length, results, listError: scanned.listError },
            readOptions
          )
        },
        get metrics() {
          return (metrics ??= metricsByName(all))
        },
        get alerts() {
          return (alerts ??= alertsOf(all, takenAt))
        },
        get health() {
          return (health ??= healthOf(all, takenAt))
        }
      }
    }

    /**
     * The shared snapshot: one whole scan at a time, on a fiber in the
     * layer's scope (a request that gives up does not cut it short for the
     * others), kept for `snapshotTtl` after it ends.
     */
    interface Cached {
      readonly deferred: Deferred.Deferred<FleetSnapshot>
      /** Until when it serves (epoch ms); `Infinity` while it is read. */
      until: number
    }
    const cache = yield* Ref.make<Cached | undefined>(undefined)
    const snapshot: Effect.Effect<FleetSnapshot> = Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.flatten(Ref.modify(cache, (cached): [Effect.Effect<FleetSnapshot>, Cached | undefined] => {
        if (cached !== undefined && cached.until > now) return [Deferred.await(cached.deferred), cached]
        const entry: Cached = { deferred: Deferred.unsafeMake<FleetSnapshot>(Effect3.FiberId.none), until: Infinity }
        // kept from the end of the read; a read that fails (or is stopped with the layer) is not kept
        const take = Effect.map(scan(undefined, undefined, undefined), (scanned) => snapshotOf(scanned, now)).pipe(
          Effect.onExit((exit) =>
            Effect.zipRight(
              Effect.flatMap(Clock.currentTimeMillis, (end) =>
                Ref.update(cache, (current) => {
                  if (current !== entry) return current
                  if (exit._tag === "Failure") return undefined
                  entry.until = end + snapshotTtl
                  return entry
                })),
              Deferred.done(entry.deferred, exit)
            )
          )
        )
        return [Effect.zipRight(Effect.forkIn(take, scope), Deferred.await(entry.deferred)), entry]
      })))
    const invalidate = Ref.set(cache, undefined)

    const resetAllCircuits = Effect.flatMap(Effect.map(circuits, (_) => _.circuits), (all) =>
      Effect.forEach(all, ({ breaker, name }) =>
        (breaker !== undefined
          ? breaker.reset
          : Effect.flatMap(store.circuit(name, { ...defaultConfig, serviceName: name }), (circuit) =>
            Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.asVoid(circuit.reset(now))))).pipe(
            Effect.match({
              onFailure: (error): ResetResult => ({ service: name, success: false, error: error.message }),
              onSuccess: (): ResetResult => ({ service: name, success: true })
            })
          ), { concurrency: 8 }))
    const resetAll = Effect.ensuring(resetAllCircuits, invalidate)

    const fleetOnly = (m: CircuitMetrics): Metrics => ({
      service: m.service,
      // the instance that read it (the counts are the fleet's)
      instanceId,
      state: m.state,
      calls: m.fleet.calls,
      successes: m.fleet.successes,
      failures: m.fleet.failures,
      rejections: m.fleet.rejections,
      probes: m.fleet.probes,
      slowCalls: 0,
      storeErrors: 0,
      windowFailures: m.windowFailures,
      windowCalls: m.windowCalls,
      openCount: m.openCount,
      retryAt: m.retryAt,
      lastTransitionAt: m.lastTransitionAt,
      lastSuccessAt: null,
      lastFailureAt: null
    })

    return CircuitBreakerMonitoring.of({ getAllMetrics, read, getAlerts, resetAll, health, snapshot, invalidate })
  })

/** The index of the first result whose name is at least `name` (results in name order). */
const firstAtLeast = (results: ReadonlyArray<{ readonly name: string }>, name: string): number => {
  let lo = 0
  let hi = results.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (results[mid]!.name < name) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** The index of the first result whose name comes after `name`. */
const firstAfter = (results: ReadonlyArray<{ readonly name: string }>, name: string): number => {
  const at = firstAtLeast(results, name)
  return at < results.length && results[at]!.name === name ? at + 1 : at
}

/**
 * A monitoring read that fails is tried again (25, 50, 100, 200, 400 ms
 * later, within 2 s) before it counts as unreadable: a blip does not drop it.
 */
const retryRead = Schedule.exponential("25 millis").pipe(
  Schedule.intersect(Schedule.recurs(5)),
  Schedule.upTo("2 seconds")
)

/**
 * The service as a layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options?: Options
): Layer.Layer<CircuitBreakerMonitoring, CircuitConfig.CircuitConfigError, CircuitStore | CircuitBreakers> =>
  Layer.scoped(CircuitBreakerMonitoring, make(options))
