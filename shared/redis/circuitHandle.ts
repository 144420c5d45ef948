/**
 * The synchronous part of one circuit's handle in the Redis store
 * (`CircuitHandle`): decisions from the instance's cache, batched successes,
 * the clock the circuit's calls use, what a round trip takes from the batch
 * (and gives back when it fails), and what its reply writes into the cache.
 * Shared by both editions: each extends it with its round trips.
 *
 * @internal
 */
import type { Decision, MachineConfig, NotificationStatus, Snapshot } from "../model.js"
import type { CallTime } from "../store/memory.js"
import { type CircuitEntry, changing, changingTtl, lostState } from "./circuitCache.js"
import { keysOf } from "./keys.js"
import type { Reply } from "./scriptReply.js"
import { noneUnsent, type Op, scriptArgs, type Unsent } from "./scriptArgs.js"

/**
 * What a handle reads of its circuit's config.
 *
 * @internal
 */
export interface HandleConfig extends MachineConfig {
  readonly stateCacheTtl: number
  readonly timeSource?: "client" | "server" | undefined
}

/**
 * What a handle reads of what every circuit of one store shares: `Entry` is
 * the edition's entry, `Owner` its circuit handle.
 *
 * @internal
 */
export interface HandleShared<Entry, Owner> {
  /** Redis's clock as this instance learned it (`timeSource: "server"`). */
  readonly clock: { readonly offset: number | undefined }
  /** The time source of circuits whose config does not choose one. */
  readonly timeSource: "client" | "server"
  readonly prefix: string
  /** Transitions made by other instances, as they are announced. */
  readonly notifications: { readonly status: NotificationStatus | undefined; readonly live: boolean }
  /** Wakes the flusher: something was batched locally (`Flusher.batched`). */
  readonly batched: () => void
  /** A use at `now` (local clock), for the sweep of idle entries (`Flusher.used`). */
  readonly used: (now: number) => void
  /** The store's entry for `name`, made again for `circuit` after it was evicted. */
  readonly attach: (name: string, circuit: Owner) => Entry
}

/**
 * What one round trip took from the batch (`CircuitHandle.take`), to send
 * with it and to give back if it fails.
 *
 * @internal
 */
export interface Taken {
  readonly batch: number
  readonly unsent: Unsent
  /** The metric counts ride along (they are given back with the batch). */
  readonly carries: boolean
  /** The round trip's number among this entry's. */
  readonly sequence: number
}

/**
 * One handle of a circuit: its name and config over the store's entry for
 * the name (`Entry`), which every handle of the name shares. `Owner` is the
 * edition's handle (the class that extends this one).
 *
 * @internal
 */
export abstract class CircuitHandle<
  Entry extends CircuitEntry<unknown, unknown, unknown>,
  Owner,
  Shared extends HandleShared<Entry, Owner>,
  Config extends HandleConfig
> {
  protected readonly keys: readonly [string, string]
  protected readonly args: ReadonlyArray<string>
  /** How long the state of a changing circuit is trusted while no notification would tell of it. */
  private readonly changingTtl: number
  constructor(
    readonly name: string,
    readonly config: Config,
    public entry: Entry,
    readonly shared: Shared
  ) {
    this.keys = keysOf(shared.prefix, name)
    this.args = scriptArgs(config)
    this.changingTtl = changingTtl(config.stateCacheTtl)
  }

  /**
   * A call uses the circuit at `now`: a handle whose entry was evicted (idle,
   * nothing batched) takes the store's entry again, which knows nothing yet:
   * the next call asks Redis.
   */
  protected use(now: number): Entry {
    let e = this.entry
    if (e.evicted) e = this.entry = this.shared.attach(this.name, this as unknown as Owner)
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
  protected decideLocal(now: number): Decision | undefined {
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
  protected get serverTime(): boolean {
    return (this.config.timeSource ?? this.shared.timeSource) === "server"
  }

  /** The offset to Redis's clock this circuit's calls use: 0 on the caller's own clock. */
  protected get offset(): number {
    return this.serverTime ? this.shared.clock.offset ?? 0 : 0
  }

  /**
   * What one round trip of `op` takes from the entry `e`: the batched
   * successes (not for a force or a peek: a peek (monitoring) carries
   * nothing of this instance's, its config may not be the circuit's), and
   * the metric counts, which ride along with every call but a record's: a
   * record (a failure, a probe's outcome) adds its own count to them, and
   * they reach Redis with the next other call or the flush within a second,
   * so that a failure costs Redis no metrics write of its own.
   */
  protected take(e: Entry, op: Op, outcome: string | undefined, peek: boolean): Taken {
    const batch = op === "force" || peek ? 0 : e.pending
    e.pending -= batch
    const carries = !peek && op !== "record"
    if (op === "record") {
      if (outcome === "success") e.unsent.successes++
      else if (outcome === "failure") e.unsent.failures++
      this.shared.batched()
    }
    const unsent = carries ? e.unsent : noneUnsent
    if (carries) e.unsent = { ...noneUnsent }
    return { batch, unsent, carries, sequence: ++e.sent }
  }

  /** Gives back to `e` what a round trip took (`take`) and did not deliver. */
  protected giveBack(e: Entry, taken: Taken): void {
    e.pending += taken.batch
    if (taken.carries) {
      const unsent = taken.unsent
      e.unsent.successes += unsent.successes
      e.unsent.failures += unsent.failures
      e.unsent.rejections += unsent.rejections
      e.unsent.probes += unsent.probes
    }
  }

  /**
   * Writes the reply of round trip `sequence`, sent at `now`, into the cache.
   * Returns false if a newer round trip's reply was applied already (replies
   * may overtake each other: parallel HTTP requests), which this one must not
   * overwrite.
   */
  protected apply(now: number, sequence: number, reply: Reply): boolean {
    const e = this.entry
    const s = reply.snapshot
    if (sequence < e.applied) return false
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
    return true
  }

  /** The decision of an acquire's `reply`, its rejection or probe counted for the metrics. */
  protected acquired(reply: Reply): Decision {
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
  }

  /**
   * What the script puts back if Redis lost the circuit (`ScriptCall.known`):
   * the state this instance last read, while `lostState` says a missing key
   * would mean it was lost; on the script's clock (`offset`).
   */
  protected known(now: number, offset: number): string | undefined {
    const e = this.entry
    if (e.snapshot === undefined) return undefined
    const lost = lostState(e.snapshot, e.confirmedAt, now, this.config.stateTtl)
    if (lost === undefined) return undefined
    const server = (time: number) => (time === 0 ? 0 : time + offset)
    return `${lost.state} ${lost.openCount} ${server(lost.openedAt)} ${server(lost.retryAt)} ${lost.version}`
  }
}

/**
 * The warning of a reply that repaired some of the circuit's Redis data.
 *
 * @internal
 */
export const repairedText = (name: string): string =>
  `circuit ${JSON.stringify(name)}: some of its Redis data was not readable and was repaired`

/**
 * The warning of a reply that put back what this instance knew of a circuit
 * Redis had lost (restart, FLUSHALL, failover, data overwritten).
 *
 * @internal
 */
export const restoredText = (name: string, s: Snapshot): string =>
  `circuit ${JSON.stringify(name)}: Redis lost its state (restart, flush or failover); ` +
  `re-asserted ${s.state}${s.state === "OPEN" ? ` until ${new Date(s.retryAt).toISOString()}` : ""}`
