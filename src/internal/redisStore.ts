/**
 * The Redis store: `lua/circuit.lua` behind the `Circuit` interface, with the
 * per-instance cache and success batching of ARCHITECTURE.md, "The admit step
 * and the round-trip budget".
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import type * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Random from "effect/Random"
import * as Scope from "effect/Scope"
// modules that effect 4 does not have, read through the barrel (see internal/effect3.ts)
import * as Effect3 from "effect"
import * as CircuitBreakerMetrics from "../CircuitBreakerMetrics.js"
import { type CircuitConfig, defaults } from "../CircuitConfig.js"
import type { Snapshot } from "../CircuitState.js"
import {
  type Circuit,
  type CircuitStore,
  CircuitStoreError,
  type Decision,
  type FleetCounts,
  type Inspected,
  type Outcome
} from "../CircuitStore.js"
import { RedisClient, runScript, scriptFor } from "../RedisClient.js"
import * as scripts from "./luaScripts.js"
import type { LuaScript } from "./luaScripts.js"
import { classify, type RedisClientError } from "./redisErrors.js"
import { RoundTrips, StoreGuard, storeError } from "./redisRoundTrip.js"
import { ServerClock } from "./serverClock.js"

/** @internal */
export const defaultPrefix = "cb"

/**
 * The keys of one circuit, under one hash tag (ARCHITECTURE.md, "The Redis
 * data model"): its hash (state, window, probe leases) and its fleet metrics.
 *
 * @internal
 */
export const keysOf = (prefix: string, name: string): readonly [string, string] => {
  const tag = `${prefix}:{${encodeURIComponent(name)}}`
  return [`${tag}:state`, `${tag}:metrics`]
}

/** @internal */
export const registryKeyOf = (prefix: string): string => `${prefix}:circuits`

/**
 * What this instance puts back if Redis lost it: an admin hold, an OPEN with
 * its retryAt and open count, a HALF_OPEN as OPEN until now (the next call
 * probes); `confirmedAt` is when a reply of Redis last showed it. Only while
 * a missing key cannot mean "superseded, then expired": every transition
 * writes a key that lives `stateTtl` (only the admin holds are kept without
 * a TTL), so a key that held the state less than `stateTtl` ago and is gone
 * now was lost, not replaced. An OPEN or HALF_OPEN is also only put back
 * while it cannot have expired on its own (changed less than `stateTtl` ago).
 * Times are this instance's.
 */
const lostState = (known: Snapshot, confirmedAt: number, now: number, stateTtl: number): Snapshot | undefined => {
  if (now - confirmedAt >= stateTtl) return undefined
  switch (known.state) {
    case "FORCED_OPEN":
    case "FORCED_CLOSED":
      return known
    case "OPEN":
      return now - known.changedAt < stateTtl ? known : undefined
    case "HALF_OPEN":
      return now - known.changedAt < stateTtl ? { ...known, state: "OPEN", retryAt: now } : undefined
    case "CLOSED":
      return undefined
  }
}

/**
 * The config fields the circuit script takes, in ARGV order from ARGV 3
 * (lua/circuit.lua's header lists the same): each is sent as `String(value)`,
 * or `"-"` when it is off (`undefined`); ARGV 16 is the same words joined by
 * single spaces, which the script stores as the circuit's `config` field for
 * readers with no config of their own (monitoring).
 *
 * @internal
 */
export const configArgv = [
  "monitoringPeriod",
  "stateTtl",
  "failureThreshold",
  "successThreshold",
  "recoveryTimeout",
  "maxRecoveryTimeout",
  "backoffMultiplier",
  "backoffJitter",
  "halfOpenMaxProbes",
  "probeLease",
  "failureRateThreshold",
  "minimumCalls",
  "metricsTtl"
] as const satisfies ReadonlyArray<keyof CircuitConfig>

/**
 * ARGV 3 to 16 of the circuit script: the config (`configArgv`). Built once
 * per circuit.
 *
 * @internal
 */
export const scriptArgs = (config: CircuitConfig): ReadonlyArray<string> => {
  const words = configArgv.map((field) => {
    const value = config[field]
    return value === undefined ? "-" : String(value)
  })
  return [...words, words.join(" ")]
}

/**
 * A circuit's hash as lua/circuit.lua writes it (its header): `s` (the state
 * and an empty window), the state fields one by one, and `config`
 * (`scriptArgs`), for tests and benches that seed circuits without running
 * the script.
 *
 * @internal
 */
export const circuitFields = (
  args: ReadonlyArray<string>,
  s: {
    readonly state: string
    readonly version: number
    readonly openCount: number
    readonly openedAt: number
    readonly retryAt: number
    readonly changedAt: number
    readonly writtenAt: number
    readonly halfOpenSuccesses: number
  }
): Record<string, string> => ({
  s: `${s.state} ${s.version} ${s.openCount} ${s.openedAt} ${s.retryAt} ${s.changedAt} ${s.writtenAt} ${s.halfOpenSuccesses} 0 0 0 0 0`,
  state: s.state,
  version: String(s.version),
  openCount: String(s.openCount),
  openedAt: String(s.openedAt),
  retryAt: String(s.retryAt),
  changedAt: String(s.changedAt),
  halfOpenSuccesses: String(s.halfOpenSuccesses),
  config: args[args.length - 1]!
})

/** An operation of the circuit script (ARGV 1). */
type Op = "acquire" | "record" | "force" | "read" | "metrics"

/** Metric counts an instance has not sent yet (ARGV 21). */
interface Unsent {
  successes: number
  failures: number
  rejections: number
  probes: number
}

const noneUnsent: Readonly<Unsent> = { successes: 0, failures: 0, rejections: 0, probes: 0 }

/**
 * One call of the circuit script, beyond its config.
 *
 * @internal
 */
export interface ScriptCall {
  readonly op: Op
  /** On the script's clock. */
  readonly now: number
  /** acquire: the lease id to take; record: the permit held. */
  readonly probe?: string | undefined
  /** record: the outcome; force: the target. */
  readonly outcome?: string | undefined
  /** The jitter sample, in [0, 1). */
  readonly sample?: number | undefined
  /** Batched successes to add first. */
  readonly batch?: number | undefined
  readonly unsent?: Readonly<Unsent> | undefined
  /** A monitoring read, with the config the circuit's writers stored. */
  readonly peek?: boolean | undefined
  /**
   * What to put back if Redis lost the circuit: "state openCount openedAt
   * retryAt version", times on the script's clock.
   */
  readonly known?: string | undefined
}

