/**
 * The breaker: `protect` and the admin effects over one `Circuit` of a store.
 *
 * The hot path (a CLOSED circuit, a call that succeeds) is one
 * `withFiberRuntime` and one `matchCauseEffect`: the clock is read
 * synchronously from the fiber and the store answers from local knowledge.
 * Everything that takes or returns a probe permit runs uninterruptibly, with
 * only the protected effect itself interruptible, so a permit is never lost.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import * as Stream from "effect/Stream"
import * as CircuitConfig from "../CircuitConfig.js"
import { CircuitOpen, ServiceUnavailable } from "../CircuitBreakerError.js"
import * as CircuitBreakerMetrics from "../CircuitBreakerMetrics.js"
import type { Snapshot, State, Transition } from "../CircuitState.js"
import { type Circuit, CircuitStore, type CircuitStoreError, type Decision, type Outcome } from "../CircuitStore.js"
import * as memory from "./memoryStore.js"

/** @internal */
export const TypeId: unique symbol = Symbol.for("effect-circuit-breaker-redis/CircuitBreaker")

/** @internal */
export type TypeId = typeof TypeId

/** @internal */
export interface LocalCounts {
  calls: number
  successes: number
  failures: number
  rejections: number
  probes: number
  slowCalls: number
  storeErrors: number
  lastSuccessAt: number
  lastFailureAt: number
}

/** @internal */
export interface Metrics {
  readonly service: string
  readonly instanceId: string
  readonly state: State
  /** Calls this instance ran through the breaker (rejections excluded). */
  readonly calls: number
  readonly successes: number
  readonly failures: number
  readonly rejections: number
  readonly probes: number
  readonly slowCalls: number
  readonly storeErrors: number
  /** Failures and calls in the circuit's sliding window (fleet-wide for a shared store). */
  readonly windowFailures: number
  readonly windowCalls: number
  readonly openCount: number
  readonly retryAt: number | null
  readonly lastTransitionAt: number | null
  readonly lastSuccessAt: number | null
  readonly lastFailureAt: number | null
}

/** @internal */
export type HealthStatus = "healthy" | "degraded" | "unhealthy"

/** @internal */
export interface Health {
  readonly service: string
  readonly status: HealthStatus
  readonly state: State
  readonly metrics: Metrics
  readonly timestamp: number
  /** Redis's clock minus this instance's, in ms (Redis store on server time, once measured). */
  readonly clockSkewMs?: number
}

/** @internal */
export const statusOf = (state: State): HealthStatus =>
  state === "CLOSED" || state === "FORCED_CLOSED" ? "healthy" : state === "HALF_OPEN" ? "degraded" : "unhealthy"

const nowFrom = (fiber: { readonly currentDefaultServices: Context.Context<never> }): Clock.Clock =>
  Context.unsafeGet(fiber.currentDefaultServices as Context.Context<Clock.Clock>, Clock.Clock)

/** @internal */
export class CircuitBreakerImpl {
  readonly [TypeId]: TypeId = TypeId
  private lastState: State = "CLOSED"
  private lastVersion = 0
  private listeners: Set<(transition: Transition) => void> | undefined = undefined
  private local: Circuit | undefined = undefined
  /** True while the last store operation failed and the local fallback is in use. */
  degraded = false
  readonly counts: LocalCounts = {
    calls: 0,
    successes: 0,
    failures: 0,
    rejections: 0,
    probes: 0,
    slowCalls: 0,
    storeErrors: 0,
    lastSuccessAt: 0,
    lastFailureAt: 0
  }

  constructor(
    readonly name: string,
    readonly config: CircuitConfig.CircuitConfig,
    readonly instanceId: string,
    readonly circuit: Circuit,
    /** Whether this breaker's metrics may go to Effect's global registry (see `CircuitBreakerMetrics.hooksFor`). */
    readonly registryMetrics: boolean = true,
    /** When a call last asked this breaker (the caller's clock): the `CircuitBreakers` registry evicts idle ones. */
    public usedAt: number = 0
  ) {}

  /**
   * Whether nothing but the `CircuitBreakers` registry needs this breaker:
   * no call for `idleTtl` ms, no `stateChanges` subscriber, no local
   * fallback holding state through a store outage.
   *
   * @internal
   */
  idle(now: number, idleTtl: number): boolean {
    return now - this.usedAt >= idleTtl && (this.listeners === undefined || this.listeners.size === 0) &&
      !this.degraded
  }

