/**
 * The arguments of `lua/circuit.lua`: the circuit's config (ARGV 3 to 16),
 * one call's ARGV, and a circuit's hash as the script writes it (for tests
 * and benches that seed circuits).
 *
 * @internal
 */
import type { MachineConfig } from "../model.js"

/**
 * The config fields the circuit script takes, in ARGV order from ARGV 3
 * (lua/circuit.lua's header lists the same): each is sent as `String(value)`,
 * or `"-"` when it is off (`undefined`); ARGV 16 is the same words joined by
 * single spaces, which the script stores as the circuit's `config` field for
 * readers with no config of their own (monitoring).
 *
 * @internal
 */
export const configArgv = [
  "monitoringPeriod",
  "stateTtl",
  "failureThreshold",
  "successThreshold",
  "recoveryTimeout",
  "maxRecoveryTimeout",
  "backoffMultiplier",
  "backoffJitter",
  "halfOpenMaxProbes",
  "probeLease",
  "failureRateThreshold",
  "minimumCalls",
  "metricsTtl"
] as const satisfies ReadonlyArray<keyof MachineConfig>

/**
 * ARGV 3 to 16 of the circuit script: the config (`configArgv`). Built once
 * per circuit.
 *
 * @internal
 */
export const scriptArgs = (config: MachineConfig): ReadonlyArray<string> => {
  const words = configArgv.map((field) => {
    const value = config[field]
    return value === undefined ? "-" : String(value)
  })
  return [...words, words.join(" ")]
}

/**
 * A circuit's hash as lua/circuit.lua writes it (its header): `s` (the state
 * and an empty window), the state fields one by one, and `config`
 * (`scriptArgs`), for tests and benches that seed circuits without running
 * the script.
 *
 * @internal
 */
export const circuitFields = (
  args: ReadonlyArray<string>,
  s: {
    readonly state: string
    readonly version: number
    readonly openCount: number
    readonly openedAt: number
    readonly retryAt: number
    readonly changedAt: number
    readonly writtenAt: number
    readonly halfOpenSuccesses: number
  }
): Record<string, string> => ({
  s: `${s.state} ${s.version} ${s.openCount} ${s.openedAt} ${s.retryAt} ${s.changedAt} ${s.writtenAt} ${s.halfOpenSuccesses} 0 0 0 0 0`,
  state: s.state,
  version: String(s.version),
  openCount: String(s.openCount),
  openedAt: String(s.openedAt),
  retryAt: String(s.retryAt),
  changedAt: String(s.changedAt),
  halfOpenSuccesses: String(s.halfOpenSuccesses),
  config: args[args.length - 1]!
})

/**
 * An operation of the circuit script (ARGV 1).
 *
 * @internal
 */
export type Op = "acquire" | "record" | "force" | "read" | "metrics"

/**
 * Metric counts an instance has not sent yet (ARGV 21).
 *
 * @internal
 */
export interface Unsent {
  successes: number
  failures: number
  rejections: number
  probes: number
}

/** @internal */
export const noneUnsent: Readonly<Unsent> = { successes: 0, failures: 0, rejections: 0, probes: 0 }

/**
 * One call of the circuit script, beyond its config.
 *
 * @internal
 */
export interface ScriptCall {
  readonly op: Op
  /** On the script's clock. */
  readonly now: number
  /** acquire: the lease id to take; record: the permit held. */
  readonly probe?: string | undefined
  /** record: the outcome; force: the target. */
  readonly outcome?: string | undefined
  /** The jitter sample, in [0, 1). */
  readonly sample?: number | undefined
  /** Batched successes to add first. */
  readonly batch?: number | undefined
  readonly unsent?: Readonly<Unsent> | undefined
  /** A monitoring read, with the config the circuit's writers stored. */
  readonly peek?: boolean | undefined
  /**
   * What to put back if Redis lost the circuit: "state openCount openedAt
   * retryAt version", times on the script's clock.
   */
  readonly known?: string | undefined
}

/**
 * The ARGV of one call of the circuit script: `config` is `scriptArgs` of
 * the circuit's config. The breaker's record (a failure or a success that
 * carries nothing else) goes in the script's short form, op "r", 10 ARGV
 * (lua/circuit.lua's header); every other call in the long form, 23.
 *
 * @internal
 */
export const scriptArgv = (config: ReadonlyArray<string>, call: ScriptCall): Array<string> => {
  const unsent = call.unsent ?? noneUnsent
  if (
    call.op === "record" && (call.outcome === "failure" || call.outcome === "success") &&
    (call.probe ?? "") === "" && (call.batch ?? 0) === 0 && call.peek !== true && (call.known ?? "") === "" &&
    unsent.successes === 0 && unsent.failures === 0 && unsent.rejections === 0 && unsent.probes === 0
  ) {
    // the breaker's record, in the short form ("r"): the config words its first block reads, and
    // the packed config, from which the script takes the rest
    return [
      "r",
      String(call.now),
      call.outcome,
      String(call.sample ?? 0),
      config[0]!,
      config[1]!,
      config[2]!,
      config[10]!,
      config[11]!,
      config[13]!
    ]
  }
  // filled by index (no spread): this runs once per round trip
  const argv = new Array<string>(config.length + 9)
  argv[0] = call.op
  argv[1] = String(call.now)
  let i = 2
  for (const word of config) argv[i++] = word
  argv[i++] = call.probe ?? ""
  argv[i++] = call.outcome ?? ""
  argv[i++] = String(call.sample ?? 0)
  argv[i++] = String(call.batch ?? 0)
  argv[i++] = `${unsent.successes} ${unsent.failures} ${unsent.rejections} ${unsent.probes}`
  argv[i++] = call.peek === true ? "peek" : ""
  argv[i] = call.known ?? ""
  return argv
}

/**
 * The ARGV of a monitoring read ("metrics" op, "peek"): `now` on the
 * script's clock; it carries nothing of the instance.
 *
 * @internal
 */
export const peekArgs = (config: MachineConfig, now: number): ReadonlyArray<string> =>
  scriptArgv(scriptArgs(config), { op: "metrics", now, peek: true })