/**
 * The ARGV of one call of the circuit script: `config` is `scriptArgs` of
 * the circuit's config.
 *
 * @internal
 */
export const scriptArgv = (config: ReadonlyArray<string>, call: ScriptCall): Array<string> => {
  const unsent = call.unsent ?? noneUnsent
  return [
    call.op,
    String(call.now),
    ...config,
    call.probe ?? "",
    call.outcome ?? "",
    String(call.sample ?? 0),
    String(call.batch ?? 0),
    `${unsent.successes} ${unsent.failures} ${unsent.rejections} ${unsent.probes}`,
    call.peek === true ? "peek" : "",
    call.known ?? ""
  ]
}

/**
 * The ARGV of a monitoring read ("metrics" op, "peek"): `now` on the
 * script's clock; it carries nothing of the instance.
 *
 * @internal
 */
export const peekArgs = (config: CircuitConfig, now: number): ReadonlyArray<string> =>
  scriptArgv(scriptArgs(config), { op: "metrics", now, peek: true })

/**
 * Circuits per script call (`lua/manyCircuits.lua`), or per pipeline of
 * `lua/circuit.lua` calls on a Cluster, when monitoring reads many at once.
 */
const INSPECT_BATCH = 100

/** Calls of `lua/manyCircuits.lua` per round trip, for a client with a pipeline. */
const MANY_PER_ROUND_TRIP = 5

/** The longest a locally counted success or rejection waits before it is sent. */
const FLUSH_INTERVAL = Duration.seconds(1)

// ---------------------------------------------------------------------------
// replies
// ---------------------------------------------------------------------------

/** The script's reply, decoded (`toReply`), its times on this instance's clock. */
interface Reply {
  readonly snapshot: Snapshot
  /** acquire: the decision; "" for every other op. */
  readonly decision: "allow" | "reject" | ""
  readonly retryAfter: number
  /** acquire: the probe lease taken ("" for none). */
  readonly probe: string
  /** The time the script decided at (`now`, or a later `changedAt`). */
  readonly decidedAt: number
  /** Some of the circuit's data was not readable and was repaired. */
  readonly repaired: boolean
  /** The state hash did not exist and this call wrote it. */
  readonly created: boolean
  /** The state hash did not exist before this call. */
  readonly missing: boolean
  /** Redis had lost the circuit, and this call put back what the caller knew (`ScriptCall.known`). */
  readonly restored: boolean
  /** op "metrics": the fleet's counts within `metricsTtl`. */
  readonly fleet: FleetCounts
}

/** A time of the script's clock on this instance's clock (0 stays 0: "never"). */
const local = (time: number, offset: number): number => (time === 0 ? 0 : time - offset)

const states: ReadonlySet<unknown> = new Set(["CLOSED", "OPEN", "HALF_OPEN", "FORCED_OPEN", "FORCED_CLOSED"])

const noFleet: FleetCounts = { successes: 0, failures: 0, rejections: 0, probes: 0, opens: 0 }

/**
 * The script's reply, element by element (lua/circuit.lua's header); for op
 * "metrics" the fleet's counts (`fleetElements`) follow.
 */
const replyElements = [
  "state",
  "version",
  "openCount",
  "openedAt",
  "retryAt",
  "changedAt",
  "failures",
  "calls",
  "halfOpenSuccesses",
  "probes",
  "decision",
  "retryAfter",
  "probe",
  "now",
  "repaired",
  "created",
  "missing",
  "restored"
] as const

const fleetElements = ["successes", "failures", "rejections", "probes", "opens"] as const satisfies ReadonlyArray<
  keyof FleetCounts
>

/** The position of each element in the reply. */
const at = Object.fromEntries(replyElements.map((element, i) => [element, i])) as {
  readonly [K in typeof replyElements[number]]: number
}
const fleetAt = Object.fromEntries(fleetElements.map((element, i) => [element, replyElements.length + i])) as {
  readonly [K in typeof fleetElements[number]]: number
}
const withFleet = replyElements.length + fleetElements.length

/** The element of the script's reply that is not what lua/circuit.lua's header says, if any. */
const badElement = (r: ReadonlyArray<unknown>): string | undefined => {
  if (r.length !== replyElements.length && r.length !== withFleet) {
    return `${r.length} elements (${replyElements.length} or ${withFleet} expected)`
  }
  if (!states.has(r[at.state])) return `element ${at.state} is not a state`
  for (let i = 1; i < r.length; i++) {
    if (i === at.decision) {
      if (r[i] !== "allow" && r[i] !== "reject" && r[i] !== "") return `element ${i} is not a decision`
    } else if (i === at.probe) {
      if (typeof r[i] !== "string") return `element ${i} is not a string`
    } else if (typeof r[i] !== "number" || !Number.isFinite(r[i])) {
      return `element ${i} is not a number`
    }
  }
  return undefined
}

/**
 * The script's reply (lua/circuit.lua's header), with its times moved from
 * the clock the script ran on (Redis's, for `timeSource: "server"`) to this
 * instance's, by `offset`. Checked and read by hand: monitoring decodes
 * thousands of them per read.
 */
const toReply = (raw: unknown, offset: number): Either.Either<Reply, CircuitStoreError> => {
  const bad = Array.isArray(raw) ? badElement(raw) : "not an array"
  if (bad !== undefined) {
    return Effect3.Either.left(new CircuitStoreError({ reason: `unexpected reply from the circuit script: ${bad}` }))
  }
  const r = raw as ReadonlyArray<any>
  return Effect3.Either.right({
    snapshot: {
      state: r[at.state],
      version: r[at.version],
      openCount: r[at.openCount],
      openedAt: local(r[at.openedAt], offset),
      retryAt: local(r[at.retryAt], offset),
      changedAt: local(r[at.changedAt], offset),
      failures: r[at.failures],
      calls: r[at.calls],
      halfOpenSuccesses: r[at.halfOpenSuccesses],
      probes: r[at.probes]
    },
    decision: r[at.decision],
    retryAfter: r[at.retryAfter],
    probe: r[at.probe],
    decidedAt: local(r[at.now], offset),
    repaired: r[at.repaired] === 1,
    created: r[at.created] === 1,
    missing: r[at.missing] === 1,
    restored: r[at.restored] === 1,
    fleet: r.length === withFleet
      ? {
        successes: r[fleetAt.successes],
        failures: r[fleetAt.failures],
        rejections: r[fleetAt.rejections],
        probes: r[fleetAt.probes],
        opens: r[fleetAt.opens]
      }
      : noFleet
  })
}

