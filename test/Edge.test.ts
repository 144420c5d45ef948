// @vitest-environment edge-runtime
/**
 * The core, the memory store, the Upstash layer and the Web handlers under
 * vitest's `edge-runtime` environment (`@edge-runtime/vm`: the globals of
 * Vercel's Edge runtime — its fetch, Request, Response, AbortSignal,
 * crypto), against the Upstash bridge. EdgeBundle.test.ts checks statically
 * that nothing on this path imports a Node built-in.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { CircuitBreaker, CircuitStore } from "../src/index.js"
import { type RedisServer, redisServerScoped } from "./support/redisServer.js"
import { upstashBridgeScoped, upstashStore } from "./support/stores.js"
import { beforeAllScoped } from "./support/suite.js"
import type { UpstashBridge } from "./shared/upstashBridge.js"
import { CircuitBreakerHttp } from "../src/http.js"

declare const EdgeRuntime: string | undefined

let server: RedisServer
let bridge: UpstashBridge
const token = "edge-token-51c0"

beforeAllScoped(Effect.gen(function*() {
  server = yield* redisServerScoped()
  bridge = yield* upstashBridgeScoped(server, token)
}))

const store = () => Layer.orDie(upstashStore(bridge, token))

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
    }).pipe(Effect.provide(store())))

  it("the health and metrics Web handler", async () => {
    const { handler, dispose } = CircuitBreakerHttp.toWebHandler(store())
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