  private hooksCache: CircuitBreakerMetrics.Hooks | undefined = undefined

  /** This service's metric hooks (shared by every breaker of the service). */
  private get hooks(): CircuitBreakerMetrics.Hooks {
    return this.hooksCache ?? (this.hooksCache = CircuitBreakerMetrics.hooksFor(this.config.serviceName, this.registryMetrics))
  }

  // -------------------------------------------------------------------------
  // protect
  // -------------------------------------------------------------------------

  /** Bound, so `effect.pipe(breaker.protect)` works. */
  readonly protect = <A, E, R>(
    self: Effect.Effect<A, E, R>
  ): Effect.Effect<A, E | CircuitOpen | ServiceUnavailable, R> =>
    Effect.withFiberRuntime((fiber) => {
      const clock = nowFrom(fiber)
      const now = clock.unsafeCurrentTimeMillis()
      const decision = this.admitLocal(now)
      if (decision === undefined) return this.protectSlow(self, clock, now)
      if (decision._tag === "Reject") return this.reject(decision)
      return this.run(self, clock, now, this.circuit)
    })

  /**
   * The synchronous first step of `protect`: a decision from the store's
   * local knowledge (noting any transition it reveals), or `undefined` when
   * the store must be asked. Also the fiber-free fast path of the Promise API.
   *
   * @internal
   */
  admitLocal(now: number): Decision | undefined {
    this.usedAt = now
    const decision = this.circuit.acquireLocal(now)
    if (decision !== undefined && decision.version !== this.lastVersion) {
      this.observe(decision.state, decision.version, now)
    }
    return decision
  }

  /** Runs a call admitted without a permit and records its outcome. */
  private run<A, E, R>(
    self: Effect.Effect<A, E, R>,
    clock: Clock.Clock,
    start: number,
    circuit: Circuit
  ): Effect.Effect<A, E, R> {
    this.started()
    return Effect.matchCauseEffect(self, {
      onSuccess: this.onSuccess<A>(clock, start, circuit, undefined),
      onFailure: this.onFailure<E>(clock, start, circuit, undefined)
    })
  }

  /** A call admitted without a permit starts. @internal */
  started(): void {
    this.counts.calls++
  }

  // The handlers are made by these factories rather than written inline:
  // an arrow function in an object literal gets a name, and esbuild's
  // `keepNames` (tsx, some bundlers) then wraps it on every call.

  /**
   * What `protect` does when the call succeeded: an effect of the value,
   * already complete unless the store must hear of it. @internal
   */
  onSuccess<A>(
    clock: Clock.Clock,
    start: number,
    circuit: Circuit,
    probe: string | undefined
  ): (a: A) => Effect.Effect<A> {
    return (a) => {
      const end = clock.unsafeCurrentTimeMillis()
      const hooks = this.hooks
      hooks.latency.update(end - start)
      if (this.isSlow(start, end)) {
        this.counts.slowCalls++
        hooks.call("failure").update(1)
        return Effect.as(this.recordOutcome(circuit, end, "failure", probe), a)
      }
      this.counts.successes++
      this.counts.lastSuccessAt = end
      hooks.call("success").update(1)
      if (probe === undefined && circuit.recordSuccessLocal(end)) return Effect.succeed(a)
      return Effect.as(this.recordOutcome(circuit, end, "success", probe), a)
    }
  }

  /** What `protect` does when the call failed with `cause`. @internal */
  onFailure<E>(
    clock: Clock.Clock,
    start: number,
    circuit: Circuit,
    probe: string | undefined
  ): (cause: Cause.Cause<E>) => Effect.Effect<never, E> {
    return (cause) => {
      const end = clock.unsafeCurrentTimeMillis()
      const outcome = this.classify(cause, start, end)
      if (outcome === "release" && probe === undefined) return Effect.failCause(cause)
      if (outcome !== "release") this.hooks.latency.update(end - start)
      if (outcome === "success" && probe === undefined && circuit.recordSuccessLocal(end)) {
        return Effect.failCause(cause)
      }
      return Effect.zipRight(this.recordOutcome(circuit, end, outcome, probe), Effect.failCause(cause))
    }
  }

