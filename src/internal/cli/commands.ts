/**
 * The CLI's commands, on `@effect/cli`: `list`, `show`, `open`, `close`,
 * `reset`, `health`, `metrics`, `watch`. Each reads the fleet through
 * `CircuitBreakerMonitoring` on the Redis store the connection options name;
 * the admin commands act through a `CircuitBreaker` of the registry, as any
 * instance would.
 *
 * Exit codes: 0 done (`health`: healthy); 1 the action failed or was not
 * confirmed, an unknown circuit (`health`: degraded); 2 a usage error, or
 * the store cannot be read (`health`: unhealthy, or unknown).
 *
 * @internal
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Terminal from "@effect/platform/Terminal"
import * as Clock from "effect/Clock"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as CircuitBreakerMetrics from "../../CircuitBreakerMetrics.js"
import * as Schedule from "effect/Schedule"
import { CircuitBreakerMonitoring, type CircuitMetrics } from "../../CircuitBreakerMonitoring.js"
import { CircuitBreakers } from "../../CircuitBreakers.js"
import type { State } from "../../CircuitState.js"
import { CircuitStore } from "../../CircuitStore.js"
import * as prometheus from "../prometheus.js"
import { CliError, connectionOptions, withStore } from "./connection.js"
import * as format from "./format.js"

const states = ["CLOSED", "HALF_OPEN", "OPEN", "FORCED_OPEN", "FORCED_CLOSED"] as const satisfies ReadonlyArray<State>

/**
 * What the commands need to know about where they run.
 *
 * @internal
 */
export interface Environment {
  /** Whether a person can answer a confirmation (stdin is a terminal). */
  readonly interactive: boolean
  /** Sets the process's exit code (for `health`). */
  readonly setExitCode: (code: number) => void
}

/** Every circuit the store knows, read once; fails when the store cannot list them. */
const readFleet = Effect.gen(function*() {
  const store = yield* CircuitStore
  const names = yield* store.names.pipe(
    Effect.mapError((error) => new CliError({ message: `cannot list the circuits: ${error.reason}`, exitCode: 2 }))
  )
  const monitoring = yield* CircuitBreakerMonitoring
  const all = yield* monitoring.getAllMetrics
  const now = yield* Clock.currentTimeMillis
  const unread = names.filter((name) => !(name in all))
  const circuits = Object.entries(all).sort(([a], [b]) => a.localeCompare(b))
  return { circuits, unread, now }
})

const globToRegExp = (glob: string): RegExp =>
  new RegExp(`^${glob.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`)

const filterOptions = {
  state: Options.choice("state", states).pipe(
    Options.withDescription("Only circuits in this state (repeatable)"),
    Options.repeated
  ),
  match: Options.text("match").pipe(
    Options.withDescription("Only circuits whose name matches this glob (* for any characters), e.g. 'pay*'"),
    Options.optional
  )
} as const

const json = Options.boolean("json").pipe(Options.withDescription("Print JSON instead of text"))

const select = (
  circuits: ReadonlyArray<readonly [string, CircuitMetrics]>,
  filter: { readonly state: ReadonlyArray<State>; readonly match: { _tag: "Some"; value: string } | { _tag: "None" } }
) => {
  const pattern = filter.match._tag === "Some" ? globToRegExp(filter.match.value) : undefined
  return circuits.filter(([name, m]) =>
    (filter.state.length === 0 || filter.state.includes(m.state)) && (pattern === undefined || pattern.test(name))
  )
}

const warnUnread = (unread: ReadonlyArray<string>) =>
  unread.length === 0
    ? Effect.void
    : Console.error(`warning: ${unread.length} circuit(s) could not be read: ${unread.slice(0, 10).join(", ")}`)

const listCommand = Command.make(
  "list",
  { ...connectionOptions, ...filterOptions, json },
  (options) =>
    withStore(options, () =>
      Effect.gen(function*() {
        const { circuits, now, unread } = yield* readFleet
        const selected = select(circuits, options)
        if (options.json) {
          yield* Console.log(JSON.stringify({ circuits: selected.map(([name, m]) => format.circuitJson(name, m, now)), unread }, null, 2))
        } else if (selected.length === 0) {
          yield* Console.log(circuits.length === 0 ? "no circuits in the store" : "no circuit matches")
        } else {
          yield* Console.log(format.circuitsTable(selected, now))
        }
        yield* warnUnread(unread)
      }))
).pipe(Command.withDescription("List every circuit of the fleet: state, window failures/calls, re-opens, retry in"))

