/**
 * The CLI as one Effect: parses `argv`, runs the command, prints failures
 * on stderr and answers with the process's exit code. Kept free of Node so
 * that `src/cli.ts`, the `bin`, is the only file that touches the process.
 *
 * @internal
 */
import * as CliApp from "@effect/cli/CliApp"
import * as Command from "@effect/cli/Command"
import * as ValidationError from "@effect/cli/ValidationError"
import * as Cause from "effect/Cause"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { command } from "./commands.js"

/**
 * The package version the CLI reports (`--version`).
 *
 * @internal
 */
export const version = "0.1.0"

/**
 * Runs the CLI on `argv` (as `process.argv`: the executable and the script
 * first) and gives the exit code.
 *
 * @internal
 */
export const run = (
  argv: ReadonlyArray<string>,
  options: { readonly interactive: boolean }
): Effect.Effect<number, never, CliApp.CliApp.Environment> =>
  Effect.suspend(() => {
    let exitCode = 0
    const cli = Command.run(
      command({ interactive: options.interactive, setExitCode: (code) => (exitCode = code) }),
      { name: "effect-circuit-breaker", version }
    )
    return cli(argv).pipe(
      Effect.map(() => exitCode),
      Effect.catchAll((error) =>
        ValidationError.isValidationError(error)
          // @effect/cli has printed it, with the usage
          ? Effect.succeed(ValidationError.isHelpRequested(error) ? 0 : 2)
          : error._tag === "CliError"
          ? Effect.as(Console.error(`error: ${error.message}`), error.exitCode)
          : Effect.as(Console.error(`error: ${String((error as { message?: unknown }).message ?? error)}`), 2)
      ),
      Effect.catchAllCause((cause) =>
        Cause.isInterruptedOnly(cause)
          ? Effect.succeed(130)
          : Effect.as(Console.error(`internal error: ${Cause.pretty(cause).split("\n")[0]}`), 70)
      )
    )
  })
