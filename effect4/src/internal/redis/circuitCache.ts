/**
 * What one instance keeps of one circuit (`Entry`, shared/redis/circuitCache.ts
 * with this edition's semaphore, store error and circuit handle), and
 * `tracked`, which keeps an entry from eviction while an operation runs.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type * as Semaphore from "effect/Semaphore"
import type { CircuitStoreError } from "../../CircuitStore.js"
import type { RedisCircuit } from "./circuit.js"
import { CircuitEntry } from "../../../../shared/redis/circuitCache.js"

/** @internal */
export { changing, changingTtl, lostState } from "../../../../shared/redis/circuitCache.js"

/**
 * The per-instance cache of one circuit, shared by every handle of its name.
 *
 * @internal
 */
export class Entry extends CircuitEntry<Semaphore.Semaphore, CircuitStoreError, RedisCircuit> {}

/**
 * Runs `effect` with `entry` marked in use, so that it is not evicted under it.
 *
 * @internal
 */
export const tracked = <A, E>(entry: Entry, effect: Effect.Effect<A, E>): Effect.Effect<A, E> =>
  Effect.suspend(() => {
    entry.inFlight++
    return Effect.ensuring(effect, Effect.sync(() => entry.inFlight--))
  })
