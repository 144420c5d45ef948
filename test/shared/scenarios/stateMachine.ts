/**
 * The state machine's behavioural scenarios (ARCHITECTURE.md, "Layers"), as data: each edition's
 * driver (test/support/stateMachineDriver.ts, effect4/test/support/stateMachineDriver.ts) makes the
 * scenario's breakers on the store under test, runs the steps in order on a test clock that starts
 * at 0, and checks every expectation. Durations are milliseconds; time moves only by `advance`
 * steps (and by `slow` calls, whose sleep the driver lets pass on the test clock).
 *
 * Nothing here depends on Effect: the scenarios are the contract both editions are held to.
 */
import type { Health, Metrics, Snapshot, State } from "../../../shared/model.js"

/** The error of a call whose failure `isFailure` excuses (see {@link excusesNotFound}). */
export class NotFound extends Error {
  readonly _tag = "NotFound"
}

/** An `isFailure` that excuses {@link NotFound}: such errors count as successes. */
export const excusesNotFound = (error: unknown): boolean => !(error instanceof NotFound)

/** A breaker's configuration, as both editions' `CircuitConfig.Input` take it (durations in ms). */
export interface ScenarioConfig {
  readonly failureThreshold?: number
  readonly successThreshold?: number
  readonly halfOpenMaxProbes?: number
  readonly recoveryTimeout?: number
  readonly maxRecoveryTimeout?: number
  readonly monitoringPeriod?: number
  readonly backoffMultiplier?: number
  readonly backoffJitter?: number
  readonly probeLease?: number
  readonly slowCallDuration?: number
  readonly failureRateThreshold?: number
  readonly minimumCalls?: number
  readonly isFailure?: (error: unknown) => boolean
}

/**
 * What a rejected call must look like: `CircuitOpen` of the given state, naming the breaker's
 * service, whose effect never ran; `retryAfter` exactly, or above `retryAfterAbove` and at most `retryAfterMax`.
 */
export interface OpenExpectation {
  readonly state?: State
  readonly retryAfter?: number
  readonly retryAfterAbove?: number
  readonly retryAfterMax?: number
  readonly messageContains?: string
}

/**
 * The outcome a call must have: `"ok"` (its own value), `"error"` (its own error, unchanged),
 * `{ open }` (rejected with `CircuitOpen`, without running).
 */
export type CallExpectation = "ok" | "error" | { readonly open: OpenExpectation }

/** What a call does: succeed, fail (counts), die (a defect: counts), fail with {@link NotFound}. */
export type CallKind = "ok" | "fail" | "die" | "excused"

/** The breaker a step acts on: a key of {@link Scenario.breakers} (default `"main"`). */
interface On {
  readonly on?: string
}

export type Step =
  /** `times` calls (default 1), one after the other; their outcomes checked only if `expect` says so. */
  | On & { readonly call: CallKind; readonly times?: number; readonly expect?: CallExpectation }
  /** Moves the test clock forward. */
  | { readonly advance: number }
  /** Moves the test clock forward by the current open period (`retryAt - openedAt`). */
  | On & { readonly advanceOpenPeriod: true }
  /** A call that sleeps `ms` (on the test clock, which the driver moves once it sleeps), then succeeds or fails. */
  | On & { readonly slow: number; readonly outcome: "ok" | "fail"; readonly expect?: "ok" | "error" }
  /**
   * Forks `count` calls at once (default 1), each running an effect that marks itself started and
   * waits for `release` of the same latch (or forever, if never released).
   */
  | On & { readonly hold: string; readonly count?: number }
  /** Lets the held calls of a latch finish with success, waits for them and checks how they ended. */
  | { readonly release: string; readonly expect?: { readonly ok?: number; readonly open?: number } }
  /** Interrupts the held calls of a latch. */
  | { readonly interrupt: string }
  /** Waits (in real time, bounded) until the breaker's snapshot / metrics / held calls say so. */
  | On & { readonly waitFor: { readonly probes?: number; readonly rejections?: number } }
  /** How many held calls have started running (all latches). */
  | { readonly expectStarted: number }
  | On & { readonly admin: "forceOpen" | "forceClose" | "reset" }
  | On & { readonly expectState: State }
  | On & { readonly expectSnapshot: Partial<Snapshot> }
  /** `retryAt - openedAt`, exactly or within bounds. */
  | On & { readonly expectOpenPeriod: number | { readonly min: number; readonly max: number } }
  | On & { readonly expectMetrics: Partial<Metrics> }
  | On & {
    readonly expectHealth: Partial<Omit<Health, "metrics">> & { readonly metrics?: Partial<Metrics> }
  }
  | On & { readonly expectAvailable: boolean }
  /** Starts collecting the breaker's next `count` transitions (its `stateChanges`). */
  | On & { readonly collectTransitions: number }
  /**
   * Waits for the collected transitions and checks them as `from->to`; `gaps[i]` is the time from
   * transition i to transition i + 1; every transition names the breaker's service.
   */
  | { readonly expectTransitions: ReadonlyArray<string>; readonly gaps?: ReadonlyArray<number | undefined> }

