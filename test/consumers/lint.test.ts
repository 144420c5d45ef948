/**
 * The tarballs as the registry tools see them: `publint --strict` and
 * `@arethetypeswrong/cli` report no problem. attw runs with the `node16`
 * profile (node16 CJS, node16 ESM and bundler resolution): the `node10`
 * resolution of TypeScript's old `moduleResolution: "node"` cannot see
 * `exports` subpaths, which this package's entry points are; the root entry
 * still resolves there through `main`/`types`. The Effect 4 edition is ES
 * modules only: attw runs on it with the `esm-only` profile (node16 ESM and
 * bundler resolution).
 */
import { inject } from "vitest"
import { join } from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { type Consumer, makeConsumer, packageName } from "./support.js"

describe("package linters", () => {
  let tools: Consumer
  beforeAll(async () => {
    tools = await makeConsumer("lint", {
      devDependencies: { publint: "0.3.25", "@arethetypeswrong/cli": "0.18.5" }
    })
  })

  it("publint --strict: no error, warning or suggestion", async () => {
    const result = await tools.run("npx", ["publint", "--strict", join("node_modules", packageName)], {
      allowFailure: true
    })
    console.log(`[consumers] publint: ${result.stdout.trim().split("\n").slice(-1)[0]}`)
    expect(result.code).toBe(0)
    expect(result.stdout).not.toMatch(/error|warning|suggestion/i)
  })

  it("the Effect 4 edition: publint --strict finds nothing; attw (esm-only profile): every entry point resolves with types", async () => {
    await tools.run("mkdir", ["-p", "effect4"])
    await tools.run("tar", ["xzf", inject("tarballs").effect4, "-C", "effect4"])
    const lint = await tools.run("npx", ["publint", "--strict", join("effect4", "package")], { allowFailure: true })
    console.log(`[consumers] publint (Effect 4 edition): ${lint.stdout.trim().split("\n").slice(-1)[0]}`)
    expect(lint.stdout).not.toMatch(/error|warning|suggestion/i)
    expect(lint.code).toBe(0)
    const attw = await tools.run(
      "npx",
      ["attw", inject("tarballs").effect4, "--profile", "esm-only", "--format", "json"],
      { allowFailure: true }
    )
    const report = JSON.parse(attw.stdout)
    const problems = (report.analysis?.problems ?? []).filter((p: any) =>
      p.resolutionKind !== "node10" && p.resolutionKind !== "node16-cjs"
    )
    expect(problems).toEqual([])
    expect(Object.keys(report.analysis.entrypoints).sort()).toEqual(
      [".", "./http", "./ioredis", "./package.json", "./promise", "./upstash"].sort()
    )
    expect(attw.code).toBe(0)
  })

  it("attw (node16 profile): every entry point resolves with types of its own format", async () => {
    const result = await tools.run("npx", ["attw", inject("tarball"), "--profile", "node16", "--format", "json"], {
      allowFailure: true
    })
    const report = JSON.parse(result.stdout)
    // the JSON lists every resolution's problems; the profile leaves node10 out of the verdict
    const problems = (report.analysis?.problems ?? []).filter((p: any) => p.resolutionKind !== "node10")
    expect(problems).toEqual([])
    const entries = Object.keys(report.analysis.entrypoints)
    expect(entries.sort()).toEqual([".", "./http", "./ioredis", "./package.json", "./promise", "./upstash"].sort())
    console.log(`[consumers] attw: ${entries.length} entry points, no problem`)
    expect(result.code).toBe(0)
  })
})
