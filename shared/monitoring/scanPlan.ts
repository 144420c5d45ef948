/**
 * The Effect-free steps of a monitoring scan (both editions' `scan`): which
 * circuits are known (the store's names and this instance's breakers), which
 * of them a read takes (prefix, cursor, page), what a batch read answered
 * for each, and what monitoring says of one circuit.
 *
 * @internal
 */
import type { CircuitMetrics, FleetCounts, HealthStatus, Metrics, Snapshot } from "../model.js"
import type { ReadResult } from "./fleetRead.js"

/**
 * A circuit the store or this instance knows, with this instance's breaker
 * for it if any (`B`: the edition's breaker internals).
 *
 * @internal
 */
export interface KnownCircuit<B> {
  readonly name: string
  readonly breaker: B | undefined
}

/**
 * Every circuit the store lists or this instance has a breaker for, sorted by
 * name; a listed name no breaker could have made (`nameProblem` says why) is
 * left out.
 *
 * @internal
 */
export const knownCircuits = <B>(
  listed: ReadonlyArray<string>,
  local: ReadonlyMap<string, B>,
  nameProblem: (name: string) => string | undefined
): Array<KnownCircuit<B>> => {
  const all = [...new Set([...listed, ...local.keys()])].sort()
  const result: Array<KnownCircuit<B>> = []
  for (const name of all) {
    const breaker = local.get(name)
    if (breaker !== undefined) result.push({ name, breaker })
    else if (nameProblem(name) === undefined) result.push({ name, breaker: undefined })
  }
  return result
}

/**
 * The circuits a read takes: those matching `prefix`, after `cursor`, and
 * with a `page` size only that many and one more (to tell whether more follow).
 *
 * @internal
 */
export const planRead = <K extends { readonly name: string }>(
  known: ReadonlyArray<K>,
  prefix: string | undefined,
  cursor: string | undefined,
  page: number | undefined
): {
  readonly candidates: ReadonlyArray<K>
  readonly afterCursor: ReadonlyArray<K>
  readonly toRead: ReadonlyArray<K>
} => {
  const candidates = prefix === undefined ? known : known.filter((c) => c.name.startsWith(prefix))
  const afterCursor = cursor === undefined ? candidates : candidates.filter((c) => c.name > cursor)
  const toRead = page === undefined ? afterCursor : afterCursor.slice(0, page + 1)
  return { candidates, afterCursor, toRead }
}

/**
 * What a batch read answered for one circuit (the store's `Inspected`, as far as this reads it).
 *
 * @internal
 */
export interface BatchAnswer {
  readonly name: string
  readonly read: readonly [Snapshot, FleetCounts] | undefined
  readonly missing: boolean
}

/**
 * The fleet's counts of a circuit read from this instance's local fallback: none.
 *
 * @internal
 */
export const noFleetCounts: FleetCounts = { successes: 0, failures: 0, rejections: 0, probes: 0, opens: 0 }

/**
 * What monitoring says of a circuit, from what was read (or, when the store
 * could not be read, known locally): `status` is the breaker's rule
 * (`statusOf`), `instance` this instance's own counts (null without a breaker here).
 *
 * @internal
 */
export const circuitMetricsOf = (
  name: string,
  service: string,
  snapshot: Snapshot,
  fleet: FleetCounts,
  storeUnavailable: boolean,
  status: HealthStatus,
  instance: Metrics | null
): CircuitMetrics => {
  const calls = fleet.successes + fleet.failures
  return {
    name,
    service,
    state: snapshot.state,
    status,
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

/**
 * The circuits of `toRead` that a batch read (`answers`, by name) settled,
 * at their index in `results`: those it read (`metricsOf` makes their
 * metrics) and those found missing. The indexes of the others (no breaker
 * batch for them, or the batch could not read them) are returned, to be read
 * one by one.
 *
 * @internal
 */
export const settleBatch = (
  toRead: ReadonlyArray<{ readonly name: string }>,
  answers: ReadonlyMap<string, BatchAnswer>,
  results: Array<ReadResult>,
  metricsOf: (name: string, snapshot: Snapshot, fleet: FleetCounts) => CircuitMetrics
): Array<number> => {
  const rest: Array<number> = []
  for (let i = 0; i < toRead.length; i++) {
    const name = toRead[i]!.name
    const one = answers.get(name)
    if (one === undefined || (one.read === undefined && !one.missing)) rest.push(i)
    else if (one.read === undefined) results[i] = { name, metrics: undefined, error: null, missing: true }
    else results[i] = { name, metrics: metricsOf(name, one.read[0], one.read[1]), error: null, missing: false }
  }
  return rest
}

/**
 * Whether a read takes only its page (no state filter, a limit): else it
 * takes every candidate from its cursor on, in a whole scan that reads
 * arriving together share.
 *
 * @internal
 */
export const readsPageOnly = (options: { readonly state?: unknown; readonly limit?: number | undefined }): boolean =>
  options.state === undefined && options.limit !== undefined

/**
 * The key under which whole scans from `cursor` of circuits named `prefix…` are shared.
 *
 * @internal
 */
export const scanKey = (prefix: string | undefined, cursor: string | undefined): string =>
  `${prefix ?? ""}\u0000${cursor ?? ""}`

/**
 * The shared snapshot kept, until when it serves (epoch ms), and the
 * generation `invalidate` moves on (`S`: the snapshot).
 *
 * @internal
 */
export interface KeptSnapshot<S> {
  readonly generation: number
  readonly snapshot: S | undefined
  readonly until: number
}

/**
 * The kept snapshot's transitions: `initial`; `serving` (the snapshot still
 * served at `now`, if any); `taken` (a read of `generation` ended at `end`:
 * kept for `ttl` ms, unless `invalidate` moved on meanwhile); `invalidated`.
 *
 * @internal
 */
export const keptSnapshot = {
  initial: { generation: 0, snapshot: undefined, until: 0 } as KeptSnapshot<never>,
  serving: <S>(kept: KeptSnapshot<S>, now: number): S | undefined =>
    kept.snapshot !== undefined && kept.until > now ? kept.snapshot : undefined,
  taken: <S>(kept: KeptSnapshot<S>, generation: number, snapshot: S, end: number, ttl: number): KeptSnapshot<S> =>
    kept.generation === generation ? { generation, snapshot, until: end + ttl } : kept,
  invalidated: <S>(kept: KeptSnapshot<S>): KeptSnapshot<S> => ({
    generation: kept.generation + 1,
    snapshot: undefined,
    until: 0
  })
}
