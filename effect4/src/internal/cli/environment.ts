/**
 * What `effect/cli` needs of its platform (`FileSystem`, `Path`, `Terminal`,
 * `Stdio`, `ChildProcessSpawner`), built from Effect's own services and a few
 * functions of the process that `src/cli.ts` hands in, so that the CLI needs
 * no `@effect/platform-node`. The commands read no files, spawn no process and
 * ask only line-based questions: the file system is a no-op one, the spawner
 * refuses, and the terminal reads lines, not keys.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import * as Path from "effect/Path"
import * as Sink from "effect/Sink"
import * as Stdio from "effect/Stdio"
import * as Stream from "effect/Stream"
import * as Terminal from "effect/Terminal"
import * as ChildProcessSpawner from "effect/process/ChildProcessSpawner"
import type { Io as SharedIo } from "../../../../shared/cli/io.js"

/**
 * The process's standard streams, as the CLI uses them.
 *
 * @internal
 */
export type Io = SharedIo

const unsupported = (what: string) => Effect.die(new Error(`effect-circuit-breaker: ${what} is not supported`))

const decoder = new TextDecoder()

/**
 * `FileSystem`, `Path`, `Terminal`, `Stdio` and `ChildProcessSpawner` over `io`.
 *
 * @internal
 */
export const layer = (
  io: Io
): Layer.Layer<
  FileSystem.FileSystem | Path.Path | Terminal.Terminal | Stdio.Stdio | ChildProcessSpawner.ChildProcessSpawner
> => {
  const write = (chunk: string | Uint8Array) =>
    Effect.promise(() => io.write(typeof chunk === "string" ? chunk : decoder.decode(chunk)))
  return Layer.mergeAll(
    FileSystem.layerNoop({}),
    Path.layer,
    Layer.succeed(
      Terminal.Terminal,
      Terminal.make({
        columns: Effect.sync(io.columns),
        rows: Effect.sync(io.rows),
        size: unsupported("terminal resizing"),
        readInput: unsupported("key-by-key terminal input"),
        readLine: Effect.flatMap(
          Effect.promise(io.readLine),
          (line) => line === undefined ? Effect.fail(new Terminal.QuitError()) : Effect.succeed(line)
        ),
        display: (text) => Effect.promise(() => io.write(text))
      })
    ),
    Layer.succeed(
      Stdio.Stdio,
      Stdio.make({
        // the commands get their arguments from `main.run`, not from here
        args: Effect.succeed([]),
        stdoutIsTerminal: Effect.succeed(io.isTTY),
        stdout: () => Sink.forEach(write),
        stderr: () => Sink.forEach(write),
        stdin: Stream.empty
      })
    ),
    Layer.succeed(
      ChildProcessSpawner.ChildProcessSpawner,
      ChildProcessSpawner.make(() => unsupported("starting a process"))
    )
  )
}
