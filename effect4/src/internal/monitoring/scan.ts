/**
 * The reads of monitoring: one pass over the circuits the store and this
 * instance know (`scan`), reading those no breaker here uses in batches
 * where the store can, and the others one by one, each retried within the
 * read. What is known, read and said of each circuit is
 * shared/monitoring/scanPlan.ts.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
// modules that effect 3 does not have, read through the barrel (see internal/effect4.ts)
import * as Effect4 from "effect"
import type { CircuitMetrics } from "../../CircuitBreakerMonitoring.js"
import type { CircuitBreakers } from "../../CircuitBreakers.js"
import * as CircuitConfig from "../../CircuitConfig.js"
import type { Snapshot } from "../../CircuitState.js"
import type { CircuitStore, FleetCounts, Inspected } from "../../CircuitStore.js"
import { type Internal, internalOf, statusOf } from "../breaker/circuitBreaker.js"
import type { ReadResult, Scan } from "../../../../shared/monitoring/fleetRead.js"
import {
  circuitMetricsOf,
  type KnownCircuit,
  knownCircuits,
  noFleetCounts,
  planRead,
  settleBatch
} from "../../../../shared/monitoring/scanPlan.js"

/**
 * A monitoring read that fails is tried again (25, 50, 100, 200, 400 ms
 * later, within 2 s) before it counts as unreadable: a blip does not drop it.
 *
 * @internal
 */
export const retryRead = Schedule.exponential("25 millis").pipe(
  Schedule.upTo({ times: 5, duration: "2 seconds" })
)

/**
 * A circuit the store or this instance knows, with this instance's breaker for it if any.
 *
 * @internal
 */
export type Known = KnownCircuit<Internal>

/** What monitoring says of a circuit, from what was read (or, when the store could not be read, known locally). */
const metricsOf = (
  name: string,
  breaker: Internal | undefined,
  snapshot: Snapshot,
  fleet: FleetCounts,
  unread: boolean
): CircuitMetrics => {
  const storeUnavailable = unread || (breaker?.degraded ?? false)
  return circuitMetricsOf(
    name,
    breaker?.config.serviceName ?? name,
    snapshot,
    fleet,
    storeUnavailable,
    statusOf(snapshot.state, storeUnavailable),
    breaker === undefined ? null : breaker.metricsFrom(snapshot)
  )
}

/**
 * The reads of `store`, with this instance's breakers from `registry`: a
 * circuit no breaker here uses is read with `defaultConfig` and its own name.
 *
 * @internal
 */
export const makeReads = (
  store: CircuitStore["Service"],
  registry: CircuitBreakers["Service"],
  defaultConfig: CircuitConfig.CircuitConfig
) => {
  /** Every known circuit, with this instance's breaker for it if any; and why the list may be short. */
  const circuits = Effect.gen(function*() {
    // while the store is unavailable, this instance's own circuits are still reported
    const listed = yield* Effect.result(Effect.retry(store.names, retryRead))
    const local = new Map<string, Internal>()
    for (const breaker of yield* registry.all) {
      const internal = internalOf(breaker)
      if (internal !== undefined) local.set(breaker.name, internal)
    }
    // (a name no breaker could have made is left out)
    const result = knownCircuits(
      Effect4.Result.isSuccess(listed) ? listed.success : [],
      local,
      CircuitConfig.serviceNameProblem
    )
    return { circuits: result, listError: Effect4.Result.isFailure(listed) ? listed.failure.reason : null }
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
      const read = yield* Effect.result(Effect.retry(readCircuit(known, now), retryRead))
      if (Effect4.Result.isFailure(read) && breaker === undefined) {
        return { name, metrics: undefined, error: read.failure.reason, missing: false }
      }
      const [snapshot, fleet] = Effect4.Result.isSuccess(read)
        ? read.success
        : [yield* breaker!.localSnapshot(now), noFleetCounts] as const
      if (breaker !== undefined && Effect4.Result.isSuccess(read))
        breaker.observe(snapshot.state, snapshot.version, now)
      const metrics = metricsOf(name, breaker, snapshot, fleet, Effect4.Result.isFailure(read))
      return { name, metrics, error: Effect4.Result.isFailure(read) ? read.failure.reason : null, missing: false }
    })

  const scan = (
    prefix: string | undefined,
    cursor: string | undefined,
    page: number | undefined
  ): Effect.Effect<Scan> =>
    Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const { circuits: known, listError } = yield* circuits
      const { afterCursor, candidates, toRead } = planRead(known, prefix, cursor, page)
      // circuits no breaker here uses: all at once where the store can (Redis: 100 per script call)
      const inspected = new Map<string, Inspected>()
      const others = toRead.filter((c) => c.breaker === undefined).map((c) => c.name)
      if (store.inspectMany !== undefined && others.length > 0) {
        const many = yield* Effect.result(Effect.retry(store.inspectMany(others, defaultConfig, now), retryRead))
        if (Effect4.Result.isSuccess(many)) { for (const one of many.success) inspected.set(one.name, one) }
      }
      // read by the batch (no breaker here: nothing else to ask); the others, and those the batch
      // could not read (one more try on their own), one by one
      const results: Array<ReadResult> = new Array(toRead.length)
      const rest = settleBatch(
        toRead,
        inspected,
        results,
        (name, snapshot, fleet) => metricsOf(name, undefined, snapshot, fleet, false)
      )
      yield* Effect.forEach(rest, (i) =>
        Effect.map(readOne(now, toRead[i]!), (result) => {
          results[i] = result
        }), { concurrency: 16, discard: true })
      return { candidates: candidates.length, afterCursor: afterCursor.length, results, listError }
    })

  return { circuits, scan }
}
