/**
 * With effect 4 in place of effect 3, every entry point fails at import with
 * the message that the package needs effect 3: each is bundled (esbuild)
 * with `effect` resolved to the devDependency `effect4` (an npm alias), which
 * fails to build if a module or a named import of `src/` does not exist in
 * effect 4, and the bundle is then imported. With effect 3 the same bundles
 * load. (The packed tarball with effect 4 installed, in ESM and CommonJS:
 * test/consumers/effect-range.test.ts.)
 */
import { describe, expect, it } from "@effect/vitest"
import { build } from "esbuild"
import { execFile } from "node:child_process"
import { mkdirSync, mkdtempSync, rmSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { afterAll } from "vitest"

// inside the repository, so that the clients left outside the bundles resolve from its node_modules
const cache = fileURLToPath(new URL("../node_modules/.cache", import.meta.url))
mkdirSync(cache, { recursive: true })
const dir = mkdtempSync(join(cache, "cb-effect4-"))
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

const bundle = async (entry: string, effect: "effect" | "effect4"): Promise<string> => {
  const outfile = join(dir, `${entry.replace(/\W/g, "_")}-${effect}.mjs`)
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: "esm",
    platform: "node",
    // the clients stay outside; effect is bundled from the one asked for
    external: ["ioredis", "@upstash/redis", "@effect/platform", "@effect/platform/*"],
    alias: effect === "effect4" ? { effect: "effect4" } : {},
    logLevel: "silent"
  })
  return outfile
}

describe("effect 4 installed", () => {
  for (const entry of ["src/index.ts", "src/upstash.ts", "src/ioredis.ts", "src/http.ts", "src/promise.ts"]) {
    it(`${entry}: every effect import resolves under effect 4, and the import throws that effect 3 is needed`, {
      timeout: 60_000
    }, async () => {
      expect(await load(await bundle(entry, "effect4"))).toContain(
        "effect-circuit-breaker-redis needs effect 3, but the installed effect is another major (effect 4?): run `npm install effect@3`, or for effect 4 install the Effect 4 edition: `npm install effect-circuit-breaker-redis@2`"
      )
    })
  }

  it("with effect 3 the same bundles load", { timeout: 60_000 }, async () => {
    for (const entry of ["src/index.ts", "src/ioredis.ts", "src/promise.ts"]) {
      expect(await load(await bundle(entry, "effect")), entry).toBe("loaded")
    }
  })
})
