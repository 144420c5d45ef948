/**
 * The Effect range the package claims (`peerDependencies.effect`): its
 * lowest version and the latest 3.x, each installed by the consumer. One copy
 * of effect in `npm ls effect`, no version-mismatch warning, the types check,
 * and a breaker opens on Redis (TCP and Upstash) and in memory.
 *
 * And effect 4 (`effect`'s `latest`): npm refuses the package next to it
 * (`ERESOLVE`); forced in, every entry point throws at import that it needs
 * effect 3, in ESM and CommonJS.
 */
import { readFileSync } from "node:fs"
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest"
import { makeConsumer, makeProject, npmLineEnv, packageName, type Servers, startServers } from "./support.js"

const peerRange: string = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"))
  .peerDependencies.effect
const lowest = /^\^(3\.\d+\.\d+)$/.exec(peerRange)?.[1]

const program = `
import { Effect, Layer, Redacted } from "effect"
import { CircuitBreaker, CircuitStore, RedisCircuitStore } from "${packageName}"
import { IORedisClient } from "${packageName}/ioredis"
import { UpstashClient } from "${packageName}/upstash"
const trip = (name: string, store: Layer.Layer<CircuitStore.CircuitStore, unknown>) => Effect.gen(function*() {
  const breaker = yield* CircuitBreaker.make(name, { failureThreshold: 2 })
  const seen: Array<string> = []
  for (let i = 0; i < 3; i++) {
    const result = yield* Effect.either(Effect.fail("boom" as const).pipe(breaker.protect))
    seen.push(result._tag === "Left" ? (typeof result.left === "string" ? result.left : result.left._tag) : "ok")
  }
  return { seen, state: yield* breaker.state }
}).pipe(Effect.provide(store), Effect.scoped, Effect.runPromise)
declare const process: { env: Record<string, string | undefined> }
const env = process.env
const name = "range-" + Date.now()
console.log(JSON.stringify({
  memory: await trip(name, CircuitStore.layerMemory),
  tcp: await trip(name, RedisCircuitStore.layer({ prefix: "tcp" }).pipe(Layer.provide(IORedisClient.layer({ url: env.TEST_REDIS_URL! })))),
  upstash: await trip(name, RedisCircuitStore.layer({ prefix: "up" }).pipe(Layer.provide(UpstashClient.layer({ url: env.TEST_UPSTASH_URL!, token: Redacted.make(env.TEST_UPSTASH_TOKEN!) }))))
}))
`

describe("the Effect range", () => {
  let servers: Servers
  beforeAll(async () => {
    servers = await startServers()
  })
  afterAll(async () => {
    await servers?.stop()
  })

  it("the claimed range is a caret range on 3.x", () => {
    expect(lowest).toMatch(/^3\.\d+\.\d+$/)
  })

  for (const [label, spec] of [["lowest", lowest], ["latest 3.x", "3"]] as const) {
    it(`effect ${label} (${spec}): one copy, no mismatch warning, types check, breakers open`, async () => {
      const consumer = await makeConsumer(`effect-${label === "lowest" ? "lowest" : "latest"}`, {
        dependencies: { effect: spec!, "@upstash/redis": "1.39.0", ioredis: "5.9.3" },
        devDependencies: { typescript: "5.9.3" },
        files: {
          "main.mts": program,
          "tsconfig.json": JSON.stringify({
            compilerOptions: {
              module: "node16",
              target: "ES2022",
              strict: true,
              skipLibCheck: false,
              types: [],
              outDir: "out"
            },
            files: ["main.mts"]
          })
        }
      })
      const installed = JSON.parse((await consumer.run("npm", ["ls", "effect", "--all", "--json"])).stdout)
      const versions = new Set<string>()
      const walk = (node: any) => {
        for (const [dep, child] of Object.entries<any>(node.dependencies ?? {})) {
          if (dep === "effect") versions.add(child.version)
          walk(child)
        }
      }
      walk(installed)
      expect(versions.size).toBe(1)
      const version = [...versions][0]!
      if (label === "lowest") expect(version).toBe(lowest)
      else expect(version.startsWith("3.")).toBe(true)
      console.log(`[consumers] effect ${label}: ${version}`)

      await consumer.run("npx", ["tsc", "-p", "."])
      const result = await consumer.run("node", ["out/main.mjs"], {
        env: {
          TEST_REDIS_URL: servers.redis.url,
          TEST_UPSTASH_URL: servers.bridge.url,
          TEST_UPSTASH_TOKEN: servers.token
        }
      })
      expect(result.stderr).not.toMatch(/versioned|Runtime of version/)
      const report = JSON.parse(result.stdout.trim().split("\n").pop()!)
      for (const store of ["memory", "tcp", "upstash"]) {
        expect(report[store], store).toEqual({ seen: ["boom", "boom", "CircuitOpen"], state: "OPEN" })
      }
    })
  }
})

