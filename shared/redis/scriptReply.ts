/**
 * The reply of `lua/circuit.lua`, checked and decoded, its times moved to
 * this instance's clock. A reply that is not what the script writes is a
 * `ReplyProblem`, which each edition turns into its store error.
 *
 * @internal
 */
import type { FleetCounts, Snapshot } from "../model.js"

/**
 * The script's reply, decoded (`toReply`), its times on this instance's clock.
 *
 * @internal
 */
export interface Reply {
  readonly snapshot: Snapshot
  /** acquire: the decision; "" for every other op. */
  readonly decision: "allow" | "reject" | ""
  readonly retryAfter: number
  /** acquire: the probe lease taken ("" for none). */
  readonly probe: string
  /** The time the script decided at (`now`, or a later `changedAt`). */
  readonly decidedAt: number
  /** Some of the circuit's data was not readable and was repaired. */
  readonly repaired: boolean
  /** The state hash did not exist and this call wrote it. */
  readonly created: boolean
  /** The state hash did not exist before this call. */
  readonly missing: boolean
  /** Redis had lost the circuit, and this call put back what the caller knew (`ScriptCall.known`). */
  readonly restored: boolean
  /** op "metrics": the fleet's counts within `metricsTtl`. */
  readonly fleet: FleetCounts
}

/**
 * Why a reply is not one the script writes (safe to log: it holds no data of
 * the reply).
 *
 * @internal
 */
export interface ReplyProblem {
  readonly problem: string
}

/** A time of the script's clock on this instance's clock (0 stays 0: "never"). */
const local = (time: number, offset: number): number => (time === 0 ? 0 : time - offset)

const states: ReadonlySet<unknown> = new Set(["CLOSED", "OPEN", "HALF_OPEN", "FORCED_OPEN", "FORCED_CLOSED"])

const noFleet: FleetCounts = { successes: 0, failures: 0, rejections: 0, probes: 0, opens: 0 }

/**
 * The script's reply, element by element (lua/circuit.lua's header); for op
 * "metrics" the fleet's counts (`fleetElements`) follow.
 */
const replyElements = [
  "state",
  "version",
  "openCount",
  "openedAt",
  "retryAt",
  "changedAt",
  "failures",
  "calls",
  "halfOpenSuccesses",
  "probes",
  "decision",
  "retryAfter",
  "probe",
  "now",
  "repaired",
  "created",
  "missing",
  "restored"
] as const

const fleetElements = ["successes", "failures", "rejections", "probes", "opens"] as const satisfies ReadonlyArray<
  keyof FleetCounts
>

/** The position of each element in the reply. */
const at = Object.fromEntries(replyElements.map((element, i) => [element, i])) as {
  readonly [K in typeof replyElements[number]]: number
}
const fleetAt = Object.fromEntries(fleetElements.map((element, i) => [element, replyElements.length + i])) as {
  readonly [K in typeof fleetElements[number]]: number
}
const withFleet = replyElements.length + fleetElements.length

/**
 * The short reply of the script's first block (a record of a CLOSED circuit
 * that changes no state), element by element: every element it leaves out is
 * 0 ("" for decision and probe).
 */
const shortElements = ["state", "version", "openedAt", "changedAt", "failures", "calls", "now"] as const

/** The element of the script's reply that is not what lua/circuit.lua's header says, if any. */
const badElement = (r: ReadonlyArray<unknown>): string | undefined => {
  if (r.length === shortElements.length) {
    if (r[0] !== "CLOSED") return "element 0 of a short reply is not CLOSED"
    for (let i = 1; i < r.length; i++) {
      if (typeof r[i] !== "number" || !Number.isFinite(r[i])) return `element ${i} is not a number`
    }
    return undefined
  }
  if (r.length !== replyElements.length && r.length !== withFleet) {
    return `${r.length} elements (${shortElements.length}, ${replyElements.length} or ${withFleet} expected)`
  }
  if (!states.has(r[at.state])) return `element ${at.state} is not a state`
  for (let i = 1; i < r.length; i++) {
    if (i === at.decision) {
      if (r[i] !== "allow" && r[i] !== "reject" && r[i] !== "") return `element ${i} is not a decision`
    } else if (i === at.probe) {
      if (typeof r[i] !== "string") return `element ${i} is not a string`
    } else if (typeof r[i] !== "number" || !Number.isFinite(r[i])) {
      return `element ${i} is not a number`
    }
  }
  return undefined
}

/**
 * The script's reply (lua/circuit.lua's header), with its times moved from
 * the clock the script ran on (Redis's, for `timeSource: "server"`) to this
 * instance's, by `offset`. Checked and read by hand: monitoring decodes
 * thousands of them per read.
 *
 * @internal
 */
export const decodeReply = (raw: unknown, offset: number): Reply | ReplyProblem => {
  const bad = Array.isArray(raw) ? badElement(raw) : "not an array"
  if (bad !== undefined) return { problem: `unexpected reply from the circuit script: ${bad}` }
  const r = raw as ReadonlyArray<any>
  if (r.length === shortElements.length) {
    return {
      snapshot: {
        state: "CLOSED",
        version: r[1],
        openCount: 0,
        openedAt: local(r[2], offset),
        retryAt: 0,
        changedAt: local(r[3], offset),
        failures: r[4],
        calls: r[5],
        halfOpenSuccesses: 0,
        probes: 0
      },
      decision: "",
      retryAfter: 0,
      probe: "",
      decidedAt: local(r[6], offset),
      repaired: false,
      created: false,
      missing: false,
      restored: false,
      fleet: noFleet
    }
  }
  return {
    snapshot: {
      state: r[at.state],
      version: r[at.version],
      openCount: r[at.openCount],
      openedAt: local(r[at.openedAt], offset),
      retryAt: local(r[at.retryAt], offset),
      changedAt: local(r[at.changedAt], offset),
      failures: r[at.failures],
      calls: r[at.calls],
      halfOpenSuccesses: r[at.halfOpenSuccesses],
      probes: r[at.probes]
    },
    decision: r[at.decision],
    retryAfter: r[at.retryAfter],
    probe: r[at.probe],
    decidedAt: local(r[at.now], offset),
    repaired: r[at.repaired] === 1,
    created: r[at.created] === 1,
    missing: r[at.missing] === 1,
    restored: r[at.restored] === 1,
    fleet: r.length === withFleet
      ? {
        successes: r[fleetAt.successes],
        failures: r[fleetAt.failures],
        rejections: r[fleetAt.rejections],
        probes: r[fleetAt.probes],
        opens: r[fleetAt.opens]
      }
      : noFleet
  }
}
