/**
 * Where circuits keep their state: the seam between the breaker and its
 * storage. `layerMemory` (this module) keeps state in the process;
 * `RedisCircuitStore.layer` shares it across a fleet.
 *
 * A store hands out one `Circuit` per name. Each circuit answers what it can
 * from local knowledge synchronously (`acquireLocal`, `recordSuccessLocal`),
 * which is how a healthy call costs no round trip, and does everything else
 * as an Effect that may fail with `CircuitStoreError`.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type { CircuitConfig, CircuitConfigError } from "./CircuitConfig.js"
import type { Snapshot, State } from "./CircuitState.js"
import { idleTtlMillis } from "./internal/store/idleSweep.js"
import { perBuild } from "./internal/layerPerBuild.js"
import * as memory from "./internal/store/memoryStore.js"
import type { Decision, FleetCounts, NotificationStatus, Outcome } from "../../shared/model.js"

/**
 * A store's decisions and outcomes, the fleet's counts and the notification status: plain types shared by both editions (`shared/model.ts`, where each is documented).
 *
 * @example
 * ```ts
 * import { CircuitConfig, CircuitStore } from "effect-circuit-breaker-redis"
 * import { Clock, Effect } from "effect"
 *
 * const fleetCounts = Effect.gen(function*() {
 *   const store = yield* CircuitStore.CircuitStore
 *   const config = yield* CircuitConfig.decode("payments")
 *   const [, counts] = yield* store.inspect("payments", config, yield* Clock.currentTimeMillis)
 *   return counts satisfies CircuitStore.FleetCounts
 * })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type { Decision, FleetCounts, NotificationStatus, Outcome } from "../../shared/model.js"

/**
 * The store could not be reached or answered nonsense. `reason` is safe to
 * log: it never holds a secret.
 *
 * @example
 * ```ts
 * import { CircuitBreaker } from "effect-circuit-breaker-redis"
 * import { Effect } from "effect"
 *
 * declare const breaker: CircuitBreaker.CircuitBreaker
 *
 * const reset = breaker.reset.pipe(
 *   Effect.catchTag("CircuitStoreError", (e) => Effect.logWarning(`reset not shared with the fleet: ${e.reason}`))
 * )
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class CircuitStoreError extends Schema.TaggedError<CircuitStoreError>(
  "effect-circuit-breaker-redis/CircuitStoreError"
)("CircuitStoreError", {
  reason: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {
  override get message(): string {
    return `Circuit store error: ${this.reason}`
  }
}

// the error's name is its tag, as its stack and logs show it (the class's identifier is namespaced)
Object.defineProperty(CircuitStoreError.prototype, "name", {
  value: "CircuitStoreError",
  writable: true,
  configurable: true
})

/**
 * The time of a call as its breaker knows it, on the breaker's `Clock`:
 * `recent` reads no clock (a time the breaker read at most a few
 * milliseconds ago while it is in use, exact under `TestClock` once time
 * moved by more than that), for bookkeeping; `now()` reads the clock, for
 * anything a decision depends on.
 *
 * @example
 * ```ts
 * import type { CircuitStore } from "effect-circuit-breaker-redis"
 *
 * declare const circuit: CircuitStore.Circuit
 *
 * const now = Date.now()
 * const time: CircuitStore.CallTime = { recent: now, now: () => Date.now() }
 * const decision = circuit.acquireLocal(time) // undefined: ask the store with `acquire`
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface CallTime {
  readonly recent: number
  readonly now: () => number
}

/**
 * One circuit in a store. Times are epoch milliseconds from the caller's
 * `Clock`; `sample` is a jitter sample in [0, 1) from the caller's `Random`.
 *
 * @example
 * ```ts
 * import { CircuitConfig, CircuitStore } from "effect-circuit-breaker-redis"
 * import { Clock, Effect } from "effect"
 *
 * const state = Effect.gen(function*() {
 *   const store = yield* CircuitStore.CircuitStore
 *   const circuit: CircuitStore.Circuit = yield* store.circuit("payments", yield* CircuitConfig.decode("payments"))
 *   const snapshot = yield* circuit.read(yield* Clock.currentTimeMillis)
 *   return snapshot.state
 * })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Circuit {
  readonly name: string
  /**
   * A decision from local knowledge alone, or `undefined` when the store must
   * be asked (`acquire`). Never takes a probe permit. A circuit known to be
   * CLOSED may answer with `time.recent` alone (no clock read); one that
   * compares with a deadline reads `time.now()`.
   */
  readonly acquireLocal: (time: CallTime) => Decision | undefined
  /**
   * Decides atomically; in OPEN at or after `retryAt` this takes a probe
   * permit, leased under an id that starts with `holder` (the instance).
   */
  readonly acquire: (now: number, holder: string) => Effect.Effect<Decision, CircuitStoreError>
  /**
   * Records a success of a call that held no probe permit, synchronously:
   * such a success cannot change the state (in CLOSED it cannot open the
   * circuit; elsewhere it is ignored), so a store may apply it at once
   * (memory) or batch it for its next round trip (Redis). `now` may be a
   * `CallTime.recent`.
   */
  readonly recordSuccessLocal: (now: number) => void
  /** Records an outcome atomically and returns the resulting state. */
  readonly record: (
    now: number,
    outcome: Outcome,
    probe: string | undefined,
    sample: number
  ) => Effect.Effect<Snapshot, CircuitStoreError>
  /** The circuit's state now. */
  readonly read: (now: number) => Effect.Effect<Snapshot, CircuitStoreError>
  /** Moves to a sticky admin state. */
  readonly force: (
    now: number,
    state: Extract<State, "FORCED_OPEN" | "FORCED_CLOSED">
  ) => Effect.Effect<Snapshot, CircuitStoreError>
  /** Back to CLOSED with an empty window and backoff. */
  readonly reset: (now: number) => Effect.Effect<Snapshot, CircuitStoreError>
  /** The fleet's counts for this circuit, and its state. */
  readonly fleet: (now: number) => Effect.Effect<readonly [Snapshot, FleetCounts], CircuitStoreError>
  /**
   * The store's clock minus the caller's, in ms, when the store runs on a
   * clock of its own and has measured it (Redis with `timeSource: "server"`).
   */
  readonly clockSkew?: (() => number | undefined) | undefined
  /**
   * Whether this instance hears of the circuit's transitions made by other
   * instances at once (`NotificationStatus`), when the store can (Redis over
   * TCP); `undefined` when it cannot.
   */
  readonly notifications?: (() => NotificationStatus | undefined) | undefined
}

