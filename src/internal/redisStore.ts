/**
 * The Redis store: `lua/circuit.lua` behind the `Circuit` interface, with the
 * per-instance cache and success batching of ARCHITECTURE.md, "The admit step
 * and the round-trip budget".
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as ParseResult from "effect/ParseResult"
import * as Random from "effect/Random"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as CircuitBreakerMetrics from "../CircuitBreakerMetrics.js"
import { type CircuitConfig, CircuitConfigError, defaults } from "../CircuitConfig.js"
import { type Snapshot, State } from "../CircuitState.js"
import {
  type Circuit,
  type CircuitStore,
  CircuitStoreError,
  type Decision,
  type FleetCounts,
  type Outcome
} from "../CircuitStore.js"
import { RedisClient, type RedisClientError, runScript } from "../RedisClient.js"
import * as scripts from "./luaScripts.js"

/** @internal */
export const defaultPrefix = "cb"

/** @internal */
export const keysOf = (prefix: string, name: string): readonly [string, string, string, string] => {
  const tag = `${prefix}:{${encodeURIComponent(name)}}`
  return [`${tag}:state`, `${tag}:window`, `${tag}:probes`, `${tag}:metrics`]
}

/** @internal */
export const registryKeyOf = (prefix: string): string => `${prefix}:circuits`

// eslint-disable-next-line no-control-regex
const badPrefix = /[{}\s\u0000-\u001f\u007f]/

/** The longest a locally counted success or rejection waits before it is sent. */
const FLUSH_INTERVAL = Duration.seconds(1)

// ---------------------------------------------------------------------------
// replies
// ---------------------------------------------------------------------------

const Int = Schema.Number.pipe(Schema.filter(Number.isFinite))

const Reply = Schema.Tuple(
  State,
  Int, // version
  Int, // openCount
  Int, // openedAt
  Int, // retryAt
  Int, // changedAt
  Int, // failures
  Int, // calls
  Int, // halfOpenSuccesses
  Int, // probes
  Schema.Literal("allow", "reject", ""),
  Int, // retryAfter
  Schema.String, // probe
  Int, // t: the script's now
  Int, // repaired
  Int, // created: the state did not exist before this call
  Int, // fleet successes (op "metrics")
  Int, // fleet failures
  Int, // fleet rejections
  Int, // fleet probes
  Int // fleet opens
)

const decodeReply = Schema.decodeUnknownEither(Reply)

interface Reply {
  readonly snapshot: Snapshot
  readonly decision: "allow" | "reject" | ""
  readonly retryAfter: number
  readonly probe: string
  readonly t: number
  readonly repaired: boolean
  readonly created: boolean
  readonly fleet: FleetCounts
}

const toReply = (raw: unknown): Either.Either<Reply, CircuitStoreError> =>
  Either.match(decodeReply(raw), {
    onLeft: (error) =>
      Either.left(
        new CircuitStoreError({
          reason: `unexpected reply from the circuit script: ${
            ParseResult.TreeFormatter.formatErrorSync(error).split("\n")[0].slice(0, 200)
          }`
        })
      ),
    onRight: (r) =>
      Either.right({
        snapshot: {
          state: r[0],
          version: r[1],
          openCount: r[2],
          openedAt: r[3],
          retryAt: r[4],
          changedAt: r[5],
          failures: r[6],
          calls: r[7],
          halfOpenSuccesses: r[8],
          probes: r[9]
        },
        decision: r[10],
        retryAfter: r[11],
        probe: r[12],
        t: r[13],
        repaired: r[14] === 1,
        created: r[15] === 1,
        fleet: { successes: r[16], failures: r[17], rejections: r[18], probes: r[19], opens: r[20] }
      })
  })

// ---------------------------------------------------------------------------
// the per-instance cache of one circuit
// ---------------------------------------------------------------------------

class Entry {
  snapshot: Snapshot | undefined = undefined
  /** Local time of the reply the snapshot came from. */
  fetchedAt = 0
  /** Local time until which calls are rejected without asking. */
  rejectUntil = 0
  /** Successes counted locally, not yet sent to the window. */
  pending = 0
  /** Metric counts not yet sent: successes, failures, rejections, probes. */
  unsent: [number, number, number, number] = [0, 0, 0, 0]
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
  constructor(readonly lock: Effect.Semaphore) {}
}

