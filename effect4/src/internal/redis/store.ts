/**
 * The Redis store's `make`: `lua/circuit.lua` behind the `Circuit`
 * interface, with the per-instance cache and success batching of
 * ARCHITECTURE.md, "The admit step and the round-trip budget". It wires the
 * parts: round trips and the store's breaker (`roundTrip.ts`), the registry,
 * the flusher, the monitoring reads, the transition notifications and the
 * circuits' handles.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import * as Effect4 from "effect"
import type * as Scope from "effect/Scope"
import type { CircuitStore } from "../../CircuitStore.js"
import { RedisClient } from "../../RedisClient.js"
import { defaultIdleTtl } from "../store/idleSweep.js"
import { circuitFactory, RedisCircuit, type Shared } from "./circuit.js"
import { Entry } from "./circuitCache.js"
import { makeFlusher } from "./flusher.js"
import { makeInspectMany } from "./inspectMany.js"
import { Notifications } from "./notifications.js"
import { makeRegistry } from "./registry.js"
import { RoundTrips, StoreGuard } from "./roundTrip.js"
import { ServerClock } from "./serverClock.js"

/** @internal */
export interface StoreOptions {
  readonly unavailableAfter: number
  readonly cooldown: number
  readonly timeSource: "client" | "server"
  /** Milliseconds without a call after which a circuit's entry is evicted (default 10 minutes). */
  readonly idleTtl?: number | undefined
  /** Subscribe to the transitions other instances make, when the client can (default true). */
  readonly notifications?: boolean | undefined
}

/**
 * The Redis store: its round trips and breaker (`RoundTrips`), its registry,
 * its flusher, its monitoring reads and the factory of its circuits.
 *
 * @internal
 */
export const make = (
  prefix: string,
  options: StoreOptions
): Effect.Effect<CircuitStore["Service"], never, RedisClient | Scope.Scope> =>
  Effect.gen(function*() {
    const client = yield* RedisClient
    const entries = new Map<string, Entry>()
    const scope = yield* Effect.scope
    const storeId = (yield* Random.nextIntBetween(0, 0x7fffffff, { halfOpen: true })).toString(36)
    let probes = 0
    const roundTrips = new RoundTrips(new StoreGuard(options.unavailableAfter, options.cooldown), client.description)
    const fork = (effect: Effect.Effect<void>) => Effect.asVoid(Effect.forkIn(effect, scope))
    /** The entry of `name`, made when there is none. */
    const entryOf = (name: string): Entry => {
      let entry = entries.get(name)
      if (entry === undefined) {
        entry = new Entry(Effect4.Semaphore.makeUnsafe(1))
        entries.set(name, entry)
      }
      return entry
    }
    const registry = makeRegistry(client, prefix, roundTrips, {
      fork,
      // circuits register again as they are used
      dropped: () => {
        for (const entry of entries.values()) entry.registered = false
      }
    })
    // when the store closes, after the flusher's last flush (finalizers run last added first), nothing per
    // circuit stays: a disposed ManagedRuntime the application keeps still holds the store
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        for (const entry of entries.values()) entry.evicted = true
        entries.clear()
      })
    )
    const flusher = yield* makeFlusher(entries, options.idleTtl ?? defaultIdleTtl)
    const notifications = new Notifications(client, prefix, entries, options.notifications ?? true)
    const shared: Shared = {
      client,
      clock: new ServerClock(client),
      timeSource: options.timeSource,
      prefix,
      scope,
      roundTrips,
      registry,
      notifications,
      nextProbeId: (holder) => `${encodeURIComponent(holder)}:${storeId}:${++probes}`,
      fork,
      batched: flusher.batched,
      used: flusher.used,
      attach: (name, circuit) => {
        const entry = entryOf(name)
        if (entry.owner === undefined) entry.owner = circuit
        return entry
      }
    }
    return {
      inspectMany: makeInspectMany(shared, entries),
      /** How many circuits this instance caches (tests). */
      cached: () => entries.size,
      notifications: () => notifications.status,
      circuit: circuitFactory(shared, entryOf),
      names: registry.names,
      inspect: (name, config, now) =>
        Effect.suspend(() => {
          const owner = entries.get(name)?.owner
          if (owner !== undefined) return owner.inspect(now)
          // a circuit no breaker of this instance uses: a handle that is not kept
          return new RedisCircuit(name, config, new Entry(Effect4.Semaphore.makeUnsafe(1)), shared).inspect(now)
        })
    }
  })
