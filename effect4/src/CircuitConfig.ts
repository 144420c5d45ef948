/**
 * The configuration of a circuit breaker: its Schema, defaults, presets and
 * the error every invalid value fails with.
 *
 * Durations accept milliseconds (as numbers) or any Effect `Duration` input
 * (`"30 seconds"`, `Duration.minutes(5)`).
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Result from "effect/Result"
import * as Schema from "effect/Schema"
// modules that effect 3 does not have, read through the barrel (see internal/effect4.ts)
import * as Effect4 from "effect"
import {
  booleanField,
  decoder,
  describe,
  durationMillis,
  guarded,
  literals,
  numberField,
  optional,
  positiveInt,
  rule,
  truncate,
  withDefault
} from "./internal/breaker/configSchema.js"
import { derive as deriveFields, derivedDefaults } from "../../shared/config/derive.js"
import * as limits from "../../shared/config/limits.js"
import * as names from "../../shared/config/serviceName.js"

/**
 * What a breaker does when its store (Redis) cannot be reached:
 * - `"local"`: keep protecting with an in-memory breaker of the same config
 *   (health reports `degraded`);
 * - `"fail-open"`: let calls through unprotected;
 * - `"fail-closed"`: fail calls with `ServiceUnavailable`.
 *
 * @example
 * ```ts
 * import type { CircuitConfig } from "effect-circuit-breaker-redis"
 *
 * const policy: CircuitConfig.StoreUnavailablePolicy = "fail-closed"
 * const input: CircuitConfig.Input = { onStoreUnavailable: policy }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type StoreUnavailablePolicy = "local" | "fail-open" | "fail-closed"

/**
 * A duration given as milliseconds or as an Effect `Duration.Input`.
 *
 * @example
 * ```ts
 * import type { CircuitConfig } from "effect-circuit-breaker-redis"
 *
 * const inMillis: CircuitConfig.DurationInput = 30_000
 * const asText: CircuitConfig.DurationInput = "30 seconds"
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type DurationInput = Duration.Input

/**
 * A configuration (or a service name) was invalid. `message` names the field
 * and the rule, e.g. `backoffJitter must be between 0 and 1 (got 1.5)`.
 *
 * @example
 * ```ts
 * import { CircuitConfig } from "effect-circuit-breaker-redis"
 * import { Effect } from "effect"
 *
 * const config = CircuitConfig.decode("payments", { backoffJitter: 1.5 }).pipe(
 *   Effect.catchTag("CircuitConfigError", (e) => Effect.die(e.issues.join("\n")))
 * )
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class CircuitConfigError
  extends Schema.TaggedError<CircuitConfigError>("effect-circuit-breaker-redis/CircuitConfigError")(
    "CircuitConfigError",
    {
      /** The service whose configuration was rejected. */
      service: Schema.String,
      /** One line per problem: `<field> <rule> (got <value>)`. */
      issues: Schema.Array(Schema.String)
    }
  )
{
  override get message(): string {
    return `Invalid circuit breaker configuration for ${JSON.stringify(this.service)}: ${this.issues.join("; ")}`
  }
}

// the error's name is its tag, as its stack and logs show it (the class's identifier is namespaced)
Object.defineProperty(CircuitConfigError.prototype, "name", {
  value: "CircuitConfigError",
  writable: true,
  configurable: true
})

/**
 * The largest duration a field accepts: 10 years in milliseconds. Times and
 * durations then stay whole numbers far below 2^53 in JavaScript and in Lua,
 * and reach Redis without exponent notation.
 *
 * @example
 * ```ts
 * import { CircuitConfig } from "effect-circuit-breaker-redis"
 *
 * const recoveryTimeout = Math.min(90 * 24 * 3_600_000, CircuitConfig.maxDuration)
 * ```
 *
 * @since 0.1.0
 * @category constants
 */
export const maxDuration = limits.maxDuration

/**
 * The largest count a field accepts (thresholds, probes, calls).
 *
 * @example
 * ```ts
 * import { CircuitConfig } from "effect-circuit-breaker-redis"
 *
 * const failureThreshold = Math.min(1_000_000_000_000, CircuitConfig.maxCount)
 * ```
 *
 * @since 0.1.0
 * @category constants
 */