  /** Asks the store: a probe permit, a state change, or a store failure. */
  private protectSlow<A, E, R>(
    self: Effect.Effect<A, E, R>,
    clock: Clock.Clock,
    now: number
  ): Effect.Effect<A, E | CircuitOpen | ServiceUnavailable, R> {
    return Effect.uninterruptibleMask((restore) =>
      Effect.flatMap(this.acquire(now), ([decision, circuit]): Effect.Effect<
        A,
        E | CircuitOpen | ServiceUnavailable,
        R
      > => {
        if (decision._tag === "Reject") return this.reject(decision)
        // the call starts now, after the store answered: its duration must not include the round trip
        const start = clock.unsafeCurrentTimeMillis()
        if (decision.probe === undefined) return restore(this.run(self, clock, start, circuit))
        this.counts.calls++
        this.counts.probes++
        this.hooks.call("probe").update(1)
        // only the protected effect is interruptible: the permit is always reported or released
        return Effect.matchCauseEffect(restore(self), {
          onSuccess: this.onSuccess<A>(clock, start, circuit, decision.probe),
          onFailure: this.onFailure<E>(clock, start, circuit, decision.probe)
        })
      })
    )
  }

  private acquire(now: number): Effect.Effect<readonly [Decision, Circuit], ServiceUnavailable> {
    return this.circuit.acquire(now, this.instanceId).pipe(
      Effect.map((decision) => {
        this.storeUp()
        this.observe(decision.state, decision.version, now)
        return [decision, this.circuit] as const
      }),
      Effect.catchAll((error) => this.acquireWithoutStore(now, error))
    )
  }

  /** The `onStoreUnavailable` policy, when the store could not decide. */
  private acquireWithoutStore(
    now: number,
    error: CircuitStoreError
  ): Effect.Effect<readonly [Decision, Circuit], ServiceUnavailable> {
    this.storeDown()
    switch (this.config.onStoreUnavailable) {
      case "fail-closed":
        return Effect.fail(new ServiceUnavailable({ service: this.config.serviceName, reason: error.reason }))
      case "fail-open":
        // the outcome goes to the local circuit: asking the unavailable store again would double the wait
        return Effect.succeed(
          [{ _tag: "Allow", probe: undefined, state: this.lastState, version: this.lastVersion }, this.localCircuit(now)] as const
        )
      case "local": {
        const local = this.localCircuit(now)
        return Effect.map(local.acquire(now, this.instanceId), (decision) => [decision, local] as const) as Effect.Effect<
          readonly [Decision, Circuit],
          never
        >
      }
    }
  }

  /** The store answered: leave the local fallback (the next outage starts a fresh one). */
  private storeUp(): void {
    if (this.degraded) {
      this.degraded = false
      this.local = undefined
    }
  }

  private storeDown(): void {
    this.counts.storeErrors++
    this.hooks.storeErrors.update(1)
    this.degraded = true
  }

  /**
   * An in-memory circuit of the same config, for the `"local"` policy. An
   * admin hold this instance last saw holds there too: an outage does not
   * lift a FORCED_OPEN.
   */
  private localCircuit(now: number): Circuit {
    if (this.local === undefined) {
      const local = Effect.runSync(memory.make().circuit(this.name, this.config))
      if (this.lastState === "FORCED_OPEN" || this.lastState === "FORCED_CLOSED") {
        Effect.runSync(Effect.ignore(local.force(now, this.lastState)))
      }
      this.local = local
    }
    return this.local
  }

  /** The failure of a rejected call. @internal */
  reject(decision: Extract<Decision, { _tag: "Reject" }>): Effect.Effect<never, CircuitOpen> {
    this.counts.rejections++
    this.hooks.call("rejected").update(1)
    // the fields are known valid: skipping the Schema check makes a rejection ~5x cheaper,
    // and rejections are the hot path during an outage
    return Effect.fail(
      new CircuitOpen({
        service: this.config.serviceName,
        state: decision.state === "CLOSED" || decision.state === "FORCED_CLOSED" ? "OPEN" : decision.state,
        retryAfter: Duration.millis(decision.retryAfter)
      }, { disableValidation: true })
    )
  }

  private isSlow(start: number, end: number): boolean {
    return this.config.slowCallDuration !== undefined && end - start > this.config.slowCallDuration
  }

  /** How a failed call counts: interruptions never count; `isFailure` may excuse an error. */
  private classify(cause: Cause.Cause<unknown>, start: number, end: number): Outcome {
    if (Cause.isInterruptedOnly(cause)) return "release"
    const predicate = this.config.isFailure
    if (predicate !== undefined && !Cause.isDie(cause)) {
      const failure = Cause.failureOption(cause)
      if (failure._tag === "Some") {
        let counts = true
        try {
          counts = predicate(failure.value)
        } catch {
          counts = true
        }
        if (!counts) {
          if (this.isSlow(start, end)) {
            this.counts.slowCalls++
            this.hooks.call("failure").update(1)
            return "failure"
          }
          this.counts.successes++
          this.counts.lastSuccessAt = end
          this.hooks.call("success").update(1)
          return "success"
        }
      }
    }
    this.counts.failures++
    this.counts.lastFailureAt = end
    this.hooks.call("failure").update(1)
    return "failure"
  }