export interface Scenario {
  readonly name: string
  /** The breakers, by key: name and config. Default: `{ main: { name: "svc", config } }`. */
  readonly breakers?: Readonly<Record<string, { readonly name: string; readonly config?: ScenarioConfig }>>
  readonly config?: ScenarioConfig
  /** Jitter samples: the driver's `Random` returns these, in a cycle. */
  readonly random?: ReadonlyArray<number>
  readonly steps: ReadonlyArray<Step>
}

/** The breakers of `scenario`, as the driver makes them. */
export const breakersOf = (
  scenario: Scenario
): ReadonlyArray<readonly [key: string, name: string, config: ScenarioConfig | undefined]> =>
  scenario.breakers === undefined
    ? [["main", "svc", scenario.config]]
    : Object.entries(scenario.breakers).map(([key, b]) => [key, b.name, b.config] as const)

const fail = (times = 1): Step => ({ call: "fail", times })
const succeed = (times = 1): Step => ({ call: "ok", times })

/** Opens a breaker of `recoveryTimeout` 30 s without jitter (threshold 1) and waits until `retryAt`. */
const openThenWait = (
  config: ScenarioConfig
): { readonly config: ScenarioConfig; readonly prelude: ReadonlyArray<Step> } => ({
  config: { failureThreshold: 1, recoveryTimeout: 30_000, backoffJitter: 0, ...config },
  prelude: [fail(), { advance: 30_000 }]
})

const halfOpen = (name: string, config: ScenarioConfig, steps: ReadonlyArray<Step>): Scenario => {
  const { config: full, prelude } = openThenWait(config)
  return { name, config: full, steps: [...prelude, ...steps] }
}

/** The backoff's open periods with the defaults: 30 s doubling, capped at 300 s. */
const defaultPeriods = [30_000, 60_000, 120_000, 240_000, 300_000, 300_000]

