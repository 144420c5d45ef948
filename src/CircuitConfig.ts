/**
 * The configuration of a circuit breaker: its Schema, defaults, presets and
 * the error every invalid value fails with.
 *
 * Durations accept milliseconds (as numbers) or any Effect `Duration` input
 * (`"30 seconds"`, `Duration.minutes(5)`).
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"

/**
 * What a breaker does when its store (Redis) cannot be reached:
 * - `"local"`: keep protecting with an in-memory breaker of the same config
 *   (health reports `degraded`);
 * - `"fail-open"`: let calls through unprotected;
 * - `"fail-closed"`: fail calls with `ServiceUnavailable`.
 *
 * @since 0.1.0
 * @category models
 */
export type StoreUnavailablePolicy = "local" | "fail-open" | "fail-closed"

/**
 * A duration given as milliseconds or as an Effect `DurationInput`.
 *
 * @since 0.1.0
 * @category models
 */
export type DurationInput = Duration.DurationInput

/**
 * What a user may pass to `CircuitBreaker.make`. Every field is optional.
 *
 * @since 0.1.0
 * @category models
 */
export interface Input<E = unknown> {
  /** Failures within `monitoringPeriod` that open a closed circuit (default 5). */
  readonly failureThreshold?: number | undefined
  /** Probe successes in half-open that close the circuit (default 3). */
  readonly successThreshold?: number | undefined
  /** The first open period (default 30 s). */
  readonly recoveryTimeout?: DurationInput | undefined
  /** Cap on any open period (default 5 min, or `recoveryTimeout` if larger). */
  readonly maxRecoveryTimeout?: DurationInput | undefined
  /** Sliding window in which failures are counted (default 5 min). */
  readonly monitoringPeriod?: DurationInput | undefined
  /** Growth of the open period at each consecutive re-open (default 2). */
  readonly backoffMultiplier?: number | undefined
  /** Each open period is scaled by a factor in [1 - j, 1 + j] (default 0.1). */
  readonly backoffJitter?: number | undefined
  /**
   * Redis TTL of the circuit's state (default 10 min, or 2 × `maxRecoveryTimeout` if larger); must
   * exceed `maxRecoveryTimeout × (1 + backoffJitter) + probeLease`.
   */
  readonly stateTtl?: DurationInput | undefined
  /** Redis TTL of fleet-wide metric buckets (default 24 h). */
  readonly metricsTtl?: DurationInput | undefined
  /** The protected service (default: the breaker's name). */
  readonly serviceName?: string | undefined
  /** This instance, in metrics and probe leases (default: one random id per process). */
  readonly instanceId?: string | undefined
  /** Concurrent half-open probes across the fleet (default `successThreshold`). */
  readonly halfOpenMaxProbes?: number | undefined
  /** How long a probe permit is held if its holder never reports (default 10 s). */
  readonly probeLease?: DurationInput | undefined
  /** How long an instance trusts its cached CLOSED state (default 1 s). */
  readonly stateCacheTtl?: DurationInput | undefined
  /** Bound on one store round trip (default 500 ms). */
  readonly storeTimeout?: DurationInput | undefined
  /** What to do when the store cannot be reached (default `"local"`). */
  readonly onStoreUnavailable?: StoreUnavailablePolicy | undefined
  /** Optional rate rule: open when failures / calls in the window reach this fraction, in (0, 1]. */
  readonly failureRateThreshold?: number | undefined
  /** Calls in the window before the rate rule applies (default 10). */
  readonly minimumCalls?: number | undefined
  /** Optional: calls slower than this count as failures (their result is still returned). Needs `recordLatency`. */
  readonly slowCallDuration?: DurationInput | undefined
  /**
   * Whether each call's duration is measured, for the latency histogram
   * (`circuit_breaker_call_duration_ms`) and `slowCallDuration` (default
   * `true`). `false` saves a clock read per call.
   */
  readonly recordLatency?: boolean | undefined
  /** Which errors count as failures (default: every error). Interruptions never count. */
  readonly isFailure?: ((error: E) => boolean) | undefined
  /**
   * Where the Redis store takes `now` from (default: the store's own
   * `timeSource`, itself `"server"` by default). `"server"`: Redis's clock,
   * through the offset each instance learns from Redis `TIME`, so that no
   * instance's clock, however wrong, changes what the fleet sees. `"client"`:
   * the caller's `Clock` as it is (for `TestClock`-driven tests against
   * Redis). The memory store always uses the caller's `Clock`.
   */
  readonly timeSource?: "client" | "server" | undefined
}

/**
 * A decoded configuration: every field present, durations in milliseconds.
 *
 * @since 0.1.0
 * @category models
 */
