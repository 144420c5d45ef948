/**
 * The CLI's commands, on `effect/cli`: `list`, `show`, `open`, `close`,
 * `reset`, `health`, `metrics`, `watch`. Each reads the fleet through
 * `CircuitBreakerMonitoring` on the Redis store the connection options name;
 * the admin commands act through a `CircuitBreaker` of the registry, as any
 * instance would.
 *
 * Exit codes: 0 done (`health`: healthy); 1 the action failed or was not
 * confirmed, an unknown circuit (`health`: degraded); 2 a usage error, or
 * the store cannot be read (`health`: unhealthy, or unknown).
 *
 * The words and verdicts are monitoring's, as over HTTP: `health` is
 * `CircuitBreakerMonitoring.health` (`--json` prints it as `GET /health`
 * answers it), `list --json` has the `complete`, `unreadable` and `reason`
 * of a read. Every line printed passes through `format.printableLines`: no
 * string from the store reaches the terminal as control characters.
 *
 * @internal
 */
import * as Argument from "effect/cli/Argument"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Clock from "effect/Clock"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Terminal from "effect/Terminal"
import * as CircuitBreakerMetrics from "../../CircuitBreakerMetrics.js"
import { CircuitBreakerMonitoring, type FleetRead } from "../../CircuitBreakerMonitoring.js"
import { CircuitBreakers } from "../../CircuitBreakers.js"
import type { State } from "../../CircuitState.js"
import * as prometheus from "../monitoring/prometheus.js"
import { CliError, connectionOptions, withStore } from "./connection.js"
import { actions, missingCommand, states, unknownCircuit, type Verb } from "../../../../shared/cli/commands.js"
import * as format from "../../../../shared/cli/format.js"

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

/** Prints on stdout, every character a terminal would act on escaped (newlines kept). */
const say = (text: string) => Console.log(format.printableLines(text))

/** Prints on stderr, as `say`. */
const warn = (text: string) => Console.error(format.printableLines(text))

/** What `--state` and `--match` select. */
interface Filter {
  readonly state: ReadonlyArray<State>
  readonly match: Option.Option<string>
}

const noFilter: Filter = { state: [], match: Option.none() }

/**
 * The circuits of the fleet `filter` selects, read once by monitoring (as
 * `GET /circuits` reads them), in name order. Fails when nothing could be
 * read and the read is not complete: the store cannot be read.
 */
const readFleet = (filter: Filter) =>
  Effect.gen(function*() {
    const monitoring = yield* CircuitBreakerMonitoring
    const prefix = Option.getOrUndefined(Option.map(filter.match, format.globPrefix))
    const fleet = yield* monitoring.read({
      state: filter.state.length === 0 ? undefined : filter.state,
      prefix: prefix === "" ? undefined : prefix
    })
    const now = yield* Clock.currentTimeMillis
    if (!fleet.complete && fleet.circuits.length === 0) {
      return yield* new CliError({ message: `cannot read the circuits: ${fleet.reason}`, exitCode: 2 })
    }
    const matches = Option.match(filter.match, { onNone: () => () => true, onSome: format.globMatcher })
    const circuits = fleet.circuits.filter((m) => matches(m.name))
    return { circuits, fleet, now }
  })

const filterOptions = {
  state: Flag.Literals("state", states).pipe(
    Flag.withDescription("Only circuits in this state (repeatable; default: every state)"),
    Flag.atLeast(0)
  ),
  match: Flag.String("match").pipe(
    Flag.withDescription(
      "Only circuits whose name matches this glob: * for any characters, every other character for itself, e.g. 'pay*'"
    ),
    Flag.optional
  )
} as const

const json = Flag.Boolean("json").pipe(Flag.withDescription("Print JSON instead of text"), Flag.withDefault(false))

/** A warning on stderr when the read could not see every circuit. */
const warnIncomplete = (fleet: Pick<FleetRead, "complete" | "unreadable" | "reason">) =>
  fleet.complete ? Effect.void : warn(`warning: ${fleet.unreadable} circuit(s) could not be read: ${fleet.reason}`)

const listCommand = Command.make(
  "list",
  { ...connectionOptions, ...filterOptions, json },
  (options) =>
    withStore(options, () =>
      Effect.gen(function*() {
        const { circuits, fleet, now } = yield* readFleet(options)
        if (options.json) {
          yield* say(JSON.stringify(
            {
              circuits: circuits.map((m) => format.circuitJson(m, now)),
              complete: fleet.complete,
              unreadable: fleet.unreadable,
              reason: fleet.reason
            },
            null,
            2
          ))
        } else if (circuits.length === 0) {
          yield* say(
            options.state.length === 0 && Option.isNone(options.match)
              ? "no circuits in the store"
              : "no circuit matches"
          )
        } else {
          yield* say(format.circuitsTable(circuits, now))
        }
        yield* warnIncomplete(fleet)
      }))
).pipe(Command.withDescription("List every circuit of the fleet: state, window failures/calls, re-opens, retry in"))

const name = Argument.String("NAME").pipe(Argument.withDescription("The circuit's name"))

/** The circuit `name` as the fleet sees it, or exit 1 when the store does not know it. */
const readOne = (circuit: string) =>
  Effect.gen(function*() {
    const { circuits, fleet, now } = yield* readFleet(noFilter)
    const found = circuits.find((m) => m.name === circuit)
    if (found === undefined) {
      return yield* new CliError({
        message: unknownCircuit(circuit, circuits.map((m) => m.name), fleet.complete ? undefined : fleet),
        exitCode: fleet.complete ? 1 : 2
      })
    }
    return { metrics: found, now }
  })