export const scenarios: ReadonlyArray<Scenario> = [
  // -------------------------------------------------------------------------
  // CLOSED
  // -------------------------------------------------------------------------
  {
    name: "CLOSED: successes and failures below the threshold keep it closed",
    config: { failureThreshold: 3 },
    steps: [
      { call: "ok", expect: "ok" },
      fail(2),
      succeed(5),
      { expectState: "CLOSED" },
      { expectSnapshot: { failures: 2, calls: 8 } }
    ]
  },
  {
    name: "CLOSED: failureThreshold failures within the window open it (k = 0)",
    config: { failureThreshold: 3, recoveryTimeout: 10_000, backoffJitter: 0 },
    steps: [fail(3), { expectSnapshot: { state: "OPEN", openCount: 0 } }, { expectOpenPeriod: 10_000 }]
  },
  {
    name: "CLOSED: failures older than monitoringPeriod slide out of the window",
    config: { failureThreshold: 3, monitoringPeriod: 60_000 },
    steps: [
      fail(2),
      { advance: 61_000 },
      fail(2),
      { expectState: "CLOSED" },
      { expectSnapshot: { failures: 2 } },
      fail(1),
      { expectState: "OPEN" }
    ]
  },
  {
    name: "CLOSED: the effect's own error passes through unchanged",
    steps: [{ call: "fail", expect: "error" }]
  },
  {
    name: "CLOSED: defects count as failures; interruptions never count",
    config: { failureThreshold: 2 },
    steps: [
      { call: "die" },
      { expectSnapshot: { failures: 1 } },
      { hold: "running" },
      { expectStarted: 1 },
      { interrupt: "running" },
      { expectSnapshot: { failures: 1 } },
      { expectState: "CLOSED" },
      { call: "die" },
      { expectState: "OPEN" }
    ]
  },
  // -------------------------------------------------------------------------
  // OPEN
  // -------------------------------------------------------------------------
  {
    name: "OPEN: calls fail fast with CircuitOpen { retryAfter } and never run",
    config: { failureThreshold: 1, recoveryTimeout: 30_000, backoffJitter: 0 },
    steps: [
      fail(),
      { advance: 10_000 },
      { call: "ok", expect: { open: { state: "OPEN", retryAfter: 20_000, messageContains: "svc" } } },
      { expectAvailable: false }
    ]
  },
  {
    name: "OPEN: the first call at retryAt moves to HALF_OPEN and runs as a probe",
    config: { failureThreshold: 1, recoveryTimeout: 30_000, backoffJitter: 0 },
    steps: [
      fail(),
      { advance: 29_999 },
      { call: "ok", expect: { open: {} } },
      { advance: 1 },
      { expectAvailable: true },
      { call: "ok", expect: "ok" },
      { expectSnapshot: { state: "HALF_OPEN", halfOpenSuccesses: 1 } }
    ]
  },
  // -------------------------------------------------------------------------
  // HALF_OPEN
  // -------------------------------------------------------------------------
  halfOpen("HALF_OPEN: successThreshold probe successes close it and reset the backoff", { successThreshold: 3 }, [
    succeed(2),
    { expectState: "HALF_OPEN" },
    succeed(1),
    { expectSnapshot: { state: "CLOSED", openCount: 0, failures: 0 } },
    // the next open period is the first one again
    fail(),
    { expectOpenPeriod: 30_000 }
  ]),
  halfOpen("HALF_OPEN: one probe failure re-opens with k + 1", { successThreshold: 3 }, [
    succeed(1),
    fail(1),
    { expectSnapshot: { state: "OPEN", openCount: 1 } },
    { expectOpenPeriod: 60_000 }
  ]),
  halfOpen(
    "HALF_OPEN: at most halfOpenMaxProbes probes in flight; others get a short retryAfter",
    { successThreshold: 2, halfOpenMaxProbes: 2 },
    [
      { hold: "probes", count: 2 },
      { waitFor: { probes: 2 } },
      { call: "ok", expect: { open: { state: "HALF_OPEN", retryAfterAbove: 0, retryAfterMax: 1_000 } } },
      { release: "probes", expect: { ok: 2 } },
      { expectState: "CLOSED" }
    ]
  ),
  halfOpen(
    "HALF_OPEN: 10,000 concurrent fibers, exactly halfOpenMaxProbes run",
    { successThreshold: 3, halfOpenMaxProbes: 3 },
    [
      { hold: "crowd", count: 10_000 },
      { waitFor: { rejections: 9_997 } },
      { expectStarted: 3 },
      { release: "crowd", expect: { ok: 3, open: 9_997 } },
      { expectState: "CLOSED" }
    ]
  ),
  halfOpen(
    "HALF_OPEN: a lease whose holder never reports expires and the permit returns",
    { successThreshold: 1, halfOpenMaxProbes: 1, probeLease: 5_000 },
    [
      { hold: "stuck" },
      { waitFor: { probes: 1 } },
      { call: "ok", expect: { open: {} } },
      { advance: 4_999 },
      { call: "ok", expect: { open: {} } },
      { advance: 1 },
      { expectSnapshot: { probes: 0 } },
      { call: "ok", expect: "ok" },
      { expectState: "CLOSED" },
      // the late holder reports nothing that matters
      { interrupt: "stuck" },
      { expectState: "CLOSED" }
    ]
  ),
  halfOpen(
    "HALF_OPEN: a probe reporting after its lease expired does not count",
    { successThreshold: 1, halfOpenMaxProbes: 1, probeLease: 5_000 },
    [
      { slow: 6_000, outcome: "fail" },
      { expectSnapshot: { state: "HALF_OPEN", openCount: 0 } }
    ]
  ),
  halfOpen(
    "HALF_OPEN: an interrupted probe returns its permit and counts as neither",
    { successThreshold: 2, halfOpenMaxProbes: 1 },
    [
      succeed(1),
      { hold: "probe" },
      { waitFor: { probes: 1 } },
      { interrupt: "probe" },
      { expectSnapshot: { state: "HALF_OPEN", probes: 0, halfOpenSuccesses: 1 } },
      { call: "ok", expect: "ok" },
      { expectState: "CLOSED" }
    ]
  ),
  // -------------------------------------------------------------------------
  // Backoff
  // -------------------------------------------------------------------------
  {
    name: "backoff: 30 s, 60 s, 120 s, 240 s, then capped at 300 s (defaults, jitter sample 0.5)",
    config: { failureThreshold: 1, successThreshold: 1 },
    random: [0.5],
    steps: [
      fail(),
      ...defaultPeriods.flatMap((period, k): ReadonlyArray<Step> => [
        { expectSnapshot: { openCount: k } },
        { expectOpenPeriod: period },
        { advanceOpenPeriod: true },
        fail() // the probe fails: re-open with k + 1
      ])
    ]
  },
  {
    name: "backoff: each open period lies within the jitter band",
    config: { failureThreshold: 1, successThreshold: 1 },
    random: [0, 0.999999, 0.25, 0.75, 0.1, 0.9],
    steps: [
      fail(),
      ...defaultPeriods.flatMap((period): ReadonlyArray<Step> => [
        { expectOpenPeriod: { min: period * 0.9 - 1, max: period * 1.1 } },
        { advanceOpenPeriod: true },
        fail()
      ])
    ]
  },
  // -------------------------------------------------------------------------
  // isFailure, slow calls, the rate rule
  // -------------------------------------------------------------------------
  {
    name: "isFailure: errors it excuses count as successes",
    config: { failureThreshold: 2, isFailure: excusesNotFound },
    steps: [
      { call: "excused", times: 5, expect: "error" },
      { expectState: "CLOSED" },
      { expectSnapshot: { failures: 0 } },
      fail(2),
      { expectState: "OPEN" }
    ]
  },
  {
    name: "slow calls count as failures, and still return their result",
    config: { failureThreshold: 2, slowCallDuration: 1_000 },
    steps: [
      { slow: 400, outcome: "ok", expect: "ok" },
      { expectSnapshot: { failures: 0 } },
      { slow: 2_000, outcome: "ok", expect: "ok" },
      { expectSnapshot: { failures: 1 } },
      { slow: 2_000, outcome: "ok", expect: "ok" },
      { expectState: "OPEN" },
      { expectMetrics: { slowCalls: 2 } }
    ]
  },
  {
    name: "rate rule: opens when failures / calls reach the threshold once minimumCalls is met",
    config: { failureThreshold: 1000, failureRateThreshold: 0.5, minimumCalls: 10 },
    steps: [
      fail(4),
      succeed(4),
      fail(1),
      // 5 of 9: above the rate, but below minimumCalls
      { expectState: "CLOSED" },
      succeed(1),
      { expectState: "CLOSED" }, // successes never trip
      fail(1),
      // 6 of 11
      { expectState: "OPEN" }
    ]
  },
  {
    name: "rate rule: a rate below the threshold keeps it closed",
    config: { failureThreshold: 1000, failureRateThreshold: 0.5, minimumCalls: 10 },
    steps: [succeed(12), fail(11), { expectState: "CLOSED" }, fail(1), { expectState: "OPEN" }]
  },
  // -------------------------------------------------------------------------
  // Admin states
  // -------------------------------------------------------------------------
  {
    name: "FORCED_OPEN rejects every call until reset",
    steps: [
      { admin: "forceOpen" },
      { call: "ok", expect: { open: { state: "FORCED_OPEN" } } },
      { advance: 3_600_000 },
      { call: "ok", expect: { open: {} } },
      { expectHealth: { status: "unhealthy" } },
      { admin: "reset" },
      { call: "ok", expect: "ok" }
    ]
  },
  {
    name: "FORCED_CLOSED runs every call, counts outcomes, never trips",
    config: { failureThreshold: 2 },
    steps: [
      { admin: "forceClose" },
      fail(10),
      { expectState: "FORCED_CLOSED" },
      { expectSnapshot: { failures: 10 } },
      { expectMetrics: { failures: 10 } },
      { call: "ok", expect: "ok" },
      { admin: "reset" },
      { expectState: "CLOSED" },
      fail(2),
      { expectState: "OPEN" }
    ]
  },
  halfOpen("reset returns an open circuit to CLOSED with an empty window and backoff", {}, [
    fail(), // the probe fails: k = 1
    { expectSnapshot: { openCount: 1 } },
    { admin: "reset" },
    { expectSnapshot: { state: "CLOSED", openCount: 0, failures: 0, calls: 0, probes: 0 } },
    fail(),
    { expectOpenPeriod: 30_000 }
  ]),
  // -------------------------------------------------------------------------
  // Observability
  // -------------------------------------------------------------------------
  halfOpen("stateChanges reports each transition this instance saw", { successThreshold: 1 }, [
    { admin: "reset" },
    { collectTransitions: 3 },
    fail(),
    { advance: 30_000 },
    succeed(),
    { expectTransitions: ["CLOSED->OPEN", "OPEN->HALF_OPEN", "HALF_OPEN->CLOSED"], gaps: [30_000] }
  ]),
  {
    name: "health and metrics follow the state",
    config: { failureThreshold: 2, recoveryTimeout: 1_000, backoffJitter: 0 },
    steps: [
      succeed(3),
      {
        expectHealth: {
          service: "svc",
          status: "healthy",
          state: "CLOSED",
          metrics: { calls: 3, successes: 3, failures: 0, rejections: 0 }
        }
      },
      fail(3),
      {
        expectHealth: {
          status: "unhealthy",
          state: "OPEN",
          metrics: { calls: 5, failures: 2, rejections: 1, openCount: 0 }
        }
      },
      { advance: 1_000 },
      { hold: "probe" },
      { waitFor: { probes: 1 } },
      { expectHealth: { status: "degraded", state: "HALF_OPEN", metrics: { probes: 1 } } },
      { release: "probe", expect: { ok: 1 } }
    ]
  },
  {
    name: "breakers with the same name share one circuit; other names are independent",
    breakers: {
      a: { name: "shared", config: { failureThreshold: 2 } },
      b: { name: "shared", config: { failureThreshold: 2 } },
      other: { name: "other", config: { failureThreshold: 2 } }
    },
    steps: [
      { on: "a", call: "fail" },
      { on: "b", call: "fail" },
      { on: "a", expectState: "OPEN" },
      { on: "b", call: "ok", expect: { open: {} } },
      { on: "other", call: "ok", expect: "ok" }
    ]
  }
]

/** How many scenarios there are: a driver checks it ran them all. */
export const scenarioCount = scenarios.length