  /**
   * Records an outcome in the store (with a jitter sample, in case it opens
   * the circuit). A store failure never fails the caller's call: the outcome
   * goes to the local fallback under `"local"`, and is dropped otherwise.
   */
  private recordOutcome(
    circuit: Circuit,
    now: number,
    outcome: Outcome,
    probe: string | undefined
  ): Effect.Effect<void> {
    return Effect.flatMap(Random.next, (sample) =>
      circuit.record(now, outcome, probe, sample).pipe(
        Effect.matchEffect({
          onSuccess: (snapshot) => {
            if (circuit === this.circuit) {
              this.storeUp()
              this.observe(snapshot.state, snapshot.version, now)
            }
            return Effect.void
          },
          onFailure: () => {
            this.storeDown()
            if (this.config.onStoreUnavailable !== "local") return Effect.void
            return Effect.ignore(this.localCircuit(now).record(now, outcome, undefined, sample))
          }
        })
      ))
  }

  // -------------------------------------------------------------------------
  // transitions
  // -------------------------------------------------------------------------

  observe(state: State, version: number, at: number): void {
    if (version === this.lastVersion && state === this.lastState) return
    const from = this.lastState
    this.lastVersion = version
    if (state === from) return
    this.lastState = state
    this.hooks.transition(from, state)
    this.hooks.state.update(CircuitBreakerMetrics.stateValue[state])
    if (this.listeners !== undefined) {
      const transition: Transition = { service: this.config.serviceName, from, to: state, at, version }
      for (const listener of this.listeners) listener(transition)
    }
  }

  get stateChanges(): Stream.Stream<Transition> {
    return Stream.asyncPush<Transition>((emit) =>
      Effect.acquireRelease(
        Effect.sync(() => {
          const listener = (transition: Transition) => {
            emit.single(transition)
          }
          if (this.listeners === undefined) this.listeners = new Set()
          this.listeners.add(listener)
          return listener
        }),
        (listener) => Effect.sync(() => this.listeners?.delete(listener))
      ), { bufferSize: 1024, strategy: "sliding" })
  }

  // -------------------------------------------------------------------------
  // reads and admin
  // -------------------------------------------------------------------------

  /**
   * Reads the circuit from the store; while the store is unavailable, from
   * the local fallback (so monitoring keeps working, and says `degraded`).
   */
  private withSnapshot<A>(f: (snapshot: Snapshot, now: number) => A): Effect.Effect<A> {
    return Effect.flatMap(Clock.currentTimeMillis, (now) =>
      this.circuit.read(now).pipe(
        Effect.map((snapshot) => {
          this.storeUp()
          this.observe(snapshot.state, snapshot.version, now)
          return f(snapshot, now)
        }),
        Effect.catchAll(() => {
          this.storeDown()
          return Effect.map(Effect.orDie(this.localCircuit(now).read(now)), (snapshot) => f(snapshot, now))
        })
      ))
  }

  /**
   * An admin action on the store. If the store cannot be reached it is
   * applied to the local fallback, so this instance obeys it anyway, and the
   * store error is reported, since the fleet did not hear of it.
   */
  private admin(
    op: (circuit: Circuit, now: number) => Effect.Effect<Snapshot, CircuitStoreError>
  ): Effect.Effect<void, CircuitStoreError> {
    return Effect.flatMap(Clock.currentTimeMillis, (now) =>
      op(this.circuit, now).pipe(
        Effect.tapBoth({
          onFailure: () =>
            Effect.zipRight(Effect.sync(() => this.storeDown()), Effect.orDie(op(this.localCircuit(now), now))),
          onSuccess: (snapshot) =>
            Effect.sync(() => {
              this.storeUp()
              this.observe(snapshot.state, snapshot.version, now)
            })
        }),
        Effect.asVoid
      ))
  }

  /** The local fallback's view, without asking the store. @internal */
  localSnapshot(now: number): Effect.Effect<Snapshot> {
    return Effect.orDie(this.localCircuit(now).read(now))
  }

  get snapshot(): Effect.Effect<Snapshot> {
    return this.withSnapshot((snapshot) => snapshot)
  }

