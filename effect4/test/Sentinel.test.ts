/**
 * A smoke test of the Effect 4 edition on Redis Sentinel (real
 * `redis-server` processes, real clock): the store follows the primary
 * Sentinel names, through a failover.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { CircuitBreaker, RedisCircuitStore } from "../src/index.js"
import { sentinelGroupScoped } from "./support/redisServer.js"
import { freshPrefix, sentinelStore } from "./support/redisStores.js"

describe("Redis Sentinel (a primary, a replica, three Sentinels)", () => {
  it.live("the store follows the primary Sentinel names, through a failover", () =>
    Effect.gen(function*() {
      const group = yield* sentinelGroupScoped({ replicas: 1, sentinels: 3, downAfterMs: 500 })
      const prefix = freshPrefix()
      const context = yield* Layer.build(
        Layer.orDie(sentinelStore(group, { prefix, cooldown: 300 }, { commandTimeout: 2_000 }))
      )
      const config = {
        storeTimeout: 300,
        stateCacheTtl: 50,
        failureThreshold: 2,
        recoveryTimeout: "30 seconds",
        onStoreUnavailable: "local"
      } as const
      const held = yield* Effect.provide(CircuitBreaker.make("held", config), context)
      yield* held.forceOpen
      const key = RedisCircuitStore.stateKey("held", { prefix })
      expect(yield* Effect.promise(() => group.primary.cli("HGET", key, "state"))).toBe("FORCED_OPEN")
      const before = yield* Effect.promise(() => group.masterPort())
      yield* Effect.promise(() => group.primary.kill())
      // Sentinel promotes the replica
      const start = Date.now()
      let after = before
      while (after === before && Date.now() - start < 30_000) {
        yield* Effect.sleep("200 millis")
        after = yield* Effect.promise(() => group.masterPort().catch(() => before))
      }
      expect(after).not.toBe(before)
      // the store writes to the new primary: a new circuit opens there
      const fresh = yield* Effect.provide(CircuitBreaker.make("after-failover", config), context)
      let written: string | null = null
      const promoted = group.replicas.find((replica) => replica.port === after)!
      const freshKey = RedisCircuitStore.stateKey("after-failover", { prefix })
      while (written !== "OPEN" && Date.now() - start < 45_000) {
        yield* Effect.result(fresh.protect(Effect.fail("boom")))
        yield* Effect.sleep("100 millis")
        written = yield* Effect.promise(() => promoted.cli("HGET", freshKey, "state"))
      }
      expect(written).toBe("OPEN")
      // the admin hold replicated before the failover holds
      expect(yield* held.state).toBe("FORCED_OPEN")
    }), 90_000)
})
