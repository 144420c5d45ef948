/**
 * Type-checks every `@example` of the sources of both editions: each ```ts block inside a JSDoc `@example`
 * of an edition's src/**\/*.ts is written as a module of its own into a temporary folder, where
 * `effect-circuit-breaker-redis` and its subpaths resolve to that edition's src/ and every other package
 * resolves from that edition's node_modules (linked into the folder), and the folder is compiled with that
 * edition's tsc (strict). Prints each error at the line of the source file it comes from; exits 1 when an
 * example does not compile.
 *
 * Run with `npm run check:examples` (both editions) or `npm run check:examples -- effect4` (one edition:
 * `effect3` or `effect4`).
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")

/** An edition of the package: the folder holding its package.json, src/ and node_modules/. */
export interface Edition {
  readonly name: string
  readonly dir: string
}

/** The Effect 3 edition (the repository root) and the Effect 4 edition (effect4/). */
export const editions: ReadonlyArray<Edition> = [
  { name: "effect3", dir: root },
  { name: "effect4", dir: path.join(root, "effect4") }
]

/** One ```ts block of an `@example`: its source file, the line of its first code line, and its code. */
export interface Example {
  readonly file: string
  readonly line: number
  readonly code: string
}

const sourceFiles = (dir: string): Array<string> =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(full)
    return entry.name.endsWith(".ts") ? [full] : []
  })

/**
 * The ```ts blocks of the `@example` tags of one file's JSDoc comments (a block belongs to the `@example`
 * it follows, up to the next tag or the end of the comment).
 */
export const extractExamples = (file: string, text: string): Array<Example> => {
  const lines = text.split("\n")
  const examples: Array<Example> = []
  let inComment = false
  let inExample = false
  let block: { line: number; code: Array<string> } | undefined
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!
    if (!inComment) {
      if (/^\s*\/\*\*/.test(line) && !/\*\/\s*$/.test(line)) inComment = true
      continue
    }
    if (/^\s*\*\/\s*$/.test(line)) {
      inComment = inExample = false
      block = undefined
      continue
    }
    const content = line.replace(/^\s*\* ?/, "")
    if (block !== undefined) {
      if (/^```\s*$/.test(content)) {
        examples.push({ file, line: block.line, code: block.code.join("\n") })
        block = undefined
      } else {
        block.code.push(content)
      }
      continue
    }
    if (/^@example\b/.test(content)) inExample = true
    else if (/^@\w/.test(content)) inExample = false
    else if (inExample && /^```(ts|typescript)\s*$/.test(content)) block = { line: i + 2, code: [] }
  }
  return examples
}

/** The first `types` file of a package.json `exports` target (plain, or nested under conditions). */
const typesOf = (target: unknown): string | undefined => {
  if (typeof target !== "object" || target === null) return undefined
  if ("types" in target && typeof target.types === "string") return target.types
  for (const nested of Object.values(target)) {
    const types = typesOf(nested)
    if (types !== undefined) return types
  }
  return undefined
}

/**
 * The `paths` of the examples' tsconfig: each entry point of the edition's package.json `exports`
 * (`"."`, `"./upstash"` etc., whose `types` file is `./dist/<...>/src/<name>.d.ts`) mapped to
 * `<src>/<name>.ts`.
 */
export const entryPointPaths = (
  packageJson: { readonly name: string; readonly exports: Record<string, unknown> },
  src: string
): Record<string, Array<string>> =>
  Object.fromEntries(
    Object.entries(packageJson.exports).flatMap(([subpath, target]) => {
      const types = typesOf(target)
      const match = types === undefined ? null : /\/src\/(.+)\.d\.ts$/.exec(types)
      if (match === null) return []
      const specifier = subpath === "." ? packageJson.name : `${packageJson.name}/${subpath.replace(/^\.\//, "")}`
      return [[specifier, [path.join(src, `${match[1]}.ts`)]]]
    })
  )

/** What tsc said about an edition's examples: its exit status and output, each error at its source line. */
export interface Compiled {
  readonly status: number | null
  readonly stdout: string
  readonly errors: Array<string>
}

