/**
 * Every usage example of the Promise API's specification (a README for a Redis circuit breaker
 * with `createCircuitBreaker`, the `CircuitBreakers` presets, `withCircuitBreaker` and the
 * monitoring helpers, which `/promise` implements in both editions), run against a real Redis
 * through the Upstash REST bridge, with `@upstash/redis` exactly as the specification uses it
 * (`new Redis({ url, token })` with the default options) and the circuit store taken from the
 * same environment variables (`UPSTASH_REDIS_REST_URL`, `UPSTASH_REDIS_REST_TOKEN`).
 *
 * Written once, Effect-free: each example is an async function over the edition's `promise`
 * module (its Promise API has the same surface in both editions) and the driver's `expect` and
 * `vi`; {@link readmeParity} gives a driver the suite's hooks and the examples to register.
 *
 * The examples are copied as written. They are adapted only where they call something that does
 * not exist here:
 * - `OrderModel` is a small in-memory fake with a "database down" switch;
 * - `https://api.stripe.com` and `fetchExternalAPI()` are a local `node:http` server with
 *   200 / 402 / 500 modes;
 * - the two `export async function GET()` of "Monitoring Integration" are named `healthGET` and
 *   `metricsGET`; `getCachedData` / `getFallbackData` are stubs;
 * - `redis.info('memory')` (no such method in @upstash/redis) is `redis.exec(['INFO', 'memory'])`;
 * - `JSON.parse(data)` gets `data as string` (a type-level cast: `redis.get` returns `unknown`), and
 *   the unused `request` parameters of route handlers are `_request` (the project's `tsc` settings);
 * - `PersistentCircuitBreaker` (the type of a breaker) is {@link ReadmeBreaker}.
 *
 * Each test starts from a fresh default runtime on its own key prefix, so the fixed circuit names
 * of the specification (`redis`, `database`, `api`, `auth`, `user-service`, ...) start CLOSED every time.
 */
import { Redis } from "@upstash/redis"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import type { ExpectStatic } from "vitest"
import { type RedisServer, startRedis } from "../redisServer.js"
import { startUpstashBridge, type UpstashBridge } from "../upstashBridge.js"

// ---------------------------------------------------------------------------
// the Promise API, as the examples use it (both editions' `promise` modules fit it)
// ---------------------------------------------------------------------------

/** A breaker of the Promise API (`PersistentCircuitBreaker`), as far as the examples use it. */
export interface ReadmeBreaker {
  readonly config: any
  readonly execute: <T>(operation: () => Promise<T>, operationName?: string) => Promise<T>
  readonly getCurrentState: () => Promise<string>
  readonly getMetrics: () => Promise<any>
  readonly getHealth: () => Promise<any>
  readonly isAvailable: () => Promise<boolean>
  readonly reset: () => Promise<void>
  readonly forceOpen: () => Promise<void>
}

/** The edition's `promise` module, as far as the examples use it. */
export interface ReadmePromiseApi {
  readonly CircuitBreakerError: abstract new(...args: Array<any>) => Error & {
    readonly code: string
    readonly serviceName: string
    readonly retryAfter?: number | undefined
  }
  readonly CircuitBreakerMonitoring: {
    readonly getAllMetrics: () => Promise<Record<string, any>>
    readonly getAlerts: () => Promise<ReadonlyArray<any>>
    readonly resetAll: () => Promise<ReadonlyArray<{ readonly service: string; readonly success: boolean }>>
  }
  readonly CircuitBreakers: {
    readonly redis: ReadmeBreaker
    readonly database: ReadmeBreaker
    readonly api: ReadmeBreaker
    readonly auth: ReadmeBreaker
  }
  readonly configureCircuitBreakers: (
    options: { readonly prefix: string; readonly logLevel?: "Debug" }
  ) => Promise<void>
  readonly createCircuitBreaker: (serviceName: string, config?: any) => ReadmeBreaker
  readonly disposeCircuitBreakers: () => Promise<void>
  readonly getCircuitBreaker: (serviceName: string, redis: Redis, config?: any) => ReadmeBreaker
  readonly getCircuitBreakerHealth: () => Promise<
    { readonly overall: string; readonly timestamp: number; readonly services: Record<string, any> }
  >
  readonly withCircuitBreaker: (
    handler: (request: Request) => Promise<Response>,
    serviceName: string,
    config?: any
  ) => (request: Request) => Promise<Response>
}

/** The specification's config interface, as written (every field required but `instanceId`). */
export interface ReadmePersistentCircuitBreakerConfig {
  failureThreshold: number
  successThreshold: number
  recoveryTimeout: number
  maxRecoveryTimeout: number
  monitoringPeriod: number
  backoffMultiplier: number
  backoffJitter: number
  stateTtl: number
  metricsTtl: number
  serviceName: string
  instanceId?: string
}

