/**
 * The in-memory store: the state machine of `machine.ts` over a `Map`.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type { CircuitConfig } from "../CircuitConfig.js"
import type { Snapshot } from "../CircuitState.js"
import type { Circuit, CircuitStore, Decision } from "../CircuitStore.js"
import * as machine from "./machine.js"

class MemoryCircuit implements Circuit {
  private allow: Decision
  constructor(
    readonly name: string,
    readonly config: CircuitConfig,
    readonly s: machine.MachineState,
    readonly nextProbeId: () => string
  ) {
    this.allow = { _tag: "Allow", probe: undefined, state: s.state, version: s.version }
  }

  private expired(now: number): boolean {
    return this.s.writtenAt > 0 && now - this.s.writtenAt >= this.config.stateTtl
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
        if (now < s.retryAt && !this.expired(now)) {
          return { _tag: "Reject", retryAfter: s.retryAt - Math.max(now, s.changedAt), state: s.state, version: s.version }
        }
        return undefined
      case "FORCED_OPEN":
        return undefined
      case "HALF_OPEN":
        return undefined
    }
  }

  acquire(now: number): Effect.Effect<Decision> {
    return Effect.sync(() => machine.acquire(this.s, this.config, now, this.nextProbeId()))
  }

  recordSuccessLocal(now: number): boolean {
    machine.record(this.s, this.config, now, "success", undefined, 0, 0)
    return true
  }

  record(now: number, outcome: machine.Outcome, probe: string | undefined, sample: number): Effect.Effect<Snapshot> {
    return Effect.sync(() => {
      machine.record(this.s, this.config, now, outcome, probe, sample, 0)
      return machine.snapshot(this.s, this.config, now)
    })
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
  const states = new Map<string, machine.MachineState>()
  let probes = 0
  const nextProbeId = () => `probe-${++probes}`
  return {
    circuit: (name, config) =>
      Effect.sync(() => {
        let s = states.get(name)
        if (s === undefined) {
          s = machine.initial()
          states.set(name, s)
        }
        return new MemoryCircuit(name, config, s, nextProbeId)
      }),
    names: Effect.sync(() => Array.from(states.keys()))
  }
}
