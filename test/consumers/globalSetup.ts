/**
 * Packs the library once for the whole consumer matrix and hands the
 * tarball's path to every test file (`inject("tarball")`). The package is
 * staged in a temporary folder outside the repository (its sources, build
 * files and a link to its node_modules) and packed there with `npm pack`,
 * whose `prepack` builds dist/: so a run never writes into the working tree
 * and two runs never race on one dist/.
 */
import { execFileSync } from "node:child_process"
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
  }
}

export default function setup(project: TestProject) {
  const workDir = mkdtempSync(join(tmpdir(), "cb-consumers-"))
  const started = Date.now()
  const root = fileURLToPath(new URL("../..", import.meta.url))
  const stage = join(workDir, "stage")
  mkdirSync(stage)
  for (const path of ["package.json", "tsconfig.json", "tsconfig.build.json", "README.md", "ARCHITECTURE.md", "LICENSE", "src", "lua", "scripts"]) {
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
  return () => {
    if (process.env.KEEP_CONSUMERS === undefined) rmSync(workDir, { recursive: true, force: true })
  }
}
