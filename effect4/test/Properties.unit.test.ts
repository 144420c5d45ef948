/**
 * Properties (fast-check) of what users hand the library: configurations.
 *
 * - Config decoding is total: any input gives a decoded config or a `CircuitConfigError` with a
 *   message, never a throw; a bad value is reported under its field's name.
 *
 * The values each field accepts are written out here (the Effect 3 edition derives them from its
 * Schema's `arbitrary` annotations); a field of `CircuitConfig.Fields` without them fails the
 * suite. Names in Redis keys are the Redis store's suites'. Plain tests on the real clock.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Result from "effect/Result"
import * as fc from "fast-check"
import * as CircuitConfig from "../src/CircuitConfig.js"
import { anyName, decodes, hugeName, unit } from "./support/nameArbitraries.js"

// ---------------------------------------------------------------------------
// arbitraries: configurations
// ---------------------------------------------------------------------------

const positiveCount = fc.oneof(
  fc.integer({ min: 1, max: 1_000_000 }),
  fc.integer({ min: 1, max: CircuitConfig.maxCount })
)

/** Whole milliseconds from `min` to `maxDuration`, small ones (up to a day) as often as any. */
const millisFrom = (min: number) =>
  fc.oneof(
    fc.integer({ min, max: 86_400_000 }),
    fc.double({ min, max: CircuitConfig.maxDuration, noNaN: true }).map(Math.round)
  )

/** Names the config accepts, with the characters that mean something to Redis keys. */
const serviceName = fc.oneof(
  fc.string({ minLength: 1, maxLength: 30 }),
  fc.string({ unit: "binary", minLength: 1, maxLength: 30 }),
  fc.string({ unit: fc.constantFrom("{", "}", ":", "*", "%", "%7B", " ", "é", "\u{1F600}"), minLength: 1 })
).filter((name) => CircuitConfig.serviceNameProblem(name) === undefined)

/** The values each field accepts (durations in milliseconds). */
const derived: Record<string, fc.Arbitrary<unknown>> = {
  failureThreshold: positiveCount,
  successThreshold: positiveCount,
  recoveryTimeout: millisFrom(1),
  maxRecoveryTimeout: millisFrom(1),
  monitoringPeriod: millisFrom(1),
  backoffMultiplier: fc.double({ min: 1, max: 1000, noNaN: true }),
  backoffJitter: fc.double({ min: 0, max: 1, noNaN: true }),
  stateTtl: millisFrom(1),
  metricsTtl: millisFrom(1),
  serviceName,
  instanceId: serviceName,
  halfOpenMaxProbes: positiveCount,
  probeLease: millisFrom(1),
  stateCacheTtl: millisFrom(0),
  storeTimeout: millisFrom(1),
  onStoreUnavailable: fc.constantFrom("local", "fail-open", "fail-closed"),
  failureRateThreshold: fc.double({ min: 0, minExcluded: true, max: 1, noNaN: true }),
  minimumCalls: positiveCount,
  slowCallDuration: millisFrom(1),
  recordLatency: fc.boolean(),
  isFailure: fc.func(fc.boolean()),
  timeSource: fc.constantFrom("client", "server")
}

/** A record of valid values of some fields (the rules between fields aside). */
const validFields = fc.record(derived, { requiredKeys: [] })

/** A duration in milliseconds, also written as a `Duration` and as a string. */
const asDurationInput = (millis: fc.Arbitrary<unknown>) =>
  (millis as fc.Arbitrary<number>).chain((n) => fc.constantFrom<unknown>(n, Duration.millis(n), `${n} millis`))

const durationFields = [
  "recoveryTimeout",
  "maxRecoveryTimeout",
  "monitoringPeriod",
  "stateTtl",
  "metricsTtl",
  "probeLease",
  "stateCacheTtl",
  "storeTimeout",
  "slowCallDuration"
]

/** Values each field accepts, durations also in their other input forms. */
const validValue = (field: string): fc.Arbitrary<unknown> =>
  durationFields.includes(field) ? asDurationInput(derived[field]!) : derived[field]!

