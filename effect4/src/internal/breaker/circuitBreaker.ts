/**
 * The breaker: `protect` over one `Circuit` of a store (its reads and admin
 * effects are in `reads.ts`, a call's handlers in `call.ts`).
 *
 * Every call starts with one synchronous admit step (`admit`, ARCHITECTURE.md
 * "The admit step"), shared by `protect` and the Promise API's fiber-free
 * path: it rejects, or hands back the handlers of a call that may run now, or
 * says the store must be asked. The hot path (a CLOSED circuit, a call that
 * succeeds) is then one `Effect.suspend` and one `matchCauseEffect`, reading
 * no clock: the time it notes is a recent one (`RecentTime`), and a call's
 * duration is measured on a sample of calls (`Sampler`), or on every call
 * when `slowCallDuration` needs it, on the clock captured when the breaker
 * was made, read synchronously. Everything
 * that takes or returns a probe permit runs uninterruptibly, with only the
 * protected effect itself interruptible, so a permit is never lost.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Queue from "effect/Queue"
import * as Random from "effect/Random"
import * as Stream from "effect/Stream"
import type { CircuitBreaker } from "../../CircuitBreaker.js"
import { type CircuitOpen, ServiceUnavailable } from "../../CircuitBreakerError.js"
import * as CircuitBreakerMetrics from "../monitoring/metrics.js"
import * as CircuitConfig from "../../CircuitConfig.js"
import { isClosed, type State, type Transition } from "../../CircuitState.js"
import { type Circuit, CircuitStore, type CircuitStoreError, type Decision, type Outcome } from "../../CircuitStore.js"
import * as memory from "../store/memoryStore.js"
import { type Admission, Call, type CallOwner, type Handlers, Sampler, Untimed } from "./call.js"
import { BreakerReads, type LocalCounts } from "./reads.js"
import { type RecentTime, recentTimeOf } from "./recentTime.js"
import { circuitOpen } from "./rejection.js"
import { emptyCounts } from "../../../../shared/breaker/counts.js"
import { globalValue } from "../globalValue.js"

import { type Internal, InternalTypeId, type Sweeper, TypeId } from "./internals.js"

export type { Admission, Handlers } from "./call.js"
export { Sampler } from "./call.js"
export { type Internal, internalOf, InternalTypeId, type Sweeper, TypeId } from "./internals.js"
export { type LocalCounts, statusOf } from "./reads.js"

/** @internal */
export class CircuitBreakerImpl extends BreakerReads implements CircuitBreaker, Internal, CallOwner {
  readonly [TypeId]: TypeId = TypeId
  /** The internals accessor (`internalOf`): on the prototype, so it costs a breaker no memory. */
  get [InternalTypeId](): Internal {
    return this
  }
  private lastState: State = "CLOSED"
  private lastVersion = 0
  private listeners: Set<(transition: Transition) => void> | undefined = undefined
  private local: Circuit | undefined = undefined
  degraded = false
  readonly counts: LocalCounts = emptyCounts()

  constructor(
    readonly name: string,
    readonly config: CircuitConfig.CircuitConfig,
    readonly instanceId: string,
    readonly circuit: Circuit,
    readonly clock: Clock.Clock,
    /**
     * Whether this breaker's metrics may go to the metric registry of
     * `context` (see `CircuitBreakerMetrics.hooksFor`).
     */
    readonly registryMetrics: boolean = true,
    /** When a call last asked this breaker (the caller's clock): the `CircuitBreakers` registry evicts idle ones. */
    public usedAt: number = 0,
    /** Seeds the choice of the calls whose duration is measured (see `Sampler`). */
    seed = 0,
    /** The context the breaker was made in: its metric registry holds the breaker's metrics. */
    readonly context: Context.Context<never> | undefined = undefined
  ) {
    super()
    this.time = recentTimeOf(clock)
    this.sampler = new Sampler(seed)
  }

  readonly time: RecentTime
  private readonly sampler: Sampler

  /** The `CircuitBreakers` registry that made this breaker, swept by its calls too (see `Sweeper`). */
  sweeper: Sweeper | undefined = undefined

