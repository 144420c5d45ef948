/**
 * The READMEs' install lines, run as written in fresh projects against
 * today's registry (the package's name swapped for the packed tarball of its
 * edition: `effect-circuit-breaker-redis@2` is the Effect 4 edition's): each
 * `npm i …` of the root README's Install section installs without a peer
 * conflict and the entry points it names import; the CLI's lines (`npm
 * install -D …` in a project, then `npx effect-circuit-breaker`, and the
 * `npx -p …` line with no project) run `--help` and a command against a real
 * redis-server. The Effect 4 edition's lines, from its README
 * (effect4/README.md) and the root README's Effect 4 quick start, install
 * with one effect 4.x and no peer conflict, and their entry points import. A
 * line that stops working on npm fails here.
 */
import { readFileSync } from "node:fs"
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest"
import { type Consumer, makeProject, npmLineEnv, packageName, type Servers, startServers } from "./support.js"

const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8")
const editionReadme = readFileSync(new URL("../../effect4/README.md", import.meta.url), "utf8")

/** The `npm i`, `npm install` and `npx` lines of a README's sh blocks, comments dropped. */
const linesOf = (markdown: string): Array<string> =>
  [...markdown.matchAll(/```sh\n([\s\S]*?)```/g)]
    .flatMap((block) => block[1]!.split("\n"))
    .map((line) => line.replace(/\s+#.*$/, "").trim())
    .filter((line) => /^(npm (i|install) |npx )/.test(line))

/** The package's name as the Effect 4 edition's install lines spell it. */
const edition4 = `${packageName}@2`
const isEdition4 = (line: string) => line.split(/\s+/).includes(edition4)

const lines = linesOf(readme).filter((line) => !isEdition4(line))
/** The Effect 4 edition's install lines, from the root README (its Effect 4 quick start) and the edition's. */
const rootEdition4 = linesOf(readme).filter(isEdition4)
const edition4Installs = [...new Set([...rootEdition4, ...linesOf(editionReadme)])]

/** The package's name as the Effect 3 edition's install lines spell it (the package's `latest` is the Effect 4 edition). */
const edition3 = `${packageName}@0`

const installs = lines.filter((line) => line.startsWith(`npm i ${edition3} `))
const cliInstall = lines.find((line) => line.startsWith("npm install -D @effect/cli@"))
const cliHelp = lines.find((line) => line === "npx effect-circuit-breaker --help")
const npxLine = lines.find((line) => line.startsWith(`npx -p ${edition3} `))

/** The line's words, the package's name replaced by its edition's tarball. */
const argv = (line: string): Array<string> =>
  line.split(/\s+/).map((word) =>
    word === edition3 ? inject("tarball") : word === edition4 ? inject("tarballs").effect4 : word
  )

/** Runs a README line as written in `project`. */
const runLine = (project: Consumer, line: string, env: Record<string, string> = {}, allowFailure = false) => {
  const [command, ...args] = argv(line)
  return project.run(command!, args, { env: { ...npmLineEnv, ...env }, timeoutMs: 600_000, allowFailure })
}

/** The entry points a line's packages allow (the Effect 4 edition's `/http` needs only effect). */
const entriesFor = (line: string): Array<string> => [
  packageName,
  `${packageName}/promise`,
  ...(line.includes(" ioredis") ? [`${packageName}/ioredis`] : []),
  ...(line.includes(" @upstash/redis") ? [`${packageName}/upstash`] : []),
  ...(line.includes(" @effect/platform") || isEdition4(line) ? [`${packageName}/http`] : [])
]

/** The effect majors `npm ls` finds in a project. */
const effectMajors = async (project: Consumer): Promise<Array<string>> => {
  const { stdout } = await project.run("npm", ["ls", "effect", "--all", "--parseable", "--long"])
  const versions = new Set([...stdout.matchAll(/:effect@([\d.]+)/g)].map((m) => m[1]))
  return [...versions].map((v) => v!.split(".")[0]!)
}

/** Imports each entry point in the project; resolves with `id true` lines. */
const importEntries = async (project: Consumer, entries: ReadonlyArray<string>): Promise<Array<string>> => {
  await project.write(
    "entries.mjs",
    `for (const id of ${JSON.stringify(entries)}) console.log(id, Object.keys(await import(id)).length > 0)`
  )
  return (await project.run("node", ["entries.mjs"])).stdout.trim().split("\n")
}

describe("the README's install lines", () => {
  let servers: Servers
  const projects = new Map<string, Consumer>()
  beforeAll(async () => {
    servers = await startServers()
  })
  afterAll(async () => {
    await servers?.stop()
  })

  it("the README has the four install lines, the CLI's install line, its npx line", () => {
    expect(installs).toHaveLength(4)
    for (const line of installs) expect(line).toContain(" effect@3")
    expect(cliInstall).toBe("npm install -D @effect/cli@^0.77")
    expect(cliHelp).toBeDefined()
    expect(npxLine).toBeDefined()
  })

  for (const [index, line] of installs.entries()) {
    it(`\`${line}\`: installs, one effect 3.x, its entry points import`, async () => {
      const project = await makeProject(`readme-${index}`)
      const install = await runLine(project, line)
      console.log(`[consumers] readme: \`${line}\` in ${install.ms} ms`)
      expect(install.stderr).not.toMatch(/ERESOLVE|peer dep/i)
      expect(await effectMajors(project)).toEqual(["3"])
      const entries = entriesFor(line)
      expect(await importEntries(project, entries)).toEqual(entries.map((id) => `${id} true`))
      if (line.includes(" ioredis")) {
        const ioredis = JSON.parse((await project.run("npm", ["ls", "ioredis", "--json"])).stdout)
        console.log(`[consumers] readme: ioredis ${ioredis.dependencies.ioredis.version}`)
        projects.set("ioredis", project)
      }
    })
  }

  it("the Effect 4 edition's install lines: the root README's Effect 4 quick start has one, the edition's README names ioredis and Upstash", () => {
    expect(rootEdition4).toEqual([`npm i effect ${edition4} ioredis`])
    expect(edition4Installs).toEqual(expect.arrayContaining(rootEdition4))
    expect(edition4Installs.some((line) => line.includes(" @upstash/redis"))).toBe(true)
    for (const line of edition4Installs) expect(line).toMatch(/^npm i effect /)
  })

  for (const [index, line] of edition4Installs.entries()) {
    it(`\`${line}\` (the Effect 4 edition): installs, one effect 4.x, its entry points import`, async () => {
      const project = await makeProject(`readme-effect4-${index}`)
      const install = await runLine(project, line)
      console.log(`[consumers] readme: \`${line}\` in ${install.ms} ms`)
      expect(install.stderr).not.toMatch(/ERESOLVE|peer dep/i)
      expect(await effectMajors(project)).toEqual(["4"])
      const entries = entriesFor(line)
      expect(await importEntries(project, entries)).toEqual(entries.map((id) => `${id} true`))
    })
  }

  it("the CLI's lines in the ioredis project (ioredis 6): without its peer it says what to run; install it, --help, list a circuit a breaker opened", async () => {
    const project = projects.get("ioredis")!
    expect(project).toBeDefined()
    // a breaker of the project opens a circuit in Redis
    await project.write(
      "open.mjs",
      `import { Effect, Layer } from "effect"
import { CircuitBreaker, RedisCircuitStore } from "${packageName}"
import { IORedisClient } from "${packageName}/ioredis"
const store = RedisCircuitStore.layer({ prefix: "readme" }).pipe(Layer.provide(IORedisClient.layer({ url: process.env.REDIS_URL })))
await Effect.gen(function*() {
  const breaker = yield* CircuitBreaker.make("payments", { failureThreshold: 1 })
  yield* Effect.either(Effect.fail("down").pipe(breaker.protect))
}).pipe(Effect.provide(store), Effect.scoped, Effect.runPromise)
`
    )
    await project.run("node", ["open.mjs"], { env: { REDIS_URL: servers.redis.url } })
    const before = await runLine(project, cliHelp!, {}, true)
    expect(before.code).toBe(2)
    expect(before.stderr).toContain(cliInstall)
    const install = await runLine(project, cliInstall!)
    expect(install.stderr).not.toMatch(/ERESOLVE/)
    const help = await runLine(project, cliHelp!)
    expect(help.stdout).toContain("list")
    const list = await runLine(project, "npx effect-circuit-breaker list --prefix readme --json", {
      REDIS_URL: servers.redis.url
    })
    expect(JSON.parse(list.stdout).circuits.map((c: { name: string; state: string }) => [c.name, c.state])).toEqual([[
      "payments",
      "OPEN"
    ]])
  })

  it("the npx line, with no project: --help, then list on Redis; npx of the package alone says what to run", async () => {
    const empty = await makeProject("readme-npx", { bare: true })
    const help = await runLine(empty, npxLine!)
    expect(help.stdout).toContain("list")
    const list = await runLine(empty, npxLine!.replace(/ --help$/, " list --prefix readme-npx --json"), {
      REDIS_URL: servers.redis.url
    })
    expect(JSON.parse(list.stdout)).toMatchObject({ circuits: [], complete: true, unreadable: 0 })
    const alone = await runLine(empty, `npx -p ${edition3} effect-circuit-breaker list`, {}, true)
    expect(alone.code).toBe(2)
    expect(alone.stderr).toContain(npxLine)
  })
})
