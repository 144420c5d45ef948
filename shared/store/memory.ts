/**
 * The in-memory store's circuits, synchronously: the state machine of
 * `machine.ts` over a `Map`, with what every breaker in the process did with
 * each circuit, and the eviction of idle ones. Each edition's memory store
 * answers its effects with these.
 *
 * @internal
 */
import * as machine from "../breaker/machine.js"
import type { Decision, FleetCounts, MachineConfig, Outcome, Snapshot } from "../model.js"
import { IdleSweep } from "./idleSweep.js"

/** The time of a call: a recent one (no clock read), or the clock read now. @internal */
export interface CallTime {
  readonly recent: number
  readonly now: () => number
}

/** One circuit's state and what every breaker in the process did with it. @internal */
export interface Slot {
  readonly s: machine.MachineState
  counts: { successes: number; failures: number; rejections: number; probes: number; opens: number } | undefined
  /** When a circuit last used it (the caller's clock), and with which config. */
  usedAt: number
  config: MachineConfig | undefined
  /** Dropped from the store: a handle still holding it takes the store's slot again. */
  evicted: boolean
}

export const newSlot = (): Slot => ({
  s: machine.initial(),
  counts: undefined,
  usedAt: 0,
  config: undefined,
  evicted: false
})

/**
 * Whether dropping a slot loses nothing a call could tell: CLOSED with no
 * backoff and nothing left in its window, or a state that expired anyway
 * (`stateTtl`). Admin holds are never dropped.
 */
const atRest = (slot: Slot, now: number): boolean => {
  const s = slot.s
  const config = slot.config
  if (config === undefined) return s.state === "CLOSED" && s.window === undefined && s.version === 0
  if (machine.expired(s, config, now)) return true
  return s.state === "CLOSED" && s.openCount === 0 &&
    (s.window === undefined || now - s.writtenAt > config.monitoringPeriod + 2 * machine.bucketWidth(config))
}

/** The slots of one store, and its eviction of idle ones. @internal */
export class Slots {
  readonly map = new Map<string, Slot>()
  private probes = 0
  /** Started by the first use: the store is made outside any clock. */
  private readonly sweeper: IdleSweep
  constructor(idleTtl: number) {
    this.sweeper = new IdleSweep(idleTtl, undefined, (now) => this.sweep(now))
  }
  readonly nextProbeId = (holder: string) => `${holder}:${++this.probes}`

  get(name: string): Slot {
    let slot = this.map.get(name)
    if (slot === undefined) {
      slot = newSlot()
      this.map.set(name, slot)
    }
    return slot
  }

  /** A use at `now` (the caller's clock), which sweeps when a sweep is due. */
  used(slot: Slot, now: number): void {
    slot.usedAt = now
    this.sweeper.used(now)
  }

  /** Drops every slot (the store closed); a handle still used takes a new one. */
  clear(): void {
    for (const slot of this.map.values()) slot.evicted = true
    this.map.clear()
  }

  /** Drops the slots idle for `idleTtl` that are at rest. */
  private sweep(now: number): void {
    for (const [name, slot] of this.map) {
      if (this.sweeper.idle(slot.usedAt, now) && atRest(slot, now)) {
        slot.evicted = true
        this.map.delete(name)
      }
    }
  }
}

/** What every breaker in the process did with a slot's circuit. @internal */
export const countsOf = (slot: Slot) => {
  if (slot.counts === undefined) slot.counts = { successes: 0, failures: 0, rejections: 0, probes: 0, opens: 0 }
  return slot.counts
}

/** The allow decision of a CLOSED circuit that never changed, shared by all. */
const initialAllow: Decision = { _tag: "Allow", probe: undefined, state: "CLOSED", version: 0 }

/**
 * One circuit of the store, synchronously: each edition's circuit answers
 * its effects with these.
 *
 * @internal
 */
