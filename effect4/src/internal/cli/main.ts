/**
 * The CLI as one Effect: parses `argv`, runs the command, prints failures
 * on stderr and answers with the process's exit code. Kept free of Node so
 * that `src/cli.ts`, the `bin`, is the only file that touches the process.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as CliError from "effect/cli/CliError"
import * as CliOutput from "effect/cli/CliOutput"
import * as Command from "effect/cli/Command"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { command } from "./commands.js"
import { printableLines } from "../../../../shared/cli/format.js"

/**
 * The package version the CLI reports (`--version`).
 *
 * @internal
 */
export const version = "2.0.0"

/**
 * How `effect/cli` writes help, usage errors and `--version`: in colour or
 * not, and, without colour, every line passed through `printableLines` (a
 * usage error repeats what was typed). `--version` prints the version alone.
 */
const formatter = (colour: boolean): CliOutput.Formatter => {
  const base = CliOutput.defaultFormatter({ colors: colour })
  const plain = colour ? (text: string) => text : printableLines
  return {
    ...base,
    formatHelpDoc: (doc) => plain(base.formatHelpDoc(doc)),
    formatCliError: (error) => plain(base.formatCliError(error)),
    formatError: (error) => plain(base.formatError(error)),
    formatErrors: (errors) => plain(base.formatErrors(errors)),
    formatVersion: (_name, version) => version
  }
}

/**
 * What the CLI needs to run: the platform services of `environment.layer`.
 *
 * @internal
 */
export type Environment = Command.Environment

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
): Effect.Effect<number, never, Environment> =>
  Effect.suspend(() => {
    let exitCode = 0
    const cli = Command.runWith(
      command({ interactive: options.interactive, setExitCode: (code) => (exitCode = code) }),
      { version }
    )
    return cli(argv.slice(2)).pipe(
      Effect.map(() => exitCode),
      Effect.catch((error) =>
        CliError.isCliError(error)
          // effect/cli has printed it, with the usage
          ? Effect.succeed(error._tag === "ShowHelp" && error.errors.length === 0 ? 0 : 2)
          : error._tag === "CliError"
          ? Effect.as(Console.error(printableLines(`error: ${error.message}`)), error.exitCode)
          : Effect.as(
            Console.error(printableLines(`error: ${String((error as { message?: unknown }).message ?? error)}`)),
            2
          )
      ),
      Effect.catchCause((cause) =>
        Cause.hasInterruptsOnly(cause)
          ? Effect.succeed(130)
          : Effect.as(Console.error(printableLines(`internal error: ${Cause.pretty(cause).split("\n")[0]}`)), 70)
      ),
      Effect.provide(CliOutput.layer(formatter(options.colour)))
    )
  })
