import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { compileExamples, editions, entryPointPaths, extractExamples } from "../scripts/check-examples.js"

const source = [
  "/**",
  " * A module.",
  " *",
  " * @example",
  " * ```ts",
  " * import { Effect } from \"effect\"",
  " *",
  " * const program = Effect.succeed(1)",
  " * ```",
  " *",
  " * ```ts",
  " * // a second block of the same example",
  " * ```",
  " *",
  " * @since 0.1.0",
  " * ```ts",
  " * // after another tag: not an example",
  " * ```",
  " */",
  "export const a = 1",
  "/** @example inline, no block */",
  "/**",
  " * ```ts",
  " * // a block outside any @example",
  " * ```",
  " */"
].join("\n")

describe("scripts/check-examples", () => {
  it("extracts the ```ts blocks of @example tags, with the line of their first code line", () => {
    expect(extractExamples("a.ts", source)).toEqual([
      { file: "a.ts", line: 6, code: "import { Effect } from \"effect\"\n\nconst program = Effect.succeed(1)" },
      { file: "a.ts", line: 12, code: "// a second block of the same example" }
    ])
  })

  it.each(["src", "effect4/src"])("finds a block under every @example of %s/", (src) => {
    const files = fs.readdirSync(src, { recursive: true, encoding: "utf8" })
      .filter((file) => file.endsWith(".ts"))
      .map((file) => path.join(src, file))
    expect(files.length).toBeGreaterThan(0)
    for (const file of files) {
      const text = fs.readFileSync(file, "utf8")
      const tags = text.split("\n").filter((line) => /^\s*\* @example\s*$/.test(line)).length
      expect(extractExamples(file, text).length, file).toBeGreaterThanOrEqual(tags)
    }
  })

  it("checks both editions, each in its own folder", () => {
    expect(editions.map((edition) => [edition.name, path.relative(process.cwd(), edition.dir)])).toEqual([
      ["effect3", ""],
      ["effect4", "effect4"]
    ])
  })

  it("maps the package's entry points to src/, from plain and conditional exports", () => {
    const packageJson = {
      name: "pkg",
      exports: {
        ".": { types: "./dist/effect4/src/index.d.ts", default: "./dist/effect4/src/index.js" },
        "./upstash": {
          import: { types: "./dist/esm/src/upstash.d.ts", default: "./dist/esm/src/upstash.js" },
          require: { types: "./dist/cjs/src/upstash.d.ts", default: "./dist/cjs/src/upstash.js" }
        },
        "./package.json": "./package.json"
      }
    }
    expect(entryPointPaths(packageJson, "/x/src")).toEqual({
      "pkg": [path.join("/x/src", "index.ts")],
      "pkg/upstash": [path.join("/x/src", "upstash.ts")]
    })
  })

  it.each(["", "effect4"])("maps every entry point of the edition in '%s' to an existing source", (dir) => {
    const packageJson = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"))
    const paths = entryPointPaths(packageJson, path.join(dir, "src"))
    expect(Object.keys(paths).sort()).toEqual([
      "effect-circuit-breaker-redis",
      "effect-circuit-breaker-redis/http",
      "effect-circuit-breaker-redis/ioredis",
      "effect-circuit-breaker-redis/promise",
      "effect-circuit-breaker-redis/upstash"
    ])
    for (const [file] of Object.values(paths)) expect(fs.existsSync(file!), file).toBe(true)
  })

  it.each(editions.map((edition) => [edition.name, edition] as const))(
    "compiles the %s examples against that edition's src/ and node_modules only",
    (_, edition) => {
      const code = [
        "import { CircuitBreaker } from \"effect-circuit-breaker-redis\"",
        "import { Effect } from \"effect\"",
        "export const program = Effect.flatMap(CircuitBreaker.make(\"a\"), (breaker) => breaker.state)"
      ].join("\n")
      const compiled = compileExamples(edition, [{ file: "a.ts", line: 1, code }], ["--listFilesOnly"])
      expect(compiled.status, compiled.stdout).toBe(0)
      const files = compiled.stdout.split("\n").filter((line) => line.trim() !== "").map((file) => path.resolve(file))
      const own = (folder: string) => path.join(edition.dir, folder) + path.sep
      expect(files).toContain(path.join(edition.dir, "src", "CircuitBreaker.ts"))
      expect(files.some((file) => file.startsWith(own("node_modules/effect")))).toBe(true)
      // no package of another edition's node_modules (nor src/)
      const others = editions.filter((other) => other !== edition)
      for (const other of others) {
        const foreign = files.filter((file) =>
          (file.includes(`${path.sep}node_modules${path.sep}`) && !file.startsWith(own("node_modules"))) ||
          (file.startsWith(path.join(other.dir, "src") + path.sep))
        )
        expect(foreign).toEqual([])
      }
    },
    60_000
  )

  it("reports an error at the line of the source file the example comes from", () => {
    const code = "import { Effect } from \"effect\"\n\nexport const n: number = Effect.succeed(1)"
    const compiled = compileExamples(editions[1]!, [{ file: path.resolve("effect4/src/a.ts"), line: 10, code }])
    expect(compiled.status).not.toBe(0)
    expect(compiled.errors).toEqual([expect.stringMatching(/^effect4[\\/]src[\\/]a\.ts:12:14 error TS2322/)])
  }, 60_000)
})
