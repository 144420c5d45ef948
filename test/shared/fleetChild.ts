/**
 * What a fleet member run as its own OS process (either edition's fleet worker, the bench's fleet
 * process) does around its breaker, Effect-free: JSON lines out, commands in (a `stop` line, or
 * stdin ending, stops it; a watchdog exits the process 3 s later whatever it is doing), and the
 * call to the parent's HTTP dependency, which names the caller in `x-worker`.
 */

/** The dependency answered anything but 200, or could not be reached. */
export class DependencyError extends Error {
  readonly _tag = "DependencyError"
}

/** One event, as a JSON line on stdout. */
export const emit = (event: unknown): void => {
  process.stdout.write(JSON.stringify(event) + "\n")
}

/**
 * Reads stdin line by line: `stop` (or the end of stdin: the parent died)
 * sets `stopped` and arms the watchdog; any other line goes to `onCommand`.
 */
export const listen = (onCommand: (command: string) => void = () => {}) => {
  const state = { stopped: false, stop: () => {} }
  state.stop = () => {
    if (state.stopped) return
    state.stopped = true
    setTimeout(() => process.exit(3), 3_000).unref()
  }
  let input = ""
  process.stdin.setEncoding("utf8")
  process.stdin.on("data", (chunk: string) => {
    input += chunk
    let newline = input.indexOf("\n")
    while (newline >= 0) {
      const line = input.slice(0, newline).trim()
      input = input.slice(newline + 1)
      if (line === "stop") state.stop()
      else if (line !== "") onCommand(line)
      newline = input.indexOf("\n")
    }
  })
  process.stdin.on("end", state.stop)
  process.stdin.on("error", state.stop)
  return state
}

/**
 * A GET of the dependency at `url`, as the member `id`: its body, or a `DependencyError`
 * (any answer but 200, or no answer).
 */
export const fetchDependency = async (url: string, id: string, signal?: AbortSignal): Promise<string> => {
  try {
    const response = await fetch(
      url,
      signal === undefined ? { headers: { "x-worker": id } } : {
        headers: { "x-worker": id },
        signal
      }
    )
    const body = await response.text()
    if (response.status !== 200) throw new DependencyError(`dependency answered ${response.status}`)
    return body
  } catch (cause) {
    throw cause instanceof DependencyError ? cause : new DependencyError(String(cause))
  }
}
