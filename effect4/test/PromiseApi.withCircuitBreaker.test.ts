/**
 * The Promise API's route wrapper `withCircuitBreaker` against a real Redis over TCP (ioredis) and
 * the Upstash REST bridge: arguments, 4xx / 5xx answers, thrown errors, 503 answers.
 */
import { Redis as Upstash } from "@upstash/redis"
import { describe, expect, it } from "@effect/vitest"
import { CircuitStore } from "../src/index.js"
import { HttpResponseError, makeCircuitBreakerRuntime } from "../src/promise.js"
import { Boom, promiseApiRedis, unique } from "./support/promiseApi.js"

const TOKEN = "promise-test-token-5d1e9c"
const env = promiseApiRedis(TOKEN)

describe("withCircuitBreaker", () => {
  it("passes extra arguments through; 4xx is not a failure; 5xx is returned unchanged and counts; errors are rethrown and count", async () => {
    const rt = env.tcpRuntime()
    try {
      const name = unique("route")
      let status = 200
      let fail = false
      const handler = rt.withCircuitBreaker(
        async (request: Request, context: { readonly params: { readonly id: string } }) => {
          if (fail) throw new Boom("handler crashed")
          return new Response(`${request.method} ${context.params.id}`, { status, headers: { "x-from": "handler" } })
        },
        name,
        { failureThreshold: 3, recoveryTimeout: 45_000, backoffJitter: 0 }
      )
      const call = () => handler(new Request("http://localhost/api/items/1"), { params: { id: "1" } })
      const ok = await call()
      expect(ok.status).toBe(200)
      expect(await ok.text()).toBe("GET 1")

      status = 404
      expect((await call()).status).toBe(404)
      status = 502
      const bad = await call()
      expect(bad.status).toBe(502)
      expect(bad.headers.get("x-from")).toBe("handler")
      expect(await bad.text()).toBe("GET 1")
      fail = true
      await expect(call()).rejects.toThrow("handler crashed")
      const breaker = rt.createCircuitBreaker(name)
      expect(await breaker.getMetrics()).toMatchObject({ successes: 2, failures: 2, state: "CLOSED" })
      await expect(call()).rejects.toBeInstanceOf(Boom)

      fail = false
      status = 200
      const unavailable = await call()
      expect(unavailable.status).toBe(503)
      expect(unavailable.headers.get("content-type")).toBe("application/json")
      const body = await unavailable.json() as { retryAfter: number }
      expect(body).toMatchObject({ error: "Service Unavailable", code: "CIRCUIT_OPEN", service: name })
      expect(body.retryAfter).toBeGreaterThan(40_000)
      expect(body.retryAfter).toBeLessThanOrEqual(45_000)
      // seconds, rounded up
      expect(unavailable.headers.get("retry-after")).toBe(String(Math.ceil(body.retryAfter / 1000)))
    } finally {
      await rt.dispose()
    }
  })

  it("keeps the handler's own request type (e.g. Next.js's NextRequest)", async () => {
    class AppRequest extends Request {
      readonly tenant = "acme"
    }
    const rt = makeCircuitBreakerRuntime({ store: CircuitStore.layerMemory })
    try {
      const handler: (request: AppRequest) => Promise<Response> = rt.withCircuitBreaker(
        async (request: AppRequest) => new Response(request.tenant),
        "typed"
      )
      expect(await (await handler(new AppRequest("http://localhost/"))).text()).toBe("acme")
    } finally {
      await rt.dispose()
    }
  })

  it("isFailure sees an HttpResponseError for a 5xx answer", async () => {
    const rt = makeCircuitBreakerRuntime({ store: CircuitStore.layerMemory })
    try {
      const handler = rt.withCircuitBreaker(async () => new Response("not implemented", { status: 501 }), "legacy", {
        failureThreshold: 1,
        isFailure: (error) => !(error instanceof HttpResponseError && error.response.status === 501)
      })
      for (let i = 0; i < 3; i++) expect((await handler(new Request("http://localhost/"))).status).toBe(501)
      expect(await rt.createCircuitBreaker("legacy").getCurrentState()).toBe("CLOSED")
    } finally {
      await rt.dispose()
    }
  })

  it("answers 503 SERVICE_UNAVAILABLE without Retry-After when the store is down and the policy is fail-closed", async () => {
    const rt = makeCircuitBreakerRuntime({ redis: new Upstash({ url: env.deadBridge.url, token: TOKEN }) })
    try {
      let called = false
      const handler = rt.withCircuitBreaker(
        async () => {
          called = true
          return new Response("ok")
        },
        unique("closed-route"),
        { onStoreUnavailable: "fail-closed" }
      )
      const response = await handler(new Request("http://localhost/"))
      expect(called).toBe(false)
      expect(response.status).toBe(503)
      expect(response.headers.get("retry-after")).toBeNull()
      expect(await response.json()).toMatchObject({ code: "SERVICE_UNAVAILABLE" })
    } finally {
      await rt.dispose()
    }
  })
})