describe("effect 4", () => {
  const message =
    "effect-circuit-breaker-redis needs effect 3, but the installed effect is another major (effect 4?): run `npm install effect@3`, or for effect 4 install the Effect 4 edition: `npm install effect-circuit-breaker-redis@2`"

  it("`npm i effect` (latest, 4.x) then the package: ERESOLVE naming effect; forced in, every entry point says it needs effect 3", async () => {
    const project = await makeProject("effect4")
    await project.run("npm", ["i", "effect"], { env: npmLineEnv })
    const installed =
      JSON.parse((await project.run("npm", ["ls", "effect", "--json"])).stdout).dependencies.effect.version
    console.log(`[consumers] effect 4: effect@latest is ${installed}`)
    expect(installed.split(".")[0]).toBe("4")

    const refused = await project.run("npm", ["i", inject("tarball")], { env: npmLineEnv, allowFailure: true })
    expect(refused.code).not.toBe(0)
    expect(refused.stderr).toContain("ERESOLVE")
    expect(refused.stderr).toMatch(/peer effect@"\^3\.\d+\.\d+" from effect-circuit-breaker-redis/)

    // forced, with the clients of every entry point (@effect/platform 0.97 is for effect 3 too)
    await project.run(
      "npm",
      ["i", "--force", inject("tarball"), "ioredis", "@upstash/redis", "@effect/platform@0.97"],
      { env: npmLineEnv }
    )
    const entries = ["", "/upstash", "/ioredis", "/http", "/promise"].map((sub) => `${packageName}${sub}`)
    await project.write(
      "esm.mjs",
      `for (const id of ${
        JSON.stringify(entries)
      }) console.log(JSON.stringify(await import(id).then(() => [id, "loaded"], (e) => [id, e.code ?? "", e.message.split("\\n")[0]])))`
    )
    await project.write(
      "cjs.cjs",
      `for (const id of ${
        JSON.stringify(entries)
      }) { try { require(id); console.log(JSON.stringify([id, "loaded"])) } catch (e) { console.log(JSON.stringify([id, e.code ?? "", e.message.split("\\n")[0]])) } }`
    )
    for (const file of ["esm.mjs", "cjs.cjs"]) {
      const results = (await project.run("node", [file])).stdout.trim().split("\n").map((line) => JSON.parse(line))
      for (const [id, code, text] of results) {
        if (id.endsWith("/http") && file === "esm.mjs") {
          // @effect/platform 0.97's own imports of effect 3 modules fail to link before any module runs
          expect(code, id).toBe("ERR_MODULE_NOT_FOUND")
          expect(text, id).toMatch(/node_modules\/effect\/.*imported from .*node_modules\/@effect\/platform\//)
        } else {
          expect([id, code], file).toEqual([id, ""])
          expect(text, id).toContain(message)
        }
      }
    }
    // the CLI says the same
    const cli = await project.run("npx", ["--no-install", "effect-circuit-breaker", "list"], { allowFailure: true })
    expect(cli.code).toBe(2)
    expect(cli.stderr).toContain(message)
  })
})
