/**
 * The handle of one circuit in the Redis store (`RedisCircuit`, the
 * `Circuit` of `CircuitStore`): answers from the instance's cache where it
 * can, else one call of `lua/circuit.lua` with what is batched riding along.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Scope from "effect/Scope"
import * as CircuitBreakerMetrics from "../../CircuitBreakerMetrics.js"
import type { CircuitConfig } from "../../CircuitConfig.js"
import type { Snapshot } from "../../CircuitState.js"
import type {
  CallTime,
  Circuit,
  CircuitStore,
  CircuitStoreError,
  Decision,
  FleetCounts,
  NotificationStatus,
  Outcome
} from "../../CircuitStore.js"
import type { RedisClient } from "../../RedisClient.js"
import { changing, changingTtl, type Entry, lostState, tracked } from "./circuitCache.js"
import { keysOf } from "../../../../shared/redis/keys.js"
import * as scripts from "../../../../shared/redis/luaScripts.js"
import type { Notifications } from "./notifications.js"
import type { Registry } from "./registry.js"
import type { RoundTrips } from "./roundTrip.js"
import { runScript, runScriptDirect } from "./runScript.js"
import { noneUnsent, type ScriptCall, scriptArgs, scriptArgv } from "../../../../shared/redis/scriptArgs.js"
import { type Reply, toReply } from "./scriptReply.js"
import type { ServerClock } from "./serverClock.js"

/**
 * What every circuit of one store shares.
 *
 * @internal
 */
export interface Shared {
  readonly client: RedisClient["Service"]
  /** Redis's clock as this instance learned it (`timeSource: "server"`). */
  readonly clock: ServerClock
  /** The time source of circuits whose config does not choose one. */
  readonly timeSource: "client" | "server"
  readonly prefix: string
  readonly scope: Scope.Scope
  /** Every round trip goes through it, and through the store's breaker it holds. */
  readonly roundTrips: RoundTrips
  readonly registry: Registry
  /** Transitions made by other instances, as they are announced. */
  readonly notifications: Notifications
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

/**
 * One handle of a circuit: its name and config over the store's entry for
 * the name (`Entry`), which every handle of the name shares.
 *
 * @internal
 */
export class RedisCircuit implements Circuit {
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
    this.changingTtl = changingTtl(config.stateCacheTtl)
  }

