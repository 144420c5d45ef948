/**
 * The Effect 4 edition's `effect-circuit-breaker` CLI (src/cli.ts), bundled once with esbuild
 * (packages left external, so `effect`, `ioredis` and `@upstash/redis` load from this edition's
 * node_modules) and run as a child process against real redis-server processes over TCP and the
 * Upstash REST bridge: every command's output and exit code, admin commands that change what a
 * breaker of this process does, and clear, bounded, secret-free errors for a wrong password or
 * token and an unreachable or frozen Redis. Usage errors and help run in this process in Cli.unit.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import { build } from "esbuild"
import { execFile } from "node:child_process"
import { mkdir } from "node:fs/promises"
import { CircuitBreaker, CircuitBreakers, CircuitConfig, RedisCircuitStore } from "../src/index.js"
import { CircuitBreakerHttp } from "../src/http.js"
import { IORedisClient } from "../src/ioredis.js"
import { UpstashClient } from "../src/upstash.js"
import * as CliEnvironment from "../src/internal/cli/environment.js"
import { run as runCli } from "../src/internal/cli/main.js"
import { printable } from "../../shared/cli/format.js"
import { registryKeyOf } from "../../shared/redis/keys.js"
import { type RedisServer, startRedis } from "../../test/shared/redisServer.js"
import { startUpstashBridge, type UpstashBridge } from "../../test/shared/upstashBridge.js"

const edition = new URL("..", import.meta.url).pathname
const bundle = `${edition}node_modules/.cache/effect-circuit-breaker-cli/cli.mjs`
const password = "cli-pass-9a7e1c"
const token = "cli-token-4b2d88"

interface Run {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
  readonly ms: number
}

const outputs: Array<string> = []

/** Runs the bundled CLI with only PATH and `env` in its environment (stdin is not a terminal). */
const cli = (args: ReadonlyArray<string>, env: Record<string, string> = {}): Promise<Run> =>
  new Promise((resolve) => {
    const started = Date.now()
    const child = execFile(
      process.execPath,
      [bundle, ...args],
      { cwd: edition, env: { PATH: process.env.PATH ?? "", NO_COLOR: "1", ...env }, timeout: 30_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1
        outputs.push(String(stdout), String(stderr))
        resolve({ code, stdout: String(stdout), stderr: String(stderr), ms: Date.now() - started })
      }
    )
    child.stdin?.end()
  })

let redis: RedisServer
let secured: RedisServer
let bridge: UpstashBridge

beforeAll(async () => {
  await mkdir(new URL(".", `file://${bundle}`).pathname, { recursive: true })
  await build({
    entryPoints: [`${edition}src/cli.ts`],
    outfile: bundle,
    bundle: true,
    packages: "external",
    platform: "node",
    format: "esm",
    target: "node20",
    logLevel: "error"
  })
  ;[redis, secured] = await Promise.all([startRedis(), startRedis({ password })])
  bridge = await startUpstashBridge({ redisUrl: redis.url, token })
}, 60_000)

afterAll(async () => {
  await bridge?.close()
  await Promise.all([redis?.stop(), secured?.stop()])
  // no secret in any output of any test
  for (const output of outputs) {
    expect(output).not.toContain(password)
    expect(output).not.toContain(token)
  }
})

let prefixes = 0
const freshPrefix = () => `cli${process.pid}-${++prefixes}-${Date.now().toString(36)}`

/** Another "instance": a runtime with its own store on `prefix`, over TCP or the Upstash bridge. */
const instance = (prefix: string, via: "tcp" | "upstash" = "tcp") =>
  ManagedRuntime.make(
    CircuitBreakers.layer({
      defaults: { stateCacheTtl: 50 },
      // open long enough that no spawn of the CLI, however slow the machine, sees it probe
      circuits: { payments: { stateCacheTtl: 50, recoveryTimeout: "5 minutes" } }
    }).pipe(
      Layer.provideMerge(RedisCircuitStore.layer({ prefix })),
      Layer.provide(
        via === "tcp"
          ? IORedisClient.layer({ url: redis.url })
          : UpstashClient.layer({ url: bridge.url, token: Redacted.make(token) })
      ),
      Layer.orDie
    )
  )

