/**
 * TypeScript consumers: the shipped `.d.ts` type-check under the consumer's
 * flags, never the library's (`skipLibCheck: false`, no `@types/node`,
 * `strict` true and false, `noUncheckedIndexedAccess`,
 * `exactOptionalPropertyTypes`, `target` ES2017 with the lib ES2020 that
 * effect's own types need), with `moduleResolution`
 * `node16` (ESM and a `.cts` CommonJS file) and `bundler`, each with
 * TypeScript 5.9 and the latest 7.x (the native compiler). The README's quick
 * starts compile, and type-level assertions prove the error and requirement
 * channels the README claims.
 */
import { beforeAll, describe, expect, it } from "vitest"
import { type Consumer, makeConsumer, packageName } from "./support.js"

const assertions = `
/** True when A and B are the same type (not merely assignable). */
export type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false
export const assertType = <T extends true>(_proof?: T): void => undefined
`

/** The README's Effect quick start, with the types it claims. */
const quickstart = `
import { CircuitBreaker, CircuitBreakers, CircuitStore, RedisCircuitStore, type CircuitOpen, type ServiceUnavailable, type CircuitConfig, type RedisClient } from "${packageName}"
import { Effect, Layer, Schedule, type ConfigError } from "effect"
import { assertType, type Equals } from "./assert.js"

class PaymentError { readonly _tag = "PaymentError" }
declare const chargeCard: (cents: number) => Effect.Effect<string, PaymentError>

const protectedCall = Effect.gen(function*() {
  const breaker = yield* CircuitBreaker.make("payments", { failureThreshold: 5, recoveryTimeout: "30 seconds" })
  const charged = chargeCard(1999).pipe(CircuitBreaker.protect(breaker))
  assertType<Equals<typeof charged, Effect.Effect<string, PaymentError | CircuitOpen | ServiceUnavailable>>>()
  // @ts-expect-error protect adds CircuitOpen and ServiceUnavailable: the bare error channel is not it
  assertType<Equals<typeof charged, Effect.Effect<string, PaymentError>>>()
  return yield* charged
})
assertType<Equals<typeof protectedCall, Effect.Effect<string, PaymentError | CircuitOpen | ServiceUnavailable | CircuitConfig.CircuitConfigError, CircuitStore.CircuitStore>>>()

const program = protectedCall.pipe(
  Effect.catchTag("CircuitOpen", (e) => Effect.succeed(\`try again in \${e.retryAfter}\`)),
  Effect.provide(RedisCircuitStore.layerFromEnv())
)
// R is never once the store is provided; our config error and Effect's ConfigError are two names
assertType<Equals<typeof program, Effect.Effect<string, PaymentError | ServiceUnavailable | CircuitConfig.CircuitConfigError | RedisClient.RedisClientError | ConfigError.ConfigError, never>>>()

const Breakers = CircuitBreakers.layer({
  defaults: { failureThreshold: 5 },
  circuits: { payments: { failureThreshold: 3, recoveryTimeout: "10 seconds" } }
}).pipe(Layer.provide(CircuitStore.layerMemory))
const byName = chargeCard(1999).pipe(CircuitBreaker.protect("payments"), Effect.provide(Breakers))
assertType<Equals<Effect.Effect.Context<typeof byName>, never>>()
assertType<Equals<Effect.Effect.Error<typeof byName>, PaymentError | CircuitOpen | ServiceUnavailable | CircuitConfig.CircuitConfigError>>()

export const retried = Effect.gen(function*() {
  const breaker = yield* CircuitBreaker.make("payments")
  return yield* chargeCard(1999).pipe(
    CircuitBreaker.protect(breaker),
    Effect.retry(CircuitBreaker.retrySchedule(Schedule.exponential("100 millis").pipe(Schedule.intersect(Schedule.recurs(5)))))
  )
})
export { program, byName }
`

/** Every other entry point, as the README shows them. */
const entries = `
import { CircuitBreaker, CircuitBreakers, RedisCircuitStore, type CircuitStore, type RedisClient } from "${packageName}"
import { UpstashClient } from "${packageName}/upstash"
import { IORedisClient } from "${packageName}/ioredis"
import { CircuitBreakerHttp } from "${packageName}/http"
import { createCircuitBreaker, CircuitBreakerError, withCircuitBreaker, getCircuitBreaker, type RedisInstance } from "${packageName}/promise"
import { Effect, Layer, Redacted, type ConfigError, type Scope } from "effect"
import { assertType, type Equals } from "./assert.js"

const upstash = RedisCircuitStore.layer().pipe(Layer.provide(UpstashClient.layerConfig()))
assertType<Equals<typeof upstash, Layer.Layer<CircuitStore.CircuitStore, import("${packageName}").CircuitConfig.CircuitConfigError | RedisClient.RedisClientError | ConfigError.ConfigError, never>>>()
export const explicit = UpstashClient.layer({ url: "https://example.upstash.io", token: Redacted.make("t") })
export const tcp = RedisCircuitStore.layer({ prefix: "app" }).pipe(Layer.provide(IORedisClient.layer({ url: "redis://127.0.0.1:6379" })))
export const cluster = IORedisClient.layer({ cluster: [{ host: "10.0.0.1", port: 7000 }] })
const made = IORedisClient.make({})
assertType<Equals<Effect.Effect.Context<typeof made>, Scope.Scope>>()

const { handler, dispose } = CircuitBreakerHttp.toWebHandler(RedisCircuitStore.layerFromEnv())
export const serve: (request: Request) => Promise<Response> = handler
export { dispose }

const breaker = createCircuitBreaker("user-service", { failureThreshold: 5, recoveryTimeout: 30_000 })
export async function load(id: string): Promise<string> {
  try {
    return await breaker.execute(() => Promise.resolve(id), "fetch-user")
  } catch (error) {
    if (error instanceof CircuitBreakerError && error.code === "CIRCUIT_OPEN") {
      const ms: number | undefined = error.retryAfter
      return String(ms)
    }
    throw error
  }
}
export const GET = withCircuitBreaker(async (_request: Request) => new Response("ok"), "api")
declare const someClient: { call(command: string, ...args: Array<string | number>): Promise<unknown> }
export const mine = getCircuitBreaker("search", someClient satisfies RedisInstance)
// @ts-expect-error a breaker takes a config object, not a number
createCircuitBreaker("x", 5)
export const effectful = Effect.succeed(1).pipe(CircuitBreaker.protect("api"), Effect.provide(CircuitBreakers.layer()))
`

