/**
 * The plain types every edition shares: a circuit's states and snapshots, a
 * store's decisions, the numbers of a config the state machine reads, and what
 * monitoring reports. No Effect in here (ARCHITECTURE.md, "Editions and
 * shared/"): each edition's public modules re-export these or derive the same
 * types from their Schemas (test/Model.unit.test.ts holds them equal).
 *
 * @since 0.1.0
 */

/**
 * The five states. `FORCED_OPEN` and `FORCED_CLOSED` are sticky admin states:
 * they hold until `reset`.
 *
 * @since 0.1.0
 * @category models
 */
export type State = "CLOSED" | "OPEN" | "HALF_OPEN" | "FORCED_OPEN" | "FORCED_CLOSED"

/**
 * What a store knows of a circuit at one instant. Times are epoch
 * milliseconds; `version` grows with every transition and admin action.
 *
 * @since 0.1.0
 * @category models
 */
export interface Snapshot {
  readonly state: State
  readonly version: number
  /** Consecutive re-opens: the exponent of the backoff. */
  readonly openCount: number
  /** When the circuit last opened (0 if never). */
  readonly openedAt: number
  /** When an open circuit lets its first probe through (0 unless OPEN). */
  readonly retryAt: number
  /** When the state last changed. */
  readonly changedAt: number
  /** Failures in the sliding window. */
  readonly failures: number
  /** Calls (successes and failures) in the sliding window. */
  readonly calls: number
  /** Probe successes so far in HALF_OPEN. */
  readonly halfOpenSuccesses: number
  /** Probe permits currently leased across the fleet. */
  readonly probes: number
}

/**
 * A change of state, as one instance saw it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Transition {
  readonly service: string
  readonly from: State
  readonly to: State
  /** Epoch milliseconds, from the instance's clock. */
  readonly at: number
  readonly version: number
}

/**
 * Whether a call may run: `Allow` (with the probe permit it took, if it is a
 * half-open probe) or `Reject` (with the milliseconds until one may).
 *
 * @since 0.1.0
 * @category models
 */
export type Decision =
  | {
    readonly _tag: "Allow"
    /** The probe permit taken, if this call is a half-open probe. */
    readonly probe: string | undefined
    readonly state: State
    readonly version: number
  }
  | {
    readonly _tag: "Reject"
    /** Milliseconds until a call may be let through. */
    readonly retryAfter: number
    readonly state: State
    readonly version: number
  }

/**
 * How a call ended, as far as the circuit cares: `release` gives a probe
 * permit back without counting (an interrupted probe).
 *
 * @since 0.1.0
 * @category models
 */
export type Outcome = "success" | "failure" | "release"

/**
 * The fields of a decoded circuit config that the state machine and the
 * circuit script read: durations in milliseconds, counts, and the two
 * optional rules (`undefined` = off).
 *
 * @since 0.1.0
 * @category models
 */
export interface MachineConfig {
  readonly monitoringPeriod: number
  readonly stateTtl: number
  readonly failureThreshold: number
  readonly successThreshold: number
  readonly recoveryTimeout: number
  readonly maxRecoveryTimeout: number
  readonly backoffMultiplier: number
  readonly backoffJitter: number
  readonly halfOpenMaxProbes: number
  readonly probeLease: number
  readonly failureRateThreshold: number | undefined
  readonly minimumCalls: number
  readonly metricsTtl: number
}

/**
 * What the whole fleet did with one circuit: counts from every instance
 * sharing the store (within `metricsTtl` for Redis; since start in memory).
 *
 * @since 0.1.0
 * @category models
 */
export interface FleetCounts {
  readonly successes: number
  readonly failures: number
  readonly rejections: number
  readonly probes: number
  /** Times the circuit opened. */
  readonly opens: number
}

/**
 * Whether an instance hears of transitions made by other instances at once
 * (the Redis store over a client that can subscribe, ioredis): `connecting`
 * (the subscription is on its way), `connected`, or `lost` (its connection
 * failed: another instance's transition reaches this one when the cached
 * state expires, `stateCacheTtl`, until the subscription is back).
 *
 * @since 0.1.0
 * @category models
 */
export type NotificationStatus = "connecting" | "connected" | "lost"

/**
 * What this instance counted, with the circuit's window from the store.
 *
 * @since 0.1.0
 * @category models
 */
export interface Metrics {
  readonly service: string
  readonly instanceId: string
  readonly state: State
  /** Calls this instance ran through the breaker (rejections excluded). */
  readonly calls: number
  readonly successes: number
  readonly failures: number
  readonly rejections: number
  readonly probes: number
  readonly slowCalls: number
  readonly storeErrors: number
  /** Failures and calls in the circuit's sliding window (fleet-wide for a shared store). */
  readonly windowFailures: number
  readonly windowCalls: number
  readonly openCount: number
  readonly retryAt: number | null
  readonly lastTransitionAt: number | null
  readonly lastSuccessAt: number | null
  readonly lastFailureAt: number | null
}

/**
 * `healthy` (CLOSED, FORCED_CLOSED), `degraded` (HALF_OPEN, or running on the
 * local fallback because the store is unavailable), `unhealthy` (OPEN,
 * FORCED_OPEN).
 *
 * @since 0.1.0
 * @category models
 */
export type HealthStatus = "healthy" | "degraded" | "unhealthy"

/**
 * A breaker's health: its status, state and metrics.
 *
 * @since 0.1.0
 * @category models
 */
