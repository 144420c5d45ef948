/**
 * The Effect 4 edition (effect4/, major 2), as an Effect 4 user gets it: in a
 * fresh project, `npm i effect` (today's latest 4.x), then the edition's
 * tarball with `ioredis@latest`, with no `ERESOLVE` and one copy of effect;
 * a breaker opens over TCP through the Effect API and through the Promise
 * API on Node 20, 22 and 24, and the CLI (on `effect/cli`) lists it; the same
 * on effect 4.1.0, the lowest the peer range claims; a strict `tsc`
 * (TypeScript's latest, `skipLibCheck: false`, no `@types/node`) accepts the
 * edition README's TypeScript blocks and the root README's Effect 4 quick
 * start; and npm refuses the edition next to effect 3 (forced in, its entry
 * points and CLI say at import that they need effect 4).
 */
import { readFileSync } from "node:fs"
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest"
import {
  type Consumer,
  makeConsumer,
  makeProject,
  npmLineEnv,
  packageName,
  type Servers,
  startServers
} from "./support.js"

const edition = JSON.parse(readFileSync(new URL("../../effect4/package.json", import.meta.url), "utf8"))
const peerRange: string = edition.peerDependencies.effect
const lowest = /^\^(4\.\d+\.\d+)$/.exec(peerRange)?.[1]

/** The Node releases of this run (see globalSetup.ts): the running one, then 22 and 24. */
const nodes = inject("nodes")

/** The ```ts blocks of a markdown text, in order. */
const tsBlocks = (markdown: string): Array<string> => [...markdown.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!)

const editionReadme = readFileSync(new URL("../../effect4/README.md", import.meta.url), "utf8")
const rootReadme = readFileSync(new URL("../../README.md", import.meta.url), "utf8")
/** The root README's Effect 4 quick start: the ts block under its heading. */
const rootQuickStart = tsBlocks(rootReadme.slice(rootReadme.indexOf("Quick start (Effect 4)")))[0]

/** The program of the node-level rows: a breaker trips over TCP through the Effect and Promise APIs. */
const program = `
import { Effect, Layer, Result } from "effect"
import * as core from "${packageName}"
import { IORedisClient } from "${packageName}/ioredis"
import { CircuitBreakerHttp } from "${packageName}/http"
import * as promise from "${packageName}/promise"
const { CircuitBreaker, CircuitStore, RedisCircuitStore } = core
const report = { entries: {
  core: Object.keys(core).sort(), ioredis: typeof IORedisClient.layer,
  http: typeof CircuitBreakerHttp.toWebHandler, promise: typeof promise.createCircuitBreaker
} }
const name = process.env.CIRCUIT_NAME
const trip = (store) => Effect.gen(function*() {
  const breaker = yield* CircuitBreaker.make(name, { failureThreshold: 2 })
  const tags = []
  for (let i = 0; i < 3; i++) {
    const result = yield* Effect.result(Effect.fail("boom").pipe(breaker.protect))
    tags.push(Result.isSuccess(result) ? "ok" : typeof result.failure === "string" ? result.failure : result.failure._tag)
  }
  return { tags, state: yield* breaker.state }
}).pipe(Effect.provide(store), Effect.scoped, Effect.runPromise)
report.memory = await trip(CircuitStore.layerMemory)
report.tcp = await trip(RedisCircuitStore.layer({ prefix: "e4" }).pipe(Layer.provide(IORedisClient.layer({ url: process.env.TEST_REDIS_URL }))))
// the Promise API on the store the environment names (REDIS_URL: ioredis)
process.env.REDIS_URL = process.env.TEST_REDIS_URL
const breaker = promise.createCircuitBreaker(name + "-p", { failureThreshold: 1, recoveryTimeout: 60_000 })
await breaker.execute(() => Promise.reject(new Error("down"))).catch(() => undefined)
report.promise = await breaker.execute(() => Promise.resolve(1)).then(() => "ran", (e) => e.code)
await promise.disposeCircuitBreakers()
console.log(JSON.stringify(report))
`

const expectTripped = (report: any) => {
  for (const store of ["memory", "tcp"]) {
    expect(report[store], store).toEqual({ tags: ["boom", "boom", "CircuitOpen"], state: "OPEN" })
  }
  expect(report.promise).toBe("CIRCUIT_OPEN")
  expect(report.entries.core).toEqual(
    expect.arrayContaining(["CircuitBreaker", "CircuitStore", "RedisCircuitStore", "RedisClient"])
  )
  expect(report.entries).toMatchObject({ ioredis: "function", http: "function", promise: "function" })
}

/** The effect versions `npm ls` finds in a project. */
const effectVersions = async (project: Consumer): Promise<Array<string>> => {
  const { stdout } = await project.run("npm", ["ls", "effect", "--all", "--parseable", "--long"])
  return [...new Set([...stdout.matchAll(/:effect@([\d.]+)/g)].map((m) => m[1]!))]
}