// ---------------------------------------------------------------------------
// the per-instance cache of one circuit
// ---------------------------------------------------------------------------

class Entry {
  snapshot: Snapshot | undefined = undefined
  /** Local time of the reply the snapshot came from. */
  fetchedAt = 0
  /** When that reply was decided (Redis's clock for `timeSource: "server"`, in local time). */
  confirmedAt = 0
  /** Local time until which calls are rejected without asking. */
  rejectUntil = 0
  /** Successes counted locally, not yet sent to the window. */
  pending = 0
  /** Metric counts not yet sent. */
  unsent: Unsent = { ...noneUnsent }
  registered = false
  /** Failed round trips so far, and the last error: callers queued behind a failure share it. */
  failures = 0
  failed: CircuitStoreError | undefined = undefined
  allow: Decision = { _tag: "Allow", probe: undefined, state: "CLOSED", version: -1 }
  /** Round trips sent, and the newest whose reply was applied to the cache. */
  sent = 0
  applied = 0
  /** The first handle made for the circuit: it flushes what is batched, with its config. */
  owner: RedisCircuit | undefined = undefined
  /** When a call last used the circuit (local clock): idle entries are evicted. */
  usedAt = 0
  /** Operations under way on this entry: it is not evicted meanwhile. */
  inFlight = 0
  /** Dropped from the store: handles still holding it take the store's entry again. */
  evicted = false
  constructor(readonly lock: Effect.Semaphore) {}

  /** Nothing batched: no success or count that no round trip has carried yet. */
  get empty(): boolean {
    const u = this.unsent
    return this.pending === 0 && u.successes === 0 && u.failures === 0 && u.rejections === 0 && u.probes === 0
  }
}

/** Runs `effect` with `entry` marked in use, so that it is not evicted under it. */
const tracked = <A, E>(entry: Entry, effect: Effect.Effect<A, E>): Effect.Effect<A, E> =>
  Effect.suspend(() => {
    entry.inFlight++
    return Effect.ensuring(effect, Effect.sync(() => entry.inFlight--))
  })

/** What every circuit of one store shares. */
interface Shared {
  readonly client: RedisClient["Type"]
  /** Redis's clock as this instance learned it (`timeSource: "server"`). */
  readonly clock: ServerClock
  /** The time source of circuits whose config does not choose one. */
  readonly timeSource: "client" | "server"
  readonly prefix: string
  readonly scope: Scope.Scope
  /** Every round trip goes through it, and through the store's breaker it holds. */
  readonly roundTrips: RoundTrips
  readonly registry: Registry
  /** A probe id unique in the fleet: the holder, this store, a counter. */
  readonly nextProbeId: (holder: string) => string
  /** Runs an effect in the background, in the store's scope. */
  readonly fork: (effect: Effect.Effect<void>) => Effect.Effect<void>
  /** Wakes the flusher: something was batched locally (`Flusher.batched`). */
  readonly batched: () => void
  /** A use at `now` (local clock), for the sweep of idle entries (`Flusher.used`). */
  readonly used: (now: number) => void
  /** The store's entry for `name`, made again for `circuit` after it was evicted. */
  readonly attach: (name: string, circuit: RedisCircuit) => Entry
}

class RedisCircuit implements Circuit {
  private readonly keys: readonly [string, string]
  private readonly args: ReadonlyArray<string>
  constructor(
    readonly name: string,
    readonly config: CircuitConfig,
    public entry: Entry,
    readonly shared: Shared
  ) {
    this.keys = keysOf(shared.prefix, name)
    this.args = scriptArgs(config)
  }

  /**
   * A call uses the circuit at `now`: a handle whose entry was evicted (idle,
   * nothing batched) takes the store's entry again, which knows nothing yet:
   * the next call asks Redis.
   */
  private use(now: number): Entry {
    let e = this.entry
    if (e.evicted) e = this.entry = this.shared.attach(this.name, this)
    e.usedAt = now
    this.shared.used(now)
    return e
  }

  private fresh(now: number): boolean {
    const e = this.entry
    return e.snapshot !== undefined && now >= e.fetchedAt && now - e.fetchedAt < this.config.stateCacheTtl
  }

  acquireLocal(now: number): Decision | undefined {
    this.use(now)
    if (!this.fresh(now)) return undefined
    const e = this.entry
    const s = e.snapshot!
    if (s.state === "CLOSED" || s.state === "FORCED_CLOSED") {
      if (e.allow.version !== s.version || e.allow.state !== s.state) {
        e.allow = { _tag: "Allow", probe: undefined, state: s.state, version: s.version }
      }
      return e.allow
    }
    if (now < e.rejectUntil) {
      e.unsent.rejections++
      this.shared.batched()
      const retryAfter = s.state === "FORCED_OPEN" ? this.config.recoveryTimeout : e.rejectUntil - now
      return { _tag: "Reject", retryAfter, state: s.state, version: s.version }
    }
    return undefined
  }

  /**
   * Successes of calls without a permit are always batched: in CLOSED they
   * cannot open the circuit, and in any other state the script ignores them,
   * so sending them later (with the next round trip, or within a second)
   * decides nothing differently.
   */
  recordSuccessLocal(now: number): void {
    this.use(now)
    this.entry.pending++
    this.entry.unsent.successes++
    this.shared.batched()
  }

  clockSkew(): number | undefined {
    return this.serverTime ? this.shared.clock.offset : undefined
  }

  /** Whether this circuit runs on Redis's clock: its config says so, or else the store's. */
  private get serverTime(): boolean {
    return (this.config.timeSource ?? this.shared.timeSource) === "server"
  }

  /** The offset to Redis's clock this circuit's calls use: 0 on the caller's own clock. */
  private get offset(): number {
    return this.serverTime ? this.shared.clock.offset ?? 0 : 0
  }

  /**
   * Learns Redis's clock before the first script call (`timeSource:
   * "server"`), and refreshes it in the background once it is old. Bounded by
   * `storeTimeout`; a transport failure counts against the store's breaker.
   */
  private get syncClock(): Effect.Effect<void, CircuitStoreError> {
    if (!this.serverTime) return Effect.void
    const clock = this.shared.clock
    return Effect.clockWith((local) => {
      const read = () => local.unsafeCurrentTimeMillis()
      if (clock.offset !== undefined) {
        if (!clock.stale(read())) return Effect.void
        // in the background, outside the store's breaker
        const measured = () =>
          this.shared.roundTrips.run(clock.measure(read), { timeout: this.config.storeTimeout, what: "TIME", guard: "bypass" })
        return clock.refresh(measured, this.shared.fork)
      }
      return this.shared.roundTrips.run(clock.measure(read), {
        timeout: this.config.storeTimeout,
        what: "TIME",
        guard: "counted"
      })
    })
  }

