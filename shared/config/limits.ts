/**
 * The limits of a circuit's config and the presets: the same numbers for
 * every edition (each edition's `CircuitConfig` re-exports them and checks
 * its fields against them).
 *
 * @since 0.1.0
 */

/**
 * The largest duration a field accepts: 10 years in milliseconds. Times and
 * durations then stay whole numbers far below 2^53 in JavaScript and in Lua,
 * and reach Redis without exponent notation.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxDuration = 315_360_000_000

/**
 * The largest count a field accepts (thresholds, probes, calls).
 *
 * @since 0.1.0
 * @category constants
 */
export const maxCount = 1_000_000_000

/**
 * Tuned starting points for common dependencies. Spread one and override:
 * `CircuitBreaker.make("payments", { ...CircuitConfig.presets.api, failureThreshold: 3 })`
 * (`CircuitConfig.presets` of each edition).
 *
 * @since 0.1.0
 * @category defaults
 */
export const presets = {
  /** A cache or Redis: fails fast, recovers fast. */
  redis: {
    failureThreshold: 3,
    successThreshold: 2,
    recoveryTimeout: 10_000,
    maxRecoveryTimeout: 60_000,
    monitoringPeriod: 60_000
  },
  /** A primary database: the defaults. */
  database: {
    failureThreshold: 5,
    successThreshold: 3,
    recoveryTimeout: 30_000,
    maxRecoveryTimeout: 300_000,
    monitoringPeriod: 300_000
  },
  /** A third-party HTTP API: tolerates more noise, backs off longer. */
  api: {
    failureThreshold: 10,
    successThreshold: 3,
    recoveryTimeout: 60_000,
    maxRecoveryTimeout: 600_000,
    monitoringPeriod: 300_000
  },
  /** An auth provider: opens early, needs more evidence to close. */
  auth: {
    failureThreshold: 3,
    successThreshold: 5,
    recoveryTimeout: 15_000,
    maxRecoveryTimeout: 120_000,
    monitoringPeriod: 120_000
  }
} as const

/**
 * The longest service name accepted.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxServiceNameLength = 256