/**
 * The store service.
 *
 * @example
 * ```ts
 * import { CircuitStore } from "effect-circuit-breaker-redis"
 * import { Effect } from "effect"
 *
 * const names = Effect.gen(function*() {
 *   const store = yield* CircuitStore.CircuitStore
 *   return yield* store.names
 * }).pipe(Effect.provide(CircuitStore.layerMemory))
 * ```
 *
 * @since 0.1.0
 * @category tags
 */
export class CircuitStore extends Context.Service<CircuitStore, {
  /** The circuit `name`, governed by `config`. Registers the name with the store. */
  readonly circuit: (name: string, config: CircuitConfig) => Effect.Effect<Circuit>
  /** Every circuit the store knows of (fleet-wide for a shared store). */
  readonly names: Effect.Effect<ReadonlyArray<string>, CircuitStoreError>
  /**
   * The state and the fleet's counts of a circuit, for monitoring: read with
   * the config of this instance's breaker for it if it has one (else
   * `config`), sending nothing of this instance's and registering nothing.
   */
  readonly inspect: (
    name: string,
    config: CircuitConfig,
    now: number
  ) => Effect.Effect<readonly [Snapshot, FleetCounts], CircuitStoreError>
  /**
   * Optional: `inspect` of many circuits no breaker of this instance uses,
   * at once (the Redis store reads 100 per script call: about N/500 round
   * trips with a pipeline, N/100 without). A
   * circuit whose state is gone (expired) is `missing`, and the store drops
   * its name from the registry.
   */
  readonly inspectMany?:
    | ((
      names: ReadonlyArray<string>,
      config: CircuitConfig,
      now: number
    ) => Effect.Effect<ReadonlyArray<Inspected>, CircuitStoreError>)
    | undefined
  /**
   * Optional: whether this instance hears of other instances' transitions at
   * once (the Redis store over a client that can subscribe), or `undefined`
   * when it cannot.
   */
  readonly notifications?: (() => NotificationStatus | undefined) | undefined
}>()("effect-circuit-breaker-redis/CircuitStore") {}

