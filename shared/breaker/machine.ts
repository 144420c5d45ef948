/**
 * The state machine (ARCHITECTURE.md, "Layers") as plain synchronous functions over a
 * mutable record. The memory store runs it directly; `lua/circuit.lua` is its
 * line-by-line twin for Redis, and the test suite holds the two against each
 * other on random event sequences. Change one, change the other.
 *
 * @internal
 */
import type { Decision, MachineConfig, Outcome, Snapshot, State } from "../model.js"

/** Buckets in the sliding failure window. */
export const WINDOW_BUCKETS = 10

/** The longest `retryAfter` given to a call rejected because every probe permit is taken. */
export const HALF_OPEN_RETRY_AFTER = 1_000

/** Times further ahead of now than this were written by a clock that was wrong. */
export const FUTURE_TOLERANCE = 60_000

/** @internal */
export interface MachineState {
  state: State
  version: number
  openCount: number
  openedAt: number
  retryAt: number
  changedAt: number
  writtenAt: number
  halfOpenSuccesses: number
  /** probe id -> lease expiry; allocated on first use. */
  leases: Map<string, number> | undefined
  /**
   * The window: a fixed ring of `WINDOW_BUCKETS` buckets, bucket `i` (the
   * index of time `t` is `floor(t / bucketWidth)`) in slot `i % WINDOW_BUCKETS`
   * as three numbers `[index, calls, failures]`. Allocated on first use; a
   * success adds to it in O(1) without allocating.
   */
  window: Array<number> | undefined
}

/** @internal */
export const initial = (): MachineState => ({
  state: "CLOSED",
  version: 0,
  openCount: 0,
  openedAt: 0,
  retryAt: 0,
  changedAt: 0,
  writtenAt: 0,
  halfOpenSuccesses: 0,
  leases: undefined,
  window: undefined
})

/**
 * The open period after `k` consecutive re-opens, given a jitter sample `u`
 * in [0, 1): `min(max, recovery * multiplier^k)` scaled into
 * [1 - jitter, 1 + jitter], rounded to whole milliseconds. The power is taken
 * by squaring (at most 54 steps, whatever `k`), stopping once the cap is
 * reached; the cap and jitter follow `Schedule.exponential` + cap +
 * `Schedule.jitteredWith`. Lua (IEEE doubles too) does the same
 * multiplications, so it gets the same number.
 *
 * @internal
 */
export const openPeriod = (config: MachineConfig, k: number, u: number): number => {
  let d = config.recoveryTimeout
  if (config.backoffMultiplier > 1) {
    let base = config.backoffMultiplier
    let n = k
    while (n > 0 && d < config.maxRecoveryTimeout) {
      if (n % 2 === 1) d = d * base
      base = base * base
      n = Math.floor(n / 2)
    }
  }
  if (d > config.maxRecoveryTimeout) d = config.maxRecoveryTimeout
  const lo = 1 - config.backoffJitter
  const hi = 1 + config.backoffJitter
  return Math.floor(d * lo * (1 - u) + d * hi * u + 0.5)
}

/** The width of one window bucket in milliseconds. */
export const bucketWidth = (config: MachineConfig): number =>
  Math.max(1, Math.floor(config.monitoringPeriod / WINDOW_BUCKETS))

/**
 * Times written by a clock far ahead would stop time for the circuit: they
 * are brought back to `now`, and an open period to at most what the config
 * allows (the Lua twin does the same when it loads a state).
 */
const clampFuture = (s: MachineState, config: MachineConfig, now: number): void => {
  if (
    s.changedAt > now + FUTURE_TOLERANCE || s.writtenAt > now + FUTURE_TOLERANCE ||
    s.openedAt > now + FUTURE_TOLERANCE || s.retryAt > now + config.stateTtl
  ) {
    if (s.changedAt > now) s.changedAt = now
    if (s.writtenAt > now) s.writtenAt = now
    if (s.openedAt > now) s.openedAt = now
    if (s.retryAt > now + config.maxRecoveryTimeout) s.retryAt = now + config.maxRecoveryTimeout
  }
}

const effectiveNow = (s: MachineState, config: MachineConfig, now: number): number => {
  clampFuture(s, config, now)
  return now > s.changedAt ? now : s.changedAt
}

/**
 * A state not written for `stateTtl` is forgotten, as its Redis keys would be;
 * the admin states are sticky and never expire.
 *
 * @internal
 */
export const expired = (s: MachineState, config: MachineConfig, t: number): boolean =>
  s.writtenAt > 0 && t - s.writtenAt >= config.stateTtl && s.state !== "FORCED_OPEN" && s.state !== "FORCED_CLOSED"