/** The mocking the examples need (`vi` of the driver's vitest). */
export interface ReadmeVi {
  readonly spyOn: (object: Console, method: "log" | "error") => {
    readonly mockImplementation: (fn: (...args: Array<any>) => void) => {
      readonly mock: { readonly calls: ReadonlyArray<ReadonlyArray<any>> }
    }
  }
  readonly restoreAllMocks: () => unknown
}

// ---------------------------------------------------------------------------
// stand-ins for what the specification calls but does not define
// ---------------------------------------------------------------------------

/** The external API and "api.stripe.com": answers in the mode the test sets, records every request. */
class ExternalApi {
  mode: "ok" | "402" | "500" = "ok"
  readonly requests: Array<{ method: string; path: string; authorization: string | undefined; body: string }> = []
  readonly server = http.createServer((req, res) => {
    let body = ""
    req.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")))
    req.on("end", () => {
      this.requests.push({
        method: req.method ?? "",
        path: req.url ?? "",
        authorization: req.headers.authorization,
        body
      })
      if (this.mode === "ok") {
        res.writeHead(200, { "content-type": "application/json" })
        res.end(JSON.stringify(req.url === "/v1/charges" ? { id: "ch_1", paid: true } : { items: [1, 2, 3] }))
      } else {
        res.writeHead(Number(this.mode), { "content-type": "application/json" })
        res.end(JSON.stringify({ error: this.mode === "402" ? "card_declined" : "internal" }))
      }
    })
  })
  url = ""
}

/** What an example runs with: the edition's API, the driver's vitest, the servers and stand-ins. */
export interface ReadmeEnv {
  readonly promise: ReadmePromiseApi
  readonly expect: ExpectStatic
  readonly vi: ReadmeVi
  readonly TOKEN: string
  readonly STRIPE_KEY: string
  readonly api: ExternalApi
  /** `fetchExternalAPI()` of example 2: a call to the local server. */
  readonly fetchExternalAPI: () => Promise<unknown>
  /** `OrderModel` of example 3. */
  readonly OrderModel: { down: boolean; created: number; create: (orderData: any) => Promise<any> }
  readonly server: RedisServer
  readonly bridge: UpstashBridge
  /** A bridge whose every request fails (a dead Upstash). */
  readonly deadBridge: UpstashBridge
  /** The specification's module-level `redis` (Quick Start, examples 3 and 5). */
  readonly redis: Redis
  /** The key prefix of the running test. */
  readonly prefix: () => string
  /** The circuit `name` of this test, as Redis holds it. */
  readonly redisState: (name: string) => Promise<string>
  readonly sleep: (ms: number) => Promise<void>
}

/** One example: registered by the driver as `describe(suite) / it(name)`. */
export interface ReadmeExample {
  readonly suite: string
  readonly name: string
  readonly run: (env: ReadmeEnv) => Promise<void>
}

let prefixes = 0

/**
 * The suite for a driver: hooks to register (`beforeAll`, `afterAll`, `beforeEach`, `afterEach`),
 * the examples, and the environment they run in (filled by `beforeAll`).
 */
