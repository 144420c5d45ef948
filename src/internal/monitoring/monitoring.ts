/**
 * Fleet-wide monitoring: the reads of every circuit the store knows, their
 * summaries (metrics, alerts, health), the shared snapshot and `resetAll`.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as FiberMap from "effect/FiberMap"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
// modules that effect 4 does not have, read through the barrel (see internal/effect3.ts)
import * as Effect3 from "effect"
import type { Health, HealthStatus, Metrics } from "../../CircuitBreaker.js"
import type {
  Alert,
  CircuitBreakerMonitoring,
  CircuitMetrics,
  FleetRead,
  FleetSnapshot,
  Options,
  OverallHealth,
  OverallStatus,
  ReadOptions,
  ResetResult
} from "../../CircuitBreakerMonitoring.js"
import { CircuitBreakers } from "../../CircuitBreakers.js"
import * as CircuitConfig from "../../CircuitConfig.js"
import type { Snapshot } from "../../CircuitState.js"
import { CircuitStore, type FleetCounts, type Inspected, type NotificationStatus } from "../../CircuitStore.js"
import { instanceIdOfProcess, type Internal, internalOf, statusOf } from "../breaker/circuitBreaker.js"
import { decoder, durationMillis, withDefault } from "../breaker/configSchema.js"

/**
 * The alerts for one circuit (the rules of `getAlerts`).
 *
 * @internal
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
      message: `failure rate of ${JSON.stringify(service)} is ${
        (rate * 100).toFixed(1)
      }% over ${metrics.fleet.calls} calls`,
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
 * A monitoring read that fails is tried again (25, 50, 100, 200, 400 ms
 * later, within 2 s) before it counts as unreadable: a blip does not drop it.
 */
const retryRead = Schedule.exponential("25 millis").pipe(
  Schedule.intersect(Schedule.recurs(5)),
  Schedule.upTo("2 seconds")
)

// ---------------------------------------------------------------------------
// reading circuits
// ---------------------------------------------------------------------------

/** A circuit the store or this instance knows, with this instance's breaker for it if any. */
interface Known {
  readonly name: string
  readonly breaker: Internal | undefined
}

/** One circuit as read: its metrics, or why it could not be read. */
interface ReadResult {
  readonly name: string
  readonly metrics: CircuitMetrics | undefined
  readonly error: string | null
  /** Its state is gone (expired): not part of the fleet any more. */
  readonly missing: boolean
}

/** One pass over the store: the circuits from a cursor on (or only a page of them), each read or not. */
interface Scan {
  readonly candidates: number
  readonly afterCursor: number
  readonly results: ReadonlyArray<ReadResult>
  readonly listError: string | null
}

/** The shared snapshot kept, until when it serves (epoch ms), and the generation `invalidate` moves on. */
interface KeptSnapshot {
  readonly generation: number
  readonly snapshot: FleetSnapshot | undefined
  readonly until: number
}

/**
 * Single flight by key, scoped to the layer: `effect` runs on a fiber of a
 * `FiberMap` under `key`, and whoever asks for that key while it runs joins
 * it. A caller that gives up leaves it running for the others; the layer's
 * scope closing interrupts it; once it ends, the next caller runs it again.
 */
const singleFlight = <A>(): Effect.Effect<
  (key: string, effect: Effect.Effect<A>) => Effect.Effect<A>,
  never,
  Scope.Scope
