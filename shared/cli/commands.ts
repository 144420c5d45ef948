/**
 * What the CLI's commands say, the same for every edition: their
 * descriptions, the states `--state` takes, the admin actions and what they
 * do to the fleet, the text of `list`, `health` and `watch`, the messages of
 * a missing command, an unknown circuit or an unconfirmed action; and how the
 * CLI shows where it connects (URLs without their credentials).
 *
 * @internal
 */
import type { CircuitMetrics, FleetRead, OverallHealth, OverallStatus, State } from "../model.js"
import { circuitJson, circuitsTable, duration, printableLines, table } from "./format.js"

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

/**
 * The descriptions of the commands and their options, as `--help` shows them.
 *
 * @internal
 */
export const descriptions = {
  root: "Inspect and operate the circuits a fleet shares in Redis (effect-circuit-breaker-redis)",
  list: "List every circuit of the fleet: state, window failures/calls, re-opens, retry in",
  show: "Show one circuit: state, window, backoff, retry time, the fleet's counts",
  health: "The fleet's health; exit code 0 healthy, 1 degraded, 2 unhealthy or unknown",
  metrics: "Print the fleet's circuits once as Prometheus text (format 0.0.4)",
  watch: "A live table of the circuits, redrawn in place",
  state: "Only circuits in this state (repeatable; default: every state)",
  match:
    "Only circuits whose name matches this glob: * for any characters, every other character for itself, e.g. 'pay*'",
  json: "Print JSON instead of text",
  name: "The circuit's name",
  yes: "Do not ask for confirmation",
  interval: "Milliseconds between redraws",
  count: "Stop after this many redraws (default: until Ctrl-C)",
  redisUrl: "Redis URL, redis://[:password@]host:port[/db] or rediss://… (default: $REDIS_URL, unless " +
    "$UPSTASH_REDIS_REST_URL and $UPSTASH_REDIS_REST_TOKEN are set)",
  prefix: "Key prefix of the circuits in Redis (the store's `prefix` option)",
  timeout: "Bound on connecting and on each round trip, in milliseconds"
} as const

/**
 * The warning when a read could not see every circuit, or `undefined`.
 *
 * @internal
 */
export const incompleteWarning = (fleet: Pick<FleetRead, "complete" | "unreadable" | "reason">): string | undefined =>
  fleet.complete ? undefined : `warning: ${fleet.unreadable} circuit(s) could not be read: ${fleet.reason}`

/**
 * `list --json`: the circuits, and whether the read saw every one.
 *
 * @internal
 */
export const listJson = (circuits: ReadonlyArray<CircuitMetrics>, fleet: FleetRead, now: number): string =>
  JSON.stringify(
    {
      circuits: circuits.map((m) => circuitJson(m, now)),
      complete: fleet.complete,
      unreadable: fleet.unreadable,
      reason: fleet.reason
    },
    null,
    2
  )

/**
 * `list` of no circuit: none at all, or none the filter selects.
 *
 * @internal
 */
export const listEmpty = (filtered: boolean): string => filtered ? "no circuit matches" : "no circuits in the store"

/**
 * What an admin command is about to do.
 *
 * @internal
 */
export const plan = (verb: Verb, name: string, where: string, state: State): string =>
  `${JSON.stringify(name)} on ${where} is ${state}; after \`${verb}\` it is ${actions[verb].target}: ${
    actions[verb].effect
  }.`

/**
 * An admin command without `--yes` and without a terminal to ask on.
 *
 * @internal
 */
export const notConfirmed = (verb: Verb, name: string): string =>
  `not confirmed: pass --yes to ${verb} ${JSON.stringify(name)} without a terminal to ask on`

/**
 * The question an admin command asks on a terminal.
 *
 * @internal
 */
export const confirmQuestion = (verb: Verb, name: string): string => `${verb} ${JSON.stringify(name)}? [y/N] `

/**
 * Whether an answer to `confirmQuestion` confirms: `y` or `yes`, any case.
 *
 * @internal
 */
export const confirms = (answer: string): boolean => /^y(es)?$/i.test(answer.trim())

/**
 * The answer was not yes.
 *
 * @internal
 */
export const aborted = "aborted: nothing changed"

/**
 * The store did not hear of an admin action.
 *
 * @internal
 */
export const adminFailed = (verb: Verb, reason: string): string =>
  `${verb} failed, the fleet did not hear of it: ${reason}`

/**
 * An admin action done.
 *
 * @internal
 */
export const adminDone = (name: string, state: State): string => `${JSON.stringify(name)} is now ${state}.`

/**
 * `health` as text: the verdict, and the circuits that are not healthy.
 *
 * @internal
 */
export const healthText = (health: OverallHealth): string => {
  const services = Object.entries(health.services)
  const summary = `overall: ${health.overall} (${services.length} circuits${
    health.complete ? "" : `, ${health.unreadable} unreadable`
  })`
  const notHealthy = services.filter(([, s]) => s.status !== "healthy")
  return notHealthy.length === 0
    ? summary
    : `${summary}\n${table(["CIRCUIT", "STATE", "STATUS"], notHealthy.map(([n, s]) => [n, s.state, s.status]))}`
}

/**
 * `health`'s exit code: 0 healthy, 1 degraded, 2 unhealthy (or unknown).
 *
 * @internal
 */
export const healthExitCode = (overall: OverallStatus): number =>
  overall === "healthy" ? 0 : overall === "degraded" ? 1 : 2

/**
 * One frame of `watch`: home, clear the screen (the one control sequence the
 * CLI writes), then the table of `circuits`, every line printable.
 *
 * @internal
 */
export const watchFrame = (
  where: string,
  now: number,
  interval: number,
  circuits: ReadonlyArray<CircuitMetrics>,
  fleet: Pick<FleetRead, "complete" | "unreadable" | "reason">
): string => {
  const body = circuits.length === 0 ? "no circuit matches" : circuitsTable(circuits, now)
  return `\u001b[H\u001b[2J${
    printableLines(
      `${where}  ${new Date(now).toISOString()}  every ${duration(interval)}; Ctrl-C to quit\n\n${body}${
        fleet.complete ? "" : `\n\n${fleet.unreadable} circuit(s) could not be read: ${fleet.reason}`
      }`
    )
  }`
}
