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
 * Needs `@effect/cli@^0.77` and `@effect/platform-node@^0.108` (optional
 * peer dependencies, the versions for effect 3; no entry point of the
 * library imports them) and the client
 * of the store: `ioredis` (`--redis-url`, `REDIS_URL`) or `@upstash/redis`
 * (`UPSTASH_REDIS_REST_URL`, `UPSTASH_REDIS_REST_TOKEN`).
 *
 * @since 0.1.0
 */
import { missingPeers } from "./internal/cli/install.js"

// the one file that touches the process (the library builds without Node's types)
declare const process: {
  readonly argv: ReadonlyArray<string>
  readonly stdin: { readonly isTTY?: boolean | undefined }
  exitCode: number | undefined
}

// loaded here rather than imported, so that a missing optional peer is a clear message, not a
// stack; the effect 3 check first, so that effect 4 is named as such
import("./internal/effect3.js").then(() =>
  Promise.all([
    import("@effect/platform-node/NodeContext"),
    import("@effect/platform-node/NodeRuntime"),
    import("effect/Effect"),
    import("effect/Exit"),
    import("./internal/cli/main.js")
  ])
).then(
  ([NodeContext, NodeRuntime, Effect, Exit, { run }]) =>
    NodeRuntime.runMain(
      run(process.argv, { interactive: process.stdin.isTTY === true }).pipe(Effect.provide(NodeContext.layer)),
      {
        disableErrorReporting: true,
        teardown: (exit, onExit) => onExit(Exit.isSuccess(exit) && typeof exit.value === "number" ? exit.value : 70)
      }
    ),
  (error: unknown) => {
    const code = (error as { code?: unknown } | null)?.code
    console.error(
      code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND"
        ? missingPeers(process.argv[1])
        : `effect-circuit-breaker: cannot start: ${error instanceof Error ? error.message : String(error)}`
    )
    process.exitCode = 2
  }
)