export const maxCount = limits.maxCount

/**
 * Tuned starting points for common dependencies. Spread one and override:
 * `CircuitBreaker.make("payments", { ...CircuitConfig.presets.api, failureThreshold: 3 })`.
 *
 * @example
 * ```ts
 * import { CircuitBreaker, CircuitConfig } from "effect-circuit-breaker-redis"
 *
 * const breaker = CircuitBreaker.make("payments", { ...CircuitConfig.presets.api, failureThreshold: 3 })
 * ```
 *
 * @since 0.1.0
 * @category defaults
 */
export const presets: typeof limits.presets = limits.presets satisfies Record<string, Input>

/**
 * The longest service name accepted.
 *
 * @example
 * ```ts
 * import { CircuitConfig } from "effect-circuit-breaker-redis"
 *
 * const name = "tenant-42/search".slice(0, CircuitConfig.maxServiceNameLength)
 * ```
 *
 * @since 0.1.0
 * @category constants
 */
export const maxServiceNameLength = limits.maxServiceNameLength

/**
 * The rule for a service name, or `undefined` when the name is valid:
 * non-empty, at most 256 characters, not `.` or `..`, no control
 * characters, and no invisible or bidirectional formatting characters
 * (zero-width spaces and joiners, bidi overrides and isolates, variation
 * selectors), with which one name could pass for another.
 *
 * @example
 * ```ts
 * import { CircuitConfig } from "effect-circuit-breaker-redis"
 *
 * CircuitConfig.serviceNameProblem("pay\u200Bments")
 * // "must not contain invisible or bidirectional formatting characters (U+200B at index 3)"
 * ```
 *
 * @since 0.1.0
 * @category validation
 */
export const serviceNameProblem = (name: unknown): string | undefined => names.serviceNameProblem(name, describe)

// ---------------------------------------------------------------------------
// The fields: each one's rule and default, once
// ---------------------------------------------------------------------------

const count = positiveInt(maxCount)

const boundedDuration = rule(
  durationMillis({ infinite: false }),
  `at most ${maxDuration} ms (10 years)`,
  (n) => n <= maxDuration
)

const positiveDuration = rule(boundedDuration, "greater than zero", (n) => n > 0)

const ServiceName = guarded(
  (name: unknown): name is string => serviceNameProblem(name) === undefined,
  (name) => serviceNameProblem(name) ?? "is invalid"
)

const Fn = guarded(
  (u: unknown): u is (error: unknown) => boolean => typeof u === "function",
  (u) => `must be a function (got ${describe(u)})`
)

/**
 * Every field with its rule and, when it does not depend on other fields, its
 * default. Fields whose default depends on others (`maxRecoveryTimeout`,
 * `stateTtl`, `halfOpenMaxProbes`, `serviceName`) are derived after decoding,
 * with the rules that tie fields together.
 *
 * @example
 * ```ts
 * import { CircuitConfig } from "effect-circuit-breaker-redis"
 *
 * const fieldNames = Object.keys(CircuitConfig.Fields.fields)
 * ```
 *
 * @internal
 */