const notPositiveInt = fc.oneof(
  fc.integer({ min: -1_000, max: 0 }),
  fc.double({ min: 0.01, max: 1_000, noInteger: true, noNaN: true }),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, "5", null, true, [], {})
)
/** Surely not a duration (negative duration strings are left out here: see the test about them). */
const notDuration = fc.oneof(
  fc.integer({ min: -1_000_000, max: -1 }),
  fc.constantFrom(
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    "soon",
    "",
    "thirty seconds",
    "5 lightyears"
  ),
  fc.constantFrom(null, true, false, [], {}, [1, "seconds"])
)
const notPositiveDuration = fc.oneof(notDuration, fc.constantFrom(0, "0 millis", Duration.zero))
const notNonNegativeDuration = notDuration
const notMultiplier = fc.oneof(
  fc.double({ min: -1_000, max: 0.999, noNaN: true }),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, "2", null)
)
const notFraction = fc.oneof(
  fc.double({ min: 1.000001, max: 1e9, noNaN: true }),
  fc.double({ min: -1e9, max: -0.000001, noNaN: true }),
  fc.constantFrom(Number.NaN, "0.1", null)
)
const notRate = fc.oneof(
  fc.constantFrom(0, -0.5, 1.5, Number.NaN, "0.5"),
  fc.double({ min: 1.001, max: 100, noNaN: true })
)
const shortValidName = fc.string({ unit, minLength: 1, maxLength: 30 }).filter(decodes)
const notName = fc.oneof(
  fc.constantFrom("", "   ", "\t", "a\nb", "a\u0000b", "x".repeat(257), 5, null, true, {}),
  fc.string({ unit, minLength: 1, maxLength: 20 }).map((s) => `${s}\u0007`)
)

/** For every known field: values it surely rejects (the values it accepts are derived). */
const invalidValues: Record<string, fc.Arbitrary<unknown>> = {
  failureThreshold: notPositiveInt,
  successThreshold: notPositiveInt,
  recoveryTimeout: notPositiveDuration,
  maxRecoveryTimeout: notPositiveDuration,
  monitoringPeriod: notPositiveDuration,
  backoffMultiplier: notMultiplier,
  backoffJitter: notFraction,
  stateTtl: notPositiveDuration,
  metricsTtl: notPositiveDuration,
  serviceName: notName,
  instanceId: notName,
  halfOpenMaxProbes: notPositiveInt,
  probeLease: notPositiveDuration,
  stateCacheTtl: notNonNegativeDuration,
  storeTimeout: notPositiveDuration,
  onStoreUnavailable: fc.constantFrom("open", "LOCAL", "", "fail", 1, null),
  failureRateThreshold: notRate,
  minimumCalls: notPositiveInt,
  slowCallDuration: notPositiveDuration,
  recordLatency: fc.constantFrom("true", 1, 0, null, "yes"),
  isFailure: fc.constantFrom(true, "always", 1, null, {}),
  timeSource: fc.constantFrom("local", "SERVER", "", 0)
}
const knownFields = Object.keys(CircuitConfig.Fields.fields)

/** For every known field: values it accepts, and values it surely rejects. */
const fieldArbitraries: Record<string, readonly [fc.Arbitrary<unknown>, fc.Arbitrary<unknown>]> = Object.fromEntries(
  knownFields.map((field) => [field, [validValue(field), invalidValues[field]!]])
)

/**
 * The rules between fields, restated from the documentation of `CircuitConfig.Input`: the issues
 * a record of valid field values (durations in milliseconds) must get.
 */
const crossFieldIssues = (fields: CircuitConfig.CircuitConfig | Record<string, unknown>): Array<string> => {
  const f = fields as Record<string, number | boolean | undefined>
  const recoveryTimeout = (f.recoveryTimeout as number | undefined) ?? 30_000
  const maxRecoveryTimeout = (f.maxRecoveryTimeout as number | undefined) ?? Math.max(300_000, recoveryTimeout)
  const longestOpen = Math.ceil(maxRecoveryTimeout * (1 + ((f.backoffJitter as number | undefined) ?? 0.1))) +
    ((f.probeLease as number | undefined) ?? 10_000)
  const stateTtl = (f.stateTtl as number | undefined) ?? Math.max(600_000, 2 * maxRecoveryTimeout, longestOpen + 1)
  return [
    ...(maxRecoveryTimeout < recoveryTimeout ? ["maxRecoveryTimeout"] : []),
    ...(stateTtl <= longestOpen ? ["stateTtl"] : []),
    ...(f.slowCallDuration !== undefined && f.recordLatency === false ? ["slowCallDuration"] : [])
  ]
}

