/**
 * Monitoring reads of the Redis store of the Effect 4 edition, at scale:
 * thousands of circuits seeded straight into a real `redis-server`, read 100
 * per script call in pipelines (over TCP, the Upstash bridge, a user's own
 * Upstash client) or one script call per round trip (a client without a
 * pipeline, Effect 4's Redis service), counted by the client or the bridge.
 * The monitoring module itself is tested on the memory store
 * (Monitoring.test.ts).
 */
import { NodeRedis } from "@effect/platform-node"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Redis as Upstash } from "@upstash/redis"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as TestClock from "effect/testing/TestClock"
import { CircuitBreakerMonitoring, CircuitBreakers, RedisCircuitStore, RedisClient } from "../src/index.js"
import { IORedisClient } from "../src/ioredis.js"
import { UpstashClient } from "../src/upstash.js"
import { type RedisServer, startRedis } from "./support/redisServer.js"
import { freshPrefix, upstashBridgeScoped } from "./support/redisStores.js"
import { countRoundTrips, seedCircuits } from "./support/seed.js"

let server: RedisServer
beforeAll(async () => {
  server = await startRedis()
}, 60_000)
afterAll(() => server?.stop())

describe("monitoring reads of the Redis store at 10,000 circuits", () => {
  /** The names of the OPEN circuits of a read, in its order. */
  const openNames = (fleet: CircuitBreakerMonitoring.FleetRead) =>
    fleet.circuits.filter((c) => c.state === "OPEN").map((c) => c.name)
  const readAll = <E>(client: Layer.Layer<RedisClient.RedisClient, E>, prefix: string) =>
    Effect.gen(function*() {
      const m = yield* CircuitBreakerMonitoring.CircuitBreakerMonitoring
      const started = performance.now()
      const fleet = yield* m.read()
      return { fleet, ms: performance.now() - started }
    }).pipe(
      Effect.provide(
        CircuitBreakerMonitoring.layer().pipe(
          Layer.provideMerge(CircuitBreakers.layer()),
          Layer.provide(RedisCircuitStore.layer({ prefix })),
          Layer.provide(client)
        )
      )
    )

  it.live(
    "over TCP: every circuit read, 100 per script call, in at most 30 round trips",
    () =>
      Effect.gen(function*() {
        const prefix = freshPrefix()
        const names = yield* Effect.promise(() => seedCircuits(server.url, prefix, 10_000, { openEvery: 100 }))
        const { counter, layer } = countRoundTrips(IORedisClient.layer({ url: server.url }))
        const { fleet, ms } = yield* readAll(layer, prefix)
        console.info(`[10,000 circuits, TCP] read in ${Math.round(ms)} ms, ${counter.roundTrips} round trips`)
        expect(fleet.complete).toBe(true)
        expect(fleet.circuits.map((c) => c.name)).toEqual(names)
        // each circuit with its own reply: the OPEN ones are those seeded OPEN
        expect(openNames(fleet)).toEqual(names.filter((_, i) => i % 100 === 0))
        // 20 pipelines of 5 script calls of 100 circuits, and the registry (the bound: 150)
        expect(counter.roundTrips).toBeLessThanOrEqual(30)
      }),
    120_000
  )

  it.live(
    "after SCRIPT FLUSH, through a client without a pipeline: every circuit read, the source sent a few times, not once per circuit",
    () =>
      Effect.gen(function*() {
        const prefix = freshPrefix()
        const names = yield* Effect.promise(() => seedCircuits(server.url, prefix, 3_000, { openEvery: 7 }))
        yield* Effect.promise(() => server.cli("SCRIPT", "FLUSH"))
        yield* Effect.promise(() => server.cli("CONFIG", "RESETSTAT"))
        const { counter, layer } = countRoundTrips(IORedisClient.layer({ url: server.url }), { pipelined: false })
        const { fleet } = yield* readAll(layer, prefix)
        const stats = yield* Effect.promise(() => server.cli("INFO", "commandstats"))
        const evals = Number(/cmdstat_eval:calls=(\d+)/.exec(stats)?.[1] ?? 0)
        console.info(
          `[3,000 circuits after SCRIPT FLUSH, no pipeline] ${counter.roundTrips} round trips, ${evals} EVAL`
        )
        expect(fleet.complete).toBe(true)
        expect(openNames(fleet)).toEqual(names.filter((_, i) => i % 7 === 0))
        // 30 calls of 100 circuits, 5 at once: the first 5 to 20 answered NOSCRIPT are sent again with the source
        expect(evals).toBeGreaterThanOrEqual(1)
        expect(evals).toBeLessThanOrEqual(20)
        expect(counter.roundTrips).toBeLessThanOrEqual(30 + 20 + 3)
      }),
    60_000
  )

  it.effect("a process that only monitors refreshes its offset to Redis's clock once it is old", () =>
    Effect.gen(function*() {
      const prefix = freshPrefix()
      yield* Effect.promise(() => seedCircuits(server.url, prefix, 10, { openEvery: 5 }))
      const inner = yield* Layer.build(IORedisClient.layer({ url: server.url })).pipe(
        Effect.map(Context.get(RedisClient.RedisClient))
      )
      let times = 0
      const client = RedisClient.RedisClient.of({
        ...inner,
        send: (command) => (command[0] === "TIME" && times++, inner.send(command))
      })
      yield* Effect.gen(function*() {
        const m = yield* CircuitBreakerMonitoring.CircuitBreakerMonitoring
        expect((yield* m.read()).circuits).toHaveLength(10)
        yield* TestClock.adjust("30 seconds")
        yield* m.read()
        expect(times).toBe(1)
        yield* TestClock.adjust("31 seconds")
        expect((yield* m.read()).circuits.filter((c) => c.state === "OPEN")).toHaveLength(2)
        for (let i = 0; i < 10 && times < 2; i++) yield* Effect.yieldNow
        expect(times).toBe(2)
      }).pipe(Effect.provide(
        CircuitBreakerMonitoring.layer().pipe(
          Layer.provideMerge(CircuitBreakers.layer()),
          Layer.provide(RedisCircuitStore.layer({ prefix })),
          Layer.provide(Layer.succeed(RedisClient.RedisClient, client))
        )
      ))
    }))

  it.live(
    "through the user's own @upstash/redis client (RedisClient.fromClient): pipelined; scripts plain to a REST proxy",
    () =>
      Effect.gen(function*() {
        const token = "own-upstash"
        const bridge = yield* upstashBridgeScoped(server, token)
        const prefix = freshPrefix()
        const names = yield* Effect.promise(() => seedCircuits(server.url, prefix, 1_000, { openEvery: 10 }))
        const client = RedisClient.fromClient(new Upstash({ url: bridge.url, token }))
        // the bridge stands for a REST proxy in front of Redis (which refuses the flag): plain scripts
        expect([client.pipeline !== undefined, client.allowKeyLocking]).toEqual([true, false])
        const upstashHosted = RedisClient.fromClient(
          new Upstash({ url: "https://eu1-fine-cat-12345.upstash.io", token })
        )
        expect(upstashHosted.allowKeyLocking).toBe(true)
        bridge.resetStats()
        const { fleet } = yield* readAll(Layer.succeed(RedisClient.RedisClient, client), prefix)
        console.info(`[1,000 circuits, the user's own Upstash client] ${bridge.requests} HTTP requests`)
        expect(fleet.complete).toBe(true)
        expect(openNames(fleet)).toEqual(names.filter((_, i) => i % 10 === 0))
        // 2 requests of 5 script calls of 100 circuits, the script's source once, the registry, TIME
        expect(bridge.requests).toBeLessThanOrEqual(8)
        expect(bridge.keyLockingScripts).toBe(0)
      }),
    60_000
  )

  it.live(
    "reads that arrive together share one scan (a dashboard's sections and its alerts)",
    () =>
      Effect.gen(function*() {
        const prefix = freshPrefix()
        yield* Effect.promise(() => seedCircuits(server.url, prefix, 1_000, { openEvery: 100 }))
        // no pipeline: one round trip per 100 circuits, so that one read is several
        const { counter, layer } = countRoundTrips(IORedisClient.layer({ url: server.url }), { pipelined: false })
        yield* Effect.gen(function*() {
          const m = yield* CircuitBreakerMonitoring.CircuitBreakerMonitoring
          yield* m.read() // the store's clock offset and the script, loaded once
          counter.roundTrips = 0
          const alone = yield* m.read({ state: ["OPEN"] })
          const one = counter.roundTrips
          counter.roundTrips = 0
          const [open, closed, alerts] = yield* Effect.all([
            m.read({ state: ["OPEN"] }),
            m.read({ state: ["CLOSED"] }),
            m.getAlerts
          ], { concurrency: "unbounded" })
          console.info(`[1,000 circuits] one read: ${one} round trips; three together: ${counter.roundTrips}`)
          expect(alone.circuits).toHaveLength(10)
          expect(open.circuits).toHaveLength(10)
          expect(closed.circuits).toHaveLength(990)
          expect(alerts.filter((a) => a.kind === "open")).toHaveLength(10)
          expect(one).toBeGreaterThanOrEqual(10)
          expect(counter.roundTrips).toBe(one)
          // a read that starts after the scan ended reads again
          counter.roundTrips = 0
          yield* m.read({ state: ["OPEN"] })
          expect(counter.roundTrips).toBe(one)
        }).pipe(
          // round trips are counted: a generous storeTimeout, so that a loaded machine adds no retries
          Effect.provide(
            CircuitBreakerMonitoring.layer({ defaults: { storeTimeout: 10_000 } }).pipe(
              Layer.provideMerge(CircuitBreakers.layer()),
              Layer.provide(RedisCircuitStore.layer({ prefix })),
              Layer.provide(layer)
            )
          )
        )
      }),
    60_000
  )

  it.live(
    "over the Upstash bridge: every circuit read, 100 per script call, in at most 30 HTTP requests",
    () =>
      Effect.gen(function*() {
        const token = "ten-thousand"
        const bridge = yield* upstashBridgeScoped(server, token)
        const prefix = freshPrefix()
        const names = yield* Effect.promise(() => seedCircuits(server.url, prefix, 10_000, { openEvery: 100 }))
        bridge.resetStats()
        const { fleet, ms } = yield* readAll(
          UpstashClient.layer({ url: bridge.url, token: Redacted.make(token), requestTimeout: 10_000 }),
          prefix
        )
        console.info(`[10,000 circuits, Upstash bridge] read in ${Math.round(ms)} ms, ${bridge.requests} HTTP requests`)
        expect(fleet.complete).toBe(true)
        expect(fleet.circuits.map((c) => c.name)).toEqual(names)
        expect(openNames(fleet)).toEqual(names.filter((_, i) => i % 100 === 0))
        // 20 requests of 5 script calls of 100 circuits, and the registry (the bound: 150)
        expect(bridge.requests).toBeLessThanOrEqual(30)
      }),
    120_000
  )

  it.live(
    "over Effect 4's Redis service (NodeRedis, no pipeline): every circuit read, 100 per script call",
    () =>
      Effect.gen(function*() {
        const prefix = freshPrefix()
        const names = yield* Effect.promise(() => seedCircuits(server.url, prefix, 3_000, { openEvery: 7 }))
        const { counter, layer } = countRoundTrips(
          RedisClient.layerEffectRedis().pipe(
            Layer.provide(NodeRedis.layer({ url: server.url, disableOfflineQueue: true }))
          )
        )
        const { fleet, ms } = yield* readAll(layer, prefix)
        console.info(`[3,000 circuits, NodeRedis] read in ${Math.round(ms)} ms, ${counter.roundTrips} round trips`)
        expect(fleet.complete).toBe(true)
        expect(fleet.circuits.map((c) => c.name)).toEqual(names)
        expect(openNames(fleet)).toEqual(names.filter((_, i) => i % 7 === 0))
        // 30 script calls of 100 circuits, the registry, TIME, and the source after a NOSCRIPT or two
        expect(counter.roundTrips).toBeLessThanOrEqual(30 + 20 + 3)
      }),
    60_000
  )
})
