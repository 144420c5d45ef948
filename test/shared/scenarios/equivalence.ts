/**
 * The memory store's state machine (shared/breaker/machine.ts) held against its Lua twin
 * (lua/circuit.lua): random sequences of calls, outcomes, batched successes, clock steps and
 * admin actions, under random configurations, must give the same decisions, the same states and
 * the same open periods, step by step.
 *
 * Effect-free: each edition's driver gives its own config decoder (its `CircuitConfig`) and its
 * own way to run the script (its `RedisClient.runScript` over its ioredis client). The generator
 * is a seeded PRNG: a failure names the seed and the sequence that diverged, and
 * `EQUIVALENCE_SEED=<seed>` replays it.
 */
import * as machine from "../../../shared/breaker/machine.js"
import type { Decision, MachineConfig, Outcome } from "../../../shared/model.js"
import { keysOf } from "../../../shared/redis/keys.js"
import { scriptArgs, scriptArgv } from "../../../shared/redis/scriptArgs.js"
import { decodeReply } from "../../../shared/redis/scriptReply.js"

/** What an edition provides to run the comparison against its own code. */
export interface EquivalenceDriver {
  /** The edition's config decoder (`CircuitConfig`), throwing on an invalid input. */
  readonly decodeConfig: (name: string, input: Partial<ConfigInput>) => MachineConfig
  /** Runs lua/circuit.lua (`shared/redis/luaScripts.ts`'s `circuit`) through the edition's Redis client. */
  readonly runScript: (keys: ReadonlyArray<string>, args: ReadonlyArray<string>) => Promise<unknown>
}

/** A configuration's input, durations in ms. */
export interface ConfigInput {
  readonly failureThreshold: number
  readonly successThreshold: number
  readonly halfOpenMaxProbes: number
  readonly recoveryTimeout: number
  readonly maxRecoveryTimeout: number
  readonly monitoringPeriod: number
  readonly backoffMultiplier: number
  readonly backoffJitter: number
  readonly probeLease: number
  readonly stateTtl: number
  readonly failureRateThreshold?: number
  readonly minimumCalls: number
}

export type Step =
  | { readonly _tag: "advance"; readonly ms: number }
  | { readonly _tag: "acquire" }
  /** `probe`: -1 for none, otherwise an index into the permits held. */
  | { readonly _tag: "record"; readonly outcome: Outcome; readonly probe: number; readonly u: number }
  | { readonly _tag: "flush"; readonly successes: number }
  | { readonly _tag: "acquireWithBatch"; readonly successes: number }
  | { readonly _tag: "force"; readonly to: "FORCED_OPEN" | "FORCED_CLOSED" | "RESET" }
  | { readonly _tag: "read" }

/** A seeded generator (mulberry32): numbers in [0, 1). */
export const prng = (seed: number): () => number => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

type Rng = () => number

/** An integer in [min, max], its bounds drawn more often than the rest (where the rules change). */
const int = (rng: Rng, min: number, max: number): number => {
  const r = rng()
  if (r < 0.05) return min
  if (r < 0.1) return max
  return min + Math.floor(rng() * (max - min + 1))
}

/** A double in [min, max] (`maxExcluded`: [min, max)), full precision, its lower bound drawn more often. */
const double = (rng: Rng, min: number, max: number, maxExcluded = false): number => {
  const r = rng()
  if (r < 0.05) return min
  if (r < 0.08 && !maxExcluded) return max
  const x = min + rng() * (max - min)
  return maxExcluded && x >= max ? min : x
}

const pick = <A>(rng: Rng, values: ReadonlyArray<A>): A => values[Math.floor(rng() * values.length)]!

/**
 * A configuration: small thresholds and periods, so that a sequence of 40 steps goes through
 * every state.
 */
export const randomConfig = (rng: Rng): ConfigInput => {
  const input: ConfigInput = {
    failureThreshold: int(rng, 1, 6),
    successThreshold: int(rng, 1, 4),
    halfOpenMaxProbes: int(rng, 1, 3),
    recoveryTimeout: int(rng, 100, 60_000),
    maxRecoveryTimeout: int(rng, 60_000, 400_000),
    monitoringPeriod: int(rng, 1_000, 300_000),
    backoffMultiplier: rng() < 0.5 ? 2 : double(rng, 1, 3),
    backoffJitter: rng() < 0.5 ? 0 : double(rng, 0, 1),
    probeLease: int(rng, 100, 20_000),
    stateTtl: int(rng, 850_000, 2_000_000), // above maxRecoveryTimeout × (1 + jitter) + probeLease
    minimumCalls: int(rng, 1, 12)
  }
  return rng() < 0.5 ? input : { ...input, failureRateThreshold: double(rng, 0.05, 1) }
}

