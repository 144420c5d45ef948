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
import { registryKeyOf } from "../../../../shared/redis/keys.js"
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
  client: RedisClient["Service"],
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
  const repair = Effect.andThen(
    Effect.logWarning(
      `circuit registry ${JSON.stringify(key)} was not a sorted set and was dropped; ` +
        "circuits register again as they are used"
    ),
    send(["DEL", key], "checked")
  )
  let registeredAt = new Map<string, number>()
  /** Names a prune in flight removes. */
  const pruning = new Set<string>()
  let pruneFailing = false
  return {
    add: (name, offset) => {
      const add = Effect.clockWith((clock) =>
        send(["ZADD", key, String(clock.currentTimeMillisUnsafe() + offset()), name], "checked")
      )
      return add.pipe(Effect.catchIf(isWrongType, () => Effect.andThen(repair, add)), Effect.asVoid)
    },
    // read by ZSCAN, a bounded reply per round trip however many names there are; a name
    // registered throughout the scan is read (once or more: kept once), whatever else changes
    names: Effect.suspend(() => {
      const read = new Map<string, number>()
      const page = (cursor: string): Effect.Effect<void, CircuitStoreError> =>
        Effect.flatMap(send(["ZSCAN", key, cursor, "COUNT", String(REGISTRY_PAGE)], "bypass"), (reply) => {
          const [next, members] = Array.isArray(reply) && reply.length === 2 ? reply : [undefined, undefined]
          if (
            (typeof next !== "string" && typeof next !== "number") || !Array.isArray(members) ||
            members.length % 2 !== 0 ||
            !members.every((item) => typeof item === "string")
          ) {
            return Effect.fail(new CircuitStoreError({ reason: "unexpected reply to ZSCAN of the circuit registry" }))
          }
          for (let i = 0; i < members.length; i += 2) read.set(members[i] as string, Number(members[i + 1]))
          return String(next) === "0" ? Effect.void : page(String(next))
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
        const chunks: Array<ReadonlyArray<string>> = []
        for (let i = 0; i < names.length; i += PRUNE_CHUNK) chunks.push(names.slice(i, i + PRUNE_CHUNK))
        const prune = Effect.forEach(chunks, (chunk) => send(["ZREM", key, ...chunk], "bypass"), { discard: true })
          .pipe(
            Effect.matchEffect({
              onFailure: (error) => {
                // once per episode: every monitoring read of a fleet with gone names tries again
                if (pruneFailing)
                  return Effect.logDebug(`pruning the circuit registry ${JSON.stringify(key)} failed: ${error.reason}`)
                pruneFailing = true
                return Effect.logWarning(
                  `pruning the circuit registry ${JSON.stringify(key)} failed (${error.reason}); ` +
                    "names whose state is gone stay listed, and monitoring reads them again, until a prune succeeds"
                )
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

/** How many entries of the registry one `ZSCAN` asks for (a hint to Redis). */
const REGISTRY_PAGE = 10_000

/** Names removed from the registry per `ZREM`: a command of bounded size, however many names are gone. */
const PRUNE_CHUNK = 1_000
