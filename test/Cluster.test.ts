/**
 * Redis Cluster through ioredis: the client's slot arithmetic agrees with
 * Redis, a monitoring read of a big fleet goes as one pipeline per node (not
 * one round trip per circuit), and a read during or after a resharding still
 * returns every circuit.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import { Cluster, Redis } from "ioredis"
import {
  CircuitBreaker,
  CircuitBreakerMonitoring,
  CircuitBreakers,
  RedisCircuitStore,
  RedisClient
} from "../src/index.js"
import { IORedisClient } from "../src/ioredis.js"
import * as ioredis from "../src/internal/redis/ioredisClient.js"
import * as scripts from "../shared/redis/luaScripts.js"
import { keysOf } from "../shared/redis/keys.js"
import { migrate as migrateIn, ownerOf as ownerIn } from "./shared/cluster.js"
import { clusterScoped, type RedisCluster, type RedisServer } from "./support/redisServer.js"
import { countRoundTrips, seedCircuits } from "./support/seed.js"
import { freshPrefix } from "./support/stores.js"
import { beforeAllScoped } from "./support/suite.js"

let cluster: RedisCluster

beforeAllScoped(Effect.gen(function*() {
  cluster = yield* clusterScoped(3)
}))

/** An ioredis module whose Cluster counts its round trips: a command sent alone, or a pipeline sent to a node. */
const countingModule = () => {
  const counter = { roundTrips: 0 }
  function CountingCluster(nodes: Array<{ host: string; port: number }>, options: object) {
    const client = new Cluster(nodes, options)
    const call = client.call.bind(client) as (...args: Array<string>) => Promise<unknown>
    const pipeline = client.pipeline.bind(client)
    return Object.assign(client, {
      call: (...args: Array<string>) => (counter.roundTrips++, call(...args)),
      pipeline: () => {
        const p = pipeline()
        const exec = p.exec.bind(p)
        return Object.assign(p, { exec: () => (counter.roundTrips++, exec()) })
      }
    })
  }
  const module = { Redis, Cluster: CountingCluster as unknown as ioredis.IORedisModule["Cluster"] }
  return { counter, module }
}

const readFleet = (client: Layer.Layer<RedisClient.RedisClient, unknown>, prefix: string) =>
  Effect.flatMap(CircuitBreakerMonitoring.CircuitBreakerMonitoring, (m) => m.read()).pipe(
    Effect.provide(
      CircuitBreakerMonitoring.layer().pipe(
        Layer.provideMerge(CircuitBreakers.layer()),
        Layer.provide(RedisCircuitStore.layer({ prefix })),
        Layer.provide(client),
        Layer.orDie
      )
    )
  )

/** Runs `check` every 50 ms until it holds, for at most `ms`: when it held (`Date.now()`), or 0. */
const pollUntil = <E, R>(ms: number, check: Effect.Effect<boolean, E, R>) =>
  Effect.gen(function*() {
    const deadline = Date.now() + ms
    while (Date.now() < deadline) {
      if (yield* check) return Date.now()
      yield* Effect.sleep("50 millis")
    }
    return 0
  })

/** The master that serves `slot` (of the suite's cluster, or `of`), and the other masters. */
const ownerOf = (slot: number, of: RedisCluster = cluster) => ownerIn(slot, of)

/** Moves `slot` of the suite's cluster from `from` to `to`; `finish: false` stops mid-way (ASK). */
const migrate = (slot: number, from: RedisServer, to: RedisServer, finish: boolean) =>
  migrateIn(slot, from, to, finish, cluster)