export interface CircuitConfig {
  readonly failureThreshold: number
  readonly successThreshold: number
  readonly recoveryTimeout: number
  readonly maxRecoveryTimeout: number
  readonly monitoringPeriod: number
  readonly backoffMultiplier: number
  readonly backoffJitter: number
  readonly stateTtl: number
  readonly metricsTtl: number
  readonly serviceName: string
  readonly instanceId: string | undefined
  readonly halfOpenMaxProbes: number
  readonly probeLease: number
  readonly stateCacheTtl: number
  readonly storeTimeout: number
  readonly onStoreUnavailable: StoreUnavailablePolicy
  readonly failureRateThreshold: number | undefined
  readonly minimumCalls: number
  readonly slowCallDuration: number | undefined
  readonly recordLatency: boolean
  readonly isFailure: ((error: unknown) => boolean) | undefined
  readonly timeSource: "client" | "server" | undefined
}

/**
 * A configuration (or a service name) was invalid. `message` names the field
 * and the rule, e.g. `backoffJitter must be between 0 and 1 (got 1.5)`.
 *
 * @since 0.1.0
 * @category errors
 */
export class CircuitConfigError extends Schema.TaggedError<CircuitConfigError>("effect-circuit-breaker-redis/CircuitConfigError")(
  "CircuitConfigError",
  {
    /** The service whose configuration was rejected. */
    service: Schema.String,
    /** One line per problem: `<field> <rule> (got <value>)`. */
    issues: Schema.Array(Schema.String)
  }
) {
  override get message(): string {
    return `Invalid circuit breaker configuration for ${JSON.stringify(this.service)}: ${this.issues.join("; ")}`
  }
}

/**
 * The defaults of every field (the original README's `DEFAULT_CONFIG`).
 *
 * @since 0.1.0
 * @category defaults
 */
export const defaults = {
  failureThreshold: 5,
  successThreshold: 3,
  recoveryTimeout: 30_000,
  maxRecoveryTimeout: 300_000,
  monitoringPeriod: 300_000,
  backoffMultiplier: 2,
  backoffJitter: 0.1,
  stateTtl: 600_000,
  metricsTtl: 86_400_000,
  probeLease: 10_000,
  stateCacheTtl: 1_000,
  storeTimeout: 500,
  onStoreUnavailable: "local",
  minimumCalls: 10,
  recordLatency: true
} as const

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
 * `CircuitBreaker.make("payments", { ...CircuitConfig.presets.api, failureThreshold: 3 })`.
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
} as const satisfies Record<string, Input>

/**
 * The longest service name accepted.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxServiceNameLength = 256

const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

// eslint-disable-next-line no-control-regex
const controlCharacters = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/

/**
 * The rule for a service name, or `undefined` when the name is valid:
 * non-empty, at most 256 characters, no control characters.
 *
 * @since 0.1.0
 * @category validation
 */
export const serviceNameProblem = (name: unknown): string | undefined => {
  if (typeof name !== "string") return `must be a string (got ${describe(name)})`
  if (name.length === 0) return "must not be empty"
  if (name.trim().length === 0) return "must not be blank"
  if (name.length > maxServiceNameLength) {
    return `must be at most ${maxServiceNameLength} characters (got ${name.length})`
  }
  if (controlCharacters.test(name)) return "must not contain control characters"
  if (loneSurrogate.test(name)) return "must be well-formed Unicode (it holds a lone surrogate)"
  return undefined
}

const truncate = (s: string): string => (s.length > 40 ? s.slice(0, 40) + "…" : s)

const describe = (u: unknown): string => {
  if (typeof u === "string") return JSON.stringify(truncate(u))
  if (typeof u === "number" || typeof u === "boolean" || u === null || u === undefined) return String(u)
  if (typeof u === "function") return "a function"
  if (Duration.isDuration(u)) return Duration.format(u)
  if (Array.isArray(u)) return "an array"
  return typeof u
}

// ---------------------------------------------------------------------------
// Schema
// ---------------------------------------------------------------------------

const rule = <S extends Schema.Schema.Any>(self: S, text: string, predicate: (a: Schema.Schema.Type<S>) => boolean) =>
  self.pipe(
    Schema.filter(predicate, { message: (issue) => `must be ${text} (got ${describe(issue.actual)})` })
  )

const numberField = Schema.Number.annotations({
  message: (issue) => `must be a number (got ${describe(issue.actual)})`
})

const positiveInt = rule(
  numberField,
  `a positive integer at most ${maxCount}`,
  (n) => Number.isInteger(n) && n >= 1 && n <= maxCount
)