  /**
   * Whether nothing but the `CircuitBreakers` registry needs this breaker:
   * no call for `idleTtl` ms, no `stateChanges` subscriber, no local
   * fallback holding state through a store outage.
   */
  idle(now: number, idleTtl: number): boolean {
    return now - this.usedAt >= idleTtl && (this.listeners === undefined || this.listeners.size === 0) &&
      !this.degraded
  }

  private hooksCache: CircuitBreakerMetrics.Hooks | undefined = undefined

  /** This service's metric hooks (shared by every breaker of the service). */
  private get hooks(): CircuitBreakerMetrics.Hooks {
    return this.hooksCache ??
      (this.hooksCache = CircuitBreakerMetrics.hooksFor(this.config.serviceName, this.registryMetrics, this.context))
  }

  // -------------------------------------------------------------------------
  // protect
  // -------------------------------------------------------------------------

  /**
   * Bound, so `effect.pipe(breaker.protect)` works. A call whose duration is
   * not measured runs `self` under the shared `Untimed` handlers, through one
   * `matchCauseEffect` made once per protected effect.
   */
  readonly protect = <A, E, R>(
    self: Effect.Effect<A, E, R>
  ): Effect.Effect<A, E | CircuitOpen | ServiceUnavailable, R> => {
    let untimedRun: Effect.Effect<A, E, R> | undefined
    return Effect.suspend(() => {
      const admitted = this.admit<A, E>()
      if (admitted === undefined) return this.protectSlow(self, this.time.now())
      if (admitted === this.untimed) return untimedRun ??= Effect.matchCauseEffect(self, admitted)
      if (admitted._tag === "Run") return Effect.matchCauseEffect(self, admitted)
      return admitted
    })
  }

  /**
   * The admit step: a decision from the store's local knowledge (noting any
   * transition it reveals). A call let through counts as started. On a
   * CLOSED circuit it reads no clock, unless the call's duration is measured
   * (every call with `slowCallDuration`; otherwise a sample, see `Sampler`).
   */
  admit<A, E>(): Admission<A, E> {
    const time = this.time
    const recent = time.recent
    this.usedAt = recent
    const sweeper = this.sweeper
    if (sweeper !== undefined && recent >= sweeper.next) sweeper.sweep(recent)
    const decision = this.circuit.acquireLocal(time)
    if (decision === undefined) return undefined
    if (decision.version !== this.lastVersion) this.observe(decision.state, decision.version, time.now())
    if (decision._tag === "Reject") return this.reject(decision)
    this.counts.calls++
    const config = this.config
    if (config.recordLatency && (config.slowCallDuration !== undefined || this.sampler.next())) {
      return this.handlers<A, E>(time.now(), this.circuit, undefined)
    }
    return (this.untimed ??= new Untimed(this)) as Handlers<A, E>
  }

  private untimed: Untimed<any, any> | undefined = undefined

  /**
   * What a call that started at `start` does when it ends: count, measure,
   * and tell `circuit` (at once, or through the store when it must hear of
   * it). `probe` is the permit the call holds, if any.
   */
  private handlers<A, E>(start: number, circuit: Circuit, probe: string | undefined): Handlers<A, E> {
    return new Call<A, E>(this, start, circuit, probe)
  }

  /** A call admitted without a permit, whose duration is not measured, succeeded with `a` (see `Untimed`). */
  untimedSuccess<A>(a: A): Effect.Effect<A> {
    // no clock read: the success is stamped with a recent time
    const end = this.time.recent
    this.succeeded(end)
    this.circuit.recordSuccessLocal(end)
    return Exit.succeed(a)
  }

  /** A call that started at `start` succeeded with `a` (see `Call`). @internal */
  callSucceeded<A>(a: A, start: number, circuit: Circuit, probe: string | undefined): Effect.Effect<A> {
    let end = start
    let outcome: Outcome = "success"
    if (this.config.recordLatency) {
      end = this.time.now()
      this.hooks.latency.update(end - start)
      outcome = this.count(true, start, end)
    } else {
      // no clock read: the success is stamped with the call's start
      this.succeeded(end)
    }
    if (outcome === "success" && probe === undefined) {
      circuit.recordSuccessLocal(end)
      return Exit.succeed(a)
    }
    return Effect.as(this.recordOutcome(circuit, end, outcome, probe), a)
  }

