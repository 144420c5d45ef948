/**
 * The CLI's standard streams, the same for every edition: what the commands
 * need of stdin and stdout (`Io`), built from the Node process, and whether
 * the process runs on a terminal. Only the `bin` of an edition calls
 * `processIo` and `terminalOptions` (the library builds without Node's types).
 *
 * @internal
 */

/**
 * The process's standard streams, as the CLI uses them.
 *
 * @internal
 */
export interface Io {
  readonly columns: () => number
  readonly rows: () => number
  readonly isTTY: boolean
  /** Writes to stdout; resolves once written. */
  readonly write: (text: string) => Promise<void>
  /** Reads one line from stdin; resolves with `undefined` at its end. */
  readonly readLine: () => Promise<string | undefined>
}

/**
 * The part of `node:readline` the CLI uses: one line of stdin for a confirmation.
 *
 * @internal
 */
export interface Readline {
  createInterface(options: { input: unknown }): {
    once(event: "line" | "close", listener: (line?: string) => void): unknown
    close(): void
  }
}

/**
 * The specifier of `node:readline`, in a variable: a build without Node's
 * types does not resolve it.
 *
 * @internal
 */
export const nodeReadline = "node:readline"

// the part of the process the streams use (the library builds without Node's types)
declare const process: {
  readonly stdin: { readonly isTTY?: boolean | undefined }
  readonly env: Readonly<Record<string, string | undefined>>
  readonly stdout: {
    readonly isTTY?: boolean | undefined
    readonly columns?: number | undefined
    readonly rows?: number | undefined
    write(text: string, done: (error?: Error | null) => void): boolean
  }
}

/**
 * The process's stdin and stdout as `Io`, lines read with `readline`.
 *
 * @internal
 */
export const processIo = (readline: Readline): Io => ({
  columns: () => process.stdout.columns ?? 80,
  rows: () => process.stdout.rows ?? 24,
  isTTY: process.stdout.isTTY === true,
  write: (text) =>
    new Promise<void>((resolve, reject) => process.stdout.write(text, (error) => (error ? reject(error) : resolve()))),
  readLine: () =>
    new Promise((resolve) => {
      const lines = readline.createInterface({ input: (process as { stdin: unknown }).stdin })
      lines.once("line", (line) => {
        resolve(line)
        lines.close()
      })
      lines.once("close", () => resolve(undefined))
    })
})

/**
 * Whether a person can answer a confirmation (stdin is a terminal), and
 * whether help is in colour (stdout is a terminal and `NO_COLOR` is unset or
 * empty, https://no-color.org).
 *
 * @internal
 */
export const terminalOptions = (): { readonly interactive: boolean; readonly colour: boolean } => ({
  interactive: process.stdin.isTTY === true,
  colour: process.stdout.isTTY === true && (process.env["NO_COLOR"] ?? "") === ""
})

/**
 * The process's exit code for how the CLI's fiber ended: its own code, 130
 * when interrupted (Ctrl-C, SIGTERM), 70 for a defect.
 *
 * @internal
 */
export const exitCodeOf = (
  exit: { readonly ok: true; readonly code: number } | {
    readonly ok: false
    readonly interrupted: boolean
  }
): number => exit.ok ? exit.code : exit.interrupted ? 130 : 70
