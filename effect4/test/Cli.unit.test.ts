/**
 * The Effect 4 CLI in this process, without a store: help and version as `effect/cli` prints
 * them through the edition's formatter, usage and connection-option errors with their exit codes,
 * and the line-reading `Terminal` of the CLI's own platform environment. The commands against a
 * real Redis run as child processes in Cli.test.ts; the Effect-free formatting (printable, the
 * glob) is tested once, by the Effect 3 edition's Cli.unit.test.ts.
 */
import { describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Terminal from "effect/Terminal"
import { readFileSync } from "node:fs"
import * as CliEnvironment from "../src/internal/cli/environment.js"
import { run, version } from "../src/internal/cli/main.js"

const packageJson = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"))

interface Run {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
  readonly shown: string
}

/** Runs the CLI on `args` with `env` as its environment variables, capturing what it prints. */
const cli = (
  args: ReadonlyArray<string>,
  options: { readonly env?: Record<string, string>; readonly answer?: string; readonly colour?: boolean } = {}
) =>
  Effect.gen(function*() {
    const stdout: Array<string> = []
    const stderr: Array<string> = []
    const shown: Array<string> = []
    const io: CliEnvironment.Io = {
      columns: () => 80,
      rows: () => 24,
      isTTY: false,
      write: async (text) => void shown.push(text),
      readLine: async () => options.answer
    }
    const console: Console.Console = {
      ...globalThis.console,
      log: (...parts: ReadonlyArray<unknown>) => void stdout.push(parts.map(String).join(" ")),
      error: (...parts: ReadonlyArray<unknown>) => void stderr.push(parts.map(String).join(" "))
    }
    const code = yield* run(["node", "effect-circuit-breaker", ...args], {
      interactive: false,
      colour: options.colour ?? false
    }).pipe(
      Effect.provide(CliEnvironment.layer(io)),
      Effect.provideService(Console.Console, console),
      Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env: options.env ?? {} }))
    )
    return { code, stdout: stdout.join("\n"), stderr: stderr.join("\n"), shown: shown.join("") } satisfies Run
  })

const commands = ["list", "show", "open", "close", "reset", "health", "metrics", "watch"] as const

describe("help and version", () => {
  it.effect("--help on the root and on every command, plain text off a terminal", () =>
    Effect.gen(function*() {
      const root = yield* cli(["--help"])
      expect(root.code).toBe(0)
      for (const command of commands) expect(root.stdout).toContain(command)
      expect(root.stdout).toContain("Inspect and operate the circuits a fleet shares in Redis")
      for (const command of commands) {
        const help = yield* cli([command, "--help"])
        expect(help.code, command).toBe(0)
        expect(help.stdout, command).toContain("--redis-url")
        expect(help.stdout, command).toContain("--prefix")
        expect(help.stdout, command).toContain("--timeout")
        expect(help.stdout + help.stderr, command).not.toContain("\u001b")
      }
      expect((yield* cli(["open", "--help"])).stdout).toContain("--yes, -y")
      const list = yield* cli(["list", "--help"])
      expect(list.stdout).toContain("--state")
      expect(list.stdout).toContain("CLOSED, HALF_OPEN, OPEN, FORCED_OPEN, FORCED_CLOSED")
      expect((yield* cli(["health", "--help"])).stdout).toContain(
        "exit code 0 healthy, 1 degraded, 2 unhealthy or unknown"
      )
    }))

  it.effect("with colour, help is styled; --version prints the package's version alone", () =>
    Effect.gen(function*() {
      expect((yield* cli(["--help"], { colour: true })).stdout).toContain("\u001b[")
      const printed = yield* cli(["--version"])
      expect([printed.code, printed.stdout.trim()]).toEqual([0, version])
      expect(version).toBe(packageJson.version)
    }))
})