  /**
   * A call that started at `start` failed with `cause` (see `Call`); a call
   * whose duration is not measured has no `start` (see `Untimed`). @internal
   */
  callFailed<E>(
    cause: Cause.Cause<E>,
    start: number | undefined,
    circuit: Circuit,
    probe: string | undefined
  ): Effect.Effect<never, E> {
    const end = this.time.now()
    const outcome = this.classify(cause, start ?? end, end)
    if (outcome === "release") {
      if (probe === undefined) return Exit.failCause(cause)
    } else if (start !== undefined && this.config.recordLatency) {
      this.hooks.latency.update(end - start)
    }
    if (outcome === "success" && probe === undefined) {
      circuit.recordSuccessLocal(end)
      return Exit.failCause(cause)
    }
    return Effect.andThen(this.recordOutcome(circuit, end, outcome, probe), Exit.failCause(cause))
  }

  /** Asks the store: a probe permit, a state change, or a store failure. */
  private protectSlow<A, E, R>(
    self: Effect.Effect<A, E, R>,
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
        const start = this.time.now()
        this.counts.calls++
        const handlers = this.handlers<A, E>(start, circuit, decision.probe)
        if (decision.probe === undefined) return restore(Effect.matchCauseEffect(self, handlers))
        this.counts.probes++
        this.hooks.call("probe").update(1)
        // only the protected effect is interruptible: the permit is always reported or released
        return Effect.matchCauseEffect(restore(self), handlers)
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
      Effect.catch((error) => this.acquireWithoutStore(now, error))
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
          [
            { _tag: "Allow", probe: undefined, state: this.lastState, version: this.lastVersion },
            this.localCircuit(now)
          ] as const
        )
      case "local": {
        const local = this.localCircuit(now)
        return Effect.map(
          local.acquire(now, this.instanceId),
          (decision) => [decision, local] as const
        ) as Effect.Effect<
          readonly [Decision, Circuit],
          never
        >
      }
    }
  }

  /** The store answered: leave the local fallback (the next outage starts a fresh one). */
  protected storeUp(): void {
    if (this.degraded) {
      this.degraded = false
      this.local = undefined
    }
  }

  protected storeDown(): void {
    this.counts.storeErrors++
    this.hooks.storeErrors.update(1)
    this.degraded = true
  }

  /**
   * An in-memory circuit of the same config, for the `"local"` policy. An
   * admin hold this instance last saw holds there too: an outage does not
   * lift a FORCED_OPEN.
   */
  protected localCircuit(now: number): Circuit {
    if (this.local === undefined) {
      // made on the breaker's clock (the memory store stamps a circuit's first use with it)
      const local = Effect.runSync(
        Effect.provideService(memory.make().circuit(this.name, this.config), Clock.Clock, this.clock)
      )
      if (this.lastState === "FORCED_OPEN" || this.lastState === "FORCED_CLOSED") {
        Effect.runSync(Effect.ignore(local.force(now, this.lastState)))
      }
      this.local = local
    }
    return this.local
  }

  /** The failure of a rejected call. */
  private reject(decision: Extract<Decision, { _tag: "Reject" }>): Exit.Failure<never, CircuitOpen> {
    this.counts.rejections++
    this.hooks.call("rejected").update(1)
    // no Schema check and no stack trace: rejections are the hot path during an outage
    return Exit.fail(
      circuitOpen(this.config.serviceName, isClosed(decision.state) ? "OPEN" : decision.state, decision.retryAfter)
    ) as Exit.Failure<never, CircuitOpen>
  }

  /** A success at `end` that the circuit records as one. */
  private succeeded(end: number): void {
    this.counts.successes++
    this.counts.lastSuccessAt = end
    this.hooks.succeeded()
  }

  /**
   * Counts a call that ran from `start` to `end` and `succeeded` (or failed
   * with an error that counts), and says how the circuit records it: a
   * success slower than `slowCallDuration` is a failure.
   */
  private count(succeeded: boolean, start: number, end: number): "success" | "failure" {
    const slow = this.config.slowCallDuration
    if (succeeded && (slow === undefined || end - start <= slow)) {
      this.succeeded(end)
      return "success"
    }
    if (succeeded) this.counts.slowCalls++
    else {
      this.counts.failures++
      this.counts.lastFailureAt = end
    }
    this.hooks.call("failure").update(1)
    return "failure"
  }

  /** How a failed call counts: interruptions never count; `isFailure` may excuse an error. */
  private classify(cause: Cause.Cause<unknown>, start: number, end: number): Outcome {
    if (Cause.hasInterruptsOnly(cause)) return "release"
    const predicate = this.config.isFailure
    if (predicate !== undefined && !Cause.hasDies(cause)) {
      const failure = Cause.findErrorOption(cause)
      if (failure._tag === "Some") {
        let counts: boolean
        try {
          counts = predicate(failure.value)
        } catch {
          // a predicate that throws excuses nothing
          counts = true
        }
        if (!counts) return this.count(true, start, end)
      }
    }
    return this.count(false, start, end)
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
    return Stream.callback<Transition>((queue) =>
      Effect.acquireRelease(
        Effect.sync(() => {
          const listener = (transition: Transition) => {
            Queue.offerUnsafe(queue, transition)
          }
          if (this.listeners === undefined) this.listeners = new Set()
          this.listeners.add(listener)
          return listener
        }),
        (listener) => Effect.sync(() => this.listeners?.delete(listener))
      ), { bufferSize: 1024, strategy: "sliding" })
  }
}

