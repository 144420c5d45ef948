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
import type { Circuit, CircuitStore, CircuitStoreError, Decision, FleetCounts, Outcome } from "../../CircuitStore.js"
import type { RedisClient } from "../../RedisClient.js"
import { type Entry, tracked } from "./circuitCache.js"
import { CircuitHandle, type HandleShared, repairedText, restoredText } from "../../../../shared/redis/circuitHandle.js"
import * as scripts from "../../../../shared/redis/luaScripts.js"
import type { Notifications } from "./notifications.js"
import type { Registry } from "./registry.js"
import type { RoundTrips } from "./roundTrip.js"
import { runScript, runScriptDirect } from "./runScript.js"
import { type ScriptCall, scriptArgv } from "../../../../shared/redis/scriptArgs.js"
import { type Reply, toReply } from "./scriptReply.js"
import type { ServerClock } from "./serverClock.js"

/**
 * What every circuit of one store shares.
 *
 * @internal
 */
export interface Shared extends HandleShared<Entry, RedisCircuit> {
  readonly client: RedisClient["Service"]
  /** Redis's clock as this instance learned it (`timeSource: "server"`). */
  readonly clock: ServerClock
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
}

/**
 * One handle of a circuit: its name and config over the store's entry for
 * the name (`Entry`), which every handle of the name shares.
 *
 * @internal
 */
export class RedisCircuit extends CircuitHandle<Entry, RedisCircuit, Shared, CircuitConfig> implements Circuit {
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
      const taken = this.take(e, op, outcome, peek)
      const giveBack = () => this.giveBack(e, taken)
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
        batch: taken.batch,
        unsent: taken.unsent,
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
          return Effect.andThen(this.remember(now, reply, taken.sequence, peek), this.syncClock.pipe(Effect.ignore))
        }),
        // the caller gave up (not Redis): nothing is lost, and the store is not blamed
        Effect.onInterrupt(() => Effect.sync(giveBack))
      )
    })
  }

  private remember(now: number, reply: Reply, sequence: number, peek: boolean): Effect.Effect<void> {
    const s = reply.snapshot
    if (!this.apply(now, sequence, reply)) return Effect.void
    const e = this.entry
    const tasks: Array<Effect.Effect<void>> = []
    if (reply.repaired) {
      tasks.push(Effect.logWarning(repairedText(this.name)))
    }
    // Redis had lost the circuit and this call put back what this instance knew
    if (reply.restored) {
      tasks.push(Effect.logWarning(restoredText(this.name, s)))
    }
    // a state that had to be created (first use, or wiped by a restart or FLUSHALL) is registered again
    if (!peek && (!e.registered || reply.created)) {
      e.registered = true
      tasks.push(this.register)
    }
    return tasks.length === 0 ? Effect.void : Effect.all(tasks, { discard: true })
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
          Effect.map((reply): Decision => this.acquired(reply))
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