type Field = { readonly value: unknown; readonly valid: boolean }

/** A record of some known fields, each valid, invalid or explicitly `undefined` (= default). */
const mixedConfig = fc.record(
  Object.fromEntries(
    Object.entries(fieldArbitraries).map(([field, [valid, invalid]]) => [
      field,
      fc.oneof(
        { weight: 3, arbitrary: valid.map((value): Field => ({ value, valid: true })) },
        { weight: 1, arbitrary: invalid.map((value): Field => ({ value, valid: false })) },
        { weight: 1, arbitrary: fc.constant<Field>({ value: undefined, valid: true }) }
      )
    ])
  ),
  { requiredKeys: [] }
)

/** Anything, including objects whose keys are often the known fields. */
const anything = fc.anything({
  key: fc.oneof(fc.constantFrom(...knownFields), fc.string()),
  maxDepth: 3,
  withBigInt: true,
  withBoxedValues: true,
  withDate: true,
  withMap: true,
  withSet: true,
  withNullPrototype: true,
  withObjectString: true,
  withSparseArray: true,
  withTypedArray: true
})

// ---------------------------------------------------------------------------
// checks
// ---------------------------------------------------------------------------

/**
 * Decodes, failing the property on a throw; checks the shape of what came back. Returns the
 * issues (empty for a decoded config).
 */
const decodeChecked = (name: unknown, input: unknown): ReadonlyArray<string> => {
  let result: Result.Result<CircuitConfig.CircuitConfig, CircuitConfig.CircuitConfigError>
  try {
    result = CircuitConfig.decodeEither(name as string, input)
  } catch (error) {
    throw new Error(`decodeEither threw ${String(error)}`, { cause: error })
  }
  if (Result.isFailure(result)) {
    const error = result.failure
    expect(error).toBeInstanceOf(CircuitConfig.CircuitConfigError)
    expect(error._tag).toBe("CircuitConfigError")
    expect(typeof error.message).toBe("string")
    expect(error.message.length).toBeGreaterThan(0)
    expect(error.issues.length).toBeGreaterThan(0)
    for (const issue of error.issues) expect(issue.trim().length).toBeGreaterThan(0)
    // it can be shown and serialised (health JSON, logs)
    expect(String(error).length).toBeGreaterThan(0)
    expect(JSON.stringify(error).length).toBeGreaterThan(0)
    return error.issues
  }
  const config = result.success
  for (
    const field of [
      "failureThreshold",
      "successThreshold",
      "recoveryTimeout",
      "maxRecoveryTimeout",
      "monitoringPeriod",
      "stateTtl",
      "metricsTtl",
      "halfOpenMaxProbes",
      "probeLease",
      "storeTimeout",
      "minimumCalls"
    ] as const
  ) {
    expect(Number.isFinite(config[field]) && config[field] > 0, `${field} = ${config[field]}`).toBe(true)
  }
  expect(Number.isFinite(config.stateCacheTtl) && config.stateCacheTtl >= 0).toBe(true)
  expect(config.backoffMultiplier).toBeGreaterThanOrEqual(1)
  expect(config.backoffJitter >= 0 && config.backoffJitter <= 1).toBe(true)
  expect(config.maxRecoveryTimeout).toBeGreaterThanOrEqual(config.recoveryTimeout)
  expect(config.stateTtl).toBeGreaterThan(config.maxRecoveryTimeout)
  expect(["local", "fail-open", "fail-closed"]).toContain(config.onStoreUnavailable)
  expect(typeof config.serviceName).toBe("string")
  return []
}

// ---------------------------------------------------------------------------
// config decoding
// ---------------------------------------------------------------------------