export interface Health {
  readonly service: string
  readonly status: HealthStatus
  readonly state: State
  readonly metrics: Metrics
  readonly timestamp: number
  /** Redis's clock minus this instance's, in ms (Redis store on server time, once measured). */
  readonly clockSkewMs?: number
  /**
   * Whether this instance hears of other instances' transitions at once
   * (Redis store over ioredis): `lost` while its subscription is down, when
   * they reach it within `stateCacheTtl` instead. Absent when the store
   * cannot tell (memory, Upstash, `notifications: false`).
   */
  readonly notifications?: NotificationStatus
}

/**
 * One circuit as the fleet sees it.
 *
 * @since 0.1.0
 * @category models
 */
export interface CircuitMetrics {
  /** The circuit's name (its key in the store). */
  readonly name: string
  readonly service: string
  readonly state: State
  readonly status: HealthStatus
  /** Failures and calls in the circuit's sliding window. */
  readonly windowFailures: number
  readonly windowCalls: number
  /** Consecutive re-opens (the backoff exponent). */
  readonly openCount: number
  /** When an OPEN circuit lets its first probe through (epoch ms), else null. */
  readonly retryAt: number | null
  readonly lastTransitionAt: number | null
  /** What every instance did with it (within `metricsTtl` for Redis). */
  readonly fleet: FleetCounts & {
    readonly calls: number
    /** failures / calls, or null with no calls. */
    readonly failureRate: number | null
  }
  /** This instance's own counts, when it has a breaker for the circuit. */
  readonly instance: Metrics | null
  /** True while this instance runs the circuit on its local fallback (store unavailable). */
  readonly storeUnavailable: boolean
}

/**
 * @since 0.1.0
 * @category models
 */
export type AlertSeverity = "critical" | "warning"

/**
 * @since 0.1.0
 * @category models
 */
export interface Alert {
  /** `store-unreadable`: the read could not see every circuit (its `service` is `"*"`). */
  readonly kind: "open" | "forced-open" | "failure-rate" | "flapping" | "store-unavailable" | "store-unreadable"
  readonly severity: AlertSeverity
  readonly service: string
  readonly message: string
  /** Since when the condition holds, epoch ms (for a rate: the read time). */
  readonly since: number
}

/**
 * A health status, or `unknown`: the store could not be read (entirely or in
 * part), so nothing says the fleet is healthy.
 *
 * @since 0.1.0
 * @category models
 */
export type OverallStatus = HealthStatus | "unknown"

/**
 * @since 0.1.0
 * @category models
 */
export interface OverallHealth {
  /**
   * `unhealthy` when any circuit read is OPEN or FORCED_OPEN; else `unknown`
   * when the read was not complete; else `degraded` when any circuit is
   * HALF_OPEN or running locally because the store is unavailable; else
   * `healthy` (also with no circuits, after a complete read).
   */
  readonly overall: OverallStatus
  /** Whether every circuit the store knows was read. */
  readonly complete: boolean
  /** Circuits that could not be read (the registry itself counts as one when it cannot be read). */
  readonly unreadable: number
  /** Why the read is not complete, or null. */
  readonly reason: string | null
  /** By circuit name (an object without prototype: any name, `__proto__` too, is an own key). */
  readonly services: Readonly<Record<string, Pick<Health, "status" | "state" | "metrics">>>
  readonly timestamp: number
  /**
   * Whether this instance hears of other instances' transitions at once
   * (Redis store over ioredis): `lost` while its subscription is down. Absent
   * when the store cannot tell (memory, Upstash, `notifications: false`).
   */
  readonly notifications?: NotificationStatus
}

/**
 * Filters and paging for `read`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ReadOptions {
  /** Only circuits in these states. */
  readonly state?: ReadonlyArray<State> | undefined
  /** Only circuits whose name starts with this. */
  readonly prefix?: string | undefined
  /** At most this many circuits (by name order), from `cursor` on. */
  readonly limit?: number | undefined
  /** The `nextCursor` of the previous page. */
  readonly cursor?: string | undefined
}

/**
 * One read of the fleet's circuits: what could be read, and whether that is
 * everything.
 *
 * @since 0.1.0
 * @category models
 */
export interface FleetRead {
  /** The circuits read, in name order, filtered and paged. */
  readonly circuits: ReadonlyArray<CircuitMetrics>
  /** Circuits that match the filters: all pages (with a `state` filter, from the cursor on). */
  readonly total: number
  /** Where the next page starts, or null on the last one. */
  readonly nextCursor: string | null
  readonly complete: boolean
  readonly unreadable: number
  readonly reason: string | null
}

/**
 * One read of every circuit, shared: the HTTP routes answer from it, whatever
 * their filters, cursors and limits. A new one is read at most once per
 * `snapshotTtl`; requests that arrive while it is read wait for that read.
 *
 * @since 0.1.0
 * @category models
 */
export interface FleetSnapshot {
  /** When the read began (epoch ms): an answer's age is measured from it. */
  readonly takenAt: number
  /** The circuits, filtered and paged as `read` does it, from this snapshot. */
  readonly read: (options?: ReadOptions) => FleetRead
  /** Every circuit, by name (as `getAllMetrics`). */
  readonly metrics: Readonly<Record<string, CircuitMetrics>>
  /** The alerts (as `getAlerts`). */
  readonly alerts: ReadonlyArray<Alert>
  /** The fleet's health (as `health`); its `timestamp` is `takenAt`. */
  readonly health: OverallHealth
}

/**
 * The thresholds of the alerts monitoring raises (the Effect-free part of
 * each edition's monitoring options).
 *
 * @since 0.1.0
 * @category models
 */
export interface AlertOptions {
  /** Alert when the fleet's failure rate reaches this fraction (default 0.5)… */
  readonly failureRateAlert?: number | undefined
  /** …over at least this many calls (default 20). */
  readonly failureRateMinimumCalls?: number | undefined
  /** Alert as flapping after this many consecutive re-opens (default 3). */
  readonly flappingReopens?: number | undefined
}