/**
 * Milliseconds, or a `DurationInput`, decoded to a finite number of
 * milliseconds.
 */
const DurationMillis = Schema.transformOrFail(
  Schema.Unknown,
  Schema.Number,
  {
    strict: true,
    decode: (input, _, ast) => {
      const decoded = typeof input === "number" || typeof input === "string" || typeof input === "bigint" ||
          Duration.isDuration(input)
        ? Duration.decodeUnknown(input)
        : undefined
      if (decoded === undefined || decoded._tag === "None" || (typeof input === "number" && !Number.isFinite(input))) {
        return ParseResult.fail(
          new ParseResult.Type(
            ast,
            input,
            `must be a duration: milliseconds or a Duration such as "30 seconds" (got ${describe(input)})`
          )
        )
      }
      const millis = Duration.toMillis(decoded.value)
      if (!Number.isFinite(millis)) {
        return ParseResult.fail(new ParseResult.Type(ast, input, `must be finite (got ${describe(input)})`))
      }
      // Duration clamps negative inputs to zero: catch them before it does
      if (
        (typeof input === "number" && input < 0) || (typeof input === "bigint" && input < BigInt(0)) ||
        (typeof input === "string" && input.trim().startsWith("-"))
      ) {
        return ParseResult.fail(new ParseResult.Type(ast, input, `must not be negative (got ${describe(input)})`))
      }
      return ParseResult.succeed(Math.round(millis))
    },
    encode: ParseResult.succeed
  }
)

const boundedDuration = rule(DurationMillis, `at most ${maxDuration} ms (10 years)`, (n) => n <= maxDuration)

const positiveDuration = rule(boundedDuration, "greater than zero", (n) => n > 0)

const ServiceName = Schema.String.pipe(
  Schema.filter((name) => serviceNameProblem(name) ?? true)
).annotations({ message: (issue) => serviceNameProblem(issue.actual) ?? "is invalid" })

const Fn = Schema.declare(
  (u: unknown): u is (error: unknown) => boolean => typeof u === "function",
  { message: (issue) => `must be a function (got ${describe(issue.actual)})` }
)

const Literals = <const L extends ReadonlyArray<string>>(...literals: L) =>
  Schema.declare(
    (u: unknown): u is L[number] => typeof u === "string" && literals.includes(u),
    {
      message: (issue) =>
        `must be one of ${literals.map((l) => JSON.stringify(l)).join(", ")} (got ${describe(issue.actual)})`
    }
  )

const opt = <S extends Schema.Schema.All>(schema: S) => Schema.optionalWith(schema, { exact: true })

const InputSchema = Schema.Struct({
  failureThreshold: opt(positiveInt),
  successThreshold: opt(positiveInt),
  recoveryTimeout: opt(positiveDuration),
  maxRecoveryTimeout: opt(positiveDuration),
  monitoringPeriod: opt(positiveDuration),
  backoffMultiplier: opt(rule(numberField, "between 1 and 1000", (n) => Number.isFinite(n) && n >= 1 && n <= 1000)),
  backoffJitter: opt(rule(numberField, "between 0 and 1", (n) => n >= 0 && n <= 1)),
  stateTtl: opt(positiveDuration),
  metricsTtl: opt(positiveDuration),
  serviceName: opt(ServiceName),
  instanceId: opt(ServiceName),
  halfOpenMaxProbes: opt(positiveInt),
  probeLease: opt(positiveDuration),
  stateCacheTtl: opt(boundedDuration),
  storeTimeout: opt(positiveDuration),
  onStoreUnavailable: opt(Literals("local", "fail-open", "fail-closed")),
  failureRateThreshold: opt(
    rule(numberField, "a fraction greater than 0 and at most 1", (n) => n > 0 && n <= 1)
  ),
  minimumCalls: opt(positiveInt),
  slowCallDuration: opt(positiveDuration),
  recordLatency: opt(Schema.Boolean),
  isFailure: opt(Fn),
  timeSource: opt(Literals("client", "server"))
})

const decodeInput = Schema.decodeUnknownEither(InputSchema, { errors: "all", onExcessProperty: "error" })

const formatIssues = (error: ParseResult.ParseError): Array<string> => {
  const seen = new Set<string>()
  const lines: Array<string> = []
  for (const issue of ParseResult.ArrayFormatter.formatErrorSync(error)) {
    const field = issue.path.map(String).join(".")
    if (seen.has(field)) continue
    seen.add(field)
    if (issue._tag === "Unexpected") lines.push(`${field} is not a known field`)
    else lines.push(field === "" ? `configuration ${issue.message}` : `${field} ${issue.message}`)
  }
  return lines
}