export const Fields = Schema.Struct({
  /** Failures within `monitoringPeriod` that open a closed circuit (default 5). */
  failureThreshold: withDefault(count, 5),
  /** Probe successes in half-open that close the circuit (default 3). */
  successThreshold: withDefault(count, 3),
  /** The first open period (default 30 s). */
  recoveryTimeout: withDefault(positiveDuration, 30_000),
  /** Cap on any open period (default 5 min, or `recoveryTimeout` if larger). */
  maxRecoveryTimeout: optional(positiveDuration),
  /** Sliding window in which failures are counted (default 5 min). */
  monitoringPeriod: withDefault(positiveDuration, 300_000),
  /** Growth of the open period at each consecutive re-open (default 2). */
  backoffMultiplier: withDefault(
    rule(numberField, "between 1 and 1000", (n) => Number.isFinite(n) && n >= 1 && n <= 1000),
    2
  ),
  /** Each open period is scaled by a factor in [1 - j, 1 + j] (default 0.1). */
  backoffJitter: withDefault(
    rule(numberField, "between 0 and 1", (n) => n >= 0 && n <= 1),
    0.1
  ),
  /**
   * Redis TTL of the circuit's state (default 10 min, or 2 × `maxRecoveryTimeout` if larger); must
   * exceed `maxRecoveryTimeout × (1 + backoffJitter) + probeLease`.
   */
  stateTtl: optional(positiveDuration),
  /** Redis TTL of fleet-wide metric buckets (default 24 h). */
  metricsTtl: withDefault(positiveDuration, 86_400_000),
  /** The protected service (default: the breaker's name). */
  serviceName: optional(ServiceName),
  /** This instance, in metrics and probe leases (default: one random id per process). */
  instanceId: optional(ServiceName),
  /** Concurrent half-open probes across the fleet (default `successThreshold`). */
  halfOpenMaxProbes: optional(count),
  /** How long a probe permit is held if its holder never reports (default 10 s). */
  probeLease: withDefault(positiveDuration, 10_000),
  /** How long an instance trusts its cached CLOSED state (default 1 s). */
  stateCacheTtl: withDefault(boundedDuration, 1_000),
  /** Bound on one store round trip (default 500 ms). */
  storeTimeout: withDefault(positiveDuration, 500),
  /** What to do when the store cannot be reached (default `"local"`). */
  onStoreUnavailable: withDefault(literals("local", "fail-open", "fail-closed"), "local"),
  /** Optional rate rule: open when failures / calls in the window reach this fraction, in (0, 1]. */
  failureRateThreshold: optional(
    rule(numberField, "a fraction greater than 0 and at most 1", (n) => n > 0 && n <= 1)
  ),
  /** Calls in the window before the rate rule applies (default 10). */
  minimumCalls: withDefault(count, 10),
  /** Optional: calls slower than this count as failures (their result is still returned). Needs `recordLatency`. */
  slowCallDuration: optional(positiveDuration),
  /**
   * Whether each call's latency is measured and recorded (default `true`).
   * `false` saves a clock read and a histogram update per call; slow-call
   * detection (`slowCallDuration`) needs it.
   */
  recordLatency: withDefault(booleanField, true),
  /** Which errors count as failures (default: every error). Interruptions never count. */
  isFailure: optional(Fn),
  /**
   * Where the Redis store takes `now` from (default: the store's own
   * `timeSource`, itself `"server"` by default). `"server"`: Redis's clock,
   * through the offset each instance learns from Redis `TIME`, so that no
   * instance's clock, however wrong, changes what the fleet sees. `"client"`:
   * the caller's `Clock` as it is (for `TestClock`-driven tests against
   * Redis). The memory store always uses the caller's `Clock`.
   */
  timeSource: optional(literals("client", "server"))
})

type Encoded = typeof Fields.Encoded
type Decoded = typeof Fields.Type
type DerivedField = "maxRecoveryTimeout" | "stateTtl" | "halfOpenMaxProbes" | "serviceName"

/**
 * What a user may pass to `CircuitBreaker.make`. Every field is optional;
 * `undefined` means the default.
 *
 * @example
 * ```ts
 * import { CircuitBreaker, type CircuitConfig } from "effect-circuit-breaker-redis"
 *
 * class Timeout extends Error {}
 *
 * const input: CircuitConfig.Input<Error> = {
 *   failureThreshold: 5,
 *   recoveryTimeout: "30 seconds",
 *   isFailure: (error) => error instanceof Timeout
 * }
 * const breaker = CircuitBreaker.make("search", input)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Input<E = unknown>
  extends Readonly<{ [K in Exclude<keyof Encoded, "isFailure">]?: Encoded[K] | undefined }>
{
  /** Which errors count as failures (default: every error). Interruptions never count. */
  readonly isFailure?: ((error: E) => boolean) | undefined
}

