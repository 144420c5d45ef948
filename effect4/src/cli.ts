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
 * Runs on `effect/cli` (part of `effect` 4, no other peer) and needs the
 * client of the store: `ioredis` (`--redis-url`, `REDIS_URL`) or
 * `@upstash/redis` (`UPSTASH_REDIS_REST_URL`, `UPSTASH_REDIS_REST_TOKEN`).
 *
 * @since 0.1.0
 */
import { exitCodeOf, nodeReadline, processIo, type Readline, terminalOptions } from "../../shared/cli/io.js"

// the one file that touches the process (the library builds without Node's types)
declare const process: {
  readonly argv: ReadonlyArray<string>
  exitCode: number | undefined
  exit(code: number): never
  once(signal: "SIGINT" | "SIGTERM", listener: () => void): unknown
}

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
    const fiber = Effect.runFork(
      run(process.argv, terminalOptions()).pipe(Effect.provide(environment.layer(processIo(readline))))
    )
    // Ctrl-C and SIGTERM interrupt the command (its connections close), which answers 130
    const interrupt = () => Effect.runFork(Fiber.interrupt(fiber))
    process.once("SIGINT", interrupt)
    process.once("SIGTERM", interrupt)
    fiber.addObserver((exit) =>
      process.exit(
        exitCodeOf(
          exit._tag === "Success"
            ? { ok: true, code: exit.value }
            : { ok: false, interrupted: Cause.hasInterruptsOnly(exit.cause) }
        )
      )
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