/**
 * One circuit read by `inspectMany`.
 *
 * @example
 * ```ts
 * import { CircuitConfig, CircuitStore } from "effect-circuit-breaker-redis"
 * import { Clock, Effect } from "effect"
 *
 * const expired = Effect.gen(function*() {
 *   const store = yield* CircuitStore.CircuitStore
 *   if (store.inspectMany === undefined) return []
 *   const config = yield* CircuitConfig.decode("defaults")
 *   const read: ReadonlyArray<CircuitStore.Inspected> = yield* store.inspectMany(
 *     ["a", "b"],
 *     config,
 *     yield* Clock.currentTimeMillis
 *   )
 *   return read.filter((circuit) => circuit.missing).map((circuit) => circuit.name)
 * })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Inspected {
  readonly name: string
  /** The state and the fleet's counts, unless the circuit is missing or could not be read. */
  readonly read: readonly [Snapshot, FleetCounts] | undefined
  /** The circuit's state is gone from the store (it expired, or was never written). */
  readonly missing: boolean
  readonly error: CircuitStoreError | undefined
}

/**
 * An in-memory store: the embedded default, and what a single process needs.
 *
 * @example
 * ```ts
 * import { CircuitStore } from "effect-circuit-breaker-redis"
 * import { Layer } from "effect"
 *
 * const Store = Layer.effect(CircuitStore.CircuitStore, CircuitStore.makeMemory)
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory: Effect.Effect<CircuitStore["Service"]> = Effect.sync(() => memory.make())

/**
 * Options of the in-memory store.
 *
 * @example
 * ```ts
 * import { CircuitStore } from "effect-circuit-breaker-redis"
 * import { Duration } from "effect"
 *
 * const options: CircuitStore.MemoryOptions = { idleTtl: Duration.infinity }
 * const Store = CircuitStore.layerMemoryWith(options)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface MemoryOptions {
  /**
   * A circuit no call used for this long, and at rest (CLOSED with nothing
   * left in its window, or expired by `stateTtl`), is dropped from the store;
   * its next use starts it again, CLOSED. A breaker holding it keeps working.
   * Default 10 minutes; `Duration.infinity` keeps every circuit.
   */
  readonly idleTtl?: Duration.Input | undefined
}

/**
 * An in-memory store with options.
 *
 * @example
 * ```ts
 * import { CircuitStore } from "effect-circuit-breaker-redis"
 * import { Layer } from "effect"
 *
 * const Store = Layer.effect(CircuitStore.CircuitStore, CircuitStore.makeMemoryWith({ idleTtl: "1 hour" }))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemoryWith = (options: MemoryOptions): Effect.Effect<CircuitStore["Service"], CircuitConfigError> =>
  Effect.map(
    idleTtlMillis("CircuitStore.layerMemoryWith", options.idleTtl, undefined),
    (idleTtl) => memory.make({ idleTtl })
  )

/**
 * The in-memory store with options, as a layer; what it holds per circuit
 * is dropped when the layer's scope closes. Each build of a layer graph
 * (`Effect.provide`, `ManagedRuntime.make`) makes a store of its own, also
 * inside another build that made one.
 *
 * @example
 * ```ts
 * import { CircuitStore } from "effect-circuit-breaker-redis"
 *
 * const store = CircuitStore.layerMemoryWith({ idleTtl: "1 hour" })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemoryWith = (options: MemoryOptions): Layer.Layer<CircuitStore, CircuitConfigError> =>
  perBuild(Layer.effect(
    CircuitStore,
    Effect.flatMap(
      idleTtlMillis("CircuitStore.layerMemoryWith", options.idleTtl, undefined),
      (idleTtl) => memory.makeScoped({ idleTtl })
    )
  ))

/**
 * The in-memory store as a layer; what it holds per circuit is dropped
 * when the layer's scope closes (a disposed `ManagedRuntime` kept by the
 * application holds nothing per circuit). Each build of a layer graph
 * (`Effect.provide`, `ManagedRuntime.make`) makes a store of its own, shared
 * by the layers of that graph, also inside another build that made one.
 *
 * @example
 * ```ts
 * import { CircuitBreaker, CircuitStore } from "effect-circuit-breaker-redis"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const breaker = yield* CircuitBreaker.make("payments")
 *   return yield* Effect.succeed("charged").pipe(CircuitBreaker.protect(breaker))
 * }).pipe(Effect.provide(CircuitStore.layerMemory))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: Layer.Layer<CircuitStore> = perBuild(Layer.effect(CircuitStore, memory.makeScoped()))
