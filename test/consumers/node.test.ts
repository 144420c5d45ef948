/**
 * Plain Node, as a user without a bundler or TypeScript runs the package, on
 * Node 20, 22 and 24 and on ioredis 5 and 6: every entry point imported from
 * an ES module and required from a CommonJS one, and a breaker that opens on
 * the memory store and on Redis (over TCP through `/ioredis`, over REST
 * through `/upstash`, and chosen from the environment), and the Promise API.
 * A project without the optional clients gets a clear error naming the
 * package to install.
 */
import { readFile } from "node:fs/promises"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest"
import { type Consumer, makeConsumer, packageName, type Servers, startServers } from "./support.js"

/** The Node releases of this run (see globalSetup.ts): the running one, then 22 and 24. */
const nodes = inject("nodes")
/** ioredis 5 (the repository's) and the latest 6, both in the peer range. */
const ioredisSpecs = ["5.9.3", "6"] as const

const entryPoints = ["", "/upstash", "/ioredis", "/http", "/promise"].map((sub) => `${packageName}${sub}`)

/** The program both module systems run; `load` is `import` or `require`. */
const program = (load: "import" | "require") => `
const load = ${load === "import" ? "(id) => import(id)" : "async (id) => require(id)"}
const { Effect, Layer } = await load("effect")
const core = await load("${packageName}")
const { UpstashClient } = await load("${packageName}/upstash")
const { IORedisClient } = await load("${packageName}/ioredis")
const { CircuitBreakerHttp } = await load("${packageName}/http")
const promise = await load("${packageName}/promise")
const { CircuitBreaker, CircuitStore, RedisCircuitStore } = core
const report = { entries: {
  core: Object.keys(core).sort(), upstash: typeof UpstashClient.layer, ioredis: typeof IORedisClient.layer,
  http: typeof CircuitBreakerHttp.toWebHandler, promise: typeof promise.createCircuitBreaker
} }
const name = "consumer-" + Math.random().toString(36).slice(2)
const trip = (store) => Effect.gen(function*() {
  const breaker = yield* CircuitBreaker.make(name, { failureThreshold: 2 })
  const tags = []
  for (let i = 0; i < 3; i++) {
    const exit = yield* Effect.either(Effect.fail("boom").pipe(breaker.protect))
    tags.push(typeof exit.left === "string" ? exit.left : exit.left._tag)
  }
  return { tags, state: yield* breaker.state }
}).pipe(Effect.provide(store), Effect.scoped, Effect.runPromise)
report.memory = await trip(CircuitStore.layerMemory)
const env = process.env
report.tcp = await trip(RedisCircuitStore.layer({ prefix: "tcp" }).pipe(Layer.provide(IORedisClient.layer({ url: env.TEST_REDIS_URL }))))
report.upstash = await trip(RedisCircuitStore.layer({ prefix: "up" }).pipe(Layer.provide(UpstashClient.layer({
  url: env.TEST_UPSTASH_URL, token: (await load("effect")).Redacted.make(env.TEST_UPSTASH_TOKEN)
}))))
env.REDIS_URL = env.TEST_REDIS_URL
report.fromEnvRedis = await trip(RedisCircuitStore.layerFromEnv({ prefix: "env" }))
delete env.REDIS_URL
env.UPSTASH_REDIS_REST_URL = env.TEST_UPSTASH_URL
env.UPSTASH_REDIS_REST_TOKEN = env.TEST_UPSTASH_TOKEN
report.fromEnvUpstash = await trip(RedisCircuitStore.layerFromEnv({ prefix: "envup" }))
// the Promise API on the store the environment names (Upstash here)
const breaker = promise.createCircuitBreaker(name + "-p", { failureThreshold: 1, recoveryTimeout: 60_000 })
await breaker.execute(() => Promise.reject(new Error("down"))).catch(() => undefined)
report.promise = await breaker.execute(() => Promise.resolve(1)).then(() => "ran", (e) => e.code)
await promise.disposeCircuitBreakers()
console.log(JSON.stringify(report))
`

const expectTripped = (report: any) => {
  for (const store of ["memory", "tcp", "upstash", "fromEnvRedis", "fromEnvUpstash"]) {
    expect(report[store], store).toEqual({ tags: ["boom", "boom", "CircuitOpen"], state: "OPEN" })
  }
  expect(report.promise).toBe("CIRCUIT_OPEN")
  expect(report.entries.core).toEqual(
    expect.arrayContaining(["CircuitBreaker", "CircuitStore", "RedisCircuitStore", "RedisClient"])
  )
  expect(report.entries.core).not.toContain("CircuitBreakerHttp")
  expect(report.entries).toMatchObject({
    upstash: "function",
    ioredis: "function",
    http: "function",
    promise: "function"
  })
}