  /**
   * One call of the script (`request`: all of `ScriptCall` but the clock
   * and what is batched), with the batched successes and counts riding along.
   */
  private call(
    request: Omit<ScriptCall, "batch" | "unsent">
  ): Effect.Effect<Reply, CircuitStoreError> {
    return Effect.suspend(() => {
      const { now, op, outcome } = request
      const peek = request.peek === true
      // the store's breaker is for the hot path: monitoring reads (peek) always ask. It is asked
      // here, before anything is taken from the batch or counted as sent: a refused call sends nothing
      const refused = peek ? undefined : this.shared.roundTrips.guard.check(now)
      if (refused !== undefined) return Effect.fail(refused)
      if (this.serverTime && this.shared.clock.offset === undefined) {
        return Effect.zipRight(this.syncClock, this.call(request))
      }
      const e = this.entry
      // a peek (monitoring) carries nothing of this instance's: its config may not be the circuit's
      const batch = op === "force" || peek ? 0 : e.pending
      e.pending -= batch
      if (op === "record") {
        if (outcome === "success") e.unsent.successes++
        else if (outcome === "failure") e.unsent.failures++
      }
      const unsent = peek ? noneUnsent : e.unsent
      if (!peek) e.unsent = { ...noneUnsent }
      const sequence = ++e.sent
      const giveBack = () => {
        e.pending += batch
        if (!peek) {
          e.unsent.successes += unsent.successes
          e.unsent.failures += unsent.failures
          e.unsent.rejections += unsent.rejections
          e.unsent.probes += unsent.probes
        }
      }
      const offset = this.offset
      // what the script puts back if Redis lost the circuit, in this same call
      const known = op === "force" || peek ? undefined : this.known(now, offset)
      this.hooks.storeRoundTrips.update(1)
      const roundTrip = runScript(
        this.shared.client,
        scripts.circuit,
        this.keys,
        scriptArgv(this.args, { ...request, now: now + offset, batch, unsent, known })
      )
      return this.shared.roundTrips.run(roundTrip, {
        timeout: this.config.storeTimeout,
        what: "script",
        guard: peek ? "bypass" : "counted"
      }).pipe(
        Effect.flatMap((raw) => toReply(raw, offset)),
        Effect.tapBoth({
          onFailure: (error) =>
            Effect.sync(() => {
              giveBack()
              e.failed = error
              e.failures++
            }),
          onSuccess: (reply) => {
            e.failed = undefined
            return Effect.zipRight(this.remember(now, reply, sequence, peek), this.syncClock.pipe(Effect.ignore))
          }
        }),
        // the caller gave up (not Redis): nothing is lost, and the store is not blamed
        Effect.onInterrupt(() => Effect.sync(giveBack))
      )
    })
  }

  private remember(now: number, reply: Reply, sequence: number, peek: boolean): Effect.Effect<void> {
    const e = this.entry
    const s = reply.snapshot
    // replies may overtake each other (parallel HTTP requests): an older one must not
    // overwrite what a newer one said
    if (sequence < e.applied) return Effect.void
    e.applied = sequence
    e.snapshot = s
    e.fetchedAt = now
    e.confirmedAt = reply.decidedAt
    e.rejectUntil = s.state === "OPEN"
      ? now + (s.retryAt - reply.decidedAt)
      : s.state === "FORCED_OPEN"
      ? Infinity
      : reply.decision === "reject"
      ? now + reply.retryAfter
      : 0
    const tasks: Array<Effect.Effect<void>> = []
    if (reply.repaired) {
      tasks.push(
        Effect.logWarning(`circuit ${JSON.stringify(this.name)}: some of its Redis data was not readable and was repaired`)
      )
    }
    // Redis had lost the circuit (restart, FLUSHALL, failover, data overwritten) and this call put
    // back what this instance knew
    if (reply.restored) {
      tasks.push(Effect.logWarning(
        `circuit ${JSON.stringify(this.name)}: Redis lost its state (restart, flush or failover); ` +
          `re-asserted ${s.state}${s.state === "OPEN" ? ` until ${new Date(s.retryAt).toISOString()}` : ""}`
      ))
    }
    // a state that had to be created (first use, or wiped by a restart or FLUSHALL) is registered again
    if (!peek && (!e.registered || reply.created)) {
      e.registered = true
      tasks.push(this.register)
    }
    return tasks.length === 0 ? Effect.void : Effect.all(tasks, { discard: true })
  }

  /**
   * What the script puts back if Redis lost the circuit (`ScriptCall.known`):
   * the state this instance last read, while `lostState` says a missing key
   * would mean it was lost; on the script's clock (`offset`).
   */
  private known(now: number, offset: number): string | undefined {
    const e = this.entry
    if (e.snapshot === undefined) return undefined
    const lost = lostState(e.snapshot, e.confirmedAt, now, this.config.stateTtl)
    if (lost === undefined) return undefined
    const server = (time: number) => (time === 0 ? 0 : time + offset)
    return `${lost.state} ${lost.openCount} ${server(lost.openedAt)} ${server(lost.retryAt)} ${lost.version}`
  }

  /**
   * Adds the name to the registry (a failure is retried after the next round
   * trip). Called when the breaker is made, never on a call's path.
   */
  get registerNow(): Effect.Effect<void> {
    return this.shared.registry.add(this.name, () => this.offset).pipe(
      Effect.matchEffect({
        onFailure: () => Effect.sync(() => (this.entry.registered = false)),
        onSuccess: () => Effect.sync(() => (this.entry.registered = true))
      })
    )
  }

  /** `registerNow` in the background, for a retry after a round trip. */
  get register(): Effect.Effect<void> {
    return Effect.asVoid(Effect.forkIn(this.registerNow, this.shared.scope))
  }

