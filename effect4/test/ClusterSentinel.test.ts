/**
 * Smoke tests of the Effect 4 edition on distributed Redis (real
 * `redis-server` processes, real clock): a Redis Cluster of three masters
 * through ioredis's Cluster client (slot arithmetic, a breaker opened by one
 * instance seen by another, a monitoring read of many circuits one pipeline
 * per node), and a Sentinel group (the store follows the primary Sentinel
 * names, and a failover).
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Result from "effect/Result"
import { CircuitBreaker, CircuitConfig, CircuitStore, RedisCircuitStore } from "../src/index.js"
import { keySlot } from "../src/internal/redis/ioredisClient.js"
import { IORedisClient } from "../src/ioredis.js"
import { keysOf } from "../../shared/redis/keys.js"
import { type RedisCluster, sentinelGroupScoped, startCluster } from "./support/redisServer.js"
import { freshPrefix, sentinelStore } from "./support/redisStores.js"

let cluster: RedisCluster
beforeAll(async () => {
  cluster = await startCluster(3)
}, 120_000)
afterAll(() => cluster?.stop())

const clusterStore = (prefix: string) =>
  RedisCircuitStore.layer({ prefix }).pipe(
    Layer.provide(IORedisClient.layer({ cluster: cluster.startupNodes })),
    Layer.orDie
  )

describe("Redis Cluster (3 masters, ioredis)", () => {
  it.live("the client's slots are Redis's own", () =>
    Effect.gen(function*() {
      const node = cluster.nodes[0]!
      for (const name of ["a", "payments", "pay}ments {v2}:*", "ünïcödé", "x".repeat(300)]) {
        for (const key of keysOf("cb", name)) {
          expect(keySlot(key)).toBe(Number(yield* Effect.promise(() => node.cli("CLUSTER", "KEYSLOT", key))))
        }
      }
    }))

  it.live(
    "a breaker opened through one instance rejects on another; a monitoring read sees every circuit",
    () =>
      Effect.gen(function*() {
        const prefix = freshPrefix()
        const a = yield* Layer.build(clusterStore(prefix))
        const b = yield* Layer.build(clusterStore(prefix))
        const config = { failureThreshold: 2, recoveryTimeout: "1 minute", stateCacheTtl: 0 } as const
        const opener = yield* Effect.provide(CircuitBreaker.make("clustered", config), a)
        const other = yield* Effect.provide(CircuitBreaker.make("clustered", config), b)
        yield* Effect.result(opener.protect(Effect.fail("boom")))
        yield* Effect.result(opener.protect(Effect.fail("boom")))
        expect(yield* opener.state).toBe("OPEN")
        const call = yield* Effect.result(other.protect(Effect.void))
        expect(Result.isFailure(call) && call.failure._tag).toBe("CircuitOpen")
        // many circuits, in every slot range: read one script call per circuit, in pipelines per node
        const names = Array.from({ length: 150 }, (_, i) => `fleet-${i}`)
        yield* Effect.forEach(names, (name) => Effect.provide(CircuitBreaker.make(name), a), { concurrency: 16 })
        const store = Context.get(b, CircuitStore.CircuitStore)
        const reader = Result.getOrThrow(CircuitConfig.decodeEither("reader", {}))
        const inspected = yield* store.inspectMany!(["clustered", ...names], reader, Date.now())
        expect(inspected.filter((r) => r.error !== undefined)).toEqual([])
        expect(inspected[0]!.read?.[0].state).toBe("OPEN")
        expect(inspected.slice(1).every((r) => r.read?.[0].state === "CLOSED")).toBe(true)
        expect([...(yield* store.names)].sort()).toEqual(["clustered", ...names].sort())
      }),
    60_000
  )
})

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
