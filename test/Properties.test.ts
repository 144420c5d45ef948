/**
 * Properties (fast-check) of circuit names against a real redis-server: ~200 random valid names
 * used as circuits of one store keep their own states, and each circuit's keys (state, window,
 * probes...) hash to one cluster slot. The pure properties (config decoding, names in keys) are
 * in Properties.unit.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as fc from "effect/FastCheck"
import * as Layer from "effect/Layer"
import { Redis } from "ioredis"
import type { CircuitConfig } from "../src/index.js"
import { CircuitBreaker, CircuitStore, RedisCircuitStore } from "../src/index.js"
import { keysOf } from "../shared/redis/keys.js"
import { type RedisServer, startRedis } from "./support/redisServer.js"
import { freshPrefix } from "./support/stores.js"
import { IORedisClient } from "../src/ioredis.js"
import { decodes, unit, validName } from "./support/nameArbitraries.js"

// ---------------------------------------------------------------------------
// against a real redis-server
// ---------------------------------------------------------------------------

describe("random names as circuits of one Redis store", () => {
  /** The store's Redis. */
  let server: RedisServer
  let redis: Redis
  /** A cluster-enabled node, only to ask CLUSTER KEYSLOT (a standalone server refuses it). */
  let clusterNode: RedisServer
  let slots: Redis

  beforeAll(async () => {
    ;[server, clusterNode] = await Promise.all([startRedis(), startRedis({ cluster: true })])
    redis = new Redis(server.url, { maxRetriesPerRequest: 1 })
    slots = new Redis(clusterNode.url, { maxRetriesPerRequest: 1 })
  }, 60_000)

  afterAll(async () => {
    for (const client of [redis, slots]) await client?.quit().catch(() => client.disconnect())
    await Promise.all([server?.stop(), clusterNode?.stop()])
  })

  const storeOn = (prefix: string) =>
    RedisCircuitStore.layer({ prefix }).pipe(Layer.provide(IORedisClient.layer({ url: server.url })), Layer.orDie)

  it("~200 names: each circuit keeps its own state, the registry lists them all, their keys share a slot", async () => {
    const names = fc.uniqueArray(
      fc.oneof(validName, fc.string({ unit, minLength: 1, maxLength: 12 }).filter(decodes)),
      { minLength: 200, maxLength: 200 }
    )
    await fc.assert(
      fc.asyncProperty(names, async (names) => {
        const prefix = freshPrefix()
        const tripped = (i: number) => i % 3 !== 0
        const config: CircuitConfig.Input = { failureThreshold: 1, recoveryTimeout: "10 minutes", stateCacheTtl: 0 }

        // one store: make every breaker, open two in three
        const seen = await Effect.runPromise(
          Effect.gen(function*() {
            const breakers = yield* Effect.forEach(names, (name) => CircuitBreaker.make(name, config))
            yield* Effect.forEach(
              breakers,
              (breaker, i) => Effect.exit(breaker.protect(tripped(i) ? Effect.fail("boom") : Effect.succeed("ok"))),
              {
                concurrency: 16
              }
            )
            return yield* Effect.forEach(breakers, (breaker) => breaker.state)
          }).pipe(Effect.provide(storeOn(prefix)))
        )
        // another store (another instance) sees the same: the states live in Redis, one per name
        const [fromRedis, registry] = await Effect.runPromise(
          Effect.gen(function*() {
            const breakers = yield* Effect.forEach(names, (name) => CircuitBreaker.make(name, config))
            const states = yield* Effect.forEach(breakers, (breaker) => breaker.state)
            const registry = yield* Effect.flatMap(CircuitStore.CircuitStore, (store) => store.names)
            return [states, registry] as const
          }).pipe(Effect.provide(storeOn(prefix)))
        )
        const expected = names.map((_, i) => (tripped(i) ? "OPEN" : "CLOSED"))
        expect(seen).toEqual(expected)
        expect(fromRedis).toEqual(expected)
        expect([...registry].sort()).toEqual([...names].sort())

        const exec = async (pipeline: ReturnType<Redis["pipeline"]>) =>
          (await pipeline.exec())!.map(([error, reply]) => {
            if (error) throw error
            return reply
          })
        // every key of a circuit (its hash, its fleet metrics, and whatever else the store keeps per circuit)
        const keysPerName = names.map((name) => keysOf(prefix, name))
        const states = redis.pipeline()
        const keyslots = slots.pipeline()
        keysPerName.forEach((keys, i) => {
          expect(keys.length).toBeGreaterThanOrEqual(2)
          expect(keys[0]).toBe(RedisCircuitStore.stateKey(names[i]!, { prefix }))
          states.hget(keys[0], "state")
          for (const key of keys) keyslots.call("CLUSTER", "KEYSLOT", key)
        })
        const [stateReplies, slotReplies] = await Promise.all([exec(states), exec(keyslots)])
        let offset = 0
        names.forEach((name, i) => {
          const state = stateReplies[i]
          if (tripped(i)) expect(state, name).toBe("OPEN")
          else expect([null, "CLOSED"], name).toContain(state)
          const circuitSlots = slotReplies.slice(offset, offset + keysPerName[i]!.length)
          offset += keysPerName[i]!.length
          expect(new Set(circuitSlots).size, `${JSON.stringify(name)}: slots ${circuitSlots.join(", ")}`).toBe(1)
        })
      }),
      // a failing run is reported as is: shrinking 200 names, a second each, would take too long
      { numRuns: 3, endOnFailure: true }
    )
  }, 60_000)

  it("a name that decodes can be used with the Redis store: never a defect", async () => {
    // CircuitBreaker.make fails only with CircuitConfigError; a name the config accepts must not die
    // when the store builds its keys
    for (const name of ["ok-name", "pay\ud800ments", "\udfffx"]) {
      if (!decodes(name)) continue
      const exit = await Effect.runPromiseExit(
        Effect.flatMap(CircuitBreaker.make(name), (breaker) => breaker.protect(Effect.succeed(1))).pipe(
          Effect.provide(storeOn(freshPrefix()))
        )
      )
      const defect = Exit.isFailure(exit) && exit.cause._tag !== "Fail" ? Cause.pretty(exit.cause).split("\n")[0] : ""
      expect(defect, `CircuitBreaker.make(${JSON.stringify(name)}) on the Redis store`).toBe("")
    }
  })
})
