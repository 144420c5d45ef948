#!/usr/bin/env node
/**
 * The `effect-circuit-breaker` command (the package's `bin`): inspect and
 * operate the circuits a fleet shares in Redis.
 *
 * ```sh
 * REDIS_URL=redis://127.0.0.1:6379 npx effect-circuit-breaker list
 * npx effect-circuit-breaker open payments --yes --redis-url redis://…
 * npx effect-circuit-breaker health   # exit code 0 healthy, 1 degraded, 2 unhealthy or unknown
 * ```
 *
 Runs on `effect/cli` (part of `effect` 4, no other peer) and needs the
 * client of the store: `ioredis` (`--redis-url`, `REDIS_URL`) or
 * `@upstash/redis` (`UPSTASH_REDIS_REST_URL`, `UPSTASH_REDIS_REST_TOKEN`).
 *
 * @since 0.1.0
 */
import type { Io } from "./internal/cli/environment.js"

// the one file that touches the process (the library builds without Node's types)
declare const process: {
  readonly argv: ReadonlyArray<string>
  readonly stdin: { readonly isTTY?: boolean | undefined }
  readonly env: Readonly<Record<string, string | undefined>>
  readonly stdout: {
    readonly isTTY?: boolean | undefined
    readonly columns?: number | undefined
    readonly rows?: number | undefined
    write(text: string, done: (error?: Error | null) => void): boolean
  }
  exitCode: number | undefined
  exit(code: number): never
  once(signal: "SIGINT" | "SIGTERM", listener: () => void): unknown
}

/** The part of `node:readline` the CLI uses: one line of stdin for a confirmation. */
interface Readline {
  createInterface(options: { input: unknown }): {
    once(event: "line" | "close", listener: (line?: string) => void): unknown
    close(): void
  }
}

// a specifier the library's build (no @types/node) does not resolve
const nodeReadline = "node:readline"

// loaded here rather than imported, so that a missing or wrong `effect` is a clear message, not a
// stack; the effect 4 check first, so that effect 3 is named as such
import("./internal/effect4.js").then(() =>
  Promise.all([
    import("effect/Cause"),
    import("effect/Effect"),
    import("effect/Fiber"),
    import("./internal/cli/environment.js"),
    import("./internal/cli/main.js"),
    import(nodeReadline) as Promise<Readline>
  ])
).then(
  ([Cause, Effect, Fiber, environment, { run }, readline]) => {
    const io: Io = {
      columns: () => process.stdout.columns ?? 80,
      rows: () => process.stdout.rows ?? 24,
      isTTY: process.stdout.isTTY === true,
      write: (text) =>
        new Promise<void>((resolve, reject) =>
          process.stdout.write(text, (error) => (error ? reject(error) : resolve()))
        ),
      readLine: () =>
        new Promise((resolve) => {
          const lines = readline.createInterface({ input: (process as { stdin: unknown }).stdin })
          lines.once("line", (line) => {
            resolve(line)
            lines.close()
          })
          lines.once("close", () => resolve(undefined))
        })
    }
    const fiber = Effect.runFork(
      run(process.argv, {
        interactive: process.stdin.isTTY === true,
        // https://no-color.org: set and not empty
        colour: process.stdout.isTTY === true && (process.env["NO_COLOR"] ?? "") === ""
      }).pipe(Effect.provide(environment.layer(io)))
    )
    // Ctrl-C and SIGTERM interrupt the command (its connections close), which answers 130
    const interrupt = () => Effect.runFork(Fiber.interrupt(fiber))
    process.once("SIGINT", interrupt)
    process.once("SIGTERM", interrupt)
    fiber.addObserver((exit) =>
      process.exit(exit._tag === "Success" ? exit.value : Cause.hasInterruptsOnly(exit.cause) ? 130 : 70)
    )
  },
  (error: unknown) => {
    const code = (error as { code?: unknown } | null)?.code
    console.error(
      `effect-circuit-breaker: cannot start: ${error instanceof Error ? error.message : String(error)}${
        code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND" ? " (run `npm install effect@^4.1`)" : ""
      }`
    )
    process.exitCode = 2
  }
)
