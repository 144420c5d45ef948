/**
 * The in-memory store: the circuits of shared/store/memory.ts (the state
 * machine over a `Map`), answering as effects.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { CircuitConfig } from "../../CircuitConfig.js"
import type { Snapshot } from "../../CircuitState.js"
import type { Circuit, CircuitStore, Decision, FleetCounts, Outcome } from "../../CircuitStore.js"
import * as memory from "../../../../shared/store/memory.js"
import { defaultIdleTtl } from "./idleSweep.js"

/** One circuit of the store: the synchronous circuit, its operations as effects. */
class MemoryCircuit extends memory.MemoryCircuitCore implements Circuit {
  constructor(name: string, override readonly config: CircuitConfig, slots: memory.Slots) {
    super(name, config, slots)
  }

  acquire(now: number, holder: string): Effect.Effect<Decision> {
    return Effect.sync(() => this.acquireNow(now, holder))
  }

  record(now: number, outcome: Outcome, probe: string | undefined, sample: number): Effect.Effect<Snapshot> {
    return Effect.sync(() => this.recordNow(now, outcome, probe, sample))
  }

  fleet(now: number): Effect.Effect<readonly [Snapshot, FleetCounts]> {
    return Effect.sync(() => this.fleetNow(now))
  }

  read(now: number): Effect.Effect<Snapshot> {
    return Effect.sync(() => this.readNow(now))
  }

  force(now: number, state: "FORCED_OPEN" | "FORCED_CLOSED"): Effect.Effect<Snapshot> {
    return Effect.sync(() => this.forceNow(now, state))
  }

  reset(now: number): Effect.Effect<Snapshot> {
    return Effect.sync(() => this.forceNow(now, "RESET"))
  }
}

/** @internal */
export interface MemoryOptions {
  /**
   * Milliseconds without a call after which a circuit at rest (CLOSED, empty
   * window; or expired) is dropped from the store. Default 10 minutes.
   */
  readonly idleTtl?: number | undefined
}

/** @internal */
export const make = (options: MemoryOptions = {}): CircuitStore["Service"] =>
  storeOver(new memory.Slots(options.idleTtl ?? defaultIdleTtl))

/**
 * The store, emptied when the scope closes: what it holds per circuit goes
 * then, even while something still holds the store (a disposed
 * `ManagedRuntime` keeps the context it built).
 *
 * @internal
 */
export const makeScoped = (options: MemoryOptions = {}): Effect.Effect<CircuitStore["Service"], never, Scope.Scope> =>
  Effect.suspend(() => {
    const slots = new memory.Slots(options.idleTtl ?? defaultIdleTtl)
    return Effect.as(Effect.addFinalizer(() => Effect.sync(() => slots.clear())), storeOver(slots))
  })

const storeOver = (slots: memory.Slots): CircuitStore["Service"] => {
  return {
    circuit: (name, config) =>
      Clock.clockWith((clock) =>
        Effect.sync(() => {
          const circuit = new MemoryCircuit(name, config, slots)
          slots.used(circuit.slot, clock.currentTimeMillisUnsafe())
          return circuit
        })
      ),
    names: Effect.sync(() => Array.from(slots.map.keys())),
    inspect: (name, config, now) => Effect.sync(() => memory.inspect(slots, name, config, now))
  }
}
