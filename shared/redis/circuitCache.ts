/**
 * What one instance keeps of one circuit of the Redis store (`CircuitEntry`):
 * the last state Redis showed, the successes and counts batched for the next
 * round trip, and what eviction needs to know; `lostState`, what the
 * instance puts back if Redis lost the circuit; and how long a changing
 * state is trusted. Shared by both editions (each names its semaphore, store
 * error and circuit handle).
 *
 * @internal
 */
import type { Decision, Snapshot } from "../model.js"
import { noneUnsent, type Unsent } from "./scriptArgs.js"

/**
 * What this instance puts back if Redis lost it: an admin hold, an OPEN with
 * its retryAt and open count, a HALF_OPEN as OPEN until now (the next call
 * probes); `confirmedAt` is when a reply of Redis last showed it. Only while
 * a missing key cannot mean "superseded, then expired": every transition
 * writes a key that lives `stateTtl` (only the admin holds are kept without
 * a TTL), so a key that held the state less than `stateTtl` ago and is gone
 * now was lost, not replaced. An OPEN or HALF_OPEN is also only put back
 * while it cannot have expired on its own (changed less than `stateTtl` ago).
 * Times are this instance's.
 *
 * @internal
 */
export const lostState = (
  known: Snapshot,
  confirmedAt: number,
  now: number,
  stateTtl: number
): Snapshot | undefined => {
  if (now - confirmedAt >= stateTtl) return undefined
  switch (known.state) {
    case "FORCED_OPEN":
    case "FORCED_CLOSED":
      return known
    case "OPEN":
      return now - known.changedAt < stateTtl ? known : undefined
    case "HALF_OPEN":
      return now - known.changedAt < stateTtl ? { ...known, state: "OPEN", retryAt: now } : undefined
    case "CLOSED":
      return undefined
  }
}

/**
 * The per-instance cache of one circuit, shared by every handle of its name:
 * `Lock` is the edition's semaphore (one round trip at a time), `Failure` its
 * store error, `Owner` its circuit handle.
 *
 * @internal
 */
export class CircuitEntry<Lock, Failure, Owner> {
  snapshot: Snapshot | undefined = undefined
  /** Local time of the reply the snapshot came from (`-Infinity`: dropped, the next call asks Redis). */
  fetchedAt = 0
  /**
   * The snapshot is of a circuit that is changing (`changing`) and no
   * notification would tell of its next transition: trusted for a fifth of
   * `stateCacheTtl` only.
   */
  changing = false
  /**
   * A transition to version `announced` was announced (`drop`) while round
   * trips up to `staleThrough` were under way: their replies of an older
   * version predate it, and are not trusted.
   */
  staleThrough = 0
  announced = 0
  /** When that reply was decided (Redis's clock for `timeSource: "server"`, in local time). */
  confirmedAt = 0
  /** Local time until which calls are rejected without asking. */
  rejectUntil = 0
  /** Successes counted locally, not yet sent to the window. */
  pending = 0
  /** Metric counts not yet sent. */
  unsent: Unsent = { ...noneUnsent }
  registered = false
  /** Failed round trips so far, and the last error: callers queued behind a failure share it. */
  failures = 0
  failed: Failure | undefined = undefined
  allow: Decision = { _tag: "Allow", probe: undefined, state: "CLOSED", version: -1 }
  /** Round trips sent, and the newest whose reply was applied to the cache. */
  sent = 0
  applied = 0
  /** The first handle made for the circuit: it flushes what is batched, with its config. */
  owner: Owner | undefined = undefined
  /** When a call last used the circuit (local clock): idle entries are evicted. */
  usedAt = 0
  /** Operations under way on this entry: it is not evicted meanwhile. */
  inFlight = 0
  /** Dropped from the store: handles still holding it take the store's entry again. */
  evicted = false
  constructor(readonly lock: Lock) {}

  /**
   * A transition to `version` this instance does not hold was announced (a
   * notification; `Infinity`: transitions may have been missed): the cached
   * state is not trusted any more, so the next call asks Redis; nothing else
   * changes.
   */
  drop(version: number): void {
    this.fetchedAt = -Infinity
    this.staleThrough = this.sent
    this.announced = version
  }

  /** Nothing batched: no success or count that no round trip has carried yet. */
  get empty(): boolean {
    const u = this.unsent
    return this.pending === 0 && u.successes === 0 && u.failures === 0 && u.rejections === 0 && u.probes === 0
  }
}

/**
 * Whether `snapshot` is of a circuit that is changing: HALF_OPEN (a probe
 * may close it any moment), or CLOSED by a transition less than five
 * `stateCacheTtl` ago (it may open again). Without notifications (Upstash,
 * or while they are lost) such a state is trusted for a fifth of
 * `stateCacheTtl` (`changingTtl`), so that a close after the probe, or an
 * open elsewhere, reaches this instance sooner; other states for
 * `stateCacheTtl` (an OPEN one until its retryAt, which it knows).
 *
 * @internal
 */
export const changing = (snapshot: Snapshot, now: number, stateCacheTtl: number): boolean =>
  snapshot.state === "HALF_OPEN" ||
  (snapshot.state === "CLOSED" && snapshot.changedAt > 0 && now - snapshot.changedAt < 5 * stateCacheTtl)

/**
 * How long the state of a changing circuit is trusted without notifications.
 *
 * @internal
 */
export const changingTtl = (stateCacheTtl: number): number => Math.floor(stateCacheTtl / 5)