describe("Redis Cluster", () => {
  it("keySlot agrees with CLUSTER KEYSLOT", async () => {
    const keys = [
      "plain",
      "",
      ...keysOf("cb", "payments"),
      ...keysOf("cb", "paiements ✓ {weird}:name"),
      "{}empty-tag",
      "a{}b{c}",
      "{user1000}.following",
      "foo{bar}{zap}",
      "✓✓✓ 日本語"
    ]
    const expected = await Promise.all(keys.map((key) => cluster.nodes[0]!.cli("CLUSTER", "KEYSLOT", key)))
    expect(keys.map(ioredis.keySlot)).toEqual(expected.map(Number))
  })

  it.live(
    "a monitoring read of 300 circuits costs one pipeline per node and batch, not one round trip per circuit",
    () =>
      Effect.gen(function*() {
        const prefix = freshPrefix()
        const names = yield* Effect.promise(() => seedCircuits(cluster.startupNodes, prefix, 300, { openEvery: 10 }))
        yield* Effect.promise(() => Promise.all(cluster.nodes.map((node) => node.cli("CONFIG", "RESETSTAT"))))
        const { counter, module } = countingModule()
        const fleet = yield* readFleet(
          Layer.scoped(RedisClient.RedisClient, ioredis.make(module, { cluster: cluster.startupNodes })),
          prefix
        )
        expect(fleet.complete).toBe(true)
        expect(fleet.circuits.map((c) => c.name)).toEqual(names)
        // each circuit with its own reply
        expect(fleet.circuits.filter((c) => c.state === "OPEN").map((c) => c.name)).toEqual(
          names.filter((_, i) => i % 10 === 0)
        )
        // 3 batches of 100 × 3 nodes, the registry, Redis TIME, and the script source once per node
        expect(counter.roundTrips).toBeLessThanOrEqual(25)
        // every node ran its own circuits' scripts
        const scripts = yield* Effect.promise(() =>
          Promise.all(cluster.nodes.map(async (node) => {
            const stats = await node.cli("INFO", "commandstats")
            const calls = (name: string) => Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(stats)?.[1] ?? 0)
            return calls("evalsha") + calls("eval")
          }))
        )
        expect(scripts.every((n) => n > 0)).toBe(true)
        expect(scripts.reduce((a, b) => a + b)).toBeGreaterThanOrEqual(300)
        console.info(
          `[300 circuits, 3-node cluster] ${counter.roundTrips} round trips; scripts per node ${scripts.join(", ")}`
        )
      }),
    60_000
  )

  it.live(
    "a Cluster client of the user's own (RedisClient.fromClient): pipelined per node, every circuit read",
    () =>
      Effect.gen(function*() {
        const prefix = freshPrefix()
        const names = yield* Effect.promise(() => seedCircuits(cluster.startupNodes, prefix, 300, { openEvery: 10 }))
        const own = new Cluster([...cluster.startupNodes])
        yield* Effect.addFinalizer(() => Effect.promise(() => own.quit()))
        // commands sent alone (a group refused by ioredis, a redirect) go through `call`
        let alone = 0
        const call = own.call.bind(own) as (...args: Array<string>) => Promise<unknown>
        Object.assign(own, { call: (...args: Array<string>) => (alone++, call(...args)) })
        const client = RedisClient.fromClient(own)
        expect([client.cluster, client.pipeline !== undefined]).toEqual([true, true])
        const { counter, layer } = countRoundTrips(Layer.succeed(RedisClient.RedisClient, client))
        const fleet = yield* readFleet(layer, prefix)
        console.info(
          `[300 circuits, 3-node cluster, the user's own ioredis Cluster] ${counter.roundTrips} round trips, ${alone} commands alone`
        )
        expect(alone).toBeLessThanOrEqual(5)
        expect(fleet.complete).toBe(true)
        expect(fleet.circuits.filter((c) => c.state === "OPEN").map((c) => c.name)).toEqual(
          names.filter((_, i) => i % 10 === 0)
        )
        expect(counter.roundTrips).toBeLessThanOrEqual(10)
      }).pipe(Effect.scoped),
    60_000
  )

  it.live(
    "a client that does not say it is a Cluster: the first read learns it from CROSSSLOT, and still returns every circuit",
    () =>
      Effect.gen(function*() {
        const prefix = freshPrefix()
        const names = yield* Effect.promise(() => seedCircuits(cluster.startupNodes, prefix, 120, { openEvery: 10 }))
        const inner = yield* ioredis.make({ Redis, Cluster }, { cluster: cluster.startupNodes })
        expect(inner.cluster).toBe(true)
        // the same client, silent about what it is (as a user's own adapter may be)
        const many: Array<number> = []
        const silent = RedisClient.RedisClient.of({
          description: inner.description,
          send: inner.send,
          pipeline: (commands) => {
            many.push(
              commands.filter((c) => c[1] === scripts.manyCircuits.sha || c[1] === scripts.manyCircuits.source).length
            )
            return inner.pipeline!(commands)
          }
        })
        const store = RedisCircuitStore.layer({ prefix }).pipe(
          Layer.provide(Layer.succeed(RedisClient.RedisClient, silent))
        )
        const reads = yield* Effect.gen(function*() {
          const m = yield* CircuitBreakerMonitoring.CircuitBreakerMonitoring
          return [yield* m.read(), yield* m.read()] as const
        }).pipe(
          Effect.provide(
            CircuitBreakerMonitoring.layer().pipe(Layer.provideMerge(CircuitBreakers.layer()), Layer.provide(store))
          )
        )
        for (const fleet of reads) {
          expect(fleet.complete).toBe(true)
          expect(fleet.circuits.map((c) => c.name)).toEqual(names)
          expect(fleet.circuits.filter((c) => c.state === "OPEN").map((c) => c.name)).toEqual(
            names.filter((_, i) => i % 10 === 0)
          )
        }
        // the first read tried 100 circuits per call once (refused: CROSSSLOT); from then on, one circuit per call
        const tried = many.reduce((a, b) => a + b, 0)
        expect(tried).toBeGreaterThan(0)
        expect(tried).toBeLessThanOrEqual(2)
        expect(many.slice(-2)).toEqual([0, 0])
      }).pipe(Effect.scoped),
    60_000
  )

  it.live(
    "after a slot moved to another node (MOVED), a monitoring read still returns every circuit",
    () =>
      Effect.gen(function*() {
        const prefix = freshPrefix()
        const names = yield* Effect.promise(() => seedCircuits(cluster.startupNodes, prefix, 60, { openEvery: 3 }))
        const { counter, module } = countingModule()
        const client = yield* Layer.build(
          Layer.scoped(RedisClient.RedisClient, ioredis.make(module, { cluster: cluster.startupNodes }))
        ).pipe(Effect.map(Layer.succeedContext))
        // the client learns the slots with a first read
        expect((yield* readFleet(client, prefix)).circuits).toHaveLength(60)
        // then the slots of two circuits (one OPEN) move to another node, behind its back
        for (const name of [names[2]!, names[3]!]) {
          const slot = ioredis.keySlot(keysOf(prefix, name)[0])
          const { others, owner } = yield* Effect.promise(() => ownerOf(slot))
          yield* Effect.promise(() => migrate(slot, owner, others[0]!, true))
        }
        const before = counter.roundTrips
        const fleet = yield* readFleet(client, prefix)
        expect(fleet.complete).toBe(true)
        expect(fleet.circuits.map((c) => c.name).sort()).toEqual([...names].sort())
        expect(fleet.circuits.filter((c) => c.state === "OPEN")).toHaveLength(20)
        expect(fleet.circuits.find((c) => c.name === names[3])?.state).toBe("OPEN")
        console.info(`[60 circuits, 2 slots moved] ${counter.roundTrips - before} round trips`)
      }).pipe(Effect.scoped),
    60_000
  )

  it.scoped(
    "a command whose key is not its first argument is grouped wrongly, and still answered (its group goes one by one)",
    () =>
      Effect.gen(function*() {
        const client = yield* ioredis.make({ Redis, Cluster }, { cluster: cluster.startupNodes })
        const tag = freshPrefix()
        const keys = Array.from({ length: 12 }, (_, i) => `${tag}:{o${i}}`)
        yield* Effect.forEach(keys, (key) => client.send(["SET", key, "12345"]))
        // grouped by "NOT" (the first argument), while ioredis knows its keys: a group it refuses
        const commands = keys.flatMap((key) => [["BITOP", "NOT", `${key}:not`, key], ["GET", key]])
        const replies = yield* client.pipeline!(commands)
        expect(replies.map((reply) => reply._tag === "Right" ? reply.right : reply.left.message)).toEqual(
          keys.flatMap(() => [5, "12345"])
        )
      }),
    60_000
  )

  it.scoped(
    "a pipelined command whose slot moved (MOVED) or is moving (ASK) is answered by the key's new node",
    () =>
      Effect.gen(function*() {
        const client = yield* ioredis.make({ Redis, Cluster }, { cluster: cluster.startupNodes })
        const tag = freshPrefix()
        const keys = Array.from({ length: 30 }, (_, i) => `${tag}:{k${i}}`)
        yield* Effect.forEach(keys, (key) => client.send(["SET", key, key]))
        const [moving, moved] = [ioredis.keySlot(keys[0]!), ioredis.keySlot(keys[1]!)]
        const movingAt = yield* Effect.promise(() => ownerOf(moving))
        const movedAt = yield* Effect.promise(() => ownerOf(moved))
        // the keys of one slot move and the slot stays MIGRATING (its old node answers ASK);
        // another slot moves for good (its old node answers MOVED)
        yield* Effect.promise(() => migrate(moving, movingAt.owner, movingAt.others[0]!, false))
        yield* Effect.promise(() => migrate(moved, movedAt.owner, movedAt.others[0]!, true))
        const replies = yield* client.pipeline!(keys.map((key) => ["GET", key]))
        expect(replies.map((reply) => reply._tag === "Right" ? reply.right : reply.left.message)).toEqual(keys)
        yield* Effect.promise(() => migrate(moving, movingAt.owner, movingAt.others[0]!, true))
      }),
    60_000
  )
})