const expire = (s: MachineState, config: MachineConfig, t: number): void => {
  if (expired(s, config, t)) {
    const version = s.version
    Object.assign(s, initial())
    s.version = version + 1
    s.changedAt = t
  }
}

const transition = (s: MachineState, state: State, t: number): void => {
  s.state = state
  s.version = s.version + 1
  s.changedAt = t
  s.halfOpenSuccesses = 0
  s.leases = undefined
}

const open = (s: MachineState, config: MachineConfig, t: number, k: number, u: number): void => {
  transition(s, "OPEN", t)
  s.openCount = k
  s.openedAt = t
  s.retryAt = t + openPeriod(config, k, u)
  s.window = undefined
}

const close = (s: MachineState, t: number): void => {
  transition(s, "CLOSED", t)
  s.openCount = 0
  s.retryAt = 0
  s.window = undefined
}

/** Drops leases that expired at or before `t`; returns how many remain. */
const pruneLeases = (s: MachineState, t: number): number => {
  if (s.leases === undefined) return 0
  for (const [id, expiry] of s.leases) {
    if (expiry <= t) s.leases.delete(id)
  }
  return s.leases.size
}

/** A ring whose every slot holds no bucket (index -1 is no time's bucket). */
const emptyWindow = (): Array<number> => {
  const w = new Array<number>(WINDOW_BUCKETS * 3)
  for (let i = 0; i < w.length; i += 3) {
    w[i] = -1
    w[i + 1] = 0
    w[i + 2] = 0
  }
  return w
}

/**
 * Adds to the bucket of `t`. A slot holding an older bucket holds one that
 * left the window (its index is at most `index - WINDOW_BUCKETS`): it starts
 * again, as the Lua twin drops such buckets. (A slot holding a bucket a whole
 * window ahead of `t`, left by a clock that went back that far, starts again
 * too, where Lua would keep it for when time comes back to it.)
 */
const windowAdd = (s: MachineState, config: MachineConfig, t: number, calls: number, failures: number): void => {
  const index = Math.floor(t / bucketWidth(config))
  const w = s.window ?? (s.window = emptyWindow())
  const slot = (index % WINDOW_BUCKETS) * 3
  if (w[slot] === index) {
    w[slot + 1] = w[slot + 1]! + calls
    w[slot + 2] = w[slot + 2]! + failures
  } else {
    w[slot] = index
    w[slot + 1] = calls
    w[slot + 2] = failures
  }
}

/** [calls, failures] in the window that ends at `t`. */
const windowSum = (s: MachineState, config: MachineConfig, t: number): [number, number] => {
  const w = s.window
  if (w === undefined) return [0, 0]
  const index = Math.floor(t / bucketWidth(config))
  let calls = 0
  let failures = 0
  for (let slot = 0; slot < w.length; slot += 3) {
    const key = w[slot]!
    if (key > index - WINDOW_BUCKETS && key <= index) {
      calls += w[slot + 1]!
      failures += w[slot + 2]!
    }
  }
  return [calls, failures]
}

const tripped = (config: MachineConfig, calls: number, failures: number): boolean =>
  failures >= config.failureThreshold ||
  (config.failureRateThreshold !== undefined && calls >= config.minimumCalls &&
    failures / calls >= config.failureRateThreshold)

/**
 * Asks to run one call at `now`. May move OPEN to HALF_OPEN and take a probe
 * permit under the id `probeId`.
 *
 * @internal
 */
export const acquire = (s: MachineState, config: MachineConfig, now: number, probeId: string): Decision => {
  const t = effectiveNow(s, config, now)
  expire(s, config, t)
  switch (s.state) {
    case "CLOSED":
    case "FORCED_CLOSED":
      return { _tag: "Allow", probe: undefined, state: s.state, version: s.version }
    case "FORCED_OPEN":
      return { _tag: "Reject", retryAfter: config.recoveryTimeout, state: s.state, version: s.version }
    case "OPEN":
      if (t < s.retryAt) {
        return { _tag: "Reject", retryAfter: s.retryAt - t, state: s.state, version: s.version }
      }
      // the first call at or after retryAt moves to HALF_OPEN and takes a probe permit
      transition(s, "HALF_OPEN", t)
      s.writtenAt = t
      return takeProbe(s, config, t, probeId)
    case "HALF_OPEN":
      return takeProbe(s, config, t, probeId)
  }
}

const takeProbe = (s: MachineState, config: MachineConfig, t: number, probeId: string): Decision => {
  const held = pruneLeases(s, t)
  if (held < config.halfOpenMaxProbes) {
    if (s.leases === undefined) s.leases = new Map()
    s.leases.set(probeId, t + config.probeLease)
    s.writtenAt = t
    return { _tag: "Allow", probe: probeId, state: s.state, version: s.version }
  }
  let earliest = Infinity
  for (const expiry of s.leases!.values()) if (expiry < earliest) earliest = expiry
  const retryAfter = earliest - t < HALF_OPEN_RETRY_AFTER ? earliest - t : HALF_OPEN_RETRY_AFTER
  return { _tag: "Reject", retryAfter, state: s.state, version: s.version }
}