describe("plain Node", () => {
  let servers: Servers
  const projects = new Map<string, Consumer>()
  const full = () => projects.get("6")!
  beforeAll(async () => {
    servers = await startServers()
    for (const ioredis of ioredisSpecs) {
      projects.set(
        ioredis,
        await makeConsumer(`node-ioredis${ioredis[0]}`, {
          dependencies: { "@upstash/redis": "1.39.0", ioredis, "@effect/platform": "0.97.2" },
          files: {
            "esm.mjs": program("import"),
            // top-level await is not CommonJS: the same program inside an async function
            "cjs.cjs": `(async () => {${program("require")}})().catch((e) => { console.error(e); process.exit(1) })`
          }
        })
      )
    }
  })
  afterAll(async () => {
    await servers?.stop()
  })

  const env = () => ({
    TEST_REDIS_URL: servers.redis.url,
    TEST_UPSTASH_URL: servers.bridge.url,
    TEST_UPSTASH_TOKEN: servers.token
  })

  for (const ioredis of ioredisSpecs) {
    it(`ioredis ${ioredis}: the project has ioredis ${ioredis[0]}.x`, async () => {
      const installed = JSON.parse(
        await readFile(join(projects.get(ioredis)!.dir, "node_modules/ioredis/package.json"), "utf8")
      )
      expect(installed.version.split(".")[0]).toBe(ioredis[0])
    })
    for (const node of nodes) {
      it(`Node ${node.version}, ioredis ${ioredis[0]}, ESM: every entry point imports; a breaker opens on memory, TCP, Upstash and from the environment`, async () => {
        const { stdout } = await projects.get(ioredis)!.run(node.bin, ["esm.mjs"], { env: env() })
        expectTripped(JSON.parse(stdout.trim().split("\n").pop()!))
      })

      it(`Node ${node.version}, ioredis ${ioredis[0]}, CommonJS: every entry point requires; the same breakers open`, async () => {
        const { stdout } = await projects.get(ioredis)!.run(node.bin, ["cjs.cjs"], { env: env() })
        expectTripped(JSON.parse(stdout.trim().split("\n").pop()!))
      })
    }
  }

  it("the Node majors run here are the ones package.json's engines names", async () => {
    const engines: string =
      JSON.parse(await readFile(new URL("../../package.json", import.meta.url), "utf8")).engines.node
    const claimed = engines.split("||").map((range) => Number(/^\s*\^(\d+)\s*$/.exec(range)![1]))
    expect(nodes.map((node) => Number(/^v(\d+)/.exec(node.version)![1]))).toEqual(claimed)
  })

  it("require and import resolve to the package's own CJS and ESM builds", async () => {
    const script = entryPoints.map((id) =>
      `console.log(require.resolve(${JSON.stringify(id)}), import.meta.resolve(${JSON.stringify(id)}))`
    ).join("\n")
    await full().write(
      "resolve.mjs",
      `import { createRequire } from "node:module"\nconst require = createRequire(import.meta.url)\n${script}`
    )
    const { stdout } = await full().run("node", ["resolve.mjs"])
    const lines = stdout.trim().split("\n")
    expect(lines).toHaveLength(entryPoints.length)
    for (const line of lines) expect(line).toMatch(/\/dist\/cjs\/src\/\w+\.js file:\/\/.*\/dist\/esm\/src\/\w+\.js$/)
  })

  it("the core alone: effect is the only package installed; the entry points that need a missing peer say which", async () => {
    const core = await makeConsumer("node-core-only", {
      files: {
        "core.mjs": `
import { Effect } from "effect"
import { CircuitBreaker, CircuitStore, RedisCircuitStore } from "${packageName}"
import { createCircuitBreaker } from "${packageName}/promise"
const name = "c"
const state = await Effect.gen(function*() {
  const breaker = yield* CircuitBreaker.make(name, { failureThreshold: 1 })
  yield* Effect.either(Effect.fail("x").pipe(breaker.protect))
  return yield* breaker.state
}).pipe(Effect.provide(CircuitStore.layerMemory), Effect.runPromise)
const fromEnv = await Effect.runPromise(Effect.either(Effect.scoped(Effect.provide(CircuitBreaker.make(name), RedisCircuitStore.layerFromEnv()))))
const promiseSide = await createCircuitBreaker("p").execute(() => Promise.resolve("ran")).catch((e) => e.message)
const missing = {}
for (const sub of ["upstash", "ioredis", "http"]) {
  missing[sub] = await import("${packageName}/" + sub).then(() => "loaded", (e) => e.code)
}
console.log(JSON.stringify({ state, fromEnv: fromEnv._tag === "Left" ? fromEnv.left.message : "built", promiseSide, missing }))
`
      }
    })
    const installed = (await core.run("npm", ["ls", "--all", "--parseable"])).stdout
    expect(installed).not.toMatch(/node_modules\/(ioredis|@upstash|@effect\/platform)/)
    const { stdout } = await core.run("node", ["core.mjs"], { env: { REDIS_URL: servers.redis.url } })
    const report = JSON.parse(stdout.trim().split("\n").pop()!)
    expect(report.state).toBe("OPEN")
    expect(report.fromEnv).toContain(
      "REDIS_URL is set, but the package \"ioredis\" is not installed (or the deployment did not copy it): run `npm install ioredis`"
    )
    expect(report.promiseSide).toContain("npm install ioredis")
    expect(report.missing).toEqual({
      upstash: "ERR_MODULE_NOT_FOUND",
      ioredis: "ERR_MODULE_NOT_FOUND",
      http: "ERR_MODULE_NOT_FOUND"
    })
    const upstash = await core.run("node", ["core.mjs"], {
      env: { UPSTASH_REDIS_REST_URL: servers.bridge.url, UPSTASH_REDIS_REST_TOKEN: servers.token }
    })
    expect(JSON.parse(upstash.stdout.trim().split("\n").pop()!).fromEnv).toContain(
      "UPSTASH_REDIS_REST_URL is set, but the package \"@upstash/redis\" is not installed (or the deployment did not copy it): run `npm install @upstash/redis`"
    )
    // and the secret never shows
    expect(upstash.stdout + upstash.stderr).not.toContain(servers.token)
    // the CLI without its optional peers says what to install
    const cli = await core.run("npx", ["--no-install", "effect-circuit-breaker", "list"], { allowFailure: true })
    expect(cli.code).toBe(2)
    expect(cli.stderr).toContain("npm install -D @effect/cli@^0.77")
  })
})