describe("config decoding is total", () => {
  it("any input and any name: a config or a CircuitConfigError with a message, never a throw", () => {
    fc.assert(
      fc.property(fc.oneof(anyName, anything), anything, (name, input) => {
        decodeChecked(name, input)
      }),
      { numRuns: 1_000 }
    )
  })

  it("huge and odd names (10 kB, braces, colons, stars, spaces, newlines): never a throw", () => {
    fc.assert(
      fc.property(fc.oneof(hugeName, fc.string({ unit: "binary", minLength: 10_000, maxLength: 10_240 })), (name) => {
        const issues = decodeChecked(name, {})
        expect(issues.some((issue) => issue.startsWith("service name"))).toBe(true)
      }),
      { numRuns: 20 }
    )
  })

  it("records mixing valid and invalid values: a config exactly when every value is valid; else each bad field is named", () => {
    fc.assert(
      fc.property(shortValidName, mixedConfig, (name, fields) => {
        const entries = Object.entries(fields).flatMap((
          [field, value]
        ) => (value === undefined ? [] : [[field, value] as const]))
        const input = Object.fromEntries(entries.map(([field, { value }]) => [field, value]))
        const bad = entries.filter(([, { valid }]) => !valid).map(([field]) => field)
        const issues = decodeChecked(name, input)
        if (bad.length > 0) {
          for (const field of bad) {
            expect(
              issues.some((issue) => issue.startsWith(`${field} `)),
              `an issue names ${field}: ${issues.join("; ")}`
            )
              .toBe(true)
          }
        } else {
          // valid values may still break a rule between fields, and nothing else
          for (const issue of issues) {
            expect(issue).toMatch(/^(maxRecoveryTimeout|stateTtl) must |^slowCallDuration needs recordLatency/)
          }
        }
      }),
      { numRuns: 1_000 }
    )
  })

  it("every field of the config Schema has its valid and invalid values here", () => {
    expect(Object.keys(derived).sort()).toEqual([...knownFields].sort())
    expect(Object.keys(invalidValues).sort()).toEqual([...knownFields].sort())
  })

  it("records of valid field values: decoded exactly when the rules between fields hold, each rule met", () => {
    // every field gets a value its own rule accepts (durations in milliseconds); the decoder then
    // applies the rules between fields (derive): each of them is hit, and nothing else fails
    const seen = { accepted: 0, maxRecoveryTimeout: 0, stateTtl: 0, slowCallDuration: 0 }
    fc.assert(
      fc.property(shortValidName, validFields, (name, fields) => {
        const expected = crossFieldIssues(fields)
        const issues = decodeChecked(name, fields)
        expect(issues.map((issue) => issue.split(" ")[0]), issues.join("; ")).toEqual(expected)
        if (expected.length === 0) seen.accepted++
        for (const field of expected) seen[field as keyof typeof seen]++
      }),
      { numRuns: 1_000 }
    )
    for (const [outcome, times] of Object.entries(seen)) expect(times, outcome).toBeGreaterThan(0)
  })

  it("each field's valid values decode to themselves", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...knownFields).chain((field) => derived[field]!.map((value) => [field, value] as const)),
        ([field, value]) => {
          const decoded = CircuitConfig.decodeEither("svc", { recordLatency: true, [field]: value })
          if (field === "maxRecoveryTimeout" || field === "stateTtl" || field === "recoveryTimeout") {
            // may break a rule between fields; otherwise the value is kept
            if (Result.isFailure(decoded)) return
          }
          const config = Result.getOrThrow(decoded) as unknown as Record<string, unknown>
          expect(config[field]).toBe(value)
        }
      ),
      { numRuns: 1_000 }
    )
  })

  it("unknown fields are named too", () => {
    fc.assert(
      fc.property(
        shortValidName,
        fc.string({ minLength: 1, maxLength: 20 }).filter((key) => !knownFields.includes(key) && key !== "__proto__"),
        fc.anything(),
        (name, key, value) => {
          fc.pre(value !== undefined)
          const issues = decodeChecked(name, { [key]: value })
          expect(issues.some((issue) => issue.startsWith(`${key} `))).toBe(true)
        }
      ),
      { numRuns: 300 }
    )
  })

  it("a negative duration is rejected whether written as a number or as a string", () => {
    // `-5` is rejected with "must not be negative"; "-5 seconds" must not slip through either
    // (Duration clamps negative inputs to zero, which stateCacheTtl would then accept)
    fc.assert(
      fc.property(
        fc.constantFrom(...durationFields),
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.constantFrom("millis", "seconds", "minutes"),
        (field, amount, unit) => {
          for (const value of [-amount, `-${amount} ${unit}`]) {
            const issues = decodeChecked("svc", { [field]: value })
            expect(issues.some((issue) => issue.startsWith(`${field} `)), `${field}: ${JSON.stringify(value)}`).toBe(
              true
            )
          }
        }
      ),
      { numRuns: 200 }
    )
  })
})