const name = Args.text({ name: "NAME" }).pipe(Args.withDescription("The circuit's name"))

/** The circuit `name` as the fleet sees it, or exit 1 when the store does not know it. */
const readOne = (circuit: string) =>
  Effect.gen(function*() {
    const { circuits, now, unread } = yield* readFleet
    const found = circuits.find(([n]) => n === circuit)
    if (found === undefined) {
      if (unread.includes(circuit)) {
        return yield* new CliError({ message: `the circuit ${JSON.stringify(circuit)} could not be read`, exitCode: 2 })
      }
      const known = circuits.map(([n]) => n)
      return yield* new CliError({
        message: `no circuit named ${JSON.stringify(circuit)} in the store${
          known.length === 0 ? " (it knows none)" : `; known: ${known.slice(0, 20).join(", ")}${known.length > 20 ? ", …" : ""}`
        }`,
        exitCode: 1
      })
    }
    return { metrics: found[1], now }
  })

const showCommand = Command.make(
  "show",
  { ...connectionOptions, json, name },
  (options) =>
    withStore(options, () =>
      Effect.gen(function*() {
        const { metrics, now } = yield* readOne(options.name)
        yield* Console.log(
          options.json
            ? JSON.stringify(format.circuitJson(options.name, metrics, now), null, 2)
            : format.circuitDetails(options.name, metrics, now)
        )
      }))
).pipe(Command.withDescription("Show one circuit: state, window, backoff, retry time, the fleet's counts"))

type Verb = "open" | "close" | "reset"

