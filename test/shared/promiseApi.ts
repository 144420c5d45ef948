/**
 * What both editions' Promise API suites share: one `redis-server` reached over TCP (ioredis) and
 * over the Upstash REST protocol (the test bridge, and a dead bridge whose every request fails),
 * with the store environment variables cleared for the suite; and the helpers that drive a
 * breaker. Each edition passes in its `promise` module, its ioredis and its test runner's hooks
 * (a file here that imported `vitest` would reach the root's vitest from the Effect 4 edition's
 * suites): `test/support/promiseApi.ts`, `effect4/test/support/promiseApi.ts`.
 */
import { freshPrefix } from "./names.js"
import { type RedisServer, startRedis } from "./redisServer.js"
import { startUpstashBridge, type UpstashBridge } from "./upstashBridge.js"

/** The Redis of a Promise API suite; its fields are set once the suite's `beforeAll` has run. */
export interface PromiseApiRedis<Client, Runtime> {
  readonly server: RedisServer
  readonly bridge: UpstashBridge
  /** A bridge whose every request fails (a dead Upstash), for store-unavailable paths. */
  readonly deadBridge: UpstashBridge
  readonly ioredis: Client
  /** A runtime on the shared Redis over TCP, with a key prefix of its own. */
  readonly tcpRuntime: (prefix?: string) => Runtime
}

/** What an edition gives {@link promiseApiSupport}. */
export interface PromiseApiEdition<Client, Runtime> {
  readonly makeCircuitBreakerRuntime: (options: { readonly redis: Client; readonly prefix: string }) => Runtime
  readonly disposeCircuitBreakers: () => Promise<void>
  readonly IORedis: new(url: string) => Client
  readonly beforeAll: (fn: () => Promise<void>) => void
  readonly afterAll: (fn: () => Promise<void>) => void
  readonly afterEach: (fn: () => void) => void
  readonly vi: {
    restoreAllMocks(): unknown
    spyOn(object: Console, method: "log"): { mockImplementation(fn: (...args: Array<unknown>) => void): unknown }
  }
}

/** The part of a Promise API breaker the helpers drive. */
export interface Executes {
  execute<A>(fn: () => Promise<A>): Promise<A>
}

const ENV_KEYS = ["UPSTASH_REDIS_REST_URL", "UPSTASH_REDIS_REST_TOKEN", "REDIS_URL"] as const

/** Waits `ms` of real time. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

let names = 0
/** A service name no other test uses. */
export const unique = (label: string) => `${label}-${++names}-${Date.now().toString(36)}`

/** The error the failing operations throw. */
export class Boom extends Error {
  override readonly name = "Boom"
}

/** Runs `n` failing calls; returns what each rejected with. */
export const failTimes = async (breaker: Executes, n: number): Promise<Array<unknown>> => {
  const errors: Array<unknown> = []
  for (let i = 0; i < n; i++) {
    errors.push(
      await breaker.execute(async () => {
        throw new Boom(`boom ${i}`)
      }).then(() => undefined, (error: unknown) => error)
    )
  }
  return errors
}

/** Runs `n` successful calls. */
export const succeedTimes = async (breaker: Executes, n: number): Promise<void> => {
  for (let i = 0; i < n; i++) await breaker.execute(async () => i)
}

/** The suite helpers over an edition's `promise` module, ioredis and test runner. */
export const promiseApiSupport = <Client extends { disconnect(): void }, Runtime>(
  edition: PromiseApiEdition<Client, Runtime>
) => ({
  /**
   * Starts the suite's Redis and bridges in `beforeAll` (the environment's store variables
   * cleared meanwhile), stops them and disposes the default runtime in `afterAll`, restores
   * mocks after each test.
   */
  promiseApiRedis: (token: string): PromiseApiRedis<Client, Runtime> => {
    const env = {
      tcpRuntime: (prefix = freshPrefix()) => edition.makeCircuitBreakerRuntime({ redis: env.ioredis, prefix })
    } as { -readonly [K in keyof PromiseApiRedis<Client, Runtime>]: PromiseApiRedis<Client, Runtime>[K] }
    const savedEnv: Partial<Record<(typeof ENV_KEYS)[number], string>> = {}

    edition.beforeAll(async () => {
      for (const key of ENV_KEYS) {
        const value = process.env[key]
        if (value !== undefined) savedEnv[key] = value
        delete process.env[key]
      }
      env.server = await startRedis()
      env.bridge = await startUpstashBridge({ redisUrl: env.server.url, token })
      env.deadBridge = await startUpstashBridge({ redisUrl: env.server.url, token })
      env.deadBridge.injectFault({
        type: "http",
        status: 500,
        body: JSON.stringify({ error: "ERR bridge: redis is down" })
      })
      env.ioredis = new edition.IORedis(env.server.url)
    })

    edition.afterAll(async () => {
      await edition.disposeCircuitBreakers()
      env.ioredis?.disconnect()
      await env.deadBridge?.close()
      await env.bridge?.close()
      await env.server?.stop()
      for (const key of ENV_KEYS) {
        delete process.env[key]
        const value = savedEnv[key]
        if (value !== undefined) process.env[key] = value
      }
    })

    edition.afterEach(() => {
      edition.vi.restoreAllMocks()
    })

    return env
  },

  /** Captures everything written with console.log (where the Promise API's runtimes log). */
  captureConsole: () => {
    const lines: Array<string> = []
    edition.vi.spyOn(console, "log").mockImplementation((...args: Array<unknown>) => {
      lines.push(args.map(String).join(" "))
    })
    return lines
  }
})