/**
 * The store's own breaker, shared by every circuit of one store: after
 * `threshold` consecutive failed round trips it stops calling Redis for
 * `cooldown` ms (calls then cost nothing and the breakers follow their
 * `onStoreUnavailable` policy), then lets one trial round trip through.
 */
class StoreGuard {
  private failures = 0
  private openUntil = 0
  private trial = false
  private lastReason = ""
  constructor(readonly threshold: number, readonly cooldown: number) {}

  /** One error per cool-down: during an outage every call is refused, and allocates nothing. */
  private refusal: CircuitStoreError | undefined = undefined

  /** Undefined when a round trip may be made now; otherwise why not. */
  check(now: number): CircuitStoreError | undefined {
    if (this.failures < this.threshold) return undefined
    if (now >= this.openUntil && !this.trial) {
      this.trial = true
      return undefined
    }
    return this.refusal ?? (this.refusal = new CircuitStoreError({
      reason: `Redis unavailable (${this.failures} round trips failed in a row; last: ${this.lastReason}); ` +
        `store calls paused for ${this.cooldown} ms`
    }))
  }

  success(): void {
    this.failures = 0
    this.trial = false
  }

  /** A round trip failed; `now` is when it failed (the cool-down starts then). */
  failure(now: number, reason: string): void {
    this.failures++
    this.trial = false
    this.lastReason = reason
    this.refusal = undefined
    if (this.failures >= this.threshold) this.openUntil = now + this.cooldown
  }
}

interface Shared {
  readonly client: RedisClient["Type"]
  readonly prefix: string
  readonly scope: Scope.Scope
  readonly guard: StoreGuard
  /** A probe id unique in the fleet: the holder, this store, a counter. */
  readonly nextProbeId: (holder: string) => string
  /**
   * A command outside the circuit script (registry): refused at once while
   * Redis is deemed unavailable, bounded by the default `storeTimeout`.
   */
  readonly guarded: <A>(command: Effect.Effect<A, RedisClientError>) => Effect.Effect<A, CircuitStoreError>
  /** Wakes the flusher: something was batched locally (synchronous, cheap when already awake). */
  readonly batched: () => void
}

class RedisCircuit implements Circuit {
  private readonly keys: readonly [string, string, string, string]
  private readonly args: ReadonlyArray<string>
  constructor(
    readonly name: string,
    readonly config: CircuitConfig,
    readonly entry: Entry,
    readonly shared: Shared
  ) {
    this.keys = keysOf(shared.prefix, name)
    this.args = [
      config.failureThreshold,
      config.successThreshold,
      config.recoveryTimeout,
      config.maxRecoveryTimeout,
      config.monitoringPeriod,
      config.backoffMultiplier,
      config.backoffJitter,
      config.stateTtl,
      config.halfOpenMaxProbes,
      config.probeLease,
      config.failureRateThreshold ?? "",
      config.minimumCalls
    ].map(String)
  }

  private fresh(now: number): boolean {
    const e = this.entry
    return e.snapshot !== undefined && now >= e.fetchedAt && now - e.fetchedAt < this.config.stateCacheTtl
  }