  /** How long the state of a changing circuit is trusted while no notification would tell of it. */
  private readonly changingTtl: number

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
    return e.snapshot !== undefined && now >= e.fetchedAt &&
      now - e.fetchedAt < (e.changing ? this.changingTtl : this.config.stateCacheTtl)
  }

  /**
   * A CLOSED circuit whose cached state is fresh by the recent time is
   * allowed without a clock read (the recent time is at most a few ms old,
   * so the cache is at most that much past `stateCacheTtl`); any other
   * decision reads the clock.
   */
  acquireLocal(time: CallTime): Decision | undefined {
    const e = this.entry
    const s = e.snapshot
    if (s !== undefined && !e.evicted && e.allow.version === s.version && e.allow.state === s.state) {
      const recent = time.recent
      if (this.fresh(recent)) {
        e.usedAt = recent
        this.shared.used(recent)
        return e.allow
      }
    }
    return this.decideLocal(time.now())
  }

  /** `acquireLocal` at `now`. */
  private decideLocal(now: number): Decision | undefined {
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

  notifications(): NotificationStatus | undefined {
    return this.shared.notifications.status
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
      const read = () => local.currentTimeMillisUnsafe()
      if (clock.offset !== undefined) {
        if (!clock.stale(read())) return Effect.void
        // in the background, outside the store's breaker
        const measured = () =>
          this.shared.roundTrips.run(clock.measure(read), {
            timeout: this.config.storeTimeout,
            what: "TIME",
            guard: "bypass"
          })
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
        return Effect.andThen(this.syncClock, this.call(request))
      }
      const e = this.entry
      // a peek (monitoring) carries nothing of this instance's: its config may not be the circuit's
      const batch = op === "force" || peek ? 0 : e.pending
      e.pending -= batch
      // the metric counts ride along with every call but a record's: a record (a failure, a probe's
      // outcome) adds its own count to them, and they reach Redis with the next other call or the
      // flush within a second, so that a failure costs Redis no metrics write of its own
      const carries = !peek && op !== "record"
      if (op === "record") {
        if (outcome === "success") e.unsent.successes++
        else if (outcome === "failure") e.unsent.failures++
        this.shared.batched()
      }
      const unsent = carries ? e.unsent : noneUnsent
      if (carries) e.unsent = { ...noneUnsent }
      const sequence = ++e.sent
      const giveBack = () => {
        e.pending += batch
        if (carries) {
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
      const argv = scriptArgv(this.args, {
        op,
        now: now + offset,
        probe: request.probe,
        outcome,
        sample: request.sample,
        batch,
        unsent,
        peek,
        known
      })
      const client = this.shared.client
      const roundTrip = runScriptDirect(client, scripts.circuit, this.keys, argv) ??
        runScript(client, scripts.circuit, this.keys, argv)
      return this.shared.roundTrips.run(roundTrip, {
        timeout: this.config.storeTimeout,
        what: "script",
        guard: peek ? "bypass" : "counted"
      }).pipe(
        Effect.flatMap((raw) => Effect.fromResult(toReply(raw, offset))),
        Effect.tapError((error) =>
          Effect.sync(() => {
            giveBack()
            e.failed = error
            e.failures++
          })
        ),
        Effect.tap((reply) => {
          e.failed = undefined
          return Effect.andThen(this.remember(now, reply, sequence, peek), this.syncClock.pipe(Effect.ignore))
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
    e.changing = !this.shared.notifications.live && changing(s, now, this.config.stateCacheTtl)
    // a transition was announced while this round trip was under way, and its reply predates it
    if (sequence <= e.staleThrough && s.version < e.announced) e.fetchedAt = -Infinity
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
        Effect.logWarning(
          `circuit ${JSON.stringify(this.name)}: some of its Redis data was not readable and was repaired`
        )
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
    return tracked(
      entry,
      entry.lock.withPermits(1)(Effect.suspend(() => {
        const local = this.decideLocal(now)
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
              ? {
                _tag: "Reject",
                retryAfter: reply.retryAfter,
                state: reply.snapshot.state,
                version: reply.snapshot.version
              }
              : {
                _tag: "Allow",
                probe: reply.probe === "" ? undefined : reply.probe,
                state: reply.snapshot.state,
                version: reply.snapshot.version
              }
          })
        )
      }))
    )
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
      this.call({ op: "record", now: clock.currentTimeMillisUnsafe(), probe: probeId, outcome: "release" })
    ).pipe(Effect.ignore)
    return this.shared.fork(
      Effect.andThen(once, Effect.andThen(Effect.sleep(Duration.millis(this.config.storeTimeout)), once))
    )
  }

  record(
    now: number,
    outcome: Outcome,
    probe: string | undefined,
    sample: number
  ): Effect.Effect<Snapshot, CircuitStoreError> {
    return this.used(
      now,
      Effect.map(this.call({ op: "record", now, probe, outcome, sample }), (reply) => reply.snapshot)
    )
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
    return this.used(
      now,
      Effect.map(this.call({ op: "metrics", now }), (reply) => [reply.snapshot, reply.fleet] as const)
    )
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

/**
 * The handle of `name` (`CircuitStore.circuit`): its entry is made on first
 * use and owned by the first handle; the name is registered before the
 * first call.
 *
 * @internal
 */
export const circuitFactory = (
  shared: Shared,
  entryOf: (name: string) => Entry
): CircuitStore["Service"]["circuit"] =>
(name, config) =>
  // no generator function made per circuit: V8 never shrinks its list of those that ran
  Effect.clockWith((clock) => {
    const entry = entryOf(name)
    const now = clock.currentTimeMillisUnsafe()
    entry.usedAt = now
    shared.used(now)
    const circuit = new RedisCircuit(name, config, entry, shared)
    if (entry.owner === undefined) entry.owner = circuit
    // the first circuit made starts the store's notifications
    const listening = shared.notifications.start(shared.fork)
    if (entry.registered) return Effect.as(listening, circuit)
    entry.registered = true
    return Effect.andThen(listening, Effect.as(circuit.registerNow, circuit))
  })