  get state(): Effect.Effect<State> {
    return this.withSnapshot((snapshot) => snapshot.state)
  }

  metricsFrom(snapshot: Snapshot): Metrics {
    const c = this.counts
    return {
      service: this.config.serviceName,
      instanceId: this.instanceId,
      state: snapshot.state,
      calls: c.calls,
      successes: c.successes,
      failures: c.failures,
      rejections: c.rejections,
      probes: c.probes,
      slowCalls: c.slowCalls,
      storeErrors: c.storeErrors,
      windowFailures: snapshot.failures,
      windowCalls: snapshot.calls,
      openCount: snapshot.openCount,
      retryAt: snapshot.state === "OPEN" ? snapshot.retryAt : null,
      lastTransitionAt: snapshot.changedAt > 0 ? snapshot.changedAt : null,
      lastSuccessAt: c.lastSuccessAt > 0 ? c.lastSuccessAt : null,
      lastFailureAt: c.lastFailureAt > 0 ? c.lastFailureAt : null
    }
  }

  get metrics(): Effect.Effect<Metrics> {
    return this.withSnapshot((snapshot) => this.metricsFrom(snapshot))
  }

  get health(): Effect.Effect<Health> {
    return this.withSnapshot((snapshot, now) => {
      const status = statusOf(snapshot.state)
      const clockSkewMs = this.circuit.clockSkew?.()
      return {
        service: this.config.serviceName,
        status: status === "healthy" && this.degraded ? "degraded" : status,
        state: snapshot.state,
        metrics: this.metricsFrom(snapshot),
        timestamp: now,
        ...(clockSkewMs !== undefined ? { clockSkewMs } : {})
      }
    })
  }

  get isAvailable(): Effect.Effect<boolean> {
    return this.withSnapshot((s, now) => {
      switch (s.state) {
        case "CLOSED":
        case "FORCED_CLOSED":
          return true
        case "FORCED_OPEN":
          return false
        case "OPEN":
          return now >= s.retryAt
        case "HALF_OPEN":
          return s.probes < this.config.halfOpenMaxProbes
      }
    })
  }

  get reset(): Effect.Effect<void, CircuitStoreError> {
    return this.admin((circuit, now) => circuit.reset(now))
  }

  get forceOpen(): Effect.Effect<void, CircuitStoreError> {
    return this.admin((circuit, now) => circuit.force(now, "FORCED_OPEN"))
  }

  get forceClose(): Effect.Effect<void, CircuitStoreError> {
    return this.admin((circuit, now) => circuit.force(now, "FORCED_CLOSED"))
  }

}

/** One id per process (an instance of the fleet), drawn from `Random` the first time it is needed. */
let processInstanceId: string | undefined = undefined

const instanceIdOfProcess = Effect.suspend(() =>
  processInstanceId !== undefined
    ? Effect.succeed(processInstanceId)
    : Effect.map(
      Effect.all([Random.nextIntBetween(0, 0x7fffffff), Random.nextIntBetween(0, 0x7fffffff)]),
      ([a, b]) => (processInstanceId = `i-${a.toString(36)}${b.toString(36)}`)
    )
)

/**
 * The body of `make`, made once. A generator function written inline is a
 * new function on every call, and V8 notes each one that runs in a list on
 * `%GeneratorPrototype%` that it never shrinks (slots of dead ones are only
 * reused): a burst of 50,000 new circuits left ~300 KB in it for the life
 * of the process (bench/eviction.bench.ts).
 */
function* makeBody<E>(
  name: string,
  config: CircuitConfig.Input<E> | undefined,
  registryMetrics: boolean
) {
  const decoded = yield* CircuitConfig.decode(name, config)
  const store = yield* CircuitStore
  const instanceId = decoded.instanceId ?? (yield* instanceIdOfProcess)
  const circuit = yield* store.circuit(name, decoded)
  const now = yield* Clock.currentTimeMillis
  return new CircuitBreakerImpl(name, decoded, instanceId, circuit, registryMetrics, now)
}

/** @internal */
export const make = <E>(
  name: string,
  config?: CircuitConfig.Input<E>,
  /** False for the circuits a `CircuitBreakers` registry makes on demand: their metrics stay off Effect's registry. */
  registryMetrics = true
): Effect.Effect<CircuitBreakerImpl, CircuitConfig.CircuitConfigError, CircuitStore> =>
  Effect.gen(() => makeBody(name, config, registryMetrics))
