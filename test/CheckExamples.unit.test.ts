import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { extractExamples } from "../scripts/check-examples.js"

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

  it("finds a block under every @example of src/", () => {
    const files = fs.readdirSync("src", { recursive: true, encoding: "utf8" })
      .filter((file) => file.endsWith(".ts"))
      .map((file) => path.join("src", file))
    for (const file of files) {
      const text = fs.readFileSync(file, "utf8")
      const tags = text.split("\n").filter((line) => /^\s*\* @example\s*$/.test(line)).length
      expect(extractExamples(file, text).length, file).toBeGreaterThanOrEqual(tags)
    }
  })
})
