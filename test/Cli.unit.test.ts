/**
 * The CLI's pure parts: `printable` (what reaches the terminal), the `--match` glob, and the
 * install line of its peers. The commands themselves run as child processes in Cli.test.ts.
 */
import { describe, expect, it } from "@effect/vitest"
import { readFileSync } from "node:fs"
import { readFile } from "node:fs/promises"
import { globMatcher, printable } from "../shared/cli/format.js"
import * as install from "../shared/cli/install.js"

describe("hostile names and values never reach the terminal", () => {
  it("printable escapes C0, DEL, C1 and the invisible format characters; keeps the rest", () => {
    expect(printable("a\u001b]0;t\u0007b\u001b[2K\r\u009b\u007f\u202e\u200b\u2066\ufeff")).toBe(
      "a\\u001b]0;t\\u0007b\\u001b[2K\\u000d\\u009b\\u007f\\u202e\\u200b\\u2066\\ufeff"
    )
    expect(printable("payments-é-支付-🙂")).toBe("payments-é-支付-🙂")
    // in JSON text, the escape is JSON's own
    const value = { name: "x\u009by\u202ez\\\u009b" }
    expect(JSON.parse(printable(JSON.stringify(value)))).toEqual(value)
  })
})

describe("--match", () => {
  it("a glob: * for any characters, every other character for itself", () => {
    const cases: ReadonlyArray<readonly [string, string, boolean]> = [
      ["pay*", "payments", true],
      ["pay*", "pay", true],
      ["pay*", "epay", false],
      ["*ments", "payments", true],
      ["p*y*s", "payments", true],
      ["p*y*s", "paymentx", false],
      ["a*a", "a", false],
      ["a*a", "aa", true],
      ["*", "", true],
      ["", "", true],
      ["", "x", false],
      ["tenant-?", "tenant-1", false],
      ["tenant-?", "tenant-?", true],
      ["[ab]*", "[ab]c", true],
      ["[ab]*", "a", false],
      ["a.b*", "axb", false],
      ["**x**", "yxy", true],
      ["ab*ba", "aba", false],
      ["ab*ba", "abba", true]
    ]
    for (const [glob, name, expected] of cases) expect(globMatcher(glob)(name), `${glob} ~ ${name}`).toBe(expected)
  })
})

describe("installing the CLI's peers", () => {
  const packageJson = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"))

  it("the install line names the peer ranges of package.json; the README shows it as written", async () => {
    for (const peer of install.peers) {
      const [, name, range] = /^(@?[^@]+)@(\^\d+\.\d+)$/.exec(peer)!
      expect(packageJson.peerDependencies[name!], peer).toBe(`${range}.0`)
    }
    const readme = await readFile(new URL("../README.md", import.meta.url), "utf8")
    expect(readme).toContain(install.installLine)
    expect(readme).toContain(install.npxLine)
  })

  it("the message names the install line, or the npx line when run from npx's cache", () => {
    expect(install.missingPeers("/app/node_modules/.bin/effect-circuit-breaker")).toContain(
      "npm install -D @effect/cli@^0.77"
    )
    expect(install.missingPeers("/root/.npm/_npx/1a2b3c/node_modules/.bin/effect-circuit-breaker")).toContain(
      "npx -p effect-circuit-breaker-redis@0 -p @effect/cli@^0.77 -p ioredis effect-circuit-breaker --help"
    )
  })
})