  acquireLocal(now: number): Decision | undefined {
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
      e.unsent[2]++
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
  recordSuccessLocal(_now: number): boolean {
    this.entry.pending++
    this.entry.unsent[0]++
    this.shared.batched()
    return true
  }

  /** One call of the script, with the batched successes riding along. */
  private call(
    op: "acquire" | "record" | "force" | "read" | "metrics",
    now: number,
    probe: string,
    outcome: string,
    sample: number,
    peek = false
  ): Effect.Effect<Reply, CircuitStoreError> {
    return Effect.suspend(() => {
      const guard = this.shared.guard
      const refused = guard.check(now)
      if (refused !== undefined) return Effect.fail(refused)
      const e = this.entry
      // a peek (monitoring) carries nothing of this instance's: its config may not be the circuit's
      const batch = op === "force" || peek ? 0 : e.pending
      e.pending -= batch
      if (op === "record") {
        if (outcome === "success") e.unsent[0]++
        else if (outcome === "failure") e.unsent[1]++
      }
      const unsent = peek ? [0, 0, 0, 0] : e.unsent
      if (!peek) e.unsent = [0, 0, 0, 0]
      const sequence = ++e.sent
      const giveBack = () => {
        e.pending += batch
        if (!peek) for (let i = 0; i < 4; i++) e.unsent[i] += unsent[i]
      }
      this.hooks.storeRoundTrips.update(1)
      return runScript(this.shared.client, scripts.circuit, this.keys, [
        op,
        this.config.timeSource === "server" ? "server" : String(now),
        ...this.args,
        probe,
        outcome,
        String(sample),
        String(batch),
        String(this.config.metricsTtl),
        unsent.join(" ")
      ]).pipe(
        Effect.mapError((error) => new CircuitStoreError({ reason: error.message })),
        // callers run this inside uninterruptible regions (probe permits): the round trip
        // itself must stay interruptible, or the timeout could not cut it short
        Effect.interruptible,
        Effect.timeoutFail({
          duration: Duration.millis(this.config.storeTimeout),
          onTimeout: () =>
            new CircuitStoreError({ reason: `no reply from Redis within storeTimeout (${this.config.storeTimeout} ms)` })
        }),
        Effect.flatMap(toReply),
        Effect.tapBoth({
          onFailure: (error) =>
            Effect.clockWith((clock) =>
              Effect.sync(() => {
                giveBack()
                e.failed = error
                e.failures++
                guard.failure(clock.unsafeCurrentTimeMillis(), error.reason)
              })
            ),
          onSuccess: (reply) => {
            guard.success()
            e.failed = undefined
            return this.remember(now, reply, sequence, peek)
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
    e.rejectUntil = s.state === "OPEN"
      ? now + (s.retryAt - reply.t)
      : s.state === "FORCED_OPEN"
      ? Infinity
      : reply.decision === "reject"
      ? now + reply.retryAfter
      : 0
    const tasks: Array<Effect.Effect<void>> = []
    if (reply.repaired) {
      tasks.push(Effect.logWarning(`circuit ${JSON.stringify(this.name)}: its Redis state was not readable and was reset`))
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
    return this.shared.guarded(this.shared.client.send(["SADD", registryKeyOf(this.shared.prefix), this.name])).pipe(
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
    const failuresBefore = this.entry.failures
    return this.entry.lock.withPermits(1)(Effect.suspend(() => {
      const local = this.acquireLocal(now)
      if (local !== undefined) return Effect.succeed(local)
      // a round trip failed while this caller waited: take its answer rather than wait again
      if (this.entry.failures !== failuresBefore && this.entry.failed !== undefined) {
        return Effect.fail(this.entry.failed)
      }
      return Effect.map(this.call("acquire", now, this.shared.nextProbeId(holder), "", 0), (reply): Decision => {
        if (reply.decision === "reject") this.entry.unsent[2]++
        else if (reply.probe !== "") this.entry.unsent[3]++
        return reply.decision === "reject"
          ? { _tag: "Reject", retryAfter: reply.retryAfter, state: reply.snapshot.state, version: reply.snapshot.version }
          : {
            _tag: "Allow",
            probe: reply.probe === "" ? undefined : reply.probe,
            state: reply.snapshot.state,
            version: reply.snapshot.version
          }
      })
    }))
  }

  record(
    now: number,
    outcome: Outcome,
    probe: string | undefined,
    sample: number
  ): Effect.Effect<Snapshot, CircuitStoreError> {
    return Effect.map(this.call("record", now, probe ?? "", outcome, sample), (reply) => reply.snapshot)
  }

  read(now: number): Effect.Effect<Snapshot, CircuitStoreError> {
    return Effect.map(this.call("read", now, "", "", 0), (reply) => reply.snapshot)
  }

  force(now: number, state: "FORCED_OPEN" | "FORCED_CLOSED"): Effect.Effect<Snapshot, CircuitStoreError> {
    return Effect.map(this.call("force", now, "", state, 0), (reply) => reply.snapshot)
  }

  reset(now: number): Effect.Effect<Snapshot, CircuitStoreError> {
    return Effect.map(this.call("force", now, "", "RESET", 0), (reply) => reply.snapshot)
  }

  fleet(now: number): Effect.Effect<readonly [Snapshot, FleetCounts], CircuitStoreError> {
    return Effect.map(this.call("metrics", now, "", "", 0), (reply) => [reply.snapshot, reply.fleet] as const)
  }

  /** Sends batched successes and counts that no round trip has carried yet. */
  get flush(): Effect.Effect<void> {
    return this.entry.pending === 0 && this.entry.unsent.every((n) => n === 0)
      ? Effect.void
      : Effect.flatMap(Effect.clockWith((clock) => clock.currentTimeMillis), (now) =>
        // "read" adds batched successes to the window and counts to the metrics, and writes no state
        Effect.ignore(this.call("read", now, "", "", 0)))
  }

  /** The circuit and the fleet's counts, for monitoring: carries and registers nothing. */
  inspect(now: number): Effect.Effect<readonly [Snapshot, FleetCounts], CircuitStoreError> {
    return Effect.map(this.call("metrics", now, "", "", 0, true), (reply) => [reply.snapshot, reply.fleet] as const)
  }

  private get hooks(): CircuitBreakerMetrics.Hooks {
    return CircuitBreakerMetrics.hooksFor(this.config.serviceName)
  }
}

/** @internal */
export interface GuardOptions {
  readonly unavailableAfter: number
  readonly cooldown: number
}

/** @internal */
export const make = (
  prefix: string,
  guardOptions: GuardOptions
): Effect.Effect<CircuitStore["Type"], CircuitConfigError, RedisClient | Scope.Scope> =>
  Effect.gen(function*() {
    if (prefix.length === 0 || prefix.length > 64 || badPrefix.test(prefix)) {
      return yield* new CircuitConfigError({
        service: "RedisCircuitStore",
        issues: [`prefix must be 1 to 64 characters without braces, spaces or control characters (got ${JSON.stringify(prefix.slice(0, 64))})`]
      })
    }
    const client = yield* RedisClient
    const entries = new Map<string, Entry>()
    const scope = yield* Effect.scope
    const storeId = (yield* Random.nextIntBetween(0, 0x7fffffff)).toString(36)
    let probes = 0
    const guard = new StoreGuard(guardOptions.unavailableAfter, guardOptions.cooldown)
    const shared: Shared = {
      client,
      prefix,
      scope,
      guard,
      nextProbeId: (holder) => `${holder}:${storeId}:${++probes}`,
      guarded: (command) =>
        Effect.clockWith((clock) => {
          const refused = guard.check(clock.unsafeCurrentTimeMillis())
          if (refused !== undefined) return Effect.fail(refused)
          return command.pipe(
            Effect.mapError((error) => new CircuitStoreError({ reason: error.message })),
            Effect.interruptible,
            Effect.timeoutFail({
              duration: Duration.millis(defaults.storeTimeout),
              onTimeout: () => new CircuitStoreError({ reason: `no reply from Redis within ${defaults.storeTimeout} ms` })
            }),
            Effect.tapBoth({
              onFailure: (error) => Effect.clockWith((c) => Effect.sync(() => guard.failure(c.unsafeCurrentTimeMillis(), error.reason))),
              onSuccess: () => Effect.sync(() => guard.success())
            })
          )
        }),
      batched: () => {
        if (!awake) {
          awake = true
          Deferred.unsafeDone(wake, Exit.void)
        }
      }
    }
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
      })),
      scope
    )

    // what is still batched when the store closes is sent on the way out
    yield* Scope.addFinalizer(scope, flushAll)

    const names = shared.guarded(client.send(["SMEMBERS", registryKeyOf(prefix)])).pipe(
      Effect.flatMap((reply) =>
        Array.isArray(reply) && reply.every((name) => typeof name === "string")
          ? Effect.succeed(reply as ReadonlyArray<string>)
          : Effect.fail(new CircuitStoreError({ reason: "unexpected reply to SMEMBERS of the circuit registry" }))
      )
    )

    return {
      circuit: (name, config) =>
        Effect.gen(function*() {
          let entry = entries.get(name)
          if (entry === undefined) {
            entry = new Entry(yield* Effect.makeSemaphore(1))
            entries.set(name, entry)
          }
          const circuit = new RedisCircuit(name, config, entry, shared)
          if (entry.owner === undefined) entry.owner = circuit
          if (!entry.registered) {
            entry.registered = true
            yield* circuit.registerNow
          }
          return circuit
        }),
      names,
      inspect: (name, config, now) =>
        Effect.suspend(() => {
          const owner = entries.get(name)?.owner
          if (owner !== undefined) return owner.inspect(now)
          // a circuit no breaker of this instance uses: a handle that is not kept
          return Effect.flatMap(Effect.makeSemaphore(1), (lock) =>
            new RedisCircuit(name, config, new Entry(lock), shared).inspect(now))
        })
    }
  })