export class MemoryCircuitCore {
  private allow: Decision = initialAllow
  s: machine.MachineState
  slot: Slot
  constructor(
    readonly name: string,
    readonly config: MachineConfig,
    readonly slots: Slots
  ) {
    this.slot = slots.get(name)
    this.slot.config = config
    this.s = this.slot.s
  }

  /**
   * A use at `now`: a handle whose slot was evicted (idle and at rest) takes
   * the store's slot for its name again, a new CLOSED one unless another
   * handle made it meanwhile.
   */
  private use(now: number): void {
    let slot = this.slot
    if (slot.evicted) {
      slot = this.slot = this.slots.get(this.name)
      slot.config = this.config
      this.s = slot.s
    }
    this.slots.used(slot, now)
  }

  /** A CLOSED circuit reads no clock (`time.recent`); an OPEN one compares the time now with `retryAt`. */
  acquireLocal(time: CallTime): Decision | undefined {
    this.use(time.recent)
    const s = this.s
    switch (s.state) {
      case "CLOSED":
      case "FORCED_CLOSED":
        if (this.allow.version !== s.version || this.allow.state !== s.state) {
          this.allow = { _tag: "Allow", probe: undefined, state: s.state, version: s.version }
        }
        return this.allow
      case "OPEN": {
        const now = time.now()
        if (now < s.retryAt && !machine.expired(s, this.config, Math.max(now, s.changedAt))) {
          countsOf(this.slot).rejections++
          return {
            _tag: "Reject",
            retryAfter: s.retryAt - Math.max(now, s.changedAt),
            state: s.state,
            version: s.version
          }
        }
        return undefined
      }
      case "FORCED_OPEN":
        countsOf(this.slot).rejections++
        return { _tag: "Reject", retryAfter: this.config.recoveryTimeout, state: s.state, version: s.version }
      case "HALF_OPEN":
        return undefined
    }
  }

  acquireNow(now: number, holder: string): Decision {
    this.use(now)
    const decision = machine.acquire(this.s, this.config, now, this.slots.nextProbeId(holder))
    if (decision._tag === "Reject") countsOf(this.slot).rejections++
    else if (decision.probe !== undefined) countsOf(this.slot).probes++
    return decision
  }

  recordSuccessLocal(now: number): void {
    this.use(now)
    machine.recordSuccess(this.s, this.config, now)
    countsOf(this.slot).successes++
  }

  recordNow(now: number, outcome: Outcome, probe: string | undefined, sample: number): Snapshot {
    this.use(now)
    const version = this.s.version
    machine.record(this.s, this.config, now, outcome, probe, sample, 0)
    const counts = countsOf(this.slot)
    if (outcome === "success") counts.successes++
    else if (outcome === "failure") counts.failures++
    if (this.s.state === "OPEN" && this.s.version !== version) counts.opens++
    return machine.snapshot(this.s, this.config, now)
  }

  fleetNow(now: number): readonly [Snapshot, FleetCounts] {
    this.use(now)
    return [machine.snapshot(this.s, this.config, now), { ...countsOf(this.slot) }]
  }

  readNow(now: number): Snapshot {
    this.use(now)
    return machine.snapshot(this.s, this.config, now)
  }

  forceNow(now: number, state: "FORCED_OPEN" | "FORCED_CLOSED" | "RESET"): Snapshot {
    this.use(now)
    machine.force(this.s, this.config, now, state)
    return machine.snapshot(this.s, this.config, now)
  }
}

/**
 * What the store knows of the circuit `name` at `now`, read with the config
 * of its writers when it has one (as the Lua twin's peek), registering
 * nothing.
 *
 * @internal
 */
export const inspect = (
  slots: Slots,
  name: string,
  config: MachineConfig,
  now: number
): readonly [Snapshot, FleetCounts] => {
  const slot = slots.map.get(name) ?? newSlot()
  return [machine.snapshot(slot.s, slot.config ?? config, now), { ...countsOf(slot) }]
}