describe("Redis Cluster: transition notifications", () => {
  it.scopedLive(
    "a force-open through one instance reaches another at once (PUBLISH reaches every node)",
    () =>
      Effect.gen(function*() {
        const prefix = freshPrefix()
        const instance = () =>
          Layer.build(
            RedisCircuitStore.layer({ prefix }).pipe(
              Layer.provide(IORedisClient.layer({ cluster: cluster.startupNodes })),
              Layer.orDie
            )
          )
        const a = yield* instance()
        const b = yield* instance()
        // a minute: only the notification can tell the other instance in time
        const config = { stateCacheTtl: 60_000 }
        const operator = yield* Effect.provide(CircuitBreaker.make("cluster-payments", config), a)
        const other = yield* Effect.provide(CircuitBreaker.make("cluster-payments", config), b)
        const until = (timeoutMs: number, check: Effect.Effect<boolean>) =>
          Effect.gen(function*() {
            const start = Date.now()
            while (!(yield* check)) {
              if (Date.now() - start > timeoutMs) return yield* Effect.die(new Error(`not within ${timeoutMs} ms`))
              yield* Effect.sleep("2 millis")
            }
          })
        yield* until(10_000, Effect.map(other.health, (h) => h.notifications === "connected"))
        expect(yield* Effect.exit(other.protect(Effect.void))).toStrictEqual(Exit.void)
        yield* operator.forceOpen
        yield* until(
          500,
          other.protect(Effect.void).pipe(
            Effect.match({ onFailure: (e) => e._tag === "CircuitOpen", onSuccess: () => false })
          )
        )
        yield* operator.reset
      }),
    30_000
  )
})