type Instance = ReturnType<typeof instance>

/** Opens `payments` (5 failures: the default threshold) for 5 minutes, and calls `search` once. */
const seed = (runtime: Instance, names = { open: "payments", closed: "search" }) =>
  runtime.runPromise(Effect.gen(function*() {
    const registry = yield* CircuitBreakers.CircuitBreakers
    const payments = yield* registry.get(names.open)
    for (let i = 0; i < 5; i++) yield* Effect.result(payments.protect(Effect.fail("declined")))
    const search = yield* registry.get(names.closed)
    yield* search.protect(Effect.succeed("ok"))
  }))

const stateOf = (runtime: Instance, name: string) =>
  runtime.runPromise(CircuitBreakers.CircuitBreakers.use((r) => Effect.flatMap(r.get(name), (b) => b.state)))

/** Polls `check` every 50 ms for at most `ms` (for what another process changed). */
const eventually = async (check: () => Promise<boolean>, ms = 5_000) => {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time")
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

describe("the bundled bin", () => {
  it("--help, --version, and usage errors exit 2 as a process", { timeout: 60_000 }, async () => {
    const [help, version, unknown, none] = await Promise.all([
      cli(["--help"]),
      cli(["--version"]),
      cli(["frobnicate"]),
      cli([])
    ])
    expect(help.code).toBe(0)
    for (const command of ["list", "show", "open", "close", "reset", "health", "metrics", "watch"]) {
      expect(help.stdout).toContain(command)
    }
    expect(version.stdout.trim()).toBe("2.0.0")
    expect(unknown.code).toBe(2)
    expect(none.code).toBe(2)
    expect(none.stderr).toContain("missing command")
    for (const run of [help, unknown, none]) expect(run.stdout + run.stderr).not.toContain("\u001b")
  })
})

/** Every character of `text` a terminal acts on or hides, newlines aside. */
const unsafeIn = (text: string) =>
  [...text.matchAll(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g)].map((
    m
  ) => m[0])

describe("hostile names and values never reach the terminal", () => {
  it("names in the registry, the names given, and errors: escaped in every command's output, --json too", {
    timeout: 120_000
  }, async () => {
    const prefix = freshPrefix()
    const runtime = instance(prefix)
    try {
      await seed(runtime, { open: "payments-0", closed: "payments-1" })
    } finally {
      await runtime.dispose()
    }
    // names no breaker could have made, written straight into the registry by someone sharing the prefix
    const hostile = ["\u001b]0;pwned\u0007", "x\u001b[2K\roverall: healthy", "y\u009b31m", "z\u202egnp.exe", "w\u200bx"]
    for (const name of hostile) await redis.cli("ZADD", registryKeyOf(prefix), String(Date.now()), name)
    const env = { REDIS_URL: redis.url }
    const commands: ReadonlyArray<ReadonlyArray<string>> = [
      ["list", "--prefix", prefix],
      ["list", "--prefix", prefix, "--json"],
      ["health", "--prefix", prefix],
      ["health", "--prefix", prefix, "--json"],
      ["metrics", "--prefix", prefix],
      ["watch", "--prefix", prefix, "--interval", "100", "--count", "1"],
      ["show", "pay\u009b2J\u202ements", "--prefix", prefix],
      ["show", "\u001b]0;pwned\u0007", "--prefix", prefix, "--json"],
      ["open", "x\u001b[2K\roverall: healthy", "--prefix", prefix, "--yes"],
      ["list", "--prefix", prefix, "--match", "\u009b*"]
    ]
    const runs: Array<Run> = []
    for (let i = 0; i < commands.length; i += 3) {
      for (const run of await Promise.all(commands.slice(i, i + 3).map((args) => cli(args, env)))) runs.push(run)
    }
    for (const [i, run] of runs.entries()) {
      // the one sequence the CLI writes itself: watch's home-and-clear
      expect(unsafeIn(run.stdout.replaceAll("\u001b[H\u001b[2J", "")), `stdout of run ${i}`).toEqual([])
      expect(unsafeIn(run.stderr), `stderr of run ${i}`).toEqual([])
    }
    const [list, , health, healthJson, , , show, showJson, open] = runs
    expect([list!.code, list!.stderr]).toEqual([0, ""])
    expect(list!.stdout).toMatch(/^payments-0\s+OPEN/m)
    expect(list!.stdout + list!.stderr).not.toContain("overall: healthy")
    // those a breaker could have made are circuits of the fleet, shown escaped; the others are left out
    const circuits = hostile.filter((name) => CircuitConfig.serviceNameProblem(name) === undefined)
    expect(health!.stdout).toContain(`overall: unhealthy (${2 + circuits.length} circuits)`)
    for (const name of circuits) expect(list!.stdout).toContain(printable(name))
    expect(health!.stdout).not.toContain("overall: healthy")
    expect(JSON.parse(healthJson!.stdout).overall).toBe("unhealthy")
    expect(show!.code).toBe(1)
    expect(show!.stderr).toContain("no circuit named \"pay\\u009b2J\\u202ements\" in the store")
    expect(showJson!.stderr).toContain("no circuit named \"\\u001b]0;pwned\\u0007\" in the store")
    expect(open!.code).toBe(1)
  })
})

describe("the CLI and GET /health: one vocabulary, one verdict", () => {
  /** `health --json` of the CLI and `GET /health` of the HTTP routes, on the same data. */
  const both = async (prefix: string) => {
    const web = CircuitBreakerHttp.toWebHandler(
      RedisCircuitStore.layer({ prefix }).pipe(Layer.provide(IORedisClient.layer({ url: redis.url })))
    )
    try {
      const response = await web.handler(new Request("http://localhost/health"))
      const http = { status: response.status, body: await response.json() }
      const result = await cli(["health", "--prefix", prefix, "--json"], { REDIS_URL: redis.url })
      return { http, cli: { code: result.code, body: JSON.parse(result.stdout) } }
    } finally {
      await web.dispose()
    }
  }
  /** What must agree: every field but the time of the read, and each circuit's state and status. */
  // (HTTP answers from its shared snapshot and adds the snapshot's `age`; the CLI reads the store)
  const verdict = (body: any) => ({
    keys: Object.keys(body).filter((key) => key !== "age").sort(),
    overall: body.overall,
    complete: body.complete,
    unreadable: body.unreadable,
    reason: body.reason,
    services: Object.fromEntries(
      Object.entries(body.services).map(([name, s]: [string, any]) => [name, { state: s.state, status: s.status }])
    )
  })
  /** Names registered an hour ago whose state is gone: expired circuits. */
  const expire = async (prefix: string, names: ReadonlyArray<string>) => {
    for (const name of names) await redis.cli("ZADD", registryKeyOf(prefix), String(Date.now() - 3_600_000), name)
  }

  it("OPEN, CLOSED and expired circuits: the same fields, the same verdict, the exit code of the status code", {
    timeout: 60_000
  }, async () => {
    const open = freshPrefix()
    const closed = freshPrefix()
    for (
      const [prefix, names] of [[open, { open: "tenant-0", closed: "tenant-1" }], [closed, {
        open: undefined,
        closed: "tenant-0"
      }]] as const
    ) {
      const runtime = instance(prefix)
      try {
        if (names.open === undefined) {
          await runtime.runPromise(
            CircuitBreakers.CircuitBreakers.use((r) =>
              Effect.flatMap(r.get(names.closed), (b) => b.protect(Effect.void))
            )
          )
        } else {
          await seed(runtime, names)
        }
      } finally {
        await runtime.dispose()
      }
    }
    await expire(open, ["gone-1", "gone-2"])
    await expire(closed, ["gone-1"])

    const unhealthy = await both(open)
    expect(verdict(unhealthy.cli.body)).toEqual(verdict(unhealthy.http.body))
    expect(verdict(unhealthy.cli.body)).toMatchObject({ overall: "unhealthy", complete: true, unreadable: 0 })
    expect(Object.keys(unhealthy.cli.body.services)).toEqual(["tenant-0", "tenant-1"])
    expect([unhealthy.http.status, unhealthy.cli.code]).toEqual([503, 2])

    const healthy = await both(closed)
    expect(verdict(healthy.cli.body)).toEqual(verdict(healthy.http.body))
    expect(verdict(healthy.cli.body)).toMatchObject({ overall: "healthy", complete: true, unreadable: 0, reason: null })
    expect([healthy.http.status, healthy.cli.code]).toEqual([200, 0])
  })
})

describe("on Redis over TCP", () => {
  const prefix = freshPrefix()
  const url = () => ({ REDIS_URL: redis.url })
  let runtime: Instance
  beforeAll(async () => {
    runtime = instance(prefix)
    await seed(runtime)
  })
  afterAll(async () => {
    await runtime?.dispose()
  })

  it(
    "list: every circuit with state, window, re-opens and retry; --state, --match, --json",
    { timeout: 60_000 },
    async () => {
      const [all, open, matched, asJson, otherPrefix] = await Promise.all([
        cli(["list", "--prefix", prefix], url()),
        cli(["list", "--prefix", prefix, "--state", "OPEN"], url()),
        cli(["list", "--prefix", prefix, "--match", "sea*"], url()),
        cli(["list", "--prefix", prefix, "--json"], url()),
        cli(["list", "--prefix", freshPrefix()], url())
      ])
      expect(all.code).toBe(0)
      const lines = all.stdout.trim().split("\n")
      expect(lines[0]).toMatch(/^CIRCUIT\s+STATE\s+STATUS\s+WINDOW FAIL\/CALLS\s+OPENS\s+RETRY IN/)
      // OPEN: no window (emptied when it opened), opened once in a row
      expect(lines[1]).toMatch(/^payments\s+OPEN\s+unhealthy\s+-\s+1\s+(\d+m)?\d+s\s+/)
      expect(lines[2]).toMatch(/^search\s+CLOSED\s+healthy\s+0\/1\s+0\s+-\s+1\s+0\.0%$/)
      expect(open.stdout.trim().split("\n").slice(1).map((l) => l.split(/\s+/)[0])).toEqual(["payments"])
      expect(matched.stdout.trim().split("\n").slice(1).map((l) => l.split(/\s+/)[0])).toEqual(["search"])
      const parsed = JSON.parse(asJson.stdout)
      expect(parsed.circuits.map((c: { name: string; state: string }) => [c.name, c.state])).toEqual([
        ["payments", "OPEN"],
        ["search", "CLOSED"]
      ])
      expect(parsed.circuits[0].retryInMs).toBeGreaterThan(20_000)
      expect(parsed.circuits[0].fleet.failures).toBe(5) // failureThreshold 5
      expect([parsed.complete, parsed.unreadable, parsed.reason]).toEqual([true, 0, null])
      expect(otherPrefix.stdout.trim()).toBe("no circuits in the store")
    }
  )

  it("show NAME, and an unknown name (exit 1, with the known ones)", { timeout: 60_000 }, async () => {
    const [text, json, unknown] = await Promise.all([
      cli(["show", "payments", "--prefix", prefix], url()),
      cli(["show", "search", "--prefix", prefix, "--json"], url()),
      cli(["show", "paymnts", "--prefix", prefix], url())
    ])
    expect(text.code).toBe(0)
    expect(text.stdout).toMatch(/^state\s+OPEN$/m)
    expect(text.stdout).toMatch(/^window\s+none while OPEN \(emptied when it opened; it counts again once closed\)$/m)
    expect(text.stdout).toMatch(/^opens in a row\s+1 \(0 re-opens\)$/m)
    expect(text.stdout).toMatch(/^retry at\s+\S+ \((\d+m)?\d+s from now\)$/m)
    expect(text.stdout).toMatch(/^fleet calls\s+5 \(0 succeeded, 5 failed\)/m)
    expect(JSON.parse(json.stdout)).toMatchObject({
      name: "search",
      state: "CLOSED",
      status: "healthy",
      windowCalls: 1
    })
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toContain("no circuit named \"paymnts\" in the store; known: payments, search")
  })

  it("metrics: the fleet as Prometheus text", { timeout: 60_000 }, async () => {
    const result = await cli(["metrics", "--prefix", prefix], url())
    expect(result.code).toBe(0)
    expect(result.stdout).toContain("# TYPE circuit_breaker_fleet_state gauge")
    expect(result.stdout).toMatch(/^circuit_breaker_fleet_state\{circuit="payments",service="payments"\} 2$/m)
    expect(result.stdout).toMatch(/^circuit_breaker_fleet_state\{circuit="search",service="search"\} 0$/m)
    for (const line of result.stdout.trim().split("\n")) {
      expect(line).toMatch(/^(# (HELP|TYPE) \w+ .+|[a-z_]+(\{.*\})? -?[\d.e+-]+|[a-z_]+(\{.*\})? [+-]Inf|NaN)$/)
    }
  })

  it(
    "health: 2 while a circuit is open, 0 when all are closed, 1 while one probes (HALF_OPEN)",
    { timeout: 60_000 },
    async () => {
      const unhealthy = await cli(["health", "--prefix", prefix], url())
      expect(unhealthy.code).toBe(2)
      expect(unhealthy.stdout).toContain("overall: unhealthy (2 circuits)")
      expect(unhealthy.stdout).toMatch(/^payments\s+OPEN\s+unhealthy$/m)

      const fresh = freshPrefix()
      const other = instance(fresh)
      try {
        await other.runPromise(
          CircuitBreakers.CircuitBreakers.use((r) => Effect.flatMap(r.get("search"), (b) => b.protect(Effect.void)))
        )
        const healthy = await cli(["health", "--prefix", fresh, "--json"], url())
        expect(healthy.code).toBe(0)
        const body = JSON.parse(healthy.stdout)
        expect(Object.keys(body).sort()).toEqual([
          "complete",
          "overall",
          "reason",
          "services",
          "timestamp",
          "unreadable"
        ])
        expect(body).toMatchObject({
          overall: "healthy",
          complete: true,
          unreadable: 0,
          reason: null,
          services: { search: { state: "CLOSED", status: "healthy" } }
        })

        // a probe in flight: open with a short recovery, wait it out, start a call that never ends
        const probe = await other.runPromise(Effect.gen(function*() {
          const breaker = yield* CircuitBreaker.make("inventory", {
            failureThreshold: 1,
            recoveryTimeout: 200,
            backoffJitter: 0
          })
          yield* Effect.result(breaker.protect(Effect.fail("down")))
          yield* Effect.sleep("300 millis")
          const fiber = yield* Effect.forkDetach(breaker.protect(Effect.never))
          yield* Effect.sleep("200 millis")
          return fiber
        }))
        try {
          const degraded = await cli(["health", "--prefix", fresh], url())
          expect(degraded.stdout).toContain("overall: degraded (2 circuits)")
          expect(degraded.stdout).toMatch(/^inventory\s+HALF_OPEN\s+degraded$/m)
          expect(degraded.code).toBe(1)
        } finally {
          await other.runPromise(Fiber.interrupt(probe))
        }
      } finally {
        await other.dispose()
      }
    }
  )

  it("open, close, reset: refused without --yes off a terminal; with it, a breaker of another runtime obeys", {
    timeout: 60_000
  }, async () => {
    const call = (effect: Effect.Effect<string, string>) =>
      runtime.runPromise(
        CircuitBreakers.CircuitBreakers.use((r) =>
          Effect.flatMap(r.get("search"), (b) => Effect.result(b.protect(effect)))
        )
      )

    const refused = await cli(["open", "search", "--prefix", prefix], url())
    expect(refused.code).toBe(1)
    expect(refused.stdout).toContain("\"search\" on redis://127.0.0.1:")
    expect(refused.stdout).toContain(
      "is CLOSED; after `open` it is FORCED_OPEN: every instance will reject its calls with CircuitOpen"
    )
    expect(refused.stderr).toContain("not confirmed: pass --yes")
    expect(await stateOf(runtime, "search")).toBe("CLOSED")

    const opened = await cli(["open", "search", "--prefix", prefix, "--yes"], url())
    expect(opened.code).toBe(0)
    expect(opened.stdout).toContain("\"search\" is now FORCED_OPEN.")
    expect(await stateOf(runtime, "search")).toBe("FORCED_OPEN")
    // the breaker's calls are rejected once its cached state is stale (stateCacheTtl 50 ms)
    await eventually(async () => {
      const result = await call(Effect.succeed("ran"))
      return Result.isFailure(result) && typeof result.failure === "object" && result.failure._tag === "CircuitOpen"
    })

    const closed = await cli(["close", "search", "--prefix", prefix, "-y"], url())
    expect(closed.code).toBe(0)
    expect(closed.stdout).toContain("after `close` it is FORCED_CLOSED: every instance will run every call to it")
    expect(await stateOf(runtime, "search")).toBe("FORCED_CLOSED")
    await eventually(async () => Result.isSuccess(await call(Effect.succeed("ran"))))
    // held closed: failures do not trip it
    for (let i = 0; i < 8; i++) await call(Effect.fail("down"))
    expect(await stateOf(runtime, "search")).toBe("FORCED_CLOSED")

    const reset = await cli(["reset", "search", "--prefix", prefix, "--yes"], url())
    expect(reset.code).toBe(0)
    expect(reset.stdout).toContain("is FORCED_CLOSED; after `reset` it is CLOSED")
    expect(await stateOf(runtime, "search")).toBe("CLOSED")

    const unknown = await cli(["open", "nope", "--prefix", prefix, "--yes"], url())
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toContain("no circuit named \"nope\"")
  })

  it("watch: a table redrawn in place, --count frames", { timeout: 60_000 }, async () => {
    const result = await cli(
      ["watch", "--prefix", prefix, "--interval", "100", "--count", "3", "--state", "OPEN"],
      url()
    )
    expect(result.code).toBe(0)
    const frames = result.stdout.split("\u001b[H\u001b[2J").slice(1)
    expect(frames).toHaveLength(3)
    for (const frame of frames) {
      expect(frame).toMatch(/^redis:\/\/127\.0\.0\.1:\d+ {2}\S+Z {2}every 100ms; Ctrl-C to quit/)
      expect(frame).toMatch(/^payments\s+OPEN\s+unhealthy/m)
      expect(frame).not.toContain("search")
    }
  })

  it("--redis-url wins over REDIS_URL; a --match that backtracks a regular expression answers at once", {
    timeout: 60_000
  }, async () => {
    const [wins, none, one] = await Promise.all([
      cli(["list", "--prefix", prefix, "--redis-url", redis.url], { REDIS_URL: "redis://127.0.0.1:1" }),
      cli(["list", "--prefix", prefix, "--match", "p*a*a*a*a*a*a*a*a*b"], url()),
      cli(["list", "--prefix", prefix, "--match", "p*a*s"], url())
    ])
    expect(wins.code).toBe(0)
    expect(wins.stdout).toContain("payments")
    expect([none.code, none.stdout.trim()]).toEqual([0, "no circuit matches"])
    expect(one.stdout).toMatch(/^payments\s+OPEN/m)
  })
})

describe("on Upstash (REST, through the bridge)", () => {
  const prefix = freshPrefix()
  const env = () => ({ UPSTASH_REDIS_REST_URL: bridge.url, UPSTASH_REDIS_REST_TOKEN: token })
  let runtime: Instance
  beforeAll(async () => {
    runtime = instance(prefix, "upstash")
    await seed(runtime)
  })
  afterAll(async () => {
    await runtime?.dispose()
  })

  it("list, health, show, metrics, and open seen by a breaker of another runtime", { timeout: 60_000 }, async () => {
    const [list, health, show, metrics] = await Promise.all([
      cli(["list", "--prefix", prefix], env()),
      cli(["health", "--prefix", prefix], env()),
      cli(["show", "payments", "--prefix", prefix, "--json"], env()),
      cli(["metrics", "--prefix", prefix], env())
    ])
    expect(list.code).toBe(0)
    expect(list.stdout).toMatch(/^payments\s+OPEN\s+unhealthy/m)
    expect(list.stdout).toMatch(/^search\s+CLOSED\s+healthy/m)
    expect(health.code).toBe(2)
    expect(JSON.parse(show.stdout)).toMatchObject({ name: "payments", state: "OPEN" })
    expect(metrics.stdout).toMatch(/^circuit_breaker_fleet_state\{circuit="search",service="search"\} 0$/m)

    const opened = await cli(["open", "search", "--prefix", prefix, "--yes"], env())
    expect(opened.code).toBe(0)
    expect(opened.stdout).toContain("\"search\" on http://127.0.0.1:")
    expect(await stateOf(runtime, "search")).toBe("FORCED_OPEN")
  })

  it("a wrong token: exit 2, the credentials named, the token never printed", { timeout: 60_000 }, async () => {
    const result = await cli(["list", "--prefix", prefix], {
      UPSTASH_REDIS_REST_URL: bridge.url,
      UPSTASH_REDIS_REST_TOKEN: `${token}-wrong`
    })
    expect(result.code).toBe(2)
    expect(result.stderr).toContain(`error: http://127.0.0.1:${new URL(bridge.url).port} refused the credentials`)
    expect(result.stdout + result.stderr).not.toContain(`${token}-wrong`)
  })
})

describe("connection errors: clear, bounded, without secrets", () => {
  it("a wrong password", { timeout: 60_000 }, async () => {
    const wrong = secured.url.replace(password, "not-the-password")
    const result = await cli(["health", "--redis-url", wrong])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain(`health unknown: redis://127.0.0.1:${secured.port} refused the credentials`)
    expect(result.stderr).not.toContain("not-the-password")
    const right = await cli(["health", "--redis-url", secured.url])
    expect(right.code).toBe(0)
    expect(right.stdout).toContain("overall: healthy (0 circuits)")
  })

  it("nothing listening: exit 2 at once", { timeout: 60_000 }, async () => {
    const result = await cli(["list", "--redis-url", `redis://:${password}@127.0.0.1:1`])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain("cannot reach redis://127.0.0.1:1")
  })

  it("a frozen Redis (SIGSTOP): exit 2 within the --timeout bound, no hang", { timeout: 60_000 }, async () => {
    const frozen = await startRedis()
    try {
      frozen.pause()
      const result = await cli(["health", "--redis-url", frozen.url, "--timeout", "500"])
      expect(result.code).toBe(2)
      expect(result.stderr).toMatch(/health unknown: redis:\/\/127\.0\.0\.1:\d+ did not answer/)
      // node start-up plus at most twice the bound
      expect(result.ms).toBeLessThan(8_000)
    } finally {
      frozen.resume()
      await frozen.stop()
    }
  })
})

describe("the confirmation on a terminal (the CLI's line-reading Terminal)", () => {
  const prefix = freshPrefix()
  let runtime: Instance
  beforeAll(async () => {
    runtime = instance(prefix)
    await seed(runtime)
  })
  afterAll(async () => {
    await runtime?.dispose()
  })

  /** Runs the CLI in this process, as on a terminal that answers `answer` (undefined: stdin ends). */
  const onTerminal = async (args: ReadonlyArray<string>, answer: string | undefined) => {
    const shown: Array<string> = []
    const io: CliEnvironment.Io = {
      columns: () => 80,
      rows: () => 24,
      isTTY: true,
      write: async (text) => void shown.push(text),
      readLine: async () => answer
    }
    const code = await Effect.runPromise(
      runCli(["node", "effect-circuit-breaker", ...args, "--prefix", prefix, "--redis-url", redis.url], {
        interactive: true,
        colour: false
      }).pipe(Effect.provide(CliEnvironment.layer(io)))
    )
    return { code, shown: shown.join("") }
  }

  it("asks; y opens the circuit, anything else or the end of stdin changes nothing", { timeout: 60_000 }, async () => {
    const declined = await onTerminal(["open", "search"], "n")
    expect(declined.shown).toBe("open \"search\"? [y/N] ")
    expect(declined.code).toBe(1)
    expect(await stateOf(runtime, "search")).toBe("CLOSED")
    expect((await onTerminal(["open", "search"], undefined)).code).toBe(1)
    expect(await stateOf(runtime, "search")).toBe("CLOSED")
    const confirmed = await onTerminal(["open", "search"], " yes ")
    expect(confirmed.code).toBe(0)
    expect(await stateOf(runtime, "search")).toBe("FORCED_OPEN")
    expect((await onTerminal(["reset", "search"], "y")).code).toBe(0)
    expect(await stateOf(runtime, "search")).toBe("CLOSED")
  })
})