/** The kinds of step, weighted: records and acquires most, admin actions and reads least. */
const weights: ReadonlyArray<readonly [Step["_tag"], number]> = [
  ["advance", 3],
  ["acquire", 4],
  ["record", 6],
  ["flush", 1],
  ["acquireWithBatch", 1],
  ["force", 1],
  ["read", 1]
]
const totalWeight = weights.reduce((n, [, w]) => n + w, 0)

export const randomStep = (rng: Rng): Step => {
  let r = rng() * totalWeight
  let tag: Step["_tag"] = "read"
  for (const [t, w] of weights) {
    if (r < w) {
      tag = t
      break
    }
    r -= w
  }
  switch (tag) {
    case "advance":
      return { _tag: "advance", ms: rng() < 0.5 ? int(rng, 0, 2_000) : int(rng, 0, 400_000) }
    case "acquire":
      return { _tag: "acquire" }
    case "record":
      return {
        _tag: "record",
        // a failure twice as often as a success or a release
        outcome: pick<Outcome>(rng, ["success", "failure", "failure", "release"]),
        probe: int(rng, -1, 3),
        u: double(rng, 0, 1, true)
      }
    case "flush":
      return { _tag: "flush", successes: int(rng, 1, 20) }
    case "acquireWithBatch":
      return { _tag: "acquireWithBatch", successes: int(rng, 1, 5) }
    case "force":
      return { _tag: "force", to: pick(rng, ["FORCED_OPEN", "FORCED_CLOSED", "RESET"] as const) }
    case "read":
      return { _tag: "read" }
  }
}

/** A sequence of 5 to 40 steps. */
export const randomSequence = (rng: Rng): Array<Step> => Array.from({ length: int(rng, 5, 40) }, () => randomStep(rng))

/** What one step produced, in a form both sides can be compared in. */
export interface Observation {
  readonly decision: string
  readonly snapshot: ReturnType<typeof machine.snapshot>
}

const describeDecision = (d: Decision) => d._tag === "Allow" ? `allow ${d.probe ?? "-"}` : `reject ${d.retryAfter}`

let circuits = 0

/**
 * Runs `sequence` under `input` on the machine and through the script (a circuit of its own),
 * comparing every step; throws at the first divergence. Returns the number of steps compared
 * (clock steps included).
 */
