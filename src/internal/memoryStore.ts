/**
 * The in-memory store: the state machine of `machine.ts` over a `Map`.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type { CircuitConfig } from "../CircuitConfig.js"
import type { Snapshot } from "../CircuitState.js"
import type { Circuit, CircuitStore, Decision, FleetCounts } from "../CircuitStore.js"
import * as machine from "./machine.js"

/** One circuit's state and what every breaker in the process did with it. */
interface Slot {
  readonly s: machine.MachineState
  counts: { successes: number; failures: number; rejections: number; probes: number; opens: number } | undefined
}

const countsOf = (slot: Slot) => {
  if (slot.counts === undefined) slot.counts = { successes: 0, failures: 0, rejections: 0, probes: 0, opens: 0 }
  return slot.counts
}

/** The allow decision of a CLOSED circuit that never changed, shared by all. */
const initialAllow: Decision = { _tag: "Allow", probe: undefined, state: "CLOSED", version: 0 }

class MemoryCircuit implements Circuit {
  private allow: Decision = initialAllow
  readonly s: machine.MachineState
  constructor(
    readonly name: string,
    readonly config: CircuitConfig,
    readonly slot: Slot,
    readonly nextProbeId: (holder: string) => string
  ) {
    this.s = slot.s
  }


  acquireLocal(now: number): Decision | undefined {
    const s = this.s
    switch (s.state) {
      case "CLOSED":
      case "FORCED_CLOSED":
        if (this.allow.version !== s.version || this.allow.state !== s.state) {
          this.allow = { _tag: "Allow", probe: undefined, state: s.state, version: s.version }
        }
        return this.allow
      case "OPEN":
        if (now < s.retryAt && !machine.expired(s, this.config, Math.max(now, s.changedAt))) {
          countsOf(this.slot).rejections++
          return { _tag: "Reject", retryAfter: s.retryAt - Math.max(now, s.changedAt), state: s.state, version: s.version }
        }
        return undefined
      case "FORCED_OPEN":
        countsOf(this.slot).rejections++
        return { _tag: "Reject", retryAfter: this.config.recoveryTimeout, state: s.state, version: s.version }
      case "HALF_OPEN":
        return undefined
    }
  }

  acquire(now: number, holder: string): Effect.Effect<Decision> {
    return Effect.sync(() => {
      const decision = machine.acquire(this.s, this.config, now, this.nextProbeId(holder))
      if (decision._tag === "Reject") countsOf(this.slot).rejections++
      else if (decision.probe !== undefined) countsOf(this.slot).probes++
      return decision
    })
  }

  recordSuccessLocal(now: number): boolean {
    machine.record(this.s, this.config, now, "success", undefined, 0, 0)
    countsOf(this.slot).successes++
    return true
  }

  record(now: number, outcome: machine.Outcome, probe: string | undefined, sample: number): Effect.Effect<Snapshot> {
    return Effect.sync(() => {
      const version = this.s.version
      machine.record(this.s, this.config, now, outcome, probe, sample, 0)
      const counts = countsOf(this.slot)
      if (outcome === "success") counts.successes++
      else if (outcome === "failure") counts.failures++
      if (this.s.state === "OPEN" && this.s.version !== version) counts.opens++
      return machine.snapshot(this.s, this.config, now)
    })
  }

  fleet(now: number): Effect.Effect<readonly [Snapshot, FleetCounts]> {
    return Effect.sync(() => [machine.snapshot(this.s, this.config, now), { ...countsOf(this.slot) }] as const)
  }

  read(now: number): Effect.Effect<Snapshot> {
    return Effect.sync(() => machine.snapshot(this.s, this.config, now))
  }

  force(now: number, state: "FORCED_OPEN" | "FORCED_CLOSED"): Effect.Effect<Snapshot> {
    return Effect.sync(() => {
      machine.force(this.s, this.config, now, state)
      return machine.snapshot(this.s, this.config, now)
    })
  }

  reset(now: number): Effect.Effect<Snapshot> {
    return Effect.sync(() => {
      machine.force(this.s, this.config, now, "RESET")
      return machine.snapshot(this.s, this.config, now)
    })
  }
}

/** @internal */
export const make = (): CircuitStore["Type"] => {
  const slots = new Map<string, Slot>()
  let probes = 0
  const nextProbeId = (holder: string) => `${holder}:${++probes}`
  return {
    circuit: (name, config) =>
      Effect.sync(() => {
        let slot = slots.get(name)
        if (slot === undefined) {
          slot = { s: machine.initial(), counts: undefined }
          slots.set(name, slot)
        }
        return new MemoryCircuit(name, config, slot, nextProbeId)
      }),
    names: Effect.sync(() => Array.from(slots.keys())),
    inspect: (name, config, now) =>
      Effect.sync(() => {
        const slot = slots.get(name) ?? { s: machine.initial(), counts: undefined }
        return [machine.snapshot(slot.s, config, now), { ...countsOf(slot) }] as const
      })
  }
}