  acquire(now: number, holder: string): Effect.Effect<Decision, CircuitStoreError> {
    // one round trip at a time per circuit: concurrent callers re-check the cache
    // the first one refreshed (a stale CLOSED cache costs one round trip, not one per call)
    const entry = this.use(now)
    const failuresBefore = entry.failures
    return tracked(entry, entry.lock.withPermits(1)(Effect.suspend(() => {
      const local = this.acquireLocal(now)
      if (local !== undefined) return Effect.succeed(local)
      // a round trip failed while this caller waited: take its answer rather than wait again
      if (this.entry.failures !== failuresBefore && this.entry.failed !== undefined) {
        return Effect.fail(this.entry.failed)
      }
      // the lease id is chosen before the round trip: a caller that gives up releases it
      const probeId = this.shared.nextProbeId(holder)
      const sentBefore = this.entry.sent
      return this.call({ op: "acquire", now, probe: probeId }).pipe(
        // only when a round trip was sent: a store that refuses calls costs nothing per call
        Effect.onExit((exit) =>
          Exit.isSuccess(exit) || this.entry.sent === sentBefore ? Effect.void : this.release(probeId)
        ),
        Effect.map((reply): Decision => {
          if (reply.decision === "reject") this.entry.unsent.rejections++
          else if (reply.probe !== "") this.entry.unsent.probes++
          return reply.decision === "reject"
            ? { _tag: "Reject", retryAfter: reply.retryAfter, state: reply.snapshot.state, version: reply.snapshot.version }
            : {
              _tag: "Allow",
              probe: reply.probe === "" ? undefined : reply.probe,
              state: reply.snapshot.state,
              version: reply.snapshot.version
            }
        })
      )
    })))
  }

  /**
   * Gives back a probe lease the caller may or may not have got (it gave up
   * during the round trip, or the round trip timed out): in the background,
   * right away and once more after `storeTimeout` (over HTTP the acquire may
   * still be on its way), each bounded by `storeTimeout`. Releasing a lease
   * that was never taken changes nothing.
   */
  private release(probeId: string): Effect.Effect<void> {
    const once = Effect.clockWith((clock) =>
      this.call({ op: "record", now: clock.unsafeCurrentTimeMillis(), probe: probeId, outcome: "release" })
    ).pipe(Effect.ignore)
    return this.shared.fork(
      Effect.zipRight(once, Effect.zipRight(Effect.sleep(Duration.millis(this.config.storeTimeout)), once))
    )
  }

  record(
    now: number,
    outcome: Outcome,
    probe: string | undefined,
    sample: number
  ): Effect.Effect<Snapshot, CircuitStoreError> {
    return this.used(now, Effect.map(this.call({ op: "record", now, probe, outcome, sample }), (reply) => reply.snapshot))
  }

  read(now: number): Effect.Effect<Snapshot, CircuitStoreError> {
    return this.used(now, Effect.map(this.call({ op: "read", now }), (reply) => reply.snapshot))
  }

  /** `effect`, a use of the circuit at `now`, with its entry kept meanwhile. */
  private used<A, E>(now: number, effect: Effect.Effect<A, E>): Effect.Effect<A, E> {
    return Effect.suspend(() => tracked(this.use(now), effect))
  }

  force(now: number, state: "FORCED_OPEN" | "FORCED_CLOSED"): Effect.Effect<Snapshot, CircuitStoreError> {
    return this.used(now, Effect.map(this.call({ op: "force", now, outcome: state }), (reply) => reply.snapshot))
  }

  reset(now: number): Effect.Effect<Snapshot, CircuitStoreError> {
    return this.used(now, Effect.map(this.call({ op: "force", now, outcome: "RESET" }), (reply) => reply.snapshot))
  }

  fleet(now: number): Effect.Effect<readonly [Snapshot, FleetCounts], CircuitStoreError> {
    return this.used(now, Effect.map(this.call({ op: "metrics", now }), (reply) => [reply.snapshot, reply.fleet] as const))
  }

  /** Sends batched successes and counts that no round trip has carried yet. */
  get flush(): Effect.Effect<void> {
    return this.entry.empty
      ? Effect.void
      : Effect.flatMap(Effect.clockWith((clock) => clock.currentTimeMillis), (now) =>
        // "read" adds batched successes to the window and counts to the metrics, and writes no state
        Effect.ignore(this.call({ op: "read", now })))
  }

  /** The circuit and the fleet's counts, for monitoring: carries and registers nothing. */
  inspect(now: number): Effect.Effect<readonly [Snapshot, FleetCounts], CircuitStoreError> {
    return Effect.map(this.call({ op: "metrics", now, peek: true }), (reply) => [reply.snapshot, reply.fleet] as const)
  }

  private get hooks(): CircuitBreakerMetrics.Hooks {
    return CircuitBreakerMetrics.hooksFor(this.config.serviceName, false)
  }
}

/** @internal */
export interface StoreOptions {
  readonly unavailableAfter: number
  readonly cooldown: number
  readonly timeSource: "client" | "server"
  /** Milliseconds without a call after which a circuit's entry is evicted (default 10 minutes). */
  readonly idleTtl?: number | undefined
}

/** @internal */
export const defaultIdleTtl = 10 * 60_000

/** The registry of circuit names: a sorted set scored by registration time (ARCHITECTURE.md, "The Redis data model"). */
interface Registry {
  /**
   * Adds `name`, scored by the time now on Redis's clock (`offset()`, read
   * when the score is taken); a key of the wrong type is dropped first.
   * Refused while Redis is deemed unavailable, bounded by the default
   * `storeTimeout`.
   */
  readonly add: (name: string, offset: () => number) => Effect.Effect<void, CircuitStoreError>
  /**
   * Every registered name: a monitoring read, which always asks Redis and
   * does not touch the store's breaker; by `ZSCAN`, `REGISTRY_PAGE` entries
   * per round trip.
   */
  readonly names: Effect.Effect<ReadonlyArray<string>, CircuitStoreError>
  /** When `name` was registered (Redis's clock where known), as the last `names` read said (for pruning). */
  readonly registeredAt: (name: string) => number | undefined
  /**
   * Names whose state is gone leave the registry: in the background, at most
   * `PRUNE_CHUNK` names per command; a failure is logged (a warning once,
   * until a prune succeeds again).
   */
  readonly forget: (gone: ReadonlyArray<string>) => Effect.Effect<void>
}