describe("the Effect 4 edition", () => {
  let servers: Servers
  let latest: Consumer
  let installLog = ""
  beforeAll(async () => {
    servers = await startServers()
    // as a user types it: effect first, then the edition with the latest ioredis
    latest = await makeProject("effect4-latest")
    await latest.run("npm", ["i", "effect"], { env: npmLineEnv, timeoutMs: 600_000 })
    const install = await latest.run("npm", ["i", inject("tarballs").effect4, "ioredis@latest"], {
      env: npmLineEnv,
      timeoutMs: 600_000,
      allowFailure: true
    })
    installLog = `exit ${install.code}\n${install.stdout}\n${install.stderr}`
    console.log(`[consumers] effect 4: the edition with ioredis@latest installed in ${install.ms} ms`)
    await latest.write("main.mjs", program)
  })
  afterAll(async () => {
    await servers?.stop()
  })

  const env = (name: string) => ({ TEST_REDIS_URL: servers.redis.url, CIRCUIT_NAME: name })

  it("`npm i effect`, then the tarball with ioredis@latest: no ERESOLVE, one effect 4.x, ioredis's latest", async () => {
    expect(installLog).toMatch(/^exit 0\n/)
    expect(installLog).not.toMatch(/ERESOLVE|peer dep|invalid/i)
    const versions = await effectVersions(latest)
    console.log(`[consumers] effect 4: effect ${versions.join(", ")}`)
    expect(versions).toHaveLength(1)
    expect(versions[0]!.split(".")[0]).toBe("4")
    const ioredis = JSON.parse((await latest.run("npm", ["ls", "ioredis", "--json"])).stdout)
    const latestIoredis = (await latest.run("npm", ["view", "ioredis", "dist-tags.latest"], { env: npmLineEnv }))
      .stdout.trim()
    expect(ioredis.dependencies.ioredis.version).toBe(latestIoredis)
  })

  for (const node of nodes) {
    it(`Node ${node.version}: the entry points import; a breaker opens over TCP (Effect API) and through the Promise API`, async () => {
      const { stdout } = await latest.run(node.bin, ["main.mjs"], { env: env(`node-${node.version}`) })
      expectTripped(JSON.parse(stdout.trim().split("\n").pop()!))
    })
  }

  it("the Node majors run here satisfy the edition's engines", () => {
    const engines: string = edition.engines.node
    for (const node of nodes) {
      const [major, minor] = node.version.slice(1).split(".").map(Number) as [number, number]
      const allowed = engines.split("||").some((range) => {
        const caret = /^\s*\^(\d+)(?:\.(\d+))?\s*$/.exec(range)
        if (caret !== null) return major === Number(caret[1]) && minor >= Number(caret[2] ?? 0)
        const atLeast = /^\s*>=(\d+)\s*$/.exec(range)
        return atLeast !== null && major >= Number(atLeast[1])
      })
      expect(allowed, `${node.version} in ${engines}`).toBe(true)
    }
  })

  it("the CLI (effect/cli, nothing more to install) lists the circuit the breaker opened", async () => {
    const name = "cli-listed"
    await latest.run("node", ["main.mjs"], { env: env(name) })
    const list = await latest.run(
      "npx",
      ["--no-install", "effect-circuit-breaker", "list", "--prefix", "e4", "--json"],
      {
        env: { REDIS_URL: servers.redis.url }
      }
    )
    const circuits = JSON.parse(list.stdout).circuits.map((c: { name: string; state: string }) => [c.name, c.state])
    expect(circuits).toContainEqual([name, "OPEN"])
  })

  it(`effect ${lowest} (the lowest of ${peerRange}): one copy, no ERESOLVE, a breaker opens`, async () => {
    expect(lowest).toMatch(/^4\.\d+\.\d+$/)
    const consumer = await makeConsumer("effect4-lowest", {
      tarball: inject("tarballs").effect4,
      dependencies: { effect: lowest!, ioredis: "latest" },
      files: { "main.mjs": program }
    })
    expect(await effectVersions(consumer)).toEqual([lowest])
    const { stdout } = await consumer.run("node", ["main.mjs"], { env: env("lowest") })
    expectTripped(JSON.parse(stdout.trim().split("\n").pop()!))
  })

  it("TypeScript latest, strict, skipLibCheck false: the edition README's TypeScript blocks and the root README's Effect 4 quick start compile; a wrong one does not", async () => {
    const blocks = tsBlocks(editionReadme)
    expect(blocks.length).toBeGreaterThanOrEqual(3)
    expect(rootQuickStart).toContain(`from "${packageName}"`)
    const files: Record<string, string> = { "root-quickstart.ts": rootQuickStart! }
    for (const [index, block] of blocks.entries()) files[`readme-${index}.ts`] = block
    for (const [path, content] of Object.entries(files)) await latest.write(path, content)
    // the quick start with a wrong option: the check can fail
    await latest.write(
      "wrong.ts",
      blocks[0]!.replace("failureThreshold: 5", "failureThreshold: \"5\"")
    )
    await latest.run("npm", ["i", "-D", "typescript@latest"], { env: npmLineEnv, timeoutMs: 600_000 })
    const { stdout: version } = await latest.run("npx", ["--no-install", "tsc", "--version"])
    console.log(`[consumers] effect 4: TypeScript ${version.trim()}`)
    const latestTypescript = (await latest.run("npm", ["view", "typescript", "dist-tags.latest"], { env: npmLineEnv }))
      .stdout.trim()
    expect(version.trim()).toBe(`Version ${latestTypescript}`)
    const { stdout: installed } = await latest.run("npm", ["ls", "--all", "--parseable"])
    expect(installed).not.toContain("@types/node")
    const compilerOptions = {
      module: "nodenext",
      moduleResolution: "nodenext",
      target: "ES2022",
      strict: true,
      noUncheckedIndexedAccess: true,
      exactOptionalPropertyTypes: true,
      skipLibCheck: false,
      types: [],
      noEmit: true
    }
    await latest.write("tsconfig.json", JSON.stringify({ compilerOptions, files: Object.keys(files) }))
    const checked = await latest.run("npx", ["--no-install", "tsc", "-p", "tsconfig.json"], { allowFailure: true })
    expect(checked.stdout + checked.stderr).toBe("")
    expect(checked.code).toBe(0)
    await latest.write("tsconfig.wrong.json", JSON.stringify({ compilerOptions, files: ["wrong.ts"] }))
    const wrong = await latest.run("npx", ["--no-install", "tsc", "-p", "tsconfig.wrong.json"], { allowFailure: true })
    expect(wrong.code).not.toBe(0)
    expect(wrong.stdout).toMatch(/wrong\.ts\(\d+,\d+\): error TS\d+/)
  })

  let onEffect3: Consumer
  it("`npm i effect@3`, then the tarball: ERESOLVE naming the edition's peer effect ^4", async () => {
    const project = await makeProject("effect4-on-effect3")
    onEffect3 = project
    await project.run("npm", ["i", "effect@3"], { env: npmLineEnv, timeoutMs: 600_000 })
    const refused = await project.run("npm", ["i", inject("tarballs").effect4], {
      env: npmLineEnv,
      timeoutMs: 600_000,
      allowFailure: true
    })
    expect(refused.code).not.toBe(0)
    expect(refused.stderr).toContain("ERESOLVE")
    expect(refused.stderr).toContain(`peer effect@"${peerRange}" from ${packageName}@${edition.version}`)
  })

  // The core and the Promise API import from effect 3's modules only what resolves there (see
  // effect4/src/internal/effect4.ts), so their guard runs and says what to install. `/http` and the
  // CLI are built on effect/http, effect/cli and the platform modules, which effect 3 has not: Node
  // refuses to link them first, with an error naming the missing subpath of effect's package.json.
  it("forced in next to effect 3: the core and the Promise API say at import that they need effect 4; /http and the CLI name effect's missing module", async () => {
    const project = onEffect3
    expect(project).toBeDefined()
    await project.run("npm", ["i", "--force", inject("tarballs").effect4], { env: npmLineEnv, timeoutMs: 600_000 })
    const entries = ["", "/http", "/promise"].map((sub) => `${packageName}${sub}`)
    await project.write(
      "entries.mjs",
      `for (const id of ${
        JSON.stringify(entries)
      }) console.log(JSON.stringify(await import(id).then(() => [id, "loaded"], (e) => [id, e.message.split("\\n")[0]])))`
    )
    const results = (await project.run("node", ["entries.mjs"])).stdout.trim().split("\n").map((line) =>
      JSON.parse(line)
    )
    expect(results.map(([id]: [string]) => id)).toEqual(entries)
    const needsEffect4 = /needs effect 4.*npm install effect@4/
    const missingModule =
      /Package subpath '\.\/[\w/]+' is not defined by "exports" in .*\/node_modules\/effect\/package\.json/
    for (const [id, text] of results) {
      if (id.endsWith("/http")) expect(text, id).toMatch(new RegExp(`${needsEffect4.source}|${missingModule.source}`))
      else expect(text, id).toMatch(needsEffect4)
    }
    const cli = await project.run("npx", ["--no-install", "effect-circuit-breaker", "list"], { allowFailure: true })
    expect(cli.code).not.toBe(0)
    expect(cli.stderr).toMatch(new RegExp(`${needsEffect4.source}|${missingModule.source}`))
  })
})