/** Drops fields whose value is `undefined`, which mean "use the default". */
const definedFields = (input: object): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(input)) {
    if (value !== undefined) out[key] = value
  }
  return out
}

/**
 * Decodes a configuration for the circuit `name`, synchronously. Returns the
 * config, or a `CircuitConfigError` naming every bad field and its rule.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeEither = (name: string, input: unknown = {}): Either.Either<CircuitConfig, CircuitConfigError> => {
  const issues: Array<string> = []
  const nameProblem = serviceNameProblem(name)
  if (nameProblem !== undefined) issues.push(`service name ${nameProblem}`)
  const shown = typeof name === "string" ? truncate(name) : describe(name)
  if (input === null || typeof input !== "object" || Array.isArray(input)) {
    issues.push(`configuration must be an object (got ${describe(input)})`)
    return Either.left(new CircuitConfigError({ service: shown, issues }))
  }
  const decoded = decodeInput(definedFields(input))
  if (Either.isLeft(decoded)) {
    issues.push(...formatIssues(decoded.left))
    return Either.left(new CircuitConfigError({ service: shown, issues }))
  }
  const i = decoded.right
  const recoveryTimeout = i.recoveryTimeout ?? defaults.recoveryTimeout
  const maxRecoveryTimeout = i.maxRecoveryTimeout ?? Math.max(defaults.maxRecoveryTimeout, recoveryTimeout)
  const probeLease = i.probeLease ?? defaults.probeLease
  const backoffJitter = i.backoffJitter ?? defaults.backoffJitter
  // an open period lasts up to maxRecoveryTimeout × (1 + jitter), then a probe holds its lease:
  // the state must outlive both, or an open circuit would be forgotten before its retry
  const longestOpen = Math.ceil(maxRecoveryTimeout * (1 + backoffJitter)) + probeLease
  const stateTtl = i.stateTtl ?? Math.max(defaults.stateTtl, 2 * maxRecoveryTimeout, longestOpen + 1)
  const successThreshold = i.successThreshold ?? defaults.successThreshold
  if (maxRecoveryTimeout < recoveryTimeout) {
    issues.push(
      `maxRecoveryTimeout must be at least recoveryTimeout (got ${maxRecoveryTimeout} ms < ${recoveryTimeout} ms)`
    )
  }
  if (stateTtl <= longestOpen) {
    issues.push(
      `stateTtl must exceed maxRecoveryTimeout × (1 + backoffJitter) + probeLease (got ${stateTtl} ms <= ${longestOpen} ms)`
    )
  }
  const recordLatency = i.recordLatency ?? defaults.recordLatency
  if (i.slowCallDuration !== undefined && !recordLatency) {
    issues.push("slowCallDuration needs recordLatency: true (a call's duration is what makes it slow)")
  }
  if (issues.length > 0) return Either.left(new CircuitConfigError({ service: shown, issues }))
  return Either.right({
    failureThreshold: i.failureThreshold ?? defaults.failureThreshold,
    successThreshold,
    recoveryTimeout,
    maxRecoveryTimeout,
    monitoringPeriod: i.monitoringPeriod ?? defaults.monitoringPeriod,
    backoffMultiplier: i.backoffMultiplier ?? defaults.backoffMultiplier,
    backoffJitter,
    stateTtl,
    metricsTtl: i.metricsTtl ?? defaults.metricsTtl,
    serviceName: i.serviceName ?? name,
    instanceId: i.instanceId,
    halfOpenMaxProbes: i.halfOpenMaxProbes ?? successThreshold,
    probeLease,
    stateCacheTtl: i.stateCacheTtl ?? defaults.stateCacheTtl,
    storeTimeout: i.storeTimeout ?? defaults.storeTimeout,
    onStoreUnavailable: i.onStoreUnavailable ?? defaults.onStoreUnavailable,
    failureRateThreshold: i.failureRateThreshold,
    minimumCalls: i.minimumCalls ?? defaults.minimumCalls,
    slowCallDuration: i.slowCallDuration,
    recordLatency,
    isFailure: i.isFailure,
    timeSource: i.timeSource
  })
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
  Effect.suspend(() => decodeEither(name, input))

/**
 * Checks a service name: succeeds with it, or fails with a `CircuitConfigError`.
 *
 * @since 0.1.0
 * @category validation
 */
export const validateServiceName = (name: unknown): Either.Either<string, CircuitConfigError> => {
  const problem = serviceNameProblem(name)
  return problem === undefined
    ? Either.right(name as string)
    : Either.left(
      new CircuitConfigError({
        service: typeof name === "string" ? truncate(name) : describe(name),
        issues: [`service name ${problem}`]
      })
    )
}
