/**
 * The Edge path imports no Node built-in and no client it did not ask for:
 * each entry point but `/ioredis`, bundled for a Web/Edge platform (esbuild,
 * `edge-light`/`workerd`/`worker`/`browser` conditions), resolves without a
 * Node built-in, and none of them reaches ioredis. The core, `/upstash` and
 * `/promise` carry no `@effect/platform` either. (The packed tarball in a real
 * Worker is `test/consumers/workerd.test.ts`.)
 */
import { describe, expect, it } from "@effect/vitest"
import { builtinModules } from "node:module"
import { build, type Metafile } from "esbuild"

const nodeBuiltins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)])

const bundle = async (entry: string): Promise<Metafile> => {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    metafile: true,
    format: "esm",
    platform: "browser",
    conditions: ["edge-light", "workerd", "worker", "browser", "import"],
    logLevel: "silent"
  })
  return result.metafile
}

const packagesIn = (metafile: Metafile): Set<string> =>
  new Set(
    Object.keys(metafile.inputs).flatMap((path) => {
      const match = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path)
      return match === null ? [] : [match[1]!]
    })
  )

describe("Edge bundle", () => {
  for (const entry of ["src/index.ts", "src/upstash.ts", "src/promise.ts", "src/http.ts"]) {
    it(`${entry} bundles for the Edge without a Node built-in or ioredis`, { timeout: 60_000 }, async () => {
      const metafile = await bundle(entry)
      const imported = Object.values(metafile.inputs).flatMap((input) => input.imports)
      const builtins = imported.filter((i) => nodeBuiltins.has(i.path) || i.path.startsWith("node:"))
      expect(builtins).toEqual([])
      const packages = packagesIn(metafile)
      expect(packages.has("effect")).toBe(true)
      expect(packages.has("ioredis")).toBe(false)
      expect(packages.has("@upstash/redis")).toBe(entry === "src/upstash.ts")
      expect(packages.has("@effect/platform")).toBe(entry === "src/http.ts")
    })
  }

  it("the check can fail: the ioredis entry point is refused for the Edge", async () => {
    const metafile = await bundle("src/ioredis.ts").catch(() => undefined)
    // esbuild refuses ioredis's node:net for the browser platform, or lists it
    const caught = metafile === undefined || packagesIn(metafile).has("ioredis")
    expect(caught).toBe(true)
  })
})