/** The circuit registry of one store; `dropped` runs when a registry of the wrong type was dropped. */
const makeRegistry = (
  client: RedisClient["Type"],
  prefix: string,
  roundTrips: RoundTrips,
  options: {
    readonly fork: (effect: Effect.Effect<void>) => Effect.Effect<void>
    readonly dropped: () => void
  }
): Registry => {
  const key = registryKeyOf(prefix)
  const send = (command: ReadonlyArray<string>, guard: "checked" | "bypass") =>
    roundTrips.run(client.send(command), { timeout: defaults.storeTimeout, what: "registry", guard })
  const isWrongType = (error: CircuitStoreError) => error.reason.includes("WRONGTYPE")
  /** Drops a registry key of the wrong type (someone wrote over it), with a warning. */
  const repair = Effect.zipRight(
    Effect.logWarning(
      `circuit registry ${JSON.stringify(key)} was not a sorted set and was dropped; ` +
        "circuits register again as they are used"
    ),
    send(["DEL", key], "checked")
  )
  let registeredAt = new Map<string, number>()
  /** Names a prune in flight removes. */
  const pruning = new Set<string>()
  let pruneFailing = false
  return {
    add: (name, offset) => {
      const add = Effect.clockWith((clock) =>
        send(["ZADD", key, String(clock.unsafeCurrentTimeMillis() + offset()), name], "checked")
      )
      return add.pipe(Effect.catchIf(isWrongType, () => Effect.zipRight(repair, add)), Effect.asVoid)
    },
    // read by ZSCAN, a bounded reply per round trip however many names there are; a name
    // registered throughout the scan is read (once or more: kept once), whatever else changes
    names: Effect.suspend(() => {
      const read = new Map<string, number>()
      const page = (cursor: string): Effect.Effect<void, CircuitStoreError> =>
        Effect.flatMap(send(["ZSCAN", key, cursor, "COUNT", String(REGISTRY_PAGE)], "bypass"), (reply) => {
          const [next, members] = Array.isArray(reply) && reply.length === 2 ? reply : [undefined, undefined]
          if (
            (typeof next !== "string" && typeof next !== "number") || !Array.isArray(members) || members.length % 2 !== 0 ||
            !members.every((item) => typeof item === "string")
          ) {
            return Effect.fail(new CircuitStoreError({ reason: "unexpected reply to ZSCAN of the circuit registry" }))
          }
          for (let i = 0; i < members.length; i += 2) read.set(members[i] as string, Number(members[i + 1]))
          return String(next) === "0" ? Effect.void : page(String(next))
        })
      return page("0").pipe(
        Effect.as(true),
        Effect.catchIf(isWrongType, () => {
          options.dropped()
          return Effect.as(repair, false)
        }),
        Effect.map((whole) => {
          if (!whole) read.clear()
          registeredAt = read
          return [...read.keys()] as ReadonlyArray<string>
        })
      )
    }),
    registeredAt: (name) => registeredAt.get(name),
    forget: (gone) =>
      Effect.suspend(() => {
        // a name already being removed (reads arriving together find the same ones) is not sent twice
        const names = gone.filter((name) => !pruning.has(name))
        if (names.length === 0) return Effect.void
        for (const name of names) pruning.add(name)
        const chunks: Array<ReadonlyArray<string>> = []
        for (let i = 0; i < names.length; i += PRUNE_CHUNK) chunks.push(names.slice(i, i + PRUNE_CHUNK))
        const prune = Effect.forEach(chunks, (chunk) => send(["ZREM", key, ...chunk], "bypass"), { discard: true }).pipe(
          Effect.matchEffect({
            onFailure: (error) => {
              // once per episode: every monitoring read of a fleet with gone names tries again
              if (pruneFailing) return Effect.logDebug(`pruning the circuit registry ${JSON.stringify(key)} failed: ${error.reason}`)
              pruneFailing = true
              return Effect.logWarning(
                `pruning the circuit registry ${JSON.stringify(key)} failed (${error.reason}); ` +
                  "names whose state is gone stay listed, and monitoring reads them again, until a prune succeeds"
              )
            },
            onSuccess: () => Effect.sync(() => void (pruneFailing = false))
          }),
          Effect.ensuring(Effect.sync(() => {
            for (const name of names) pruning.delete(name)
          }))
        )
        return options.fork(prune)
      })
  }
}

/** How many entries of the registry one `ZSCAN` asks for (a hint to Redis). */
const REGISTRY_PAGE = 10_000

/** Names removed from the registry per `ZREM`: a command of bounded size, however many names are gone. */
const PRUNE_CHUNK = 1_000

/** The flusher of one store (`Shared.batched`, `Shared.used`). */
interface Flusher {
  /** Wakes the flusher: something was batched locally (synchronous, cheap when already awake). */
  readonly batched: () => void
  /** A use at `now` (local clock): once a sweep of idle entries is due, the flusher runs it. */
  readonly used: (now: number) => void
}

/**
 * Sends what is batched within `FLUSH_INTERVAL` (and when the store closes),
 * and evicts idle entries, after flushing them, every `min(idleTtl, 1 min)`.
 */
const makeFlusher = (
  entries: Map<string, Entry>,
  idleTtl: number
): Effect.Effect<Flusher, never, Scope.Scope> =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    // idle entries are evicted by the flusher, when a use (callers' clock: TestClock too) finds a
    // sweep due: no timer runs for it, so an idle process sleeps
    const sweepEvery = Math.max(1, Math.min(idleTtl, 60_000))
    let nextSweep = (yield* Clock.currentTimeMillis) + sweepEvery
    let sweepDue = false
    /** An entry idle since `now - idleTtl`, with nothing in flight, whose loss forgets nothing Redis may need back. */
    const idleAt = (entry: Entry, now: number): boolean =>
      now - entry.usedAt >= idleTtl && entry.inFlight === 0 &&
      (entry.snapshot === undefined ||
        lostState(entry.snapshot, entry.confirmedAt, now, entry.owner?.config.stateTtl ?? defaults.stateTtl) ===
          undefined)
    const sweep = Effect.clockWith((clock) => {
      const now = clock.unsafeCurrentTimeMillis()
      const idle: Array<readonly [string, Entry]> = []
      for (const pair of entries) if (idleAt(pair[1], now)) idle.push(pair)
      // what is batched is sent first: an entry is dropped only once nothing is left in it
      return Effect.forEach(idle, ([name, entry]) =>
        Effect.zipRight(
          entry.empty || entry.owner === undefined ? Effect.void : entry.owner.flush,
          Effect.sync(() => {
            if (entries.get(name) === entry && entry.empty && idleAt(entry, now)) {
              entry.evicted = true
              entries.delete(name)
            }
          })
        ), { discard: true, concurrency: 16 })
    })
    let awake = false
    let wake = yield* Deferred.make<void>()
    const flushAll = Effect.suspend(() =>
      Effect.forEach(entries.values(), (entry) => entry.owner?.flush ?? Effect.void, { discard: true })
    )
    // successes and rejections counted locally reach Redis with the next round trip, or at
    // the latest FLUSH_INTERVAL after they were counted; the flusher sleeps while nothing is batched
    yield* Effect.forkIn(
      Effect.forever(Effect.gen(function*() {
        yield* Deferred.await(wake)
        yield* Effect.sleep(FLUSH_INTERVAL)
        wake = yield* Deferred.make<void>()
        awake = false
        yield* flushAll
        if (sweepDue) {
          sweepDue = false
          yield* sweep
        }
      })),
      scope
    )
    // what is still batched when the store closes is sent on the way out
    yield* Scope.addFinalizer(scope, flushAll)
    const batched = () => {
      if (!awake) {
        awake = true
        Deferred.unsafeDone(wake, Exit.void)
      }
    }
    return {
      batched,
      used: (now) => {
        if (now >= nextSweep) {
          nextSweep = now + sweepEvery
          sweepDue = true
          batched()
        }
      }
    }
  })