/**
 * A decoded configuration: every field present (`undefined` for an optional
 * one not given), durations in milliseconds.
 *
 * @example
 * ```ts
 * import { CircuitConfig } from "effect-circuit-breaker-redis"
 * import { Effect } from "effect"
 *
 * const recoveryMillis = Effect.map(
 *   CircuitConfig.decode("api", { recoveryTimeout: "1 minute" }),
 *   (config: CircuitConfig.CircuitConfig) => config.recoveryTimeout // 60000
 * )
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface CircuitConfig extends
  Readonly<
    {
      [K in keyof Decoded]-?: K extends DerivedField ? Exclude<Decoded[K], undefined>
        : {} extends Pick<Decoded, K> ? Decoded[K] | undefined
        : Decoded[K]
    }
  >
{}

/**
 * The defaults of every field.
 * `maxRecoveryTimeout` and `stateTtl` grow beyond theirs when other fields
 * ask for it (see `Input`).
 *
 * @example
 * ```ts
 * import { CircuitConfig } from "effect-circuit-breaker-redis"
 *
 * const threshold = CircuitConfig.defaults.failureThreshold
 * ```
 *
 * @since 0.1.0
 * @category defaults
 */
export const defaults = {
  ...Schema.decodeSync(Fields)({}),
  ...derivedDefaults
} as const

const decodeFields = decoder(Fields)

const fieldNames = Object.keys(Fields.fields) as ReadonlyArray<keyof Decoded>

/** The fields' defaults that depend on other fields, and the rules that tie fields together. */
const derive = (name: string, fields: Decoded): Result.Result<CircuitConfig, ReadonlyArray<string>> => {
  const result = deriveFields(name, fields)
  if ("issues" in result) return Effect4.Result.fail(result.issues)
  // every field present, `undefined` for an optional one not given
  const config: Record<string, unknown> = {}
  for (const field of fieldNames) config[field] = fields[field]
  return Effect4.Result.succeed({ ...config as Omit<CircuitConfig, DerivedField>, ...result.derived })
}

/**
 * Decodes a configuration for the circuit `name`, synchronously. Returns the
 * config, or a `CircuitConfigError` naming every bad field and its rule, as a
 * `Result`.
 *
 * @example
 * ```ts
 * import { CircuitConfig } from "effect-circuit-breaker-redis"
 * import { Result } from "effect"
 *
 * const config = Result.getOrThrow(CircuitConfig.decodeEither("payments", { failureThreshold: 3 }))
 * config.recoveryTimeout // 30000
 * ```
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeEither = (name: string, input: unknown = {}): Result.Result<CircuitConfig, CircuitConfigError> => {
  const nameProblem = serviceNameProblem(name)
  const decoded = Effect4.Result.flatMap(decodeFields(input), (fields) => derive(name, fields))
  const issues = [
    ...(nameProblem === undefined ? [] : [`service name ${nameProblem}`]),
    ...(Effect4.Result.isFailure(decoded) ? decoded.failure : [])
  ]
  return issues.length === 0 && Effect4.Result.isSuccess(decoded)
    ? Effect4.Result.succeed(decoded.success)
    : Effect4.Result.fail(
      new CircuitConfigError({ service: typeof name === "string" ? truncate(name) : describe(name), issues })
    )
}

/**
 * Decodes a configuration for the circuit `name`.
 *
 * @example
 * ```ts
 * import { CircuitConfig } from "effect-circuit-breaker-redis"
 * import { Effect } from "effect"
 *
 * const config = CircuitConfig.decode("payments", { recoveryTimeout: "10 seconds" })
 * // Effect<CircuitConfig, CircuitConfigError>
 * ```
 *
 * @since 0.1.0
 * @category decoding
 */
export const decode = (name: string, input?: unknown): Effect.Effect<CircuitConfig, CircuitConfigError> =>
  Effect.suspend(() => Effect.fromResult(decodeEither(name, input)))

/**
 * Checks a service name: succeeds with it, or fails with a `CircuitConfigError`.
 *
 * @example
 * ```ts
 * import { CircuitConfig } from "effect-circuit-breaker-redis"
 * import { Result } from "effect"
 *
 * const valid = Result.isSuccess(CircuitConfig.validateServiceName("payments"))
 * ```
 *
 * @since 0.1.0
 * @category validation
 */
export const validateServiceName = (name: unknown): Result.Result<string, CircuitConfigError> => {
  const problem = serviceNameProblem(name)
  return problem === undefined
    ? Effect4.Result.succeed(name as string)
    : Effect4.Result.fail(
      new CircuitConfigError({
        service: typeof name === "string" ? truncate(name) : describe(name),
        issues: [`service name ${problem}`]
      })
    )
}