/** CommonJS: the require condition's types. */
const cjs = `
import { CircuitBreaker, CircuitStore } from "${packageName}"
import { createCircuitBreaker } from "${packageName}/promise"
import { Effect } from "effect"
export const program = Effect.provide(CircuitBreaker.make("cjs"), CircuitStore.layerMemory)
export const breaker = createCircuitBreaker("cjs")
`

interface Flags {
  readonly name: string
  readonly options: Record<string, unknown>
  readonly files: ReadonlyArray<string>
}

const strictest = { strict: true, noUncheckedIndexedAccess: true, exactOptionalPropertyTypes: true }
const matrix: ReadonlyArray<Flags> = [
  {
    name: "node16-strictest",
    options: { module: "node16", moduleResolution: "node16", target: "ES2022", ...strictest },
    files: ["quickstart.ts", "entries.ts", "cjs.cts"]
  },
  {
    name: "bundler-strictest",
    options: { module: "esnext", moduleResolution: "bundler", target: "ES2022", ...strictest },
    files: ["quickstart.ts", "entries.ts"]
  },
  {
    name: "node16-loose",
    options: { module: "node16", moduleResolution: "node16", target: "ES2022", strict: false },
    files: ["entries.ts", "cjs.cts"]
  },
  // effect's own .d.ts name Intl.LocalesArgument and AsyncIterable: they need lib ES2020 whatever the target
  {
    name: "bundler-es2017-loose",
    options: { module: "esnext", moduleResolution: "bundler", target: "ES2017", lib: ["ES2020", "DOM"], strict: false },
    files: ["entries.ts"]
  }
]

/** The compilers, by the path of their `tsc` in the consumer: TypeScript 5.9, and 7 through an npm alias. */
const compilers = [["node_modules/typescript/bin/tsc", 5], ["node_modules/typescript7/bin/tsc", 7]] as const

describe("TypeScript consumers", () => {
  let consumer: Consumer
  beforeAll(async () => {
    consumer = await makeConsumer("typescript", {
      // ioredis 6, its latest (5.9.3's types are checked by effect-range.test.ts)
      dependencies: { "effect": "3.22.4", "@upstash/redis": "1.39.0", "ioredis": "6", "@effect/platform": "0.97.2" },
      devDependencies: { typescript: "5.9.3", typescript7: "npm:typescript@^7" },
      files: { "assert.ts": assertions, "quickstart.ts": quickstart, "entries.ts": entries, "cjs.cts": cjs }
    })
  })

  it("installs no @types/node (the library's types must not need it)", async () => {
    const { stdout } = await consumer.run("npm", ["ls", "--all", "--parseable"])
    expect(stdout).not.toContain("@types/node")
  })

  it("TypeScript 5.9 and 7 are installed", async () => {
    for (const [tsc, major] of compilers) {
      const { stdout } = await consumer.run("node", [tsc, "--version"])
      expect(stdout).toMatch(new RegExp(`^Version ${major}\\.`))
    }
  })

  for (const [tsc, major] of compilers) {
    for (const flags of matrix) {
      it(`TypeScript ${major}: type-checks with ${flags.name}, skipLibCheck false`, async () => {
        const config = `tsconfig.${flags.name}.json`
        await consumer.write(
          config,
          JSON.stringify({
            compilerOptions: { ...flags.options, noEmit: true, skipLibCheck: false, types: [] },
            files: flags.files
          })
        )
        const result = await consumer.run("node", [tsc, "-p", config], { allowFailure: true })
        expect(result.stdout + result.stderr).toBe("")
        expect(result.code).toBe(0)
      })
    }
  }

  it("the assertions can fail: a wrong claim about the error channel is a compile error (TypeScript 5.9 and 7)", async () => {
    await consumer.write(
      "wrong.ts",
      quickstart.replace(
        "PaymentError | CircuitOpen | ServiceUnavailable>>>()\n  // @ts-expect-error",
        "PaymentError | CircuitOpen>>>()\n  // @ts-expect-error"
      )
    )
    await consumer.write(
      "tsconfig.wrong.json",
      JSON.stringify({
        compilerOptions: { ...matrix[0]!.options, noEmit: true, skipLibCheck: false, types: [] },
        files: ["wrong.ts"]
      })
    )
    for (const [tsc] of compilers) {
      const result = await consumer.run("node", [tsc, "-p", "tsconfig.wrong.json"], { allowFailure: true })
      expect(result.code, tsc).not.toBe(0)
      expect(result.stdout, tsc).toMatch(/wrong\.ts\(\d+,\d+\): error TS2344/)
    }
  })
})