/**
 * Monitoring reads of circuits no breaker of this instance uses (`inspectMany`,
 * `INSPECT_BATCH` per script call): peek script calls, outside the store's
 * breaker; names whose state is gone and that no entry holds leave the
 * registry.
 */
const makeInspectMany = (
  shared: Shared,
  entries: Map<string, Entry>
): CircuitStore["Type"]["inspectMany"] => {
  const { client, prefix, registry, roundTrips } = shared

  /** One `TIME` round trip, outside the store's breaker: the offset to Redis's clock. */
  const measure = (local: Clock.Clock, timeout: number) =>
    roundTrips.run(shared.clock.measure(() => local.unsafeCurrentTimeMillis()), { timeout, what: "TIME", guard: "bypass" })

  /**
   * The offset to Redis's clock for a read on `timeSource`: measured first if
   * it never was, refreshed in the background once it is old (a process that
   * only monitors has no circuit calls to refresh it).
   */
  const offsetFor = (timeSource: "client" | "server", timeout: number): Effect.Effect<number, CircuitStoreError> =>
    timeSource === "client"
      ? Effect.succeed(0)
      : Effect.clockWith((local) => {
        const offset = shared.clock.offset
        if (offset === undefined) return measure(local, timeout)
        if (!shared.clock.stale(local.unsafeCurrentTimeMillis())) return Effect.succeed(offset)
        return Effect.as(shared.clock.refresh(() => measure(local, timeout), shared.fork), offset)
      })

  /** Whether the server refused a call whose keys are in several slots: a Cluster (unless the client said). */
  let crossSlot = false

  /**
   * Script calls, each `[numkeys, ...keys, ...args]` of `script`, with their
   * replies in order: `perRoundTrip` of them per pipeline (for a client
   * without one, up to 16 of them at once, one per round trip), a few groups at
   * once, each round trip bounded by the read's timeout. After a restart or a
   * `SCRIPT FLUSH`, the calls answered NOSCRIPT are sent again with the
   * source (which loads it).
   */
  const callAll = (
    script: LuaScript,
    calls: ReadonlyArray<ReadonlyArray<string>>,
    perRoundTrip: number,
    timeout: number
  ): Effect.Effect<ReadonlyArray<Either.Either<unknown, RedisClientError | CircuitStoreError>>, CircuitStoreError> => {
    const variant = scriptFor(client, script)
    const pipeline = client.pipeline
    type Replies = ReadonlyArray<Either.Either<unknown, RedisClientError | CircuitStoreError>>
    const send = (group: ReadonlyArray<ReadonlyArray<string>>, sha: boolean): Effect.Effect<Replies, CircuitStoreError> => {
      const commands = group.map((call) => [sha ? "EVALSHA" : "EVAL", sha ? variant.sha : variant.source, ...call])
      return pipeline !== undefined
        ? roundTrips.run(pipeline(commands), { timeout: timeout * 4, what: "pipeline", guard: "bypass" })
        : Effect.forEach(commands, (command) =>
          Effect.either(roundTrips.run(Effect.either(client.send(command)), { timeout, what: command[0]!, guard: "bypass" }))
            .pipe(Effect.map(Effect3.Either.flatMap((reply) => reply))), { concurrency: Math.min(perRoundTrip, 16) })
    }
    const noScript = (reply: Either.Either<unknown, RedisClientError | CircuitStoreError>) =>
      Effect3.Either.isLeft(reply) && reply.left._tag === "RedisClientError" && reply.left.kind === "NoScript"
    const groups: Array<ReadonlyArray<ReadonlyArray<string>>> = []
    for (let i = 0; i < calls.length; i += perRoundTrip) groups.push(calls.slice(i, i + perRoundTrip))
    return Effect.map(
      Effect.forEach(groups, (group) =>
        Effect.flatMap(send(group, true), (replies): Effect.Effect<Replies, CircuitStoreError> => {
          const again = group.filter((_, i) => noScript(replies[i]!))
          if (again.length === 0) return Effect.succeed(replies)
          return Effect.map(send(again, false), (resent) => {
            let next = 0
            return replies.map((reply) => noScript(reply) ? resent[next++]! : reply)
          })
        }), { concurrency: 4 }),
      (replies) => replies.flat()
    )
  }

  /** A reply of `lua/manyCircuits.lua`, one per circuit of a call of `size` circuits. */
  const each = (
    reply: Either.Either<unknown, RedisClientError | CircuitStoreError>,
    size: number
  ): ReadonlyArray<Either.Either<unknown, RedisClientError | CircuitStoreError>> => {
    if (Effect3.Either.isLeft(reply)) return Array.from({ length: size }, () => reply)
    const replies = reply.right
    if (!Array.isArray(replies) || replies.length !== size) {
      const error = new CircuitStoreError({ reason: `unexpected reply from the circuits script: not ${size} replies` })
      return Array.from({ length: size }, () => Effect3.Either.left(error))
    }
    // an error of one circuit is its own element (an error object, or its message over REST)
    return replies.map((one) =>
      one instanceof Error || typeof one === "string"
        ? Effect3.Either.left(classify(one instanceof Error ? one : new Error(one), []))
        : Effect3.Either.right(one)
    )
  }

  /**
   * One reply of the circuit script per name: `lua/manyCircuits.lua` once per
   * 100 circuits, 5 calls per round trip; or, on a Redis Cluster (a call's
   * keys must share a slot, and every circuit has its own), `lua/circuit.lua`
   * once per circuit, 100 per round trip (the client groups a pipeline by
   * node). A server that answers CROSSSLOT to a client that did not say
   * whether it is a Cluster is taken for one from then on.
   */
  const readAll = (
    names: ReadonlyArray<string>,
    args: ReadonlyArray<string>,
    timeout: number
  ): Effect.Effect<ReadonlyArray<Either.Either<unknown, RedisClientError | CircuitStoreError>>, CircuitStoreError> => {
    const oneByOne = Effect.suspend(() =>
      callAll(scripts.circuit, names.map((name) => ["2", ...keysOf(prefix, name), ...args]), INSPECT_BATCH, timeout)
    )
    if (client.cluster === true || crossSlot) return oneByOne
    return Effect.suspend(() => {
      const batches: Array<ReadonlyArray<string>> = []
      for (let i = 0; i < names.length; i += INSPECT_BATCH) batches.push(names.slice(i, i + INSPECT_BATCH))
      const calls = batches.map((batch) => [String(batch.length * 2), ...batch.flatMap((name) => keysOf(prefix, name)), ...args])
      return Effect.flatMap(callAll(scripts.manyCircuits, calls, MANY_PER_ROUND_TRIP, timeout), (replies) => {
        const refused = replies.some((reply) =>
          Effect3.Either.isLeft(reply) && reply.left._tag === "RedisClientError" && reply.left.kind === "Command" &&
          /^CROSSSLOT\b/.test(reply.left.reason)
        )
        if (refused && client.cluster === undefined) {
          crossSlot = true
          return Effect.zipRight(
            Effect.logWarning(
              `${client.description} refused a script call over several hash slots (CROSSSLOT): it is taken for a ` +
                "Redis Cluster, and monitoring reads one circuit per call (a client of your own says so with `cluster: true`)"
            ),
            oneByOne
          )
        }
        return Effect.succeed(replies.flatMap((reply, i) => each(reply, batches[i]!.length)))
      })
    })
  }

  return (names, config, now) =>
    Effect.gen(function*() {
      const timeout = config.storeTimeout
      const offset = yield* offsetFor(config.timeSource ?? shared.timeSource, timeout)
      const replies = yield* readAll(names, peekArgs(config, now + offset), timeout)
      const all = names.map((name, i): Inspected => {
        const reply = replies[i]!
        if (Effect3.Either.isLeft(reply)) {
          const error = reply.left._tag === "RedisClientError" ? storeError(reply.left) : reply.left
          return { name, read: undefined, missing: false, error }
        }
        const decoded = toReply(reply.right, offset)
        if (Effect3.Either.isLeft(decoded)) return { name, read: undefined, missing: false, error: decoded.left }
        const r = decoded.right
        // no state: gone when it was registered longer ago than a state lives; else new, CLOSED
        const since = registry.registeredAt(name)
        const gone = r.missing && since !== undefined && now + offset - since > config.stateTtl
        return gone
          ? { name, read: undefined, missing: true, error: undefined }
          : { name, read: [r.snapshot, r.fleet], missing: false, error: undefined }
      })
      // a name whose state is gone, and that no breaker of this instance uses, leaves the registry
      yield* registry.forget(all.filter((r) => r.missing && entries.get(r.name) === undefined).map((r) => r.name))
      return all
    })
}

