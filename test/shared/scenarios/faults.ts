/**
 * When Redis misbehaves (README, "When Redis misbehaves"): scenarios both editions run against
 * real processes, on the real clock: a `redis-server` killed under each `onStoreUnavailable`
 * policy, frozen (SIGSTOP) under concurrent callers, its scripts flushed, restarted with no data. Each edition's driver
 * (test/support/faultsDriver.ts, effect4/test/support/faultsDriver.ts) starts a `redis-server` of
 * the scenario's own (test/shared/redisServer.ts), makes one breaker on a Redis store over the
 * scenario's transport (`cooldown` {@link COOLDOWN}, clients bounded by {@link CLIENT_TIMEOUT}),
 * runs the steps and checks them; every protected call is timed, and in `bounded` scenarios must
 * stay within {@link BOUND}.
 *
 * Effect-free: the steps are data; the Redis process manipulation is `RedisServer`'s.
 */
import type { HealthStatus, State } from "../../../shared/model.js"

/** `storeTimeout` of every breaker of these scenarios. */
export const STORE_TIMEOUT = 200

/**
 * How much longer than `storeTimeout` a caller may wait: the machine's noise (two shared cores,
 * late timers, GC pauses), below what would mean a real bug (a second round trip after a
 * timed-out one, or a client's own timeout).
 */
export const MARGIN = 250

/** The most any protected call may take while the store misbehaves. */
export const BOUND = STORE_TIMEOUT + MARGIN

/** The store's own breaker: how long store calls pause after `unavailableAfter` failures. */
export const COOLDOWN = 1_000

/**
 * The clients' own bound (ioredis `commandTimeout`/`connectTimeout`, Upstash `requestTimeout`):
 * ten times `storeTimeout`, so a call that is bounded at all was bounded by `storeTimeout`.
 */
export const CLIENT_TIMEOUT = 2_000

/** The token of the Upstash bridge the `upstash` transport goes through. */
export const TOKEN = "faults-token-5e0c7a91"

/** How a protected call ended: success, one of the three typed failures, or anything else. */
export type FaultOutcome = "ok" | "DependencyError" | "CircuitOpen" | "ServiceUnavailable" | "untyped"

export type FaultStep =
  /**
   * `times` protected calls (default 1) of an effect that succeeds or fails with `DependencyError`,
   * one after the other, or all at once (`concurrent`).
   */
  | { readonly call: "ok" | "fail"; readonly times?: number; readonly concurrent?: true }
  /**
   * The outcomes of the calls since the previous `expectOutcomes` (in order); every `CircuitOpen`
   * among them of state `openState`; every `ServiceUnavailable` naming the circuit, with a reason
   * matching `reason` longer than 20 characters that its message contains.
   */
  | {
    readonly expectOutcomes: ReadonlyArray<FaultOutcome>
    readonly openState?: State
    readonly unavailableReason?: RegExp
  }
  /** The outcome of the last call. */
  | { readonly expectLast: FaultOutcome }
  /** Calls (`ok`), 50 ms apart, until one ends with `outcome`, for at most `withinMs`. */
  | { readonly callUntil: FaultOutcome; readonly withinMs: number }
  /** How many times the protected effects ran, in all. */
  | { readonly expectRuns: number }
  /** SIGKILL, restart (same port, no data), SIGSTOP, SIGCONT, `SCRIPT FLUSH`. */
  | { readonly redis: "kill" | "restart" | "pause" | "resume" | "scriptFlush" }
  | { readonly sleep: number }
  | { readonly expectState: State }
  | { readonly expectHealth: { readonly status?: HealthStatus; readonly state?: State } }
  | { readonly expectStoreErrors: number }
  /** `HGET <state key> <field>`: `is` a value, or `sameAs` the value `remember`ed under that name. */
  | { readonly expectField: string; readonly is?: string; readonly sameAs?: string }
  | { readonly remember: string }
  | { readonly expectKeyExists: boolean }
  /** The store's registry lists the circuit (within `withinMs`, polled every 25 ms). */
  | { readonly expectRegistered: true; readonly withinMs?: number }
  /** Warnings logged so far whose text contains `containing`. */
  | { readonly expectWarnings: number; readonly containing: string }
  /** Marks the number of EVALs Redis has served; `expectEvalsSinceMark` holds the growth since. */
  | { readonly markEvals: true }
  | { readonly expectEvalsSinceMark: { readonly atLeast: number } }
  /** An admin action, which must succeed. */
  | { readonly admin: "reset" }

/** A breaker's config in these scenarios (durations in ms). */
export interface FaultConfig {
  readonly storeTimeout: number
  readonly stateCacheTtl: number
  readonly failureThreshold?: number
  readonly recoveryTimeout?: number
  readonly onStoreUnavailable?: "fail-open" | "fail-closed" | "local"
}

export interface FaultScenario {
  readonly name: string
  readonly circuit: string
  /** ioredis over TCP, or @upstash/redis through the bridge (test/shared/upstashBridge.ts). */
  readonly transport: "ioredis" | "upstash"
  readonly config: FaultConfig
  readonly steps: ReadonlyArray<FaultStep>
  /**
   * Every protected call must take at most {@link BOUND}: `"soft"` (the other checks still run,
   * as for the calls of a policy scenario) or `"hard"`.
   */
  readonly bounded?: "soft" | "hard"
}

// ---------------------------------------------------------------------------
// the three policies, Redis killed
// ---------------------------------------------------------------------------