describe("Redis Cluster failover", () => {
  let failover: RedisCluster
  beforeAllScoped(
    Effect.gen(function*() {
      // a master unreachable for a second is failed over to its replica
      failover = yield* clusterScoped(3, { replicas: 1, args: ["--cluster-node-timeout", "1000"] })
    }),
    120_000
  )

  it.live(
    "a master killed: calls stay bounded by the store timeout, then the circuit's state lives on its promoted replica",
    () =>
      Effect.gen(function*() {
        const storeTimeout = 300
        const prefix = freshPrefix()
        const store = Layer.orDie(
          RedisCircuitStore.layer({ prefix, cooldown: 300 }).pipe(
            Layer.provide(IORedisClient.layer({ cluster: failover.startupNodes, commandTimeout: 1_000 }))
          )
        )
        const context = yield* Layer.build(store)
        const breaker = yield* Effect.provide(
          Effect.orDie(CircuitBreaker.make("svc", { storeTimeout, stateCacheTtl: 50, onStoreUnavailable: "local" })),
          context
        )
        yield* breaker.protect(Effect.void)
        const stateKey = RedisCircuitStore.stateKey("svc", { prefix })
        const { owner } = yield* Effect.promise(() => ownerOf(ioredis.keySlot(stateKey), failover))
        const replica = yield* Effect.promise(async () => {
          for (const node of failover.nodes) {
            if (new RegExp(`master_port:${owner.port}\\b`).test(await node.cli("INFO", "replication"))) return node
          }
          throw new Error(`no replica of ${owner.port}`)
        })
        yield* Effect.promise(() => owner.kill())
        const killedAt = Date.now()
        // until the replica is promoted, calls keep answering
        let slowest = 0
        let calls = 0
        const promotedAt = yield* pollUntil(
          30_000,
          Effect.gen(function*() {
            const started = Date.now()
            expect(yield* breaker.protect(Effect.succeed("ok"))).toBe("ok")
            calls++
            slowest = Math.max(slowest, Date.now() - started)
            return /role:master/.test(yield* Effect.promise(() => replica.cli("INFO", "replication")))
          })
        )
        expect(promotedAt, "the replica was promoted").toBeGreaterThan(0)
        // then what the breaker writes reaches the promoted replica
        const recoveredAt = yield* pollUntil(
          20_000,
          Effect.zipRight(
            Effect.either(breaker.forceOpen),
            Effect.promise(async () => (await replica.cli("HGET", stateKey, "state")) === "FORCED_OPEN")
          )
        )
        console.info(
          `[cluster failover] replica promoted ${promotedAt - killedAt} ms after the kill, state written there ` +
            `${recoveredAt - promotedAt} ms later; ${calls} calls meanwhile, the slowest ${slowest} ms`
        )
        expect(recoveredAt, "the circuit's state reached the promoted replica").toBeGreaterThan(0)
        // a call waits for at most one store round trip (the state refresh), bounded by storeTimeout
        expect(slowest).toBeLessThan(storeTimeout + 1_000)
        expect((yield* breaker.snapshot).state).toBe("FORCED_OPEN")
      }).pipe(Effect.scoped),
    90_000
  )
})
