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
import {
  aborted,
  actions,
  adminDone,
  adminFailed,
  confirmQuestion,
  confirms,
  descriptions,
  healthExitCode,
  healthText,
  incompleteWarning,
  listEmpty,
  listJson,
  missingCommand,
  notConfirmed,
  plan,
  states,
  unknownCircuit,
  type Verb,
  watchFrame
} from "../../../../shared/cli/commands.js"
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
    Flag.withDescription(descriptions.state),
    Flag.atLeast(0)
  ),
  match: Flag.String("match").pipe(
    Flag.withDescription(descriptions.match),
    Flag.optional
  )
} as const

const json = Flag.Boolean("json").pipe(Flag.withDescription(descriptions.json), Flag.withDefault(false))

/** A warning on stderr when the read could not see every circuit. */
const warnIncomplete = (fleet: Pick<FleetRead, "complete" | "unreadable" | "reason">) => {
  const warning = incompleteWarning(fleet)
  return warning === undefined ? Effect.void : warn(warning)
}

const listCommand = Command.make(
  "list",
  { ...connectionOptions, ...filterOptions, json },
  (options) =>
    withStore(options, () =>
      Effect.gen(function*() {
        const { circuits, fleet, now } = yield* readFleet(options)
        if (options.json) {
          yield* say(listJson(circuits, fleet, now))
        } else if (circuits.length === 0) {
          yield* say(listEmpty(options.state.length > 0 || Option.isSome(options.match)))
        } else {
          yield* say(format.circuitsTable(circuits, now))
        }
        yield* warnIncomplete(fleet)
      }))
).pipe(Command.withDescription(descriptions.list))

const name = Argument.String("NAME").pipe(Argument.withDescription(descriptions.name))

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
).pipe(Command.withDescription(descriptions.show))

const adminCommand = (verb: Verb, environment: Environment) =>
  Command.make(
    verb,
    {
      ...connectionOptions,
      yes: Flag.Boolean("yes").pipe(
        Flag.withAlias("y"),
        Flag.withDescription(descriptions.yes),
        Flag.withDefault(false)
      ),
      name
    },
    (options) =>
      withStore(options, (where) =>
        Effect.gen(function*() {
          const { metrics } = yield* readOne(options.name)
          yield* say(plan(verb, options.name, where, metrics.state))
          if (!options.yes) {
            if (!environment.interactive) {
              return yield* new CliError({ message: notConfirmed(verb, options.name), exitCode: 1 })
            }
            const terminal = yield* Terminal.Terminal
            yield* terminal.display(format.printable(confirmQuestion(verb, options.name))).pipe(Effect.ignore)
            const answer = yield* terminal.readLine.pipe(Effect.orElseSucceed(() => ""))
            if (!confirms(answer)) return yield* new CliError({ message: aborted, exitCode: 1 })
          }
          const registry = yield* CircuitBreakers
          const breaker = yield* registry.get(options.name).pipe(
            Effect.mapError((error) => new CliError({ message: error.message, exitCode: 2 }))
          )
          yield* (verb === "open" ? breaker.forceOpen : verb === "close" ? breaker.forceClose : breaker.reset).pipe(
            Effect.mapError((error) => new CliError({ message: adminFailed(verb, error.reason), exitCode: 1 }))
          )
          const state = yield* breaker.state
          yield* say(adminDone(options.name, state))
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
          if (options.json) {
            yield* say(JSON.stringify(health, null, 2))
          } else {
            yield* say(healthText(health))
            yield* warnIncomplete(health)
          }
          return healthExitCode(health.overall)
        })).pipe(
          // the store cannot be read: health unknown
          Effect.catchTag(
            "CliError",
            (error) => Effect.andThen(warn(`health unknown: ${error.message}`), Effect.succeed(2))
          ),
          Effect.flatMap((code) => Effect.sync(() => environment.setExitCode(code)))
        )
  ).pipe(Command.withDescription(descriptions.health))

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
).pipe(Command.withDescription(descriptions.metrics))

const watchCommand = Command.make(
  "watch",
  {
    ...connectionOptions,
    ...filterOptions,
    interval: Flag.Int("interval").pipe(
      Flag.withDescription(descriptions.interval),
      Flag.withDefault(2_000)
    ),
    count: Flag.Int("count").pipe(
      Flag.withDescription(descriptions.count),
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
          // every line printable, after the home-and-clear sequence
          yield* Console.log(watchFrame(where, now, options.interval, circuits, fleet))
        })
        const schedule = Schedule.spaced(`${options.interval} millis`)
        yield* options.count._tag === "Some"
          ? Effect.repeat(frame, { schedule, times: Math.max(0, options.count.value - 1) })
          : Effect.repeat(frame, schedule)
      }))
).pipe(Command.withDescription(descriptions.watch))

/**
 * The root command with every subcommand.
 *
 * @internal
 */
export const command = (environment: Environment) =>
  Command.make("effect-circuit-breaker", {}, () => new CliError({ message: missingCommand, exitCode: 2 })).pipe(
    Command.withDescription(descriptions.root),
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
