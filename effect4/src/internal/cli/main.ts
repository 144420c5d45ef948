/**
 * The CLI as one Effect: parses `argv`, runs the command, prints failures
 * on stderr and answers with the process's exit code. Kept free of Node so
 * that `src/cli.ts`, the `bin`, is the only file that touches the process.
 *
 * @internal
 */
import type * as CliApp from "@effect/cli/CliApp"
import * as Command from "@effect/cli/Command"
import * as ValidationError from "@effect/cli/ValidationError"
import * as Cause from "effect/Cause"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { command } from "./commands.js"
import { printableLines } from "../../../../shared/cli/format.js"

/** The colour and style sequences (SGR) @effect/cli writes into its help and usage errors. */
const sgr = /\u001b\[[0-9;]*m/g

/** A console that writes what it is given without colour or style sequences. */
const withoutColour = (console: Console.Console): Console.Console => {
  const plain = (args: ReadonlyArray<unknown>) =>
    args.map((arg) => typeof arg === "string" ? arg.replace(sgr, "") : arg)
  return {
    ...console,
    log: (...args) => console.log(...plain(args)),
    error: (...args) => console.error(...plain(args)),
    info: (...args) => console.info(...plain(args)),
    warn: (...args) => console.warn(...plain(args))
  }
}

/**
 * The package version the CLI reports (`--version`).
 *
 * @internal
 */
export const version = "0.1.0"

/**
 * Runs the CLI on `argv` (as `process.argv`: the executable and the script
 * first) and gives the exit code. Without `colour` (stdout is not a
 * terminal, or `NO_COLOR` is set) help and usage are plain text.
 *
 * @internal
 */
export const run = (
  argv: ReadonlyArray<string>,
  options: { readonly interactive: boolean; readonly colour: boolean }
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
          ? Effect.as(Console.error(printableLines(`error: ${error.message}`)), error.exitCode)
          : Effect.as(
            Console.error(printableLines(`error: ${String((error as { message?: unknown }).message ?? error)}`)),
            2
          )
      ),
      Effect.catchAllCause((cause) =>
        Cause.isInterruptedOnly(cause)
          ? Effect.succeed(130)
          : Effect.as(Console.error(printableLines(`internal error: ${Cause.pretty(cause).split("\n")[0]}`)), 70)
      ),
      (effect) =>
        options.colour ? effect : Console.consoleWith((console) => Console.withConsole(effect, withoutColour(console)))
    )
  })
