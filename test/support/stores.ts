/**
 * The stores the state-machine suite runs against, one layer per backend (`it.layer`): memory, Redis over
 * TCP (ioredis), Redis over the Upstash REST protocol (@upstash/redis through the bridge) and Redis Cluster.
 * Each backend gives a fresh, empty store per test: the Redis backends share one server (or cluster) and
 * isolate tests by key prefix. The suites drive time with `TestClock`, so the Redis stores run on the
 * caller's clock (`timeSource: "client"`).
 *
 * Also the pieces other suites build their stores from: an Upstash bridge as
 * a resource of the scope, and a Redis store over ioredis or over the bridge.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as TestClock from "effect/TestClock"
import * as TestContext from "effect/TestContext"
import { CircuitStore, RedisCircuitStore } from "../../src/index.js"
import { clusterScoped, redisServerScoped, type SentinelGroup } from "./redisServer.js"
import { freshPrefix } from "../shared/names.js"
import { startUpstashBridge } from "../shared/upstashBridge.js"
import { UpstashClient } from "../../src/upstash.js"
import { IORedisClient } from "../../src/ioredis.js"

/**
 * A backend of the state-machine suite, as the service of a layer: the layer starts what the store needs
 * (servers) once per suite and stops it with the suite; `fresh` gives a layer with an empty store,
 * isolated from every other test (the Redis backends share their server and isolate tests by key prefix).
 */
export class FreshStore extends Context.Tag("test/FreshStore")<FreshStore, {
  readonly fresh: () => Layer.Layer<CircuitStore.CircuitStore>
}>() {}

/** The memory store: nothing to start. */
export const memoryBackend: Layer.Layer<FreshStore> = Layer.succeed(FreshStore, {
  fresh: () => CircuitStore.layerMemory
})

/** {@link startUpstashBridge} in front of `server`, as a resource of the scope: it closes with the scope. */
export const upstashBridgeScoped = (server: { readonly url: string }, token: string) =>
  Effect.acquireRelease(
    Effect.promise(() => startUpstashBridge({ redisUrl: server.url, token })),
    (bridge) => Effect.promise(() => bridge.close())
  )

/**
 * The Redis store over ioredis on `server` (by default on a fresh prefix),
 * with the client's options `client`.
 */
export const tcpStore = (
  server: { readonly url: string },
  options: RedisCircuitStore.Options = {},
  client: Omit<IORedisClient.Options, "url"> = {}
) =>
  RedisCircuitStore.layer({ prefix: freshPrefix(), ...options }).pipe(
    Layer.provide(IORedisClient.layer({ url: server.url, ...client }))
  )

/**
 * The Redis store over ioredis following the Sentinels of `group` (by
 * default on a fresh prefix), with the client's options `client`.
 */
export const sentinelStore = (
  group: SentinelGroup,
  options: RedisCircuitStore.Options = {},
  client: Omit<IORedisClient.Options, "sentinels" | "masterName"> = {}
) =>
  RedisCircuitStore.layer({ prefix: freshPrefix(), ...options }).pipe(
    Layer.provide(IORedisClient.layer({ sentinels: group.sentinelNodes, masterName: group.masterName, ...client }))
  )

/**
 * The Redis store over `@upstash/redis` through `bridge` (by default on a
 * fresh prefix), with the client's options `client`.
 */
export const upstashStore = (
  bridge: { readonly url: string },
  token: string,
  options: RedisCircuitStore.Options = {},
  client: Omit<UpstashClient.Options, "url" | "token"> = {}
) =>
  RedisCircuitStore.layer({ prefix: freshPrefix(), ...options }).pipe(
    Layer.provide(UpstashClient.layer({ url: bridge.url, token: Redacted.make(token), ...client }))
  )

export { freshPrefix } from "../shared/names.js"

/**
 * A memory store for a runtime of its own (the Promise API's `store` option)
 * that runs that runtime on a `TestClock`: `clock()` is the clock, set once
 * the runtime is built, to `adjust` from outside.
 */
export const memoryStoreOnTestClock = () => {
  let clock: TestClock.TestClock | undefined
  const store = Layer.merge(
    CircuitStore.layerMemory,
    Layer.effectDiscard(Effect.map(TestClock.testClock(), (testClock) => {
      clock = testClock
    }))
  ).pipe(Layer.provideMerge(TestContext.TestContext))
  return { clock: (): TestClock.TestClock => clock!, store }
}

const bridgeToken = "test-token-3f9c2a7b"

/** Redis over TCP, on a redis-server of the backend's own. */
export const tcpBackend: Layer.Layer<FreshStore> = Layer.scoped(
  FreshStore,
  Effect.map(redisServerScoped(), (server) => ({
    fresh: () => Layer.orDie(tcpStore(server, { timeSource: "client" }))
  }))
)

/** Redis over the Upstash REST protocol: @upstash/redis → bridge → redis-server. */
export const upstashBackend: Layer.Layer<FreshStore> = Layer.scoped(
  FreshStore,
  Effect.gen(function*() {
    const server = yield* redisServerScoped()
    const bridge = yield* upstashBridgeScoped(server, bridgeToken)
    return { fresh: () => Layer.orDie(upstashStore(bridge, bridgeToken, { timeSource: "client" })) }
  })
)

/** Redis Cluster: three masters started by the backend, through ioredis's Cluster client. */
export const clusterBackend: Layer.Layer<FreshStore> = Layer.scoped(
  FreshStore,
  Effect.map(clusterScoped(3), (cluster) => ({
    fresh: () =>
      RedisCircuitStore.layer({ prefix: freshPrefix(), timeSource: "client" }).pipe(
        Layer.provide(IORedisClient.layer({ cluster: cluster.startupNodes })),
        Layer.orDie
      )
  }))
)

/** Every backend the state-machine suite can run against, by id: its name in the suite's title, and its layer. */
export const storeBackends = {
  memory: { name: "memory", layer: memoryBackend },
  tcp: { name: "redis (ioredis)", layer: tcpBackend },
  upstash: { name: "redis (upstash)", layer: upstashBackend },
  cluster: { name: "redis cluster (3 masters)", layer: clusterBackend }
} satisfies Record<string, { readonly name: string; readonly layer: Layer.Layer<FreshStore> }>

/** The id of a backend of {@link storeBackends}. */
export type StoreBackend = keyof typeof storeBackends

declare module "vitest" {
  export interface ProvidedContext {
    /** The backends the project runs the state-machine suite against (vitest.config.ts). */
    storeBackends: ReadonlyArray<StoreBackend>
  }
}