describe("what the CLI needs installed", () => {
  it("no peer beyond effect and a Redis client: effect/cli is part of effect 4, the platform is the CLI's own", () => {
    const peers = Object.keys(packageJson.peerDependencies).sort()
    expect(peers).toEqual(["@upstash/redis", "effect", "ioredis"])
    const sources = [
      "../src/cli.ts",
      ...["main", "commands", "connection", "environment"].map((f) => `../src/internal/cli/${f}.ts`)
    ].map((file) => readFileSync(new URL(file, import.meta.url), "utf8"))
    for (const source of sources) expect(source).not.toMatch(/from "@effect\//)
  })
})

describe("usage errors: exit 2, the usage shown, nothing run", () => {
  it.effect("an unknown command or flag, a bad value, no command", () =>
    Effect.gen(function*() {
      const unknown = yield* cli(["frobnicate"])
      expect(unknown.code).toBe(2)
      expect(unknown.stdout + unknown.stderr).toContain("frobnicate")
      const flag = yield* cli(["list", "--stat", "OPEN"])
      expect(flag.code).toBe(2)
      expect(flag.stdout + flag.stderr).toContain("--state")
      const value = yield* cli(["list", "--state", "AJAR"])
      expect(value.code).toBe(2)
      const integer = yield* cli(["list", "--timeout", "soon"])
      expect(integer.code).toBe(2)
      const none = yield* cli([])
      expect(none.code).toBe(2)
      expect(none.stderr).toContain(
        "error: missing command: list, show, open, close, reset, health, metrics or watch (see --help)"
      )
      for (const run of [unknown, flag, value, integer, none]) {
        expect(run.stdout + run.stderr).not.toContain("\u001b")
      }
    }))

  it.effect("a typed control character is escaped in the usage error", () =>
    Effect.gen(function*() {
      const hostile = yield* cli(["list", "--\u001b]0;pwned\u0007"])
      expect(hostile.code).toBe(2)
      expect(hostile.stdout + hostile.stderr).not.toContain("\u001b")
      expect(hostile.stdout + hostile.stderr).not.toContain("\u0007")
    }))
})

describe("where the store is: clear errors before any connection, exit 2", () => {
  it.effect("no store, a wrong URL, half an Upstash configuration, a bad timeout or prefix", () =>
    Effect.gen(function*() {
      const none = yield* cli(["list"])
      expect([none.code, none.stderr]).toEqual([
        2,
        "error: no store to connect to: pass --redis-url, or set REDIS_URL, or UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN"
      ])
      const notUrl = yield* cli(["list", "--redis-url", "redis//:secret-1@nowhere"])
      expect(notUrl.code).toBe(2)
      expect(notUrl.stderr).toContain("--redis-url is not a Redis URL: expected redis://[:password@]host:port[/db]")
      const http = yield* cli(["list"], { env: { REDIS_URL: "https://:secret-2@example.com" } })
      expect(http.code).toBe(2)
      expect(http.stderr).toContain("REDIS_URL is not a Redis URL")
      const half = yield* cli(["list"], { env: { UPSTASH_REDIS_REST_URL: "http://127.0.0.1:1" } })
      expect(half.code).toBe(2)
      expect(half.stderr).toContain("set both UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN")
      const upstashUrl = yield* cli(["list"], {
        env: { UPSTASH_REDIS_REST_URL: "ftp://x", UPSTASH_REDIS_REST_TOKEN: "secret-3" }
      })
      expect(upstashUrl.stderr).toContain("UPSTASH_REDIS_REST_URL is not an http(s) URL")
      const timeout = yield* cli(["list", "--timeout", "0"], { env: { REDIS_URL: "redis://127.0.0.1:1" } })
      expect([timeout.code, timeout.stderr]).toEqual([
        2,
        "error: --timeout must be a positive number of milliseconds (got 0)"
      ])
      const prefix = yield* cli(["list", "--prefix", ""], { env: { REDIS_URL: "redis://127.0.0.1:1" } })
      expect([prefix.code, prefix.stderr]).toEqual([2, "error: --prefix must not be empty"])
      // --redis-url wins over the environment
      const wins = yield* cli(["list", "--redis-url", "nope"], { env: { REDIS_URL: "redis://127.0.0.1:1" } })
      expect(wins.stderr).toContain("--redis-url is not a Redis URL")
      for (const run of [notUrl, http, upstashUrl]) {
        expect(run.stdout + run.stderr).not.toMatch(/secret-\d/)
      }
    }))

  it.effect("health without a store: health unknown is not printed before a store is named (a usage error)", () =>
    Effect.gen(function*() {
      const health = yield* cli(["health"])
      expect(health.code).toBe(2)
      expect(health.stderr).toContain("no store to connect to")
    }))
})

describe("the CLI's platform environment", () => {
  it.effect("its Terminal reads lines and quits at the end of stdin; display writes", () =>
    Effect.gen(function*() {
      const shown: Array<string> = []
      const lines = ["yes", undefined]
      const io: CliEnvironment.Io = {
        columns: () => 120,
        rows: () => 40,
        isTTY: true,
        write: async (text) => void shown.push(text),
        readLine: async () => lines.shift()
      }
      const result = yield* Effect.gen(function*() {
        const terminal = yield* Terminal.Terminal
        yield* terminal.display("open? ")
        const first = yield* terminal.readLine
        const second = yield* Effect.flip(terminal.readLine)
        return { first, second, columns: yield* terminal.columns }
      }).pipe(Effect.provide(CliEnvironment.layer(io)))
      expect(result.first).toBe("yes")
      expect(Terminal.isQuitError(result.second)).toBe(true)
      expect(result.columns).toBe(120)
      expect(shown).toEqual(["open? "])
    }))
})