> =>
  Effect.gen(function*() {
    const fibers = yield* FiberMap.make<string, A, never>()
    // the look-up and the start as one step: no second fiber for a key between them
    const lock = yield* Effect.makeSemaphore(1)
    return (key, effect) =>
      Effect.flatMap(
        lock.withPermits(1)(Effect.suspend(() => {
          const running = FiberMap.unsafeGet(fibers, key)
          return Option.isSome(running) ? Effect.succeed(running.value) : FiberMap.run(fibers, key, effect)
        })),
        Fiber.join
      )
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

// ---------------------------------------------------------------------------
// summaries of a scan
// ---------------------------------------------------------------------------

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

const metricsByName = ({ circuits }: FleetRead): Record<string, CircuitMetrics> => {
  const all: Record<string, CircuitMetrics> = Object.create(null)
  for (const metrics of circuits) all[metrics.name] = metrics
  return all
}

const alertsOf = (fleet: FleetRead, now: number, options: Options): Array<Alert> => {
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

/** A circuit's fleet counts as `Metrics`, for a circuit this instance has no breaker for. */
const fleetOnly = (m: CircuitMetrics, instanceId: string): Metrics => ({
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

const healthOf = (
  fleet: FleetRead,
  now: number,
  instanceId: string,
  notifications: NotificationStatus | undefined
): OverallHealth => {
  const services: Record<string, Pick<Health, "status" | "state" | "metrics">> = Object.create(null)
  let worst: HealthStatus = "healthy"
  for (const metrics of fleet.circuits) {
    services[metrics.name] = {
      status: metrics.status,
      state: metrics.state,
      metrics: metrics.instance ?? fleetOnly(metrics, instanceId)
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
    timestamp: now,
    ...(notifications !== undefined ? { notifications } : {})
  }
}

/** A snapshot of a whole scan: every view computed from it once, when first asked for. */
const snapshotOf = (
  scanned: Scan,
  takenAt: number,
  options: Options,
  instanceId: string,
  notifications: NotificationStatus | undefined
): FleetSnapshot => {
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
      return (alerts ??= alertsOf(all, takenAt, options))
    },
    get health() {
      return (health ??= healthOf(all, takenAt, instanceId, notifications))
    }
  }
}

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

// ---------------------------------------------------------------------------
// the service
// ---------------------------------------------------------------------------

/** @internal */
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
    // decoded once: a circuit with no breaker here is read with this config and its own name
    const defaultConfig = yield* CircuitConfig.decode("defaults", options.defaults ?? {})
    const decodedOptions = decodeOptions({ snapshotTtl: options.snapshotTtl })
    if (Effect3.Either.isLeft(decodedOptions)) {
      return yield* new CircuitConfig.CircuitConfigError({
        service: "CircuitBreakerMonitoring",
        issues: decodedOptions.left
      })
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
          : [yield* breaker!.localSnapshot(now), {
            successes: 0,
            failures: 0,
            rejections: 0,
            probes: 0,
            opens: 0
          }] as const
        if (breaker !== undefined && Effect3.Either.isRight(read))
          breaker.observe(snapshot.state, snapshot.version, now)
        const metrics = metricsOf(name, breaker, snapshot, fleet, Effect3.Either.isLeft(read))
        return { name, metrics, error: Effect3.Either.isLeft(read) ? read.left.reason : null, missing: false }
      })

    const scan = (
      prefix: string | undefined,
      cursor: string | undefined,
      page: number | undefined
    ): Effect.Effect<Scan> =>
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
          if (Effect3.Either.isRight(many)) { for (const one of many.right) inspected.set(one.name, one) }
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
          else results[i] = {
              name,
              metrics: metricsOf(name, undefined, one.read[0], one.read[1], false),
              error: null,
              missing: false
            }
        }
        yield* Effect.forEach(rest, (i) =>
          Effect.map(readOne(now, toRead[i]!), (result) => {
            results[i] = result
          }), { concurrency: 16, discard: true })
        return { candidates: candidates.length, afterCursor: afterCursor.length, results, listError }
      })

    /**
     * Whole scans in flight, by prefix and cursor. A read that starts while
     * one runs takes its result instead of reading every circuit again (a
     * dashboard's sections and its alerts, health checks arriving together).
     */
    const scans = yield* singleFlight<Scan>()
    const sharedScan = (prefix: string | undefined, cursor: string | undefined): Effect.Effect<Scan> =>
      scans(`${prefix ?? ""}\u0000${cursor ?? ""}`, scan(prefix, cursor, undefined))

    const read = (readOptions: ReadOptions = {}): Effect.Effect<FleetRead> =>
      Effect.map(
        // without a state filter, only the page is read; with one, every candidate is
        readOptions.state === undefined && readOptions.limit !== undefined
          ? scan(readOptions.prefix, readOptions.cursor, readOptions.limit)
          : sharedScan(readOptions.prefix, readOptions.cursor),
        (scanned) => summarize(scanned, readOptions)
      )

    const getAllMetrics = Effect.map(read(), metricsByName)
    const getAlerts = Effect.zipWith(read(), Clock.currentTimeMillis, (fleet, now) => alertsOf(fleet, now, options))
    const health = Effect.zipWith(read(), Clock.currentTimeMillis, (fleet, now) =>
      healthOf(fleet, now, instanceId, store.notifications?.()))

    /**
     * The shared snapshot: one whole scan at a time, kept for `snapshotTtl`
     * after it ends. `invalidate` starts a new generation: a read of an
     * older one still answers those waiting for it, but is not kept.
     */
    const snapshotReads = yield* singleFlight<FleetSnapshot>()
    const kept = yield* Ref.make<KeptSnapshot>({ generation: 0, snapshot: undefined, until: 0 })
    const take = (generation: number, now: number): Effect.Effect<FleetSnapshot> =>
      Effect.gen(function*() {
        const taken = snapshotOf(
          yield* scan(undefined, undefined, undefined),
          now,
          options,
          instanceId,
          store.notifications?.()
        )
        const end = yield* Clock.currentTimeMillis
        // a read that fails (or is stopped with the layer) never gets here: it is not kept
        yield* Ref.update(
          kept,
          (current) =>
            current.generation === generation ? { generation, snapshot: taken, until: end + snapshotTtl } : current
        )
        return taken
      })
    const snapshot: Effect.Effect<FleetSnapshot> = Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.flatMap(Ref.get(kept), ({ generation, snapshot, until }) =>
        snapshot !== undefined && until > now
          ? Effect.succeed(snapshot)
          : snapshotReads(String(generation), take(generation, now))))
    const invalidate = Ref.update(
      kept,
      ({ generation }) => ({ generation: generation + 1, snapshot: undefined, until: 0 })
    )

    const resetAllCircuits = Effect.flatMap(
      Effect.map(circuits, (_) =>
        _.circuits),
      (all) =>
        Effect.forEach(all, ({ breaker, name }) =>
          (breaker !== undefined
            ? breaker.reset
            : Effect.flatMap(store.circuit(name, { ...defaultConfig, serviceName: name }), (circuit) =>
              Effect.flatMap(Clock.currentTimeMillis, (now) =>
                Effect.asVoid(circuit.reset(now))))).pipe(
              Effect.match({
                onFailure: (error): ResetResult => ({ service: name, success: false, error: error.message }),
                onSuccess: (): ResetResult => ({ service: name, success: true })
              })
            ), { concurrency: 8 })
    )
    const resetAll = Effect.ensuring(resetAllCircuits, invalidate)

    return { getAllMetrics, read, getAlerts, resetAll, health, snapshot, invalidate }
  })
