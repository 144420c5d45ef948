/**
 * The registry of circuit names in Redis: a sorted set scored by
 * registration time, added to as circuits are made, read by monitoring, and
 * pruned of names whose state is gone.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import { defaults } from "../../CircuitConfig.js"
import { CircuitStoreError } from "../../CircuitStore.js"
import type { RedisClient } from "../../RedisClient.js"
import { registryKeyOf } from "../../../shared/redis/keys.js"
import * as registry from "../../../shared/redis/registry.js"
import type { RoundTrips } from "./roundTrip.js"

/**
 * The registry of circuit names: a sorted set scored by registration time (ARCHITECTURE.md, "The Redis data model").
 *
 * @internal
 */
export interface Registry {
  /**
   * Adds `name`, scored by the time now on Redis's clock (`offset()`, read
   * when the score is taken); a key of the wrong type is dropped first.
   * Refused while Redis is deemed unavailable, bounded by the default
   * `storeTimeout`.
   */
  readonly add: (name: string, offset: () => number) => Effect.Effect<void, CircuitStoreError>
  /**
   * Every registered name: a monitoring read, which always asks Redis and
   * does not touch the store's breaker; by `ZSCAN`, `REGISTRY_PAGE` entries
   * per round trip.
   */
  readonly names: Effect.Effect<ReadonlyArray<string>, CircuitStoreError>
  /** When `name` was registered (Redis's clock where known), as the last `names` read said (for pruning). */
  readonly registeredAt: (name: string) => number | undefined
  /**
   * Names whose state is gone leave the registry: in the background, at most
   * `PRUNE_CHUNK` names per command; a failure is logged (a warning once,
   * until a prune succeeds again).
   */
  readonly forget: (gone: ReadonlyArray<string>) => Effect.Effect<void>
}
/**
 * The circuit registry of one store; `dropped` runs when a registry of the
 * wrong type was dropped.
 *
 * @internal
 */
export const makeRegistry = (
  client: RedisClient["Type"],
  prefix: string,
  roundTrips: RoundTrips,
  options: {
    readonly fork: (effect: Effect.Effect<void>) => Effect.Effect<void>
    readonly dropped: () => void
  }
): Registry => {
  const key = registryKeyOf(prefix)
  const send = (command: ReadonlyArray<string>, guard: "checked" | "bypass") =>
    roundTrips.run(client.send(command), { timeout: defaults.storeTimeout, what: "registry", guard })
  const isWrongType = (error: CircuitStoreError) => error.reason.includes("WRONGTYPE")
  /** Drops a registry key of the wrong type (someone wrote over it), with a warning. */
  const repair = Effect.zipRight(
    Effect.logWarning(registry.droppedWarning(key)),
    send(["DEL", key], "checked")
  )
  let registeredAt = new Map<string, number>()
  /** Names a prune in flight removes. */
  const pruning = new Set<string>()
  let pruneFailing = false
  return {
    add: (name, offset) => {
      const add = Effect.clockWith((clock) =>
        send(["ZADD", key, String(clock.unsafeCurrentTimeMillis() + offset()), name], "checked")
      )
      return add.pipe(Effect.catchIf(isWrongType, () => Effect.zipRight(repair, add)), Effect.asVoid)
    },
    // read by ZSCAN, a bounded reply per round trip however many names there are; a name
    // registered throughout the scan is read (once or more: kept once), whatever else changes
    names: Effect.suspend(() => {
      const read = new Map<string, number>()
      const page = (cursor: string): Effect.Effect<void, CircuitStoreError> =>
        Effect.flatMap(send(["ZSCAN", key, cursor, "COUNT", String(registry.REGISTRY_PAGE)], "bypass"), (reply) => {
          const scanned = registry.zscanPage(reply)
          if (scanned === undefined) return Effect.fail(new CircuitStoreError({ reason: registry.unexpectedZscan }))
          for (const [name, score] of scanned.entries) read.set(name, score)
          return scanned.next === "0" ? Effect.void : page(scanned.next)
        })
      return page("0").pipe(
        Effect.as(true),
        Effect.catchIf(isWrongType, () => {
          options.dropped()
          return Effect.as(repair, false)
        }),
        Effect.map((whole) => {
          if (!whole) read.clear()
          registeredAt = read
          return [...read.keys()] as ReadonlyArray<string>
        })
      )
    }),
    registeredAt: (name) => registeredAt.get(name),
    forget: (gone) =>
      Effect.suspend(() => {
        // a name already being removed (reads arriving together find the same ones) is not sent twice
        const names = gone.filter((name) => !pruning.has(name))
        if (names.length === 0) return Effect.void
        for (const name of names) pruning.add(name)
        const prune = Effect.forEach(registry.pruneChunks(names), (chunk) => send(["ZREM", key, ...chunk], "bypass"), {
          discard: true
        })
          .pipe(
            Effect.matchEffect({
              onFailure: (error) => {
                // once per episode: every monitoring read of a fleet with gone names tries again
                if (pruneFailing) return Effect.logDebug(registry.pruneFailed(key, error.reason, false))
                pruneFailing = true
                return Effect.logWarning(registry.pruneFailed(key, error.reason, true))
              },
              onSuccess: () => Effect.sync(() => void (pruneFailing = false))
            }),
            Effect.ensuring(Effect.sync(() => {
              for (const name of names) pruning.delete(name)
            }))
          )
        return options.fork(prune)
      })
  }
}
