/**
 * With effect 3 in place of effect 4, the entry point fails at import with the message that the
 * edition needs effect 4 (and where the effect 3 edition is): the entry is bundled (esbuild)
 * with every `effect` import resolved from the repository root, where effect 3 is installed, so
 * the bundle fails to build if a module of `src/` does not exist in effect 3, and is then
 * imported. With effect 4 the same bundle loads.
 */
import { describe, expect, it } from "@effect/vitest"
import { build, type Plugin } from "esbuild"
import { execFile } from "node:child_process"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { afterAll } from "vitest"

const root = fileURLToPath(new URL("../..", import.meta.url))
const edition = fileURLToPath(new URL("..", import.meta.url))
const cache = join(edition, "node_modules", ".cache")
mkdirSync(cache, { recursive: true })
const dir = mkdtempSync(join(cache, "cb-guard-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Imports a bundle in a Node process of its own: "loaded", or the error's message. */
const load = (file: string): Promise<string> =>
  new Promise((resolve) => {
    const script = `import(${
      JSON.stringify(pathToFileURL(file).href)
    }).then(() => console.log("loaded"), (e) => console.log(e.message))`
    execFile(process.execPath, ["--input-type=module", "-e", script], { timeout: 30_000 }, (_error, stdout, stderr) =>
      resolve((stdout + stderr).trim()))
  })

/** Resolves `effect` and `effect/*` from the repository root (effect 3). */
const effect3: Plugin = {
  name: "effect3",
  setup(build) {
    build.onResolve(
      { filter: /^effect(\/|$)/ },
      (args) =>
        args.pluginData === "effect3" ? undefined : build.resolve(args.path, {
          kind: args.kind,
          resolveDir: root,
          pluginData: "effect3"
        })
    )
  }
}

const bundle = async (entry: string, effect: 3 | 4): Promise<string> => {
  const outfile = join(dir, `${entry.replace(/\W/g, "_")}-effect${effect}.mjs`)
  await build({
    entryPoints: [entry.startsWith("/") ? entry : join(edition, entry)],
    outfile,
    bundle: true,
    format: "esm",
    platform: "node",
    // the clients stay outside
    external: ["ioredis", "@upstash/redis", "redis"],
    plugins: effect === 3 ? [effect3] : [],
    // package.json's `sideEffects` names the guard's compiled file, not its source
    ignoreAnnotations: true,
    logLevel: "silent"
  })
  return outfile
}

describe("the effect 4 guard", () => {
  it("src/index.ts: every effect import resolves under effect 3, and the import throws that effect 4 is needed", {
    timeout: 60_000
  }, async () => {
    expect(await load(await bundle("src/index.ts", 3))).toBe(
      "effect-circuit-breaker-redis 2.x needs effect 4, but the installed effect is another major (effect 3?): " +
        "run `npm install effect@4`, or for effect 3 use the 0.x/1.x edition of this package " +
        "(`npm install effect-circuit-breaker-redis@\"<2\"`)."
    )
  })

  it("with effect 4 the same entry loads", { timeout: 60_000 }, async () => {
    expect(await load(await bundle("src/index.ts", 4))).toBe("loaded")
  })

  for (const entry of ["src/promise.ts", "src/ioredis.ts", "src/upstash.ts"]) {
    it(`${entry}: under effect 3 the import throws that effect 4 is needed; under effect 4 it loads`, {
      timeout: 60_000
    }, async () => {
      expect(await load(await bundle(entry, 3))).toContain("needs effect 4, but the installed effect is another major")
      expect(await load(await bundle(entry, 4))).toBe("loaded")
    })
  }

  it("with effect 4 the guard and the core modules load; with effect 3 they throw", { timeout: 60_000 }, async () => {
    const entry = join(dir, "core.ts")
    const modules = ["internal/effect4", "Backoff", "CircuitBreaker", "CircuitBreakerError", "CircuitBreakers"]
      .concat(["CircuitBreakerMetrics", "CircuitConfig", "CircuitState", "CircuitStore"])
    writeFileSync(entry, modules.map((m) => `import ${JSON.stringify(join(edition, "src", `${m}.ts`))}\n`).join(""))
    expect(await load(await bundle(entry, 4))).toBe("loaded")
    expect(await load(await bundle(entry, 3))).toContain("needs effect 4")
  })
})
