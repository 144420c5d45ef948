// @vitest-environment edge-runtime
/**
 * The core, the memory store, the Upstash layer and the Web handlers under
 * vitest's `edge-runtime` environment (`@edge-runtime/vm`: the globals of
 * Vercel's Edge runtime — its fetch, Request, Response, AbortSignal,
 * crypto), against the Upstash bridge. EdgeBundle.test.ts checks statically
 * that nothing on this path imports a Node built-in.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { CircuitBreaker, CircuitStore, RedisCircuitStore } from "../src/index.js"
import { type RedisServer, startRedis } from "./support/redisServer.js"
import { freshPrefix } from "./support/stores.js"
import { startUpstashBridge, type UpstashBridge } from "./support/upstashBridge.js"
import { UpstashClient } from "../src/upstash.js"
import { CircuitBreakerHttp } from "../src/http.js"

declare const EdgeRuntime: string | undefined

let server: RedisServer
let bridge: UpstashBridge
const token = "edge-token-51c0"

beforeAll(async () => {
  server = await startRedis()
  bridge = await startUpstashBridge({ redisUrl: server.url, token })
}, 60_000)
afterAll(async () => {
  await bridge?.close()
  await server?.stop()
})

const upstashStore = () =>
  RedisCircuitStore.layer({ prefix: freshPrefix() }).pipe(
    Layer.provide(UpstashClient.layer({ url: bridge.url, token: Redacted.make(token) })),
    Layer.orDie
  )

describe("under the Edge runtime", () => {
  it("runs in the edge-runtime environment", () => {
    expect(typeof EdgeRuntime).toBe("string")
  })

  it.effect("the core on the memory store", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make("edge-memory", { failureThreshold: 2 })
      yield* Effect.either(breaker.protect(Effect.fail("boom")))
      yield* Effect.either(breaker.protect(Effect.fail("boom")))
      const error = yield* Effect.flip(breaker.protect(Effect.succeed(1)))
      expect(error._tag).toBe("CircuitOpen")
    }).pipe(Effect.provide(CircuitStore.layerMemory)))

  it.live("the Redis store over Upstash REST (the Edge's fetch)", () =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make("edge-upstash", { failureThreshold: 2 })
      const before = bridge.requests
      expect(yield* breaker.protect(Effect.succeed("ok"))).toBe("ok")
      yield* Effect.either(breaker.protect(Effect.fail("boom")))
      yield* Effect.either(breaker.protect(Effect.fail("boom")))
      expect(yield* breaker.state).toBe("OPEN")
      expect(bridge.requests).toBeGreaterThan(before)
    }).pipe(Effect.provide(upstashStore())))

  it("the health and metrics Web handler", async () => {
    const { handler, dispose } = CircuitBreakerHttp.toWebHandler(upstashStore())
    try {
      const health = await handler(new Request("http://edge.local/health"))
      expect(health.status).toBe(200)
      expect((await health.json()).overall).toBe("healthy")
      const metrics = await handler(new Request("http://edge.local/metrics?format=prometheus"))
      expect(metrics.status).toBe(200)
      expect(await metrics.text()).toContain("# TYPE")
    } finally {
      await dispose()
    }
  })
})