export const readmeParity = (options: {
  readonly promise: ReadmePromiseApi
  readonly expect: ExpectStatic
  readonly vi: ReadmeVi
}) => {
  const TOKEN = "readme-test-token-7f3a1b"
  const api = new ExternalApi()
  let prefix = ""
  const env = {
    promise: options.promise,
    expect: options.expect,
    vi: options.vi,
    TOKEN,
    STRIPE_KEY: "sk_test_readme_4242",
    api,
    fetchExternalAPI: async (): Promise<unknown> => {
      const response = await fetch(`${api.url}/data`)
      if (!response.ok) throw new Error(`external API answered ${response.status}`)
      return response.json()
    },
    OrderModel: {
      down: false,
      created: 0,
      async create(orderData: any) {
        if (this.down) throw new Error("database unavailable")
        return { id: ++this.created, ...orderData }
      }
    },
    prefix: () => prefix,
    redisState: (name: string) => env.server.cli("HGET", `${prefix}:{${encodeURIComponent(name)}}:state`, "state"),
    sleep: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
  } as { -readonly [K in keyof ReadmeEnv]: ReadmeEnv[K] }

  return {
    env: env as ReadmeEnv,
    examples: readmeExamples,
    beforeAll: async () => {
      env.server = await startRedis()
      env.bridge = await startUpstashBridge({ redisUrl: env.server.url, token: TOKEN })
      env.deadBridge = await startUpstashBridge({ redisUrl: env.server.url, token: TOKEN })
      env.deadBridge.injectFault({
        type: "http",
        status: 500,
        body: JSON.stringify({ error: "ERR bridge: redis is down" })
      })
      await new Promise<void>((resolve) => api.server.listen(0, "127.0.0.1", resolve))
      api.url = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`
      process.env.UPSTASH_REDIS_REST_URL = env.bridge.url
      process.env.UPSTASH_REDIS_REST_TOKEN = TOKEN
      process.env.STRIPE_KEY = env.STRIPE_KEY
      env.redis = new Redis({ url: process.env.UPSTASH_REDIS_REST_URL, token: process.env.UPSTASH_REDIS_REST_TOKEN })
    },
    afterAll: async () => {
      await options.promise.disposeCircuitBreakers()
      delete process.env.UPSTASH_REDIS_REST_URL
      delete process.env.UPSTASH_REDIS_REST_TOKEN
      delete process.env.STRIPE_KEY
      if (api.server.listening) await new Promise<void>((resolve) => api.server.close(() => resolve()))
      await env.deadBridge?.close()
      await env.bridge?.close()
      await env.server?.stop()
    },
    beforeEach: async () => {
      // a fresh default runtime from the environment (Upstash), on a key prefix of this test's own
      prefix = `t${process.pid}-readme-${++prefixes}-${Date.now().toString(36)}`
      await options.promise.configureCircuitBreakers({ prefix })
      api.mode = "ok"
      api.requests.length = 0
      env.OrderModel.down = false
      options.vi.spyOn(console, "log").mockImplementation(() => {})
    },
    afterEach: () => {
      options.vi.restoreAllMocks()
    }
  }
}

/** The examples, in the specification's order. */
export const readmeExamples: ReadonlyArray<ReadmeExample> = [
  // ---------------------------------------------------------------------------
  // Quick Start
  // ---------------------------------------------------------------------------

  {
    suite: "Quick Start",
    name: "Basic Usage",
    run: async (env) => {
      const { expect, redis, redisState } = env
      const { createCircuitBreaker } = env.promise
      await redis.set("my-key", "hello")

      const circuitBreaker = createCircuitBreaker("my-service", {
        failureThreshold: 5,
        successThreshold: 3,
        recoveryTimeout: 30000
      })

      const result = await circuitBreaker.execute(async () => {
        // Your operation here
        return await redis.get("my-key")
      })

      expect(result).toBe("hello")
      expect(await circuitBreaker.getCurrentState()).toBe("CLOSED")
      expect(await redisState("my-service")).toBe("CLOSED") // the state lives in Redis
    }
  },

  {
    suite: "Quick Start",
    name: "Pre-configured Circuit Breakers",
    run: async (env) => {
      const { expect, redis } = env
      const { CircuitBreakers } = env.promise
      // Use pre-configured circuit breakers
      const result = await CircuitBreakers.redis.execute(async () => {
        return await redis.set("key", "value")
      })

      expect(result).toBe("OK")
      expect(await redis.get("key")).toBe("value")
      expect(CircuitBreakers.redis.config).toMatchObject({ failureThreshold: 3, recoveryTimeout: 10_000 })
      expect(CircuitBreakers.auth.config).toMatchObject({ failureThreshold: 3, successThreshold: 5 })
    }
  },

  // ---------------------------------------------------------------------------
  // Configuration
  // ---------------------------------------------------------------------------

  {
    suite: "Configuration",
    name: "Default Configuration: DEFAULT_CONFIG is a valid config, and the defaults",
    run: async (env) => {
      const { expect } = env
      const { createCircuitBreaker } = env.promise
      const DEFAULT_CONFIG = {
        failureThreshold: 5,
        successThreshold: 3,
        recoveryTimeout: 30000, // 30 seconds
        maxRecoveryTimeout: 300000, // 5 minutes
        monitoringPeriod: 300000, // 5 minutes
        backoffMultiplier: 2,
        backoffJitter: 0.1,
        stateTtl: 600000, // 10 minutes
        metricsTtl: 86400000, // 24 hours
        serviceName: "redis-service"
      }
      const readme: ReadmePersistentCircuitBreakerConfig = DEFAULT_CONFIG
      const config: Partial<ReadmePersistentCircuitBreakerConfig> = readme // each edition's driver checks the specification's interface fits its own

      const breaker = createCircuitBreaker("configured", config)
      const defaults = createCircuitBreaker("defaults")
      const { serviceName: _, ...rest } = DEFAULT_CONFIG
      expect(defaults.config).toMatchObject(rest)
      expect(breaker.config.serviceName).toBe("redis-service")
      expect(await breaker.execute(async () => "ran")).toBe("ran")
    }
  },

  // ---------------------------------------------------------------------------
  // Usage Examples
  // ---------------------------------------------------------------------------

  {
    suite: "Usage Examples",
    name: "1. Basic Circuit Breaker",
    run: async (env) => {
      const { expect, vi, bridge, redis, redisState } = env
      const { CircuitBreakerError, createCircuitBreaker } = env.promise
      const errors = vi.spyOn(console, "error").mockImplementation(() => {})

      async function fetchUserData(userId: string) {
        const circuitBreaker = createCircuitBreaker("user-service")

        try {
          return await circuitBreaker.execute(async () => {
            const redis = new Redis({
              url: process.env.UPSTASH_REDIS_REST_URL!,
              token: process.env.UPSTASH_REDIS_REST_TOKEN!
            })

            const data = await redis.get(`user:${userId}`)
            return JSON.parse(data as string)
          }, `fetch-user-${userId}`)
        } catch (error) {
          console.error("Failed to fetch user data:", error)
          return null
        }
      }

      // `redis.get` already JSON-parses what it reads (the client's default), so the example's own
      // `JSON.parse` round-trips a user only if the stored value is a JSON *string*
      await redis.set("user:1", JSON.stringify(JSON.stringify({ id: 1, name: "Ada" })))
      expect(await fetchUserData("1")).toEqual({ id: 1, name: "Ada" })
      expect(await fetchUserData("404")).toBeNull() // no such user: JSON.parse(null) is null, not a failure
      const breaker = createCircuitBreaker("user-service")
      expect(await breaker.getMetrics()).toMatchObject({ successes: 2, failures: 0 })
      expect(errors).not.toHaveBeenCalled()

      // a user stored as plain JSON comes back as an object: the example's JSON.parse throws, five times
      await redis.set("user:2", { id: 2, name: "Grace" })
      for (let i = 0; i < 5; i++) expect(await fetchUserData("2")).toBeNull()
      expect(errors).toHaveBeenCalledTimes(5)
      expect(errors.mock.calls[0]![1]).toBeInstanceOf(SyntaxError) // the operation's own error, not wrapped
      expect(await breaker.getCurrentState()).toBe("OPEN")
      expect(await redisState("user-service")).toBe("OPEN")

      // open: user 1 is not even read
      bridge.resetStats()
      expect(await fetchUserData("1")).toBeNull()
      const last = errors.mock.calls[5]![1]
      expect(last).toBeInstanceOf(CircuitBreakerError)
      expect(last).toMatchObject({ code: "CIRCUIT_OPEN", serviceName: "user-service" })
      expect(bridge.log.some((request) => JSON.stringify(request.body).includes("user:1"))).toBe(false)
    }
  },

  {
    suite: "Usage Examples",
    name: "2. API Route Protection: 503 with Retry-After once open",
    run: async (env) => {
      const { expect, api, fetchExternalAPI, redisState } = env
      const { withCircuitBreaker } = env.promise
      const GET = withCircuitBreaker(
        async (_request: Request) => {
          const data = await fetchExternalAPI()
          return new Response(JSON.stringify(data))
        },
        "external-api",
        {
          failureThreshold: 10,
          recoveryTimeout: 60000
        }
      )

      const ok = await GET(new Request("http://localhost/api/data"))
      expect(ok.status).toBe(200)
      expect(await ok.json()).toEqual({ items: [1, 2, 3] })

      // the external API fails: fetchExternalAPI throws, the route rethrows, and each one counts
      api.mode = "500"
      for (let i = 0; i < 10; i++) {
        await expect(GET(new Request("http://localhost/api/data"))).rejects.toThrow("external API answered 500")
      }
      expect(api.requests).toHaveLength(11)
      expect(await redisState("external-api")).toBe("OPEN")

      api.mode = "ok"
      const open = await GET(new Request("http://localhost/api/data"))
      expect(open.status).toBe(503)
      const retryAfter = Number(open.headers.get("Retry-After"))
      expect(retryAfter).toBeGreaterThanOrEqual(54) // 60 s with the default jitter of ±10 %
      expect(retryAfter).toBeLessThanOrEqual(66)
      const body = await open.json() as Record<string, unknown>
      expect(body).toMatchObject({ error: "Service Unavailable", code: "CIRCUIT_OPEN", service: "external-api" })
      expect(Math.ceil((body.retryAfter as number) / 1000)).toBe(retryAfter)
      expect(api.requests).toHaveLength(11) // the handler did not run
    }
  },

  {
    suite: "Usage Examples",
    name: "2. API Route Protection: the handler's own 5xx answers count as failures and reach the client unchanged",
    run: async (env) => {
      const { expect, api } = env
      const { withCircuitBreaker } = env.promise
      // the same route, written to pass the upstream status on instead of throwing
      const GET = withCircuitBreaker(
        async (_request: Request) => {
          const response = await fetch(`${api.url}/data`)
          return new Response(await response.text(), { status: response.status })
        },
        "external-api-status",
        {
          failureThreshold: 10,
          recoveryTimeout: 60000
        }
      )
      api.mode = "500"
      for (let i = 0; i < 10; i++) {
        const response = await GET(new Request("http://localhost/api/data"))
        expect(response.status).toBe(500)
        expect(await response.json()).toEqual({ error: "internal" })
      }
      const open = await GET(new Request("http://localhost/api/data"))
      expect(open.status).toBe(503)
      expect(open.headers.get("Retry-After")).not.toBeNull()
      expect(api.requests).toHaveLength(10)
    }
  },

  {
    suite: "Usage Examples",
    name: "3. Database Operations",
    run: async (env) => {
      const { expect, OrderModel, redis } = env
      const { CircuitBreakerError, CircuitBreakers } = env.promise
      async function createOrder(orderData: any) {
        return CircuitBreakers.database.execute(async () => {
          // Database operation
          const order = await OrderModel.create(orderData)

          // Cache the result
          await redis.setex(`order:${order.id}`, 3600, JSON.stringify(order))

          return order
        }, "create-order")
      }

      const order = await createOrder({ item: "book", quantity: 2 })
      expect(order).toMatchObject({ item: "book", quantity: 2 })
      expect(await redis.get(`order:${order.id}`)).toEqual(order) // the client parses the cached JSON back
      const ttl = await redis.ttl(`order:${order.id}`)
      expect(ttl).toBeGreaterThan(3590)
      expect(ttl).toBeLessThanOrEqual(3600)

      OrderModel.down = true
      for (let i = 0; i < 5; i++) {
        await expect(createOrder({ item: "pen" })).rejects.toThrow("database unavailable")
      }
      const created = OrderModel.created
      OrderModel.down = false
      const rejected = await createOrder({ item: "pen" }).catch((e: unknown) => e)
      expect(rejected).toBeInstanceOf(CircuitBreakerError)
      expect(rejected).toMatchObject({ code: "CIRCUIT_OPEN", serviceName: "database" })
      expect(OrderModel.created).toBe(created) // the database was not called
      expect(await CircuitBreakers.database.getCurrentState()).toBe("OPEN")
    }
  },

  {
    suite: "Usage Examples",
    name: "4. External API Calls",
    run: async (env) => {
      const { expect, api, STRIPE_KEY } = env
      const { CircuitBreakerError, CircuitBreakers } = env.promise
      const stripe = { url: "https://api.stripe.com" }
      const local = api.url // the local stand-in for api.stripe.com

      async function processPayment(paymentData: any) {
        return CircuitBreakers.api.execute(async () => {
          const response = await fetch(`${local}/v1/charges`, {
            method: "POST",
            headers: {
              Authorization: `Bearer ${process.env.STRIPE_KEY}`,
              "Content-Type": "application/json"
            },
            body: JSON.stringify(paymentData)
          })

          if (!response.ok) {
            throw new Error(`Payment API error: ${response.status}`)
          }

          return response.json()
        }, "stripe-payment")
      }
      expect(stripe.url).not.toBe(local)

      expect(await processPayment({ amount: 1000, currency: "usd" })).toEqual({ id: "ch_1", paid: true })
      expect(api.requests[0]).toMatchObject({
        method: "POST",
        path: "/v1/charges",
        authorization: `Bearer ${STRIPE_KEY}`,
        body: JSON.stringify({ amount: 1000, currency: "usd" })
      })

      api.mode = "402"
      const declined = await processPayment({ amount: 1 }).catch((e: unknown) => e)
      expect(declined).toBeInstanceOf(Error)
      expect(declined).not.toBeInstanceOf(CircuitBreakerError)
      expect((declined as Error).message).toBe("Payment API error: 402")

      api.mode = "500"
      for (let i = 0; i < 9; i++) await expect(processPayment({ amount: 1 })).rejects.toThrow("Payment API error: 500")
      expect(await CircuitBreakers.api.getCurrentState()).toBe("OPEN") // 10 failures: the api preset

      api.mode = "ok"
      const open = await processPayment({ amount: 1 }).catch((e: unknown) => e)
      expect(open).toMatchObject({ code: "CIRCUIT_OPEN", serviceName: "api" })
      expect((open as InstanceType<typeof CircuitBreakerError>).retryAfter).toBeGreaterThan(50_000)
      expect(api.requests).toHaveLength(11)
    }
  },

  {
    suite: "Usage Examples",
    name: "5. Batch Operations",
    run: async (env) => {
      const { expect, redis } = env
      const { CircuitBreakers } = env.promise
      async function batchUpdateUsers(updates: Array<any>) {
        const results = await Promise.allSettled(
          updates.map((update) =>
            CircuitBreakers.redis.execute(async () => {
              return redis.set(`user:${update.id}`, JSON.stringify(update.data))
            }, `update-user-${update.id}`)
          )
        )

        return {
          successful: results.filter((r) => r.status === "fulfilled").length,
          failed: results.filter((r) => r.status === "rejected").length
        }
      }

      const users = (ids: Array<number>) => ids.map((id) => ({ id, data: { name: `user ${id}` } }))
      // data JSON.stringify cannot write: the operation throws
      const broken = (ids: Array<number>) => ids.map((id) => ({ id, data: { balance: BigInt(id) } }))

      expect(await batchUpdateUsers(users([1, 2, 3, 4, 5]))).toEqual({ successful: 5, failed: 0 })
      expect(await redis.get("user:3")).toEqual({ name: "user 3" }) // the client parses the stored JSON back

      expect(await batchUpdateUsers([...users([6, 7, 8, 9]), ...broken([10, 11])])).toEqual({
        successful: 4,
        failed: 2
      })
      expect(await CircuitBreakers.redis.getCurrentState()).toBe("CLOSED") // 2 < 3, the redis preset

      // admitted together, one more failure opens the circuit: the calls already admitted still run
      expect(await batchUpdateUsers([...users([12, 13, 14]), ...broken([15, 16, 17])])).toEqual({
        successful: 3,
        failed: 3
      })
      expect(await CircuitBreakers.redis.getCurrentState()).toBe("OPEN")
      expect(await batchUpdateUsers(users([18, 19, 20]))).toEqual({ successful: 0, failed: 3 })
      expect(await redis.exists("user:18")).toBe(0)
    }
  },

  // ---------------------------------------------------------------------------
  // Monitoring
  // ---------------------------------------------------------------------------

  {
    suite: "Monitoring",
    name: "Health Checks",
    run: async (env) => {
      const { expect } = env
      const { CircuitBreakers, getCircuitBreakerHealth } = env.promise
      for (
        const breaker of [CircuitBreakers.redis, CircuitBreakers.database, CircuitBreakers.api, CircuitBreakers.auth]
      ) {
        await breaker.execute(async () => "warm")
      }

      // Get overall health
      const health = await getCircuitBreakerHealth()
      console.log(health)

      expect(health.overall).toBe("healthy")
      expect(typeof health.timestamp).toBe("number")
      expect(Math.abs(health.timestamp - Date.now())).toBeLessThan(10_000)
      expect(Object.keys(health.services).sort()).toEqual(["api", "auth", "database", "redis"])
      for (const service of Object.values(health.services)) {
        expect(service).toMatchObject({ status: "healthy", state: "CLOSED" })
        expect(service.metrics).toMatchObject({ calls: 1, successes: 1 })
      }

      await CircuitBreakers.auth.forceOpen()
      const unhealthy = await getCircuitBreakerHealth()
      expect(unhealthy.overall).toBe("unhealthy")
      expect(unhealthy.services.auth).toMatchObject({ status: "unhealthy", state: "FORCED_OPEN" })
      // JSON all the way (a health endpoint serialises it)
      expect(JSON.parse(JSON.stringify(unhealthy))).toEqual(unhealthy)
    }
  },

  {
    suite: "Monitoring",
    name: "Metrics Collection",
    run: async (env) => {
      const { expect } = env
      const { CircuitBreakerMonitoring, CircuitBreakers } = env.promise
      await CircuitBreakers.redis.execute(async () => 1)
      for (let i = 0; i < 3; i++)
        await CircuitBreakers.auth.execute(async () => Promise.reject(new Error("idp down"))).catch(() => {})

      // Get all metrics
      const metrics = await CircuitBreakerMonitoring.getAllMetrics()

      // Get alerts
      const alerts = await CircuitBreakerMonitoring.getAlerts()

      expect(Object.keys(metrics).sort()).toEqual(["auth", "redis"])
      expect(metrics.redis).toMatchObject({ state: "CLOSED", fleet: { successes: 1, failures: 0 } })
      expect(metrics.auth).toMatchObject({ state: "OPEN", fleet: { failures: 3, opens: 1 } })
      expect(alerts).toHaveLength(1)
      expect(alerts[0]).toMatchObject({ kind: "open", severity: "critical", service: "auth" })

      // Reset all circuit breakers
      const results = await CircuitBreakerMonitoring.resetAll()

      expect(results.map((r) => r.service).sort()).toEqual(["auth", "redis"])
      expect(results.every((r) => r.success)).toBe(true)
      expect(await CircuitBreakers.auth.getCurrentState()).toBe("CLOSED")
      expect(await CircuitBreakerMonitoring.getAlerts()).toEqual([])
    }
  },

  {
    suite: "Monitoring",
    name: "Individual Service Metrics",
    run: async (env) => {
      const { expect, redis } = env
      const { CircuitBreakers } = env.promise
      await CircuitBreakers.redis.execute(async () => redis.set("k", "v"))
      await CircuitBreakers.redis.execute(async () => Promise.reject(new Error("timeout"))).catch(() => {})

      const circuitBreaker = CircuitBreakers.redis

      // Get health status
      const health = await circuitBreaker.getHealth()

      // Get detailed metrics
      const metrics = await circuitBreaker.getMetrics()

      // Check availability
      const isAvailable = await circuitBreaker.isAvailable()

      expect(health).toMatchObject({ service: "redis", status: "healthy", state: "CLOSED" })
      expect(metrics).toMatchObject({ service: "redis", calls: 2, successes: 1, failures: 1, windowFailures: 1 })
      expect(isAvailable).toBe(true)
    }
  },

  // ---------------------------------------------------------------------------
  // Best Practices
  // ---------------------------------------------------------------------------

  {
    suite: "Best Practices",
    name: "1. Configuration: the production and development configs are valid",
    run: async (env) => {
      const { expect } = env
      const { createCircuitBreaker } = env.promise
      // Production configuration
      const prodConfig = {
        failureThreshold: 10, // Higher threshold for production
        successThreshold: 5, // More successes required
        recoveryTimeout: 120000, // Longer recovery time
        monitoringPeriod: 600000 // 10-minute monitoring window
      }

      // Development configuration
      const devConfig = {
        failureThreshold: 3, // Lower threshold for development
        successThreshold: 2, // Fewer successes required
        recoveryTimeout: 30000 // Shorter recovery time
      }

      expect(createCircuitBreaker("prod", prodConfig).config).toMatchObject(prodConfig)
      expect(createCircuitBreaker("dev", devConfig).config).toMatchObject(devConfig)
    }
  },

  {
    suite: "Best Practices",
    name: "2. Error Handling: CIRCUIT_OPEN and SERVICE_UNAVAILABLE",
    run: async (env) => {
      const { expect, deadBridge, TOKEN } = env
      const { CircuitBreakerError, createCircuitBreaker, getCircuitBreaker } = env.promise
      const getCachedData = () => "cached"
      const getFallbackData = () => "fallback"

      async function handle<T>(circuitBreaker: ReadmeBreaker, operation: () => Promise<T>) {
        try {
          const result = await circuitBreaker.execute(operation)
          return result
        } catch (error) {
          if (error instanceof CircuitBreakerError) {
            // Circuit breaker specific handling
            switch (error.code) {
              case "CIRCUIT_OPEN":
                // Circuit is open, return cached data or default
                return getCachedData()
              case "SERVICE_UNAVAILABLE":
                // Service unavailable, graceful degradation
                return getFallbackData()
            }
          }

          // Other errors
          throw error
        }
      }

      const circuitBreaker = createCircuitBreaker("inventory", { failureThreshold: 2 })
      expect(await handle(circuitBreaker, async () => "fresh")).toBe("fresh")
      await expect(handle(circuitBreaker, async () => Promise.reject(new Error("upstream 500")))).rejects.toThrow(
        "upstream 500"
      )
      await expect(handle(circuitBreaker, async () => Promise.reject(new Error("upstream 500")))).rejects.toThrow(
        "upstream 500"
      )
      expect(await handle(circuitBreaker, async () => "fresh")).toBe("cached")

      // Redis itself is down, and this breaker fails closed rather than falling back to a local one
      const down = new Redis({ url: deadBridge.url, token: TOKEN })
      const strict = getCircuitBreaker("inventory-strict", down, { onStoreUnavailable: "fail-closed" })
      expect(await handle(strict, async () => "fresh")).toBe("fallback")
    }
  },

  {
    suite: "Best Practices",
    name: "3. Monitoring Integration: health and metrics endpoints",
    run: async (env) => {
      const { expect } = env
      const { CircuitBreakerMonitoring, CircuitBreakers, getCircuitBreakerHealth } = env.promise
      // Health check endpoint
      async function healthGET() {
        const health = await getCircuitBreakerHealth()

        return new Response(JSON.stringify(health), {
          status: health.overall === "healthy" ? 200 : 503,
          headers: { "Content-Type": "application/json" }
        })
      }

      // Metrics endpoint
      async function metricsGET() {
        const metrics = await CircuitBreakerMonitoring.getAllMetrics()
        return new Response(JSON.stringify(metrics))
      }

      await CircuitBreakers.database.execute(async () => "row")
      const healthy = await healthGET()
      expect(healthy.status).toBe(200)
      expect(healthy.headers.get("Content-Type")).toBe("application/json")
      const body = await healthy.json() as { overall: string; services: Record<string, { state: string }> }
      expect(body.overall).toBe("healthy")
      expect(body.services.database!.state).toBe("CLOSED")

      for (let i = 0; i < 5; i++) {
        await CircuitBreakers.database.execute(async () => Promise.reject(new Error("db down"))).catch(() => {})
      }
      const unhealthy = await healthGET()
      expect(unhealthy.status).toBe(503)
      expect((await unhealthy.json() as { overall: string }).overall).toBe("unhealthy")

      const metrics = await metricsGET()
      expect(metrics.status).toBe(200)
      const all = await metrics.json() as Record<
        string,
        { state: string; fleet: { successes: number; failures: number } }
      >
      expect(all.database).toMatchObject({ state: "OPEN", fleet: { successes: 1, failures: 5 } })
    }
  },

  {
    suite: "Best Practices",
    name:
      "4. Resource Cleanup: state outlives the instance (TTL in Redis); disposeCircuitBreakers flushes on the way out",
    run: async (env) => {
      const { expect, server } = env
      const { CircuitBreakerMonitoring, configureCircuitBreakers, createCircuitBreaker, disposeCircuitBreakers } =
        env.promise
      const prefix = env.prefix()
      const breaker = createCircuitBreaker("cleanup")
      for (let i = 0; i < 4; i++) await breaker.execute(async () => i)
      // what a SIGTERM handler would do before process.exit(0)
      await disposeCircuitBreakers()
      const ttl = Number(await server.cli("PTTL", `${prefix}:{cleanup}:state`))
      expect(ttl).toBeGreaterThan(0) // expires by itself
      expect(ttl).toBeLessThanOrEqual(600_000)
      await configureCircuitBreakers({ prefix })
      expect((await CircuitBreakerMonitoring.getAllMetrics()).cleanup!.fleet.successes).toBe(4)
    }
  },

  // ---------------------------------------------------------------------------
  // Troubleshooting
  // ---------------------------------------------------------------------------

  {
    suite: "Troubleshooting",
    name: "Circuit Breaker Always Open: state, metrics, reset",
    run: async (env) => {
      const { expect, redisState } = env
      const { createCircuitBreaker } = env.promise
      const circuitBreaker = createCircuitBreaker("flaky-service", { failureThreshold: 2, recoveryTimeout: 60_000 })
      for (let i = 0; i < 2; i++)
        await circuitBreaker.execute(async () => Promise.reject(new Error("503"))).catch(() => {})

      // Check circuit breaker state
      const state = await circuitBreaker.getCurrentState()
      console.log("State:", state)

      // Check metrics
      const metrics = await circuitBreaker.getMetrics()
      console.log("Metrics:", metrics)

      expect(state).toBe("OPEN")
      expect(metrics).toMatchObject({ state: "OPEN", calls: 2, failures: 2, openCount: 0 })
      expect(metrics.retryAt).toBeGreaterThan(Date.now() + 50_000)

      // Reset if needed
      await circuitBreaker.reset()

      expect(await circuitBreaker.getCurrentState()).toBe("CLOSED")
      expect(await redisState("flaky-service")).toBe("CLOSED")
      expect(await circuitBreaker.execute(async () => "back")).toBe("back")
    }
  },

  {
    suite: "Troubleshooting",
    name: "High Latency: ping Redis, check the breaker's health",
    run: async (env) => {
      const { expect, sleep } = env
      const { createCircuitBreaker } = env.promise
      const circuitBreaker = createCircuitBreaker("slow-service", { slowCallDuration: 30, failureThreshold: 2 })
      await circuitBreaker.execute(() => sleep(50))

      // Check Redis connection
      const redis = new Redis({
        url: process.env.UPSTASH_REDIS_REST_URL!,
        token: process.env.UPSTASH_REDIS_REST_TOKEN!
      })
      const ping = await redis.ping()

      // Check circuit breaker health
      const health = await circuitBreaker.getHealth()
      console.log("Health:", health)

      expect(ping).toBe("PONG")
      expect(health).toMatchObject({ status: "healthy", state: "CLOSED", metrics: { slowCalls: 1, windowFailures: 1 } })
    }
  },

  {
    suite: "Troubleshooting",
    name: "Memory Issues: Redis memory usage",
    run: async (env) => {
      const { expect, redis } = env
      // Circuit breakers use Redis for state, not memory
      // Check Redis memory usage
      const info = await redis.exec(["INFO", "memory"])
      console.log("Redis memory:", info)
      expect(String(info)).toMatch(/used_memory:\d+/)
    }
  },

  {
    suite: "Troubleshooting",
    name: "Debug Mode: every named operation is logged",
    run: async (env) => {
      const { expect, vi } = env
      const { configureCircuitBreakers, createCircuitBreaker } = env.promise
      const prefix = env.prefix()
      const lines: Array<string> = []
      vi.spyOn(console, "log").mockImplementation((...args: Array<unknown>) => {
        lines.push(args.map(String).join(" "))
      })
      await configureCircuitBreakers({ prefix, logLevel: "Debug" })
      const operation = async () => "debugged"

      // Enable debug logging
      const circuitBreaker = createCircuitBreaker("debug-service", {
        // ... config
      })

      // All operations will be logged
      const result = await circuitBreaker.execute(operation, "debug-operation")

      expect(result).toBe("debugged")
      expect(lines.some((line) => line.includes("operation=debug-operation") && line.includes("succeeded"))).toBe(true)
    }
  }
]
