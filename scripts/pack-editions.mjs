// `npm run pack:editions -- DIR [--json]`: packs both editions of the package, one tarball each,
// into DIR, and prints their paths (one a line; with --json, `{ "effect3": …, "effect4": … }`).
//
// The repository is staged in a temporary folder first (the sources and build files of both
// editions, and links to their node_modules) and each edition is packed there with
// `npm pack --json`, whose `prepack` builds its dist/: so packing never writes into the working
// tree, and two runs never race on one dist/. The Effect 3 edition is the repository's root, the
// Effect 4 edition effect4/ (its build compiles ../shared too: see effect4/scripts/build.mjs).
import { execFileSync } from "node:child_process"
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))

/** What each edition's build and `files` need, by path from the repository's root. */
const staged = {
  effect3: [
    "package.json",
    "tsconfig.json",
    "tsconfig.build.json",
    "README.md",
    "CHANGELOG.md",
    "ARCHITECTURE.md",
    "LICENSE",
    "docs",
    "examples/ops",
    "src",
    "shared",
    "lua",
    "scripts"
  ],
  effect4: [
    "effect4/package.json",
    "effect4/tsconfig.json",
    "effect4/tsconfig.build.json",
    "effect4/README.md",
    "effect4/CHANGELOG.md",
    "effect4/src",
    "effect4/scripts"
  ]
}
/** Each edition's folder in the repository. */
const folders = { effect3: ".", effect4: "effect4" }

const args = process.argv.slice(2)
const json = args.includes("--json")
const positional = args.filter((arg) => !arg.startsWith("--"))
if (positional.length !== 1) {
  console.error("usage: npm run pack:editions -- DIR [--json]")
  process.exit(2)
}
const destination = resolve(process.env.INIT_CWD ?? process.cwd(), positional[0])
mkdirSync(destination, { recursive: true })

/** This process's environment without the variables of the `npm run` that started it. */
const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("npm_")))

const stage = mkdtempSync(join(tmpdir(), "cb-pack-"))
try {
  for (const path of [...staged.effect3, ...staged.effect4]) {
    cpSync(join(root, path), join(stage, path), { recursive: true })
  }
  const tarballs = {}
  for (const [edition, folder] of Object.entries(folders)) {
    const modules = join(root, folder, "node_modules")
    if (!existsSync(modules)) {
      throw new Error(`${modules} is missing: run \`npm ci${folder === "." ? "" : ` --prefix ${folder}`}\` first`)
    }
    symlinkSync(modules, join(stage, folder, "node_modules"), "dir")
    const started = Date.now()
    // the build's own output goes to stderr; stdout is npm's JSON report
    const stdout = execFileSync("npm", ["pack", "--json", "--pack-destination", destination], {
      cwd: join(stage, folder),
      env,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
      maxBuffer: 64 * 1024 * 1024
    })
    const report = JSON.parse(stdout.slice(stdout.indexOf("[")))
    tarballs[edition] = join(destination, report[0].filename)
    console.error(
      `[pack:editions] ${edition}: ${report[0].id}, ${report[0].entryCount} files, ${
        (report[0].size / 1024).toFixed(0)
      } kB, in ${Date.now() - started} ms`
    )
  }
  console.log(json ? JSON.stringify(tarballs) : Object.values(tarballs).join("\n"))
} finally {
  rmSync(stage, { recursive: true, force: true })
}
