/**
 * Fleet-wide monitoring, the service: reads of every circuit the store knows
 * (whole scans shared by the reads that arrive together), their summaries
 * (metrics, alerts, health), the shared snapshot kept for `snapshotTtl`, and
 * `resetAll`.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
// modules that effect 3 does not have, read through the barrel (see internal/effect4.ts)
import * as Effect4 from "effect"
import type { FleetRead, FleetSnapshot, Options, ReadOptions, ResetResult } from "../../CircuitBreakerMonitoring.js"
import { CircuitBreakers } from "../../CircuitBreakers.js"
import * as CircuitConfig from "../../CircuitConfig.js"
import { CircuitStore } from "../../CircuitStore.js"
import { instanceIdOfProcess } from "../breaker/circuitBreaker.js"
import { decoder, durationMillis, withDefault } from "../breaker/configSchema.js"
import { alertsOf } from "../../../../shared/monitoring/alerts.js"
import { metricsByName, type Scan, snapshotOf, summarize } from "../../../../shared/monitoring/fleetRead.js"
import { healthOf } from "../../../../shared/monitoring/health.js"
import { type KeptSnapshot, keptSnapshot, readsPageOnly, scanKey } from "../../../../shared/monitoring/scanPlan.js"
import { makeReads } from "./scan.js"
import { singleFlight } from "./singleFlight.js"

export {
  /** @internal */
  alertsFor
} from "../../../../shared/monitoring/alerts.js"

const decodeOptions = decoder(Schema.Struct({ snapshotTtl: withDefault(durationMillis({ infinite: false }), 1_000) }))

/** @internal */
export const make = (options: Options = {}) =>
  Effect.gen(function*() {
    const store = yield* CircuitStore
    const registry = yield* CircuitBreakers
    // decoded once: a circuit with no breaker here is read with this config and its own name
    const defaultConfig = yield* CircuitConfig.decode("defaults", options.defaults ?? {})
    const decodedOptions = decodeOptions({ snapshotTtl: options.snapshotTtl })
    if (Effect4.Result.isFailure(decodedOptions)) {
      return yield* new CircuitConfig.CircuitConfigError({
        service: "CircuitBreakerMonitoring",
        issues: decodedOptions.failure
      })
    }
    const snapshotTtl = decodedOptions.success.snapshotTtl
    const instanceId = yield* instanceIdOfProcess

    const { circuits, scan } = makeReads(store, registry, defaultConfig)

    /**
     * Whole scans in flight, by prefix and cursor. A read that starts while
     * one runs takes its result instead of reading every circuit again (a
     * dashboard's sections and its alerts, health checks arriving together).
     */
    const scans = yield* singleFlight<Scan>()
    const sharedScan = (prefix: string | undefined, cursor: string | undefined): Effect.Effect<Scan> =>
      scans(scanKey(prefix, cursor), scan(prefix, cursor, undefined))

    const read = (readOptions: ReadOptions = {}): Effect.Effect<FleetRead> =>
      Effect.map(
        // without a state filter, only the page is read; with one, every candidate is
        readsPageOnly(readOptions)
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
    const kept = yield* Ref.make<KeptSnapshot<FleetSnapshot>>(keptSnapshot.initial)
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
        yield* Ref.update(kept, (current) =>
          keptSnapshot.taken(current, generation, taken, end, snapshotTtl))
        return taken
      })
    const snapshot: Effect.Effect<FleetSnapshot> = Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.flatMap(Ref.get(kept), (current) => {
        const serving = keptSnapshot.serving(current, now)
        return serving !== undefined
          ? Effect.succeed(serving)
          : snapshotReads(String(current.generation), take(current.generation, now))
      }))
    const invalidate = Ref.update(kept, keptSnapshot.invalidated)

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