/**
 * Records the outcome of one call (`probe` is the permit it held, if any),
 * after adding `successes` batched successes of earlier calls. `u` is the
 * jitter sample used if this record opens the circuit.
 *
 * @internal
 */
export const record = (
  s: MachineState,
  config: MachineConfig,
  now: number,
  outcome: Outcome | undefined,
  probe: string | undefined,
  u: number,
  successes: number
): void => {
  const t = effectiveNow(s, config, now)
  expire(s, config, t)
  s.writtenAt = t
  switch (s.state) {
    case "CLOSED":
    case "FORCED_CLOSED": {
      const failed = outcome === "failure" ? 1 : 0
      const calls = successes + (outcome === "success" || outcome === "failure" ? 1 : 0)
      if (calls > 0) windowAdd(s, config, t, calls, failed)
      if (failed === 1 && s.state === "CLOSED") {
        const [windowCalls, windowFailures] = windowSum(s, config, t)
        if (tripped(config, windowCalls, windowFailures)) open(s, config, t, 0, u)
      }
      return
    }
    case "HALF_OPEN": {
      pruneLeases(s, t)
      if (probe === undefined || s.leases === undefined || !s.leases.has(probe)) return
      s.leases.delete(probe)
      if (outcome === "success") {
        s.halfOpenSuccesses = s.halfOpenSuccesses + 1
        if (s.halfOpenSuccesses >= config.successThreshold) close(s, t)
      } else if (outcome === "failure") {
        open(s, config, t, s.openCount + 1, u)
      }
      return
    }
    case "OPEN":
    case "FORCED_OPEN":
      // late results of calls admitted before the circuit opened change nothing
      return
  }
}

/**
 * The success of a call that held no permit, in CLOSED or FORCED_CLOSED: what
 * `record(s, config, now, "success", undefined, 0, 0)` does, in O(1) and
 * without allocating when nothing but the count is due (the bucket of `now`
 * is in the window already, the state is not expired, no time lies ahead of
 * `now`). Anything else goes through `record` itself.
 *
 * @internal
 */
export const recordSuccess = (s: MachineState, config: MachineConfig, now: number): void => {
  const w = s.window
  if (
    w !== undefined && (s.state === "CLOSED" || s.state === "FORCED_CLOSED") &&
    now >= s.changedAt && now >= s.writtenAt && now - s.writtenAt < config.stateTtl &&
    s.openedAt <= now + FUTURE_TOLERANCE && s.retryAt <= now + config.stateTtl
  ) {
    const index = Math.floor(now / bucketWidth(config))
    const slot = (index % WINDOW_BUCKETS) * 3
    if (w[slot] === index) {
      s.writtenAt = now
      w[slot + 1] = w[slot + 1]! + 1
      return
    }
  }
  record(s, config, now, "success", undefined, 0, 0)
}

/**
 * Sets an admin state, or `reset`s to CLOSED with an empty window and backoff.
 *
 * @internal
 */
export const force = (
  s: MachineState,
  config: MachineConfig,
  now: number,
  to: "FORCED_OPEN" | "FORCED_CLOSED" | "RESET"
): void => {
  const t = effectiveNow(s, config, now)
  expire(s, config, t)
  s.writtenAt = t
  if (to === "RESET") {
    close(s, t)
    s.openedAt = 0
  } else {
    transition(s, to, t)
    s.retryAt = 0
  }
}

/**
 * What the circuit looks like at `now`, without changing it.
 *
 * @internal
 */
export const snapshot = (s: MachineState, config: MachineConfig, now: number): Snapshot => {
  const t = effectiveNow(s, config, now)
  if (expired(s, config, t)) {
    return { ...emptySnapshot, version: s.version + 1, changedAt: t }
  }
  const [calls, failures] = windowSum(s, config, t)
  let probes = 0
  if (s.leases !== undefined) { for (const expiry of s.leases.values()) if (expiry > t) probes++ }
  return {
    state: s.state,
    version: s.version,
    openCount: s.openCount,
    openedAt: s.openedAt,
    retryAt: s.retryAt,
    changedAt: s.changedAt,
    failures,
    calls,
    halfOpenSuccesses: s.halfOpenSuccesses,
    probes
  }
}

const emptySnapshot: Snapshot = {
  state: "CLOSED",
  version: 0,
  openCount: 0,
  openedAt: 0,
  retryAt: 0,
  changedAt: 0,
  failures: 0,
  calls: 0,
  halfOpenSuccesses: 0,
  probes: 0
}
