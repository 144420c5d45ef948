/**
 * Type-checks every `@example` of the sources: each ```ts block inside a JSDoc `@example` of src/**\/*.ts
 * is written as a module of its own into a temporary folder, where `effect-circuit-breaker-redis` and its
 * subpaths resolve to src/, and the folder is compiled with tsc (strict). Prints each error at the line of
 * the source file it comes from; exits 1 when an example does not compile.
 *
 * Run with `npm run check:examples`.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const src = path.join(root, "src")

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

const entryPoints: Record<string, string> = {
  "effect-circuit-breaker-redis": "index.ts",
  "effect-circuit-breaker-redis/upstash": "upstash.ts",
  "effect-circuit-breaker-redis/ioredis": "ioredis.ts",
  "effect-circuit-breaker-redis/http": "http.ts",
  "effect-circuit-breaker-redis/promise": "promise.ts"
}

const main = () => {
  const examples = sourceFiles(src).sort().flatMap((file) => extractExamples(file, fs.readFileSync(file, "utf8")))
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "check-examples-"))
  try {
    fs.symlinkSync(path.join(root, "node_modules"), path.join(dir, "node_modules"), "dir")
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
            paths: Object.fromEntries(
              Object.entries(entryPoints).map(([specifier, file]) => [specifier, [path.join(src, file)]])
            )
          },
          files
        },
        null,
        2
      )
    )
    const tsc = spawnSync(
      process.execPath,
      [path.join(root, "node_modules/typescript/lib/tsc.js"), "-p", dir, "--pretty", "false"],
      { encoding: "utf8" }
    )
    const errors = tsc.stdout.split("\n").filter((line) => line.trim() !== "").map((line) => {
      const match = /^(?:.*[\\/])?(example\d+\.mts)\((\d+),(\d+)\): (.*)$/.exec(line)
      const example = match === null ? undefined : origin.get(match[1]!)
      if (match === null || example === undefined) return line
      return `${path.relative(root, example.file)}:${example.line + Number(match[2]) - 1}:${match[3]} ${match[4]}`
    })
    if (tsc.status === 0) {
      console.log(`${examples.length} examples compile`)
      return 0
    }
    console.error(errors.join("\n"))
    console.error(`\n${examples.length} examples checked; the errors above are in @example blocks`)
    return 1
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main()
}