/** One id per process (an instance of the fleet), drawn from `Random` the first time it is needed. */
const processInstance = globalValue(
  Symbol.for("effect-circuit-breaker-redis/CircuitBreaker/processInstanceId"),
  (): { id: string | undefined } => ({ id: undefined })
)

/**
 * A new instance id: two draws from `Random` in [0, 2^31 - 1) (the upper
 * bound excluded, as `halfOpen` says: effect 4 includes it otherwise).
 *
 * @internal
 */
export const drawInstanceId: Effect.Effect<string> = Effect.map(
  Effect.all([
    Random.nextIntBetween(0, 0x7fffffff, { halfOpen: true }),
    Random.nextIntBetween(0, 0x7fffffff, { halfOpen: true })
  ]),
  ([a, b]) => `i-${a.toString(36)}${b.toString(36)}`
)

/** @internal */
export const instanceIdOfProcess = Effect.suspend(() =>
  processInstance.id !== undefined
    ? Effect.succeed(processInstance.id)
    : Effect.map(drawInstanceId, (id) => (processInstance.id = id))
)

/**
 * The body of `make`, made once. A generator function written inline is a
 * new function on every call, and V8 notes each one that runs in a list on
 * `%GeneratorPrototype%` that it never shrinks (slots of dead ones are only
 * reused), so a burst of new circuits would leave that list grown for the
 * life of the process (bench/eviction.bench.ts measures it).
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
  // captured once: `protect` reads it synchronously (under TestClock, the test's clock)
  const clock = yield* Clock.Clock
  const seed = yield* Random.nextInt
  const context = registryMetrics ? yield* Effect.context<never>() : undefined
  return new CircuitBreakerImpl(
    name,
    decoded,
    instanceId,
    circuit,
    clock,
    registryMetrics,
    clock.currentTimeMillisUnsafe(),
    seed,
    context
  )
}

/** @internal */
export const make = <E>(
  name: string,
  config?: CircuitConfig.Input<E>,
  /** False for the circuits a `CircuitBreakers` registry makes on demand: their metrics stay off the metric registry. */
  registryMetrics = true
): Effect.Effect<CircuitBreakerImpl, CircuitConfig.CircuitConfigError, CircuitStore> =>
  Effect.gen(() => makeBody(name, config, registryMetrics))
