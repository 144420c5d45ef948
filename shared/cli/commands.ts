/**
 * What the CLI's commands say, the same for every edition: the states
 * `--state` takes, the admin actions and what they do to the fleet, and the
 * messages of a missing command or an unknown circuit; and how the CLI shows
 * where it connects (URLs without their credentials).
 *
 * @internal
 */
import type { State } from "../model.js"

/**
 * Every state, in the order `--state` lists them.
 *
 * @internal
 */
export const states = ["CLOSED", "HALF_OPEN", "OPEN", "FORCED_OPEN", "FORCED_CLOSED"] as const satisfies ReadonlyArray<
  State
>

/**
 * The admin commands.
 *
 * @internal
 */
export type Verb = "open" | "close" | "reset"

/**
 * Each admin command: the state it leaves the circuit in, its description,
 * and what it does to every instance of the fleet.
 *
 * @internal
 */
export const actions: Record<Verb, {
  readonly target: State
  readonly description: string
  readonly effect: string
}> = {
  open: {
    target: "FORCED_OPEN",
    description: "Hold a circuit open (FORCED_OPEN) across the fleet, until `close` or `reset`",
    effect: "every instance will reject its calls with CircuitOpen, from its next store round trip " +
      "(within its stateCacheTtl, 1 s by default), until `close` or `reset`"
  },
  close: {
    target: "FORCED_CLOSED",
    description: "Hold a circuit closed (FORCED_CLOSED) across the fleet, until `reset`",
    effect: "every instance will run every call to it (outcomes still counted, it never trips), from its " +
      "next store round trip (within its stateCacheTtl, 1 s by default), until `reset`"
  },
  reset: {
    target: "CLOSED",
    description: "Reset a circuit to CLOSED with an empty window and backoff",
    effect: "every instance will let calls through again and count failures afresh, from its next store " +
      "round trip (within its stateCacheTtl, 1 s by default)"
  }
}

/**
 * The root command run without a subcommand.
 *
 * @internal
 */
export const missingCommand = "missing command: list, show, open, close, reset, health, metrics or watch (see --help)"

/**
 * The error for a name the store does not know: with the names it knows
 * (the first 20), or, when some circuits could not be read, saying so.
 *
 * @internal
 */
export const unknownCircuit = (
  circuit: string,
  known: ReadonlyArray<string>,
  incomplete: { readonly unreadable: number; readonly reason: string | null } | undefined
): string =>
  incomplete !== undefined
    ? `no circuit named ${
      JSON.stringify(circuit)
    } among those read; ${incomplete.unreadable} could not be read: ${incomplete.reason}`
    : `no circuit named ${JSON.stringify(circuit)} in the store${
      known.length === 0
        ? " (it knows none)"
        : `; known: ${known.slice(0, 20).join(", ")}${known.length > 20 ? ", …" : ""}`
    }`

/**
 * A Redis URL without its credentials, or `undefined` when it is not one.
 *
 * @internal
 */
export const showRedisUrl = (url: string): string | undefined => {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return undefined
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") return undefined
  if (parsed.hostname === "") return undefined
  return `${parsed.protocol}//${parsed.host}${parsed.pathname === "/" ? "" : parsed.pathname}`
}

/**
 * An http(s) URL as its origin (no path, no credentials), or `undefined`
 * when it is not one.
 *
 * @internal
 */
export const showHttpUrl = (url: string): string | undefined => {
  try {
    const parsed = new URL(url)
    return parsed.protocol === "https:" || parsed.protocol === "http:"
      ? `${parsed.protocol}//${parsed.host}`
      : undefined
  } catch {
    return undefined
  }
}

/**
 * What a client error of kind `kind` means, for the CLI's message about
 * the store at `shown`.
 *
 * @internal
 */
export const describeClientError = (kind: string, reason: string, shown: string): string => {
  switch (kind) {
    case "Auth":
      return `${shown} refused the credentials (wrong password or token): ${reason}`
    case "Timeout":
      return `${shown} did not answer in time (${reason})`
    case "Connection":
      return `cannot reach ${shown}: ${reason}`
    default:
      return `${shown} answered with an error: ${reason}`
  }
}