/**
 * Compiles `examples` as the edition's users would: each a module of its own in a temporary folder
 * whose node_modules is the edition's, with the package's entry points mapped to the edition's src/,
 * by the edition's tsc (given `tscArgs` too, e.g. `--listFilesOnly`).
 */
export const compileExamples = (
  edition: Edition,
  examples: ReadonlyArray<Example>,
  tscArgs: ReadonlyArray<string> = []
): Compiled => {
  const src = path.join(edition.dir, "src")
  const packageJson = JSON.parse(fs.readFileSync(path.join(edition.dir, "package.json"), "utf8"))
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `check-examples-${edition.name}-`))
  try {
    // the edition's node_modules only: `effect` etc. of the examples are the edition's (tsc follows the link)
    fs.symlinkSync(path.join(edition.dir, "node_modules"), path.join(dir, "node_modules"), "dir")
    const origin = new Map<string, Example>()
    const files = examples.map((example, i) => {
      const name = `example${i}.mts`
      // `export {}`: a block without imports is a module too (top-level await, its own scope)
      fs.writeFileSync(path.join(dir, name), `${example.code}\nexport {}\n`)
      origin.set(name, example)
      return name
    })
    fs.writeFileSync(
      path.join(dir, "tsconfig.json"),
      JSON.stringify(
        {
          compilerOptions: {
            target: "ES2022",
            module: "NodeNext",
            moduleResolution: "NodeNext",
            lib: ["ES2022", "DOM"],
            types: ["node"],
            strict: true,
            exactOptionalPropertyTypes: true,
            skipLibCheck: true,
            noEmit: true,
            paths: entryPointPaths(packageJson, src)
          },
          files
        },
        null,
        2
      )
    )
    const tsc = spawnSync(
      process.execPath,
      [path.join(edition.dir, "node_modules/typescript/lib/tsc.js"), "-p", dir, "--pretty", "false", ...tscArgs],
      { encoding: "utf8" }
    )
    const errors = tsc.stdout.split("\n").filter((line) => line.trim() !== "").map((line) => {
      const match = /^(?:.*[\\/])?(example\d+\.mts)\((\d+),(\d+)\): (.*)$/.exec(line)
      const example = match === null ? undefined : origin.get(match[1]!)
      if (match === null || example === undefined) return line
      return `${path.relative(root, example.file)}:${example.line + Number(match[2]) - 1}:${match[3]} ${match[4]}`
    })
    return { status: tsc.status, stdout: tsc.stdout, errors }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

/** Compiles the examples of one edition's src/, and reports; returns the exit code. */
const checkEdition = (edition: Edition, tscArgs: ReadonlyArray<string>): number => {
  const examples = sourceFiles(path.join(edition.dir, "src")).sort().flatMap((file) =>
    extractExamples(file, fs.readFileSync(file, "utf8"))
  )
  const compiled = compileExamples(edition, examples, tscArgs)
  if (compiled.status === 0) {
    if (compiled.stdout.trim() !== "") console.log(compiled.stdout.trim())
    console.log(`${edition.name}: ${examples.length} examples compile`)
    return 0
  }
  console.error(compiled.errors.join("\n"))
  console.error(`\n${edition.name}: ${examples.length} examples checked; the errors above are in @example blocks`)
  return 1
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const names = process.argv.slice(2).filter((arg) => !arg.startsWith("--"))
  const unknown = names.filter((name) => !editions.some((edition) => edition.name === name))
  if (unknown.length > 0) {
    console.error(`unknown edition ${unknown.join(", ")}: expected ${editions.map((e) => e.name).join(" or ")}`)
    process.exitCode = 2
  } else {
    const selected = names.length === 0 ? editions : editions.filter((edition) => names.includes(edition.name))
    const tscArgs = process.argv.slice(2).filter((arg) => arg.startsWith("--"))
    process.exitCode = selected.map((edition) => checkEdition(edition, tscArgs)).reduce((a, b) => Math.max(a, b), 0)
  }
}
