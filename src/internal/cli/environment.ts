/**
 * What `@effect/cli` needs of its platform (`FileSystem`, `Path`,
 * `Terminal`), built from `@effect/platform` and a few functions of the
 * process that `src/cli.ts` hands in, so that the CLI needs no
 * `@effect/platform-node` (whose peers, through `@effect/sql`, refuse
 * ioredis 6). The commands read no files and ask only line-based
 * questions: the file system is a no-op one, and the terminal reads lines,
 * not keys.
 *
 * @internal
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Terminal from "@effect/platform/Terminal"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { Io as SharedIo } from "../../../shared/cli/io.js"

/**
 * The process's standard streams, as the CLI uses them.
 *
 * @internal
 */
export type Io = SharedIo

/**
 * `FileSystem`, `Path` and `Terminal` over `io`.
 *
 * @internal
 */
export const layer = (io: Io): Layer.Layer<FileSystem.FileSystem | Path.Path | Terminal.Terminal> =>
  Layer.mergeAll(
    FileSystem.layerNoop({}),
    Path.layer,
    Layer.succeed(
      Terminal.Terminal,
      Terminal.Terminal.of({
        columns: Effect.sync(io.columns),
        rows: Effect.sync(io.rows),
        isTTY: Effect.succeed(io.isTTY),
        readInput: Effect.dieMessage("effect-circuit-breaker: key-by-key terminal input is not supported"),
        readLine: Effect.flatMap(
          Effect.promise(io.readLine),
          (line) => line === undefined ? Effect.fail(new Terminal.QuitException()) : Effect.succeed(line)
        ),
        display: (text) => Effect.promise(() => io.write(text))
      })
    )
  )
