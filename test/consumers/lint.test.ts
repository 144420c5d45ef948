/**
 * The tarball as the registry tools see it: `publint --strict` and
 * `@arethetypeswrong/cli` report no problem. attw runs with the `node16`
 * profile (node16 CJS, node16 ESM and bundler resolution): the `node10`
 * resolution of TypeScript's old `moduleResolution: "node"` cannot see
 * `exports` subpaths, which this package's entry points are; the root entry
 * still resolves there through `main`/`types`.
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