/** A breaker made while Redis is up (one call served), then Redis killed. */
const withDeadRedis = (
  name: string,
  config: Omit<FaultConfig, "storeTimeout" | "stateCacheTtl">,
  steps: ReadonlyArray<FaultStep>
): FaultScenario => ({
  name,
  circuit: "policy",
  transport: "ioredis",
  config: { storeTimeout: STORE_TIMEOUT, stateCacheTtl: 0, ...config },
  bounded: "soft",
  steps: [{ call: "ok" }, { expectOutcomes: ["ok"] }, { redis: "kill" }, ...steps]
})

const times = <A>(n: number, a: A): Array<A> => Array.from({ length: n }, () => a)

export const policyScenarios: ReadonlyArray<FaultScenario> = [
  withDeadRedis("fail-open: every call runs, unprotected", { onStoreUnavailable: "fail-open", failureThreshold: 2 }, [
    { call: "fail", times: 10 },
    { call: "ok" },
    { expectOutcomes: [...times(10, "DependencyError" as const), "ok"] },
    { expectRuns: 12 }
  ]),
  withDeadRedis(
    "fail-closed: every call fails with ServiceUnavailable saying why, and does not run",
    { onStoreUnavailable: "fail-closed" },
    [
      { call: "ok", times: 6 },
      // the first calls name the connection problem or the timeout, the later ones the store's breaker
      { expectOutcomes: times(6, "ServiceUnavailable" as const), unavailableReason: /Redis/ },
      { expectRuns: 1 }
    ]
  ),
  withDeadRedis(
    "local: an in-memory breaker of the same config keeps protecting",
    { onStoreUnavailable: "local", failureThreshold: 3, recoveryTimeout: 60_000 },
    [
      { call: "ok" },
      { call: "fail", times: 5 },
      {
        expectOutcomes: ["ok", "DependencyError", "DependencyError", "DependencyError", "CircuitOpen", "CircuitOpen"],
        openState: "OPEN"
      },
      { expectRuns: 5 },
      { expectHealth: { state: "OPEN", status: "unhealthy" } }
    ]
  )
]

// ---------------------------------------------------------------------------
// a frozen Redis
// ---------------------------------------------------------------------------

export const frozenScenarios: ReadonlyArray<FaultScenario> = [{
  name: "20 concurrent callers on a frozen Redis: none waits more than storeTimeout",
  circuit: "frozen-concurrent",
  transport: "ioredis",
  config: { storeTimeout: STORE_TIMEOUT, stateCacheTtl: 0, onStoreUnavailable: "local" },
  bounded: "hard",
  steps: [
    { call: "ok" },
    { expectOutcomes: ["ok"] },
    { redis: "pause" },
    { call: "ok", times: 20, concurrent: true },
    { redis: "resume" },
    { expectOutcomes: times(20, "ok" as const) }
  ]
}]

// ---------------------------------------------------------------------------
// SCRIPT FLUSH and a restart with no data
// ---------------------------------------------------------------------------

const scriptFlush = (transport: FaultScenario["transport"]): FaultScenario => ({
  name: `SCRIPT FLUSH is handled transparently (${transport})`,
  circuit: "flushed",
  transport,
  config: { storeTimeout: STORE_TIMEOUT, stateCacheTtl: 0, failureThreshold: 1, recoveryTimeout: 60_000 },
  steps: [
    { call: "fail" },
    { expectLast: "DependencyError" },
    { markEvals: true },
    { redis: "scriptFlush" },
    { expectState: "OPEN" }, // read through EVALSHA → NOSCRIPT → EVAL
    { call: "ok" },
    { expectLast: "CircuitOpen" },
    { redis: "scriptFlush" },
    { admin: "reset" },
    { call: "ok" },
    { expectLast: "ok" },
    { expectStoreErrors: 0 },
    { expectHealth: { status: "healthy" } },
    { expectEvalsSinceMark: { atLeast: 2 } }
  ]
})

const restartedEmpty = (transport: FaultScenario["transport"]): FaultScenario => ({
  name:
    `restart() with no data: the instance re-asserts the OPEN it knew (retryAt, open count), warns once, registers again (${transport})`,
  circuit: "restarted",
  transport,
  config: { storeTimeout: STORE_TIMEOUT, stateCacheTtl: 100, failureThreshold: 2, recoveryTimeout: 60_000 },
  steps: [
    { call: "fail", times: 2 },
    { expectState: "OPEN" },
    { expectRegistered: true },
    { remember: "retryAt" },
    { redis: "restart" },
    { expectKeyExists: false },
    // past stateCacheTtl: the next call that reaches Redis finds the circuit gone and puts it back
    // (over TCP the client may first see the restart as an outage: calls then use the local
    // fallback until it has reconnected)
    { sleep: 150 },
    { callUntil: "CircuitOpen", withinMs: 5_000 },
    { expectField: "state", is: "OPEN" },
    { expectField: "retryAt", sameAs: "retryAt" },
    { expectField: "openCount", is: "0" },
    { expectWarnings: 1, containing: "Redis lost its state" },
    // the registry, lost too, lists the circuit again
    { expectRegistered: true, withinMs: 2_000 },
    // further calls are rejected from the re-asserted state, with no second warning
    { sleep: 150 },
    { call: "ok" },
    { expectLast: "CircuitOpen" },
    { expectWarnings: 1, containing: "Redis lost its state" },
    // a reset is a newer transition: it is not rolled back by anyone
    { admin: "reset" },
    { call: "ok" },
    { expectLast: "ok" },
    { expectField: "state", is: "CLOSED" }
  ]
})

export const restartScenarios: ReadonlyArray<FaultScenario> = (["ioredis", "upstash"] as const).flatMap((
  transport
) => [scriptFlush(transport), restartedEmpty(transport)])

/** Every shared fault scenario: a driver checks it ran them all. */
export const faultScenarios: ReadonlyArray<FaultScenario> = [
  ...policyScenarios,
  ...frozenScenarios,
  ...restartScenarios
]
