/**
 * The Edge path imports no Node built-in: the library's entry points bundled
 * for a Web/Edge platform (esbuild, `edge-light`/`worker`/`browser`
 * conditions) must resolve without one. ioredis (TCP) is the one exception,
 * and it must only ever be loaded by a dynamic `import()` when a TCP client
 * is made, so an Edge bundle never evaluates it.
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
    conditions: ["edge-light", "worker", "browser", "import"],
    external: ["ioredis"],
    logLevel: "silent"
  })
  return result.metafile
}

describe("Edge bundle", () => {
  for (const entry of ["src/index.ts", "src/promise.ts"]) {
    it(`${entry} bundles for the Edge without a Node built-in`, { timeout: 60_000 }, async () => {
      const metafile = await bundle(entry)
      const imported = Object.values(metafile.inputs).flatMap((input) => input.imports)
      const builtins = imported.filter((i) => nodeBuiltins.has(i.path) || i.path.startsWith("node:"))
      expect(builtins).toEqual([])
      // ioredis only through import(), never a static import
      const ioredis = imported.filter((i) => i.path === "ioredis")
      expect(ioredis.length).toBeGreaterThan(0)
      expect(ioredis.every((i) => i.kind === "dynamic-import")).toBe(true)
    })
  }

  it("the check can fail: a module with a static Node import is caught", async () => {
    const metafile = await bundle("test/support/redisServer.ts").catch(() => undefined)
    // esbuild refuses node:child_process for the browser platform, or lists it
    const caught = metafile === undefined ||
      Object.values(metafile.inputs).some((input) => input.imports.some((i) => nodeBuiltins.has(i.path)))
    expect(caught).toBe(true)
  })
})