const actions: Record<Verb, {
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

const adminCommand = (verb: Verb, environment: Environment) =>
  Command.make(
    verb,
    {
      ...connectionOptions,
      yes: Options.boolean("yes").pipe(Options.withAlias("y"), Options.withDescription("Do not ask for confirmation")),
      name
    },
    (options) =>
      withStore(options, (where) =>
        Effect.gen(function*() {
          const action = actions[verb]
          const { metrics } = yield* readOne(options.name)
          const circuit = JSON.stringify(options.name)
          yield* Console.log(`${circuit} on ${where} is ${metrics.state}; after \`${verb}\` it is ${action.target}: ${action.effect}.`)
          if (!options.yes) {
            if (!environment.interactive) {
              return yield* new CliError({
                message: `not confirmed: pass --yes to ${verb} ${circuit} without a terminal to ask on`,
                exitCode: 1
              })
            }
            const terminal = yield* Terminal.Terminal
            yield* terminal.display(`${verb} ${circuit}? [y/N] `).pipe(Effect.ignore)
            const answer = yield* terminal.readLine.pipe(Effect.orElseSucceed(() => ""))
            const confirmed = /^y(es)?$/i.test(answer.trim())
            if (!confirmed) return yield* new CliError({ message: "aborted: nothing changed", exitCode: 1 })
          }
          const registry = yield* CircuitBreakers
          const breaker = yield* registry.get(options.name).pipe(
            Effect.mapError((error) => new CliError({ message: error.message, exitCode: 2 }))
          )
          yield* (verb === "open" ? breaker.forceOpen : verb === "close" ? breaker.forceClose : breaker.reset).pipe(
            Effect.mapError((error) =>
              new CliError({ message: `${verb} failed, the fleet did not hear of it: ${error.reason}`, exitCode: 1 })
            )
          )
          const state = yield* breaker.state
          yield* Console.log(`${circuit} is now ${state}.`)
        }))
  ).pipe(Command.withDescription(actions[verb].description))

const healthCommand = (environment: Environment) =>
  Command.make(
  "health",
  { ...connectionOptions, json },
  (options) =>
    withStore(options, () =>
      Effect.gen(function*() {
        const { circuits, unread } = yield* readFleet
        let overall: "healthy" | "degraded" | "unhealthy" | "unknown" = unread.length > 0 ? "unknown" : "healthy"
        for (const [, m] of circuits) {
          if (m.status === "unhealthy" && overall !== "unknown") overall = "unhealthy"
          else if (m.status === "degraded" && overall === "healthy") overall = "degraded"
        }
        if (options.json) {
          yield* Console.log(JSON.stringify({
            overall,
            circuits: Object.fromEntries(circuits.map(([n, m]) => [n, { state: m.state, status: m.status }])),
            unread
          }, null, 2))
        } else {
          yield* Console.log(`overall: ${overall} (${circuits.length} circuits)`)
          const notHealthy = circuits.filter(([, m]) => m.status !== "healthy")
          if (notHealthy.length > 0) {
            yield* Console.log(format.table(["CIRCUIT", "STATE", "STATUS"], notHealthy.map(([n, m]) => [n, m.state, m.status])))
          }
          yield* warnUnread(unread)
        }
        return overall === "healthy" ? 0 : overall === "degraded" ? 1 : 2
      })).pipe(
        // the store cannot be read: health unknown
        Effect.catchTag("CliError", (error) =>
          Effect.zipRight(Console.error(`health unknown: ${error.message}`), Effect.succeed(2))),
        Effect.flatMap((code) => Effect.sync(() => environment.setExitCode(code)))
      )
).pipe(Command.withDescription("The fleet's health; exit code 0 healthy, 1 degraded, 2 unhealthy or unknown"))

const metricsCommand = Command.make(
  "metrics",
  connectionOptions,
  (options) =>
    withStore(options, () =>
      Effect.gen(function*() {
        const { unread } = yield* readFleet
        const monitoring = yield* CircuitBreakerMonitoring
        const fleet = yield* monitoring.read()
        const instance = yield* CircuitBreakerMetrics.snapshot
        yield* Console.log(prometheus.render(fleet, instance).trimEnd())
        yield* warnUnread(unread)
      }))
).pipe(Command.withDescription("Print the fleet's circuits once as Prometheus text (format 0.0.4)"))

const watchCommand = Command.make(
  "watch",
  {
    ...connectionOptions,
    ...filterOptions,
    interval: Options.integer("interval").pipe(
      Options.withDescription("Milliseconds between redraws"),
      Options.withDefault(2_000)
    ),
    count: Options.integer("count").pipe(
      Options.withDescription("Stop after this many redraws (default: until Ctrl-C)"),
      Options.optional
    )
  },
  (options) =>
    withStore(options, (where) =>
      Effect.gen(function*() {
        if (options.interval < 100) {
          return yield* new CliError({ message: "--interval must be at least 100 ms", exitCode: 2 })
        }
        const frame = Effect.gen(function*() {
          const { circuits, now, unread } = yield* readFleet
          const selected = select(circuits, options)
          const body = selected.length === 0 ? "no circuit matches" : format.circuitsTable(selected, now)
          // home, clear the screen, draw
          yield* Console.log(
            `\u001b[H\u001b[2J${where}  ${new Date(now).toISOString()}  every ${
              format.duration(options.interval)
            }; Ctrl-C to quit\n\n${body}${unread.length > 0 ? `\n\n${unread.length} circuit(s) could not be read` : ""}`
          )
        })
        const schedule = Schedule.spaced(`${options.interval} millis`)
        yield* options.count._tag === "Some"
          ? Effect.repeat(frame, Schedule.intersect(schedule, Schedule.recurs(Math.max(0, options.count.value - 1))))
          : Effect.repeat(frame, schedule)
      }))
).pipe(Command.withDescription("A live table of the circuits, redrawn in place"))

/**
 * The root command with every subcommand.
 *
 * @internal
 */
export const command = (environment: Environment) =>
  Command.make("effect-circuit-breaker", {}, () =>
    new CliError({
      message: "missing command: list, show, open, close, reset, health, metrics or watch (see --help)",
      exitCode: 2
    })).pipe(
    Command.withDescription("Inspect and operate the circuits a fleet shares in Redis (effect-circuit-breaker-redis)"),
    Command.withSubcommands([
      listCommand,
      showCommand,
      adminCommand("open", environment),
      adminCommand("close", environment),
      adminCommand("reset", environment),
      healthCommand(environment),
      metricsCommand,
      watchCommand
    ])
  )