/**
 * The handle of `name` (`CircuitStore.circuit`): its entry is made on first
 * use and owned by the first handle; the name is registered before the
 * first call.
 */
const circuitFactory = (
  shared: Shared,
  entryOf: (name: string) => Entry
): CircuitStore["Type"]["circuit"] =>
(name, config) =>
  // no generator function made per circuit: V8 never shrinks its list of those that ran
  Effect.clockWith((clock) => {
    const entry = entryOf(name)
    const now = clock.unsafeCurrentTimeMillis()
    entry.usedAt = now
    shared.used(now)
    const circuit = new RedisCircuit(name, config, entry, shared)
    if (entry.owner === undefined) entry.owner = circuit
    if (entry.registered) return Effect.succeed(circuit)
    entry.registered = true
    return Effect.as(circuit.registerNow, circuit)
  })

/**
 * The Redis store: its round trips and breaker (`RoundTrips`), its registry,
 * its flusher, its monitoring reads and the factory of its circuits.
 *
 * @internal
 */
export const make = (
  prefix: string,
  options: StoreOptions
): Effect.Effect<CircuitStore["Type"], never, RedisClient | Scope.Scope> =>
  Effect.gen(function*() {
    const client = yield* RedisClient
    const entries = new Map<string, Entry>()
    const scope = yield* Effect.scope
    const storeId = (yield* Random.nextIntBetween(0, 0x7fffffff)).toString(36)
    let probes = 0
    const roundTrips = new RoundTrips(new StoreGuard(options.unavailableAfter, options.cooldown), client.description)
    const fork = (effect: Effect.Effect<void>) => Effect.asVoid(Effect.forkIn(effect, scope))
    /** The entry of `name`, made when there is none. */
    const entryOf = (name: string): Entry => {
      let entry = entries.get(name)
      if (entry === undefined) {
        entry = new Entry(Effect.unsafeMakeSemaphore(1))
        entries.set(name, entry)
      }
      return entry
    }
    const registry = makeRegistry(client, prefix, roundTrips, {
      fork,
      // circuits register again as they are used
      dropped: () => {
        for (const entry of entries.values()) entry.registered = false
      }
    })
    // when the store closes, after the flusher's last flush (finalizers run last added first), nothing per
    // circuit stays: a disposed ManagedRuntime the application keeps still holds the store
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        for (const entry of entries.values()) entry.evicted = true
        entries.clear()
      })
    )
    const flusher = yield* makeFlusher(entries, options.idleTtl ?? defaultIdleTtl)
    const shared: Shared = {
      client,
      clock: new ServerClock(client),
      timeSource: options.timeSource,
      prefix,
      scope,
      roundTrips,
      registry,
      nextProbeId: (holder) => `${encodeURIComponent(holder)}:${storeId}:${++probes}`,
      fork,
      batched: flusher.batched,
      used: flusher.used,
      attach: (name, circuit) => {
        const entry = entryOf(name)
        if (entry.owner === undefined) entry.owner = circuit
        return entry
      }
    }
    return {
      inspectMany: makeInspectMany(shared, entries),
      /** How many circuits this instance caches (tests). */
      cached: () => entries.size,
      circuit: circuitFactory(shared, entryOf),
      names: registry.names,
      inspect: (name, config, now) =>
        Effect.suspend(() => {
          const owner = entries.get(name)?.owner
          if (owner !== undefined) return owner.inspect(now)
          // a circuit no breaker of this instance uses: a handle that is not kept
          return new RedisCircuit(name, config, new Entry(Effect.unsafeMakeSemaphore(1)), shared).inspect(now)
        })
    }
  })