export const compareSequence = async (
  driver: EquivalenceDriver,
  input: ConfigInput,
  sequence: ReadonlyArray<Step>
): Promise<number> => {
  const config = driver.decodeConfig("eq", input)
  const keys = keysOf(`eq${process.pid}-${++circuits}`, "eq")
  const configArgs = scriptArgs(config)
  const s = machine.initial()
  let now = 1_700_000_000_000
  let probeIds = 0
  const held: Array<string> = []

  const viaLua = async (
    op: "acquire" | "record" | "force" | "read",
    probe: string,
    outcome: string,
    u: number,
    batch: number
  ): Promise<Observation> => {
    // decoded as the store decodes it (the full reply, or the first block's short one)
    const reply = decodeReply(
      await driver.runScript(keys, scriptArgv(configArgs, { op, now, probe, outcome, sample: u, batch })),
      0
    )
    if ("problem" in reply) throw new Error(`the script's reply does not decode: ${reply.problem}`)
    const snapshot = {
      state: reply.snapshot.state as machine.MachineState["state"],
      version: reply.snapshot.version,
      openCount: reply.snapshot.openCount,
      openedAt: reply.snapshot.openedAt,
      retryAt: reply.snapshot.retryAt,
      changedAt: reply.snapshot.changedAt,
      failures: reply.snapshot.failures,
      calls: reply.snapshot.calls,
      halfOpenSuccesses: reply.snapshot.halfOpenSuccesses,
      probes: reply.snapshot.probes
    }
    const decision = reply.decision === "allow"
      ? `allow ${reply.probe === "" ? "-" : reply.probe}`
      : reply.decision === "reject"
      ? `reject ${reply.retryAfter}`
      : ""
    return { decision, snapshot }
  }

  let compared = 0
  for (const [index, step] of sequence.entries()) {
    compared++
    let expected: Observation
    let actual: Observation
    switch (step._tag) {
      case "advance":
        now += step.ms
        continue
      case "acquire":
      case "acquireWithBatch": {
        const batch = step._tag === "acquire" ? 0 : step.successes
        const id = `p${++probeIds}`
        if (batch > 0) machine.record(s, config, now, undefined, undefined, 0, batch)
        const d = machine.acquire(s, config, now, id)
        expected = { decision: describeDecision(d), snapshot: machine.snapshot(s, config, now) }
        actual = await viaLua("acquire", id, "", 0, batch)
        if (d._tag === "Allow" && d.probe !== undefined) held.push(d.probe)
        break
      }
      case "record": {
        const probe = step.probe >= 0 && step.probe < held.length ? held.splice(step.probe, 1)[0] : undefined
        machine.record(s, config, now, step.outcome, probe, step.u, 0)
        expected = { decision: "", snapshot: machine.snapshot(s, config, now) }
        actual = await viaLua("record", probe ?? "", step.outcome, step.u, 0)
        break
      }
      case "flush":
        machine.record(s, config, now, undefined, undefined, 0, step.successes)
        expected = { decision: "", snapshot: machine.snapshot(s, config, now) }
        actual = await viaLua("record", "", "", 0, step.successes)
        break
      case "force":
        machine.force(s, config, now, step.to)
        expected = { decision: "", snapshot: machine.snapshot(s, config, now) }
        actual = await viaLua("force", "", step.to, 0, 0)
        break
      case "read":
        expected = { decision: "", snapshot: machine.snapshot(s, config, now) }
        actual = await viaLua("read", "", "", 0, 0)
        break
    }
    if (JSON.stringify(actual) !== JSON.stringify(expected)) {
      throw new Error(
        `memory and Lua diverge at step ${index} (${JSON.stringify(step)})\n` +
          `  machine: ${JSON.stringify(expected)}\n  script:  ${JSON.stringify(actual)}\n` +
          `  config: ${JSON.stringify(input)}\n  sequence: ${JSON.stringify(sequence.slice(0, index + 1))}`
      )
    }
  }
  return compared
}

/** The seed of a run: `EQUIVALENCE_SEED` if set, a fresh one otherwise. */
export const seedOf = (): number => {
  const fixed = process.env.EQUIVALENCE_SEED
  return fixed !== undefined && fixed !== "" ? Number(fixed) : (Date.now() ^ (process.pid << 16)) >>> 0
}

/**
 * `runs` random sequences under random configurations from `seed`, each compared step by step.
 * Returns how many sequences and steps were compared (for the suite to hold against `runs`).
 */
export const equivalenceProperty = async (
  driver: EquivalenceDriver,
  options: { readonly runs: number; readonly seed: number }
): Promise<{ readonly sequences: number; readonly steps: number }> => {
  const rng = prng(options.seed)
  let sequences = 0
  let steps = 0
  for (let run = 0; run < options.runs; run++) {
    const input = randomConfig(rng)
    const sequence = randomSequence(rng)
    try {
      steps += await compareSequence(driver, input, sequence)
    } catch (error) {
      throw new Error(
        `seed ${options.seed}, sequence ${run}: ${String(error instanceof Error ? error.message : error)}`,
        {
          cause: error
        }
      )
    }
    sequences++
  }
  return { sequences, steps }
}

/**
 * Guards the property against comparing something that can never differ: the machine opens at
 * `failureThreshold` 2, the script run with threshold 3 does not. Returns the script's state
 * after the two failures (`CLOSED` when the check works) and the machine's (`OPEN`).
 */
export const divergenceProbe = async (
  driver: EquivalenceDriver
): Promise<{ readonly machine: string; readonly script: unknown }> => {
  const config = driver.decodeConfig("eq", { failureThreshold: 2 })
  const keys = keysOf(`eq${process.pid}-neg-${++circuits}`, "eq")
  const now = 1_700_000_000_000
  const s = machine.initial()
  machine.record(s, config, now, "failure", undefined, 0, 0)
  machine.record(s, config, now, "failure", undefined, 0, 0)
  const args = (failureThreshold: number) =>
    scriptArgv(scriptArgs({ ...config, failureThreshold }), { op: "record", now, outcome: "failure" })
  await driver.runScript(keys, args(3))
  const reply = (await driver.runScript(keys, args(3))) as ReadonlyArray<unknown>
  return { machine: s.state, script: reply[0] }
}
