/**
 * The flusher of one Redis store: sends what its circuits batched locally
 * within a second (and when the store closes), and evicts idle entries.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import { defaults } from "../../CircuitConfig.js"
import { IdleSweep } from "../store/idleSweep.js"
import { type Entry, lostState } from "./circuitCache.js"

/** The longest a locally counted success or rejection waits before it is sent. */
const FLUSH_INTERVAL = Duration.seconds(1)

/**
 * The flusher of one store (`Shared.batched`, `Shared.used`).
 *
 * @internal
 */
export interface Flusher {
  /** Wakes the flusher: something was batched locally (synchronous, cheap when already awake). */
  readonly batched: () => void
  /** A use at `now` (local clock): once a sweep of idle entries is due, the flusher runs it. */
  readonly used: (now: number) => void
}

/**
 * Sends what is batched within `FLUSH_INTERVAL` (and when the store closes),
 * and evicts idle entries, after flushing them, every `min(idleTtl, 1 min)`.
 *
 * @internal
 */
export const makeFlusher = (
  entries: Map<string, Entry>,
  idleTtl: number
): Effect.Effect<Flusher, never, Scope.Scope> =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    // idle entries are evicted by the flusher, once a use finds a sweep due (`IdleSweep`); it sends
    // what they batched first
    let sweepDue = false
    const idleSweep = new IdleSweep(idleTtl, yield* Clock.currentTimeMillis, () => {
      sweepDue = true
      batched()
    })
    /** An entry idle since `now - idleTtl`, with nothing in flight, whose loss forgets nothing Redis may need back. */
    const idleAt = (entry: Entry, now: number): boolean =>
      idleSweep.idle(entry.usedAt, now) && entry.inFlight === 0 &&
      (entry.snapshot === undefined ||
        lostState(entry.snapshot, entry.confirmedAt, now, entry.owner?.config.stateTtl ?? defaults.stateTtl) ===
          undefined)
    const sweep = Effect.clockWith((clock) => {
      const now = clock.currentTimeMillisUnsafe()
      const idle: Array<readonly [string, Entry]> = []
      for (const pair of entries) if (idleAt(pair[1], now)) idle.push(pair)
      // what is batched is sent first: an entry is dropped only once nothing is left in it
      return Effect.forEach(idle, ([name, entry]) =>
        Effect.andThen(
          entry.empty || entry.owner === undefined ? Effect.void : entry.owner.flush,
          Effect.sync(() => {
            if (entries.get(name) === entry && entry.empty && idleAt(entry, now)) {
              entry.evicted = true
              entries.delete(name)
            }
          })
        ), { discard: true, concurrency: 16 })
    })
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
        if (sweepDue) {
          sweepDue = false
          yield* sweep
        }
      })),
      scope
    )
    // what is still batched when the store closes is sent on the way out
    yield* Scope.addFinalizer(scope, flushAll)
    function batched() {
      if (!awake) {
        awake = true
        Deferred.doneUnsafe(wake, Exit.void)
      }
    }
    return { batched, used: (now) => idleSweep.used(now) }
  })