const showCommand = Command.make(
  "show",
  { ...connectionOptions, json, name },
  (options) =>
    withStore(options, () =>
      Effect.gen(function*() {
        const { metrics, now } = yield* readOne(options.name)
        yield* say(
          options.json
            ? JSON.stringify(format.circuitJson(metrics, now), null, 2)
            : format.circuitDetails(metrics, now)
        )
      }))
).pipe(Command.withDescription("Show one circuit: state, window, backoff, retry time, the fleet's counts"))

const adminCommand = (verb: Verb, environment: Environment) =>
  Command.make(
    verb,
    {
      ...connectionOptions,
      yes: Flag.Boolean("yes").pipe(
        Flag.withAlias("y"),
        Flag.withDescription("Do not ask for confirmation"),
        Flag.withDefault(false)
      ),
      name
    },
    (options) =>
      withStore(options, (where) =>
        Effect.gen(function*() {
          const action = actions[verb]
          const { metrics } = yield* readOne(options.name)
          const circuit = JSON.stringify(options.name)
          yield* say(
            `${circuit} on ${where} is ${metrics.state}; after \`${verb}\` it is ${action.target}: ${action.effect}.`
          )
          if (!options.yes) {
            if (!environment.interactive) {
              return yield* new CliError({
                message: `not confirmed: pass --yes to ${verb} ${circuit} without a terminal to ask on`,
                exitCode: 1
              })
            }
            const terminal = yield* Terminal.Terminal
            yield* terminal.display(format.printable(`${verb} ${circuit}? [y/N] `)).pipe(Effect.ignore)
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
          yield* say(`${circuit} is now ${state}.`)
        }))
  ).pipe(Command.withDescription(actions[verb].description))

const healthCommand = (environment: Environment) =>
  Command.make(
    "health",
    { ...connectionOptions, json },
    (options) =>
      withStore(options, () =>
        Effect.gen(function*() {
          // the verdict of HTTP's GET /health, on the same read
          const health = yield* CircuitBreakerMonitoring.use((monitoring) => monitoring.health)
          const { overall } = health
          if (options.json) {
            yield* say(JSON.stringify(health, null, 2))
          } else {
            const services = Object.entries(health.services)
            yield* say(
              `overall: ${overall} (${services.length} circuits${
                health.complete ? "" : `, ${health.unreadable} unreadable`
              })`
            )
            const notHealthy = services.filter(([, s]) => s.status !== "healthy")
            if (notHealthy.length > 0) {
              yield* say(
                format.table(["CIRCUIT", "STATE", "STATUS"], notHealthy.map(([n, s]) => [n, s.state, s.status]))
              )
            }
            yield* warnIncomplete(health)
          }
          return overall === "healthy" ? 0 : overall === "degraded" ? 1 : 2
        })).pipe(
          // the store cannot be read: health unknown
          Effect.catchTag(
            "CliError",
            (error) => Effect.andThen(warn(`health unknown: ${error.message}`), Effect.succeed(2))
          ),
          Effect.flatMap((code) => Effect.sync(() => environment.setExitCode(code)))
        )
  ).pipe(Command.withDescription("The fleet's health; exit code 0 healthy, 1 degraded, 2 unhealthy or unknown"))

const metricsCommand = Command.make(
  "metrics",
  connectionOptions,
  (options) =>
    withStore(options, () =>
      Effect.gen(function*() {
        const { fleet } = yield* readFleet(noFilter)
        const instance = yield* CircuitBreakerMetrics.snapshot
        yield* say(prometheus.render(fleet, instance).trimEnd())
        yield* warnIncomplete(fleet)
      }))
).pipe(Command.withDescription("Print the fleet's circuits once as Prometheus text (format 0.0.4)"))

const watchCommand = Command.make(
  "watch",
  {
    ...connectionOptions,
    ...filterOptions,
    interval: Flag.Int("interval").pipe(
      Flag.withDescription("Milliseconds between redraws"),
      Flag.withDefault(2_000)
    ),
    count: Flag.Int("count").pipe(
      Flag.withDescription("Stop after this many redraws (default: until Ctrl-C)"),
      Flag.optional
    )
  },
  (options) =>
    withStore(options, (where) =>
      Effect.gen(function*() {
        if (options.interval < 100) {
          return yield* new CliError({ message: "--interval must be at least 100 ms", exitCode: 2 })
        }
        const frame = Effect.gen(function*() {
          const { circuits, fleet, now } = yield* readFleet(options)
          const body = circuits.length === 0 ? "no circuit matches" : format.circuitsTable(circuits, now)
          // home, clear the screen (the one control sequence the CLI writes), draw
          yield* Console.log(
            `\u001b[H\u001b[2J${
              format.printableLines(
                `${where}  ${new Date(now).toISOString()}  every ${
                  format.duration(options.interval)
                }; Ctrl-C to quit\n\n${body}${
                  fleet.complete ? "" : `\n\n${fleet.unreadable} circuit(s) could not be read: ${fleet.reason}`
                }`
              )
            }`
          )
        })
        const schedule = Schedule.spaced(`${options.interval} millis`)
        yield* options.count._tag === "Some"
          ? Effect.repeat(frame, { schedule, times: Math.max(0, options.count.value - 1) })
          : Effect.repeat(frame, schedule)
      }))
).pipe(Command.withDescription("A live table of the circuits, redrawn in place"))

/**
 * The root command with every subcommand.
 *
 * @internal
 */
export const command = (environment: Environment) =>
  Command.make("effect-circuit-breaker", {}, () => new CliError({ message: missingCommand, exitCode: 2 })).pipe(
    Command.withDescription(
      "Inspect and operate the circuits a fleet shares in Redis (effect-circuit-breaker-redis)"
    ),
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
