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
 * Needs `@effect/cli` and `@effect/platform-node` (optional peer
 * dependencies; no entry point of the library imports them) and the client
 * of the store: `ioredis` (`--redis-url`, `REDIS_URL`) or `@upstash/redis`
 * (`UPSTASH_REDIS_REST_URL`, `UPSTASH_REDIS_REST_TOKEN`).
 *
 * @since 0.1.0
 */
// the one file that touches the process (the library builds without Node's types)
declare const process: {
  readonly argv: ReadonlyArray<string>
  readonly stdin: { readonly isTTY?: boolean | undefined }
  readonly stdout: { readonly isTTY?: boolean | undefined }
  readonly env: Readonly<Record<string, string | undefined>>
  exitCode: number | undefined
}

// loaded here rather than imported, so that a missing optional peer is a clear message, not a stack
Promise.all([
  import("@effect/platform-node/NodeContext"),
  import("@effect/platform-node/NodeRuntime"),
  import("effect/Effect"),
  import("effect/Exit"),
  import("./internal/cli/main.js")
]).then(
  ([NodeContext, NodeRuntime, Effect, Exit, { run }]) =>
    NodeRuntime.runMain(
      run(process.argv, {
        interactive: process.stdin.isTTY === true,
        // https://no-color.org: set and not empty
        colour: process.stdout.isTTY === true && (process.env["NO_COLOR"] ?? "") === ""
      }).pipe(Effect.provide(NodeContext.layer)),
      {
        disableErrorReporting: true,
        teardown: (exit, onExit) => onExit(Exit.isSuccess(exit) && typeof exit.value === "number" ? exit.value : 70)
      }
    ),
  (error: unknown) => {
    const code = (error as { code?: unknown } | null)?.code
    console.error(
      code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND"
        ? "effect-circuit-breaker: the CLI needs the packages @effect/cli and @effect/platform-node: " +
          "npm install @effect/cli @effect/platform-node"
        : `effect-circuit-breaker: cannot start: ${error instanceof Error ? error.message : String(error)}`
    )
    process.exitCode = 2
  }
)
