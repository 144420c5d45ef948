/**
 * Properties (fast-check) of what users hand the library: configurations and circuit names.
 *
 * - Config decoding is total: any input gives a decoded config or a `CircuitConfigError` with a
 *   message, never a throw; a bad value is reported under its field's name.
 * - A name that decodes has exactly one Redis hash tag, which holds the whole name (percent-
 *   encoded, so no brace of the name can end or open a tag) and gives it back; distinct names
 *   give distinct keys.
 *
 * Plain tests on the real clock: nothing here depends on time.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Arbitrary from "effect/Arbitrary"
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as fc from "effect/FastCheck"
import type * as AST from "effect/SchemaAST"
import * as Schema from "effect/Schema"
import { CircuitConfig, RedisCircuitStore } from "../src/index.js"
import { keysOf } from "../shared/redis/keys.js"
import { anyName, decodes, hugeName, unit, validName } from "./support/nameArbitraries.js"

// ---------------------------------------------------------------------------
// arbitraries: configurations
// ---------------------------------------------------------------------------

/**
 * The values each field accepts, derived from the config Schema (`Arbitrary.make` on the type of
 * each field of `CircuitConfig.Fields`, whose rules carry `arbitrary` annotations).
 */
const derived: Record<string, fc.Arbitrary<unknown>> = Object.fromEntries(
  (Schema.typeSchema(CircuitConfig.Fields).ast as AST.TypeLiteral).propertySignatures.map((
    field
  ) => [String(field.name), Arbitrary.make(Schema.make(field.type))])
)

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

/** Values each field accepts: the derived ones, durations also in their other input forms. */
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
const knownFields = Object.keys(derived)

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
  let result: Either.Either<CircuitConfig.CircuitConfig, CircuitConfig.CircuitConfigError>
  try {
    result = CircuitConfig.decodeEither(name as string, input)
  } catch (error) {
    throw new Error(`decodeEither threw ${String(error)}`, { cause: error })
  }
  if (Either.isLeft(result)) {
    const error = result.left
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
  const config = result.right
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

const count = (text: string, char: string) => text.split(char).length - 1

/** The hash tag of a key, checked to be the only one and to hold no brace. */
const hashTagOf = (key: string): string => {
  expect(count(key, "{")).toBe(1)
  expect(count(key, "}")).toBe(1)
  const open = key.indexOf("{")
  const close = key.indexOf("}")
  expect(open).toBeLessThan(close)
  const tag = key.slice(open + 1, close)
  expect(tag.length).toBeGreaterThan(0) // Redis ignores an empty tag `{}`
  return tag
}

const prefixes = fc.constantFrom(undefined, "cb", "t1", "svc:prod", "a-b_c.d")

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

  it("records derived from the config Schema: decoded exactly when the rules between fields hold, each rule met", () => {
    // `Arbitrary.make` gives every field a value its own rule accepts (durations in milliseconds); the
    // decoder then applies the rules between fields (derive): each of them is hit, and nothing else fails
    const seen = { accepted: 0, maxRecoveryTimeout: 0, stateTtl: 0, slowCallDuration: 0 }
    fc.assert(
      fc.property(shortValidName, Arbitrary.make(CircuitConfig.Fields), (name, fields) => {
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

  it.prop(
    "each field's derived values decode to themselves",
    [fc.constantFrom(...knownFields).chain((field) => derived[field]!.map((value) => [field, value] as const))],
    ([[field, value]]) => {
      const decoded = CircuitConfig.decodeEither("svc", { recordLatency: true, [field]: value })
      if (field === "maxRecoveryTimeout" || field === "stateTtl" || field === "recoveryTimeout") {
        // may break a rule between fields; otherwise the value is kept
        if (Either.isLeft(decoded)) return
      }
      const config = Either.getOrThrow(decoded) as unknown as Record<string, unknown>
      expect(config[field]).toBe(value)
    },
    { fastCheck: { numRuns: 1_000 } }
  )

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

// ---------------------------------------------------------------------------
// names → Redis keys
// ---------------------------------------------------------------------------

describe("names in Redis keys", () => {
  it("a name that decodes has exactly one hash tag, without braces, that gives the name back", () => {
    fc.assert(
      fc.property(validName, prefixes, (name, prefix) => {
        const options = prefix === undefined ? undefined : { prefix }
        const key = RedisCircuitStore.stateKey(name, options)
        const tag = hashTagOf(key)
        expect(decodeURIComponent(tag)).toBe(name)
        expect(key).toBe(`${prefix ?? "cb"}:{${tag}}:state`)
        // the circuit's other keys share that tag (one cluster slot)
        for (const other of keysOf(prefix ?? "cb", name)) expect(hashTagOf(other)).toBe(tag)
      }),
      { numRuns: 2_000 }
    )
  })

  it("names with lone surrogates (valid JS strings): decoding either rejects them or they encode like any other", () => {
    // a lone surrogate is not a control character, so the name validation accepts it; the key
    // encoding must then cope with it (percent-encoding throws URIError on it)
    const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code))
    const withSurrogate = fc.tuple(fc.string({ maxLength: 10 }), loneSurrogate, fc.string({ maxLength: 10 }))
      .map(([a, s, b]) => `x${a}${s}${b}`)
      .filter((name) => /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(name))
    fc.assert(
      fc.property(withSurrogate, (name) => {
        if (!decodes(name)) return
        let key: string
        try {
          key = RedisCircuitStore.stateKey(name)
        } catch (error) {
          throw new Error(`${JSON.stringify(name)} decodes but stateKey throws ${String(error)}`, { cause: error })
        }
        hashTagOf(key)
      }),
      { numRuns: 100 }
    )
  })

  it("distinct names give distinct keys", () => {
    fc.assert(
      fc.property(fc.uniqueArray(validName, { minLength: 2, maxLength: 60 }), prefixes, (names, prefix) => {
        const options = prefix === undefined ? undefined : { prefix }
        const keys = new Set(names.map((name) => RedisCircuitStore.stateKey(name, options)))
        expect(keys.size).toBe(names.length)
      }),
      { numRuns: 300 }
    )
    // the classic near-collisions of an encoding
    const pairs = [["a b", "a%20b"], ["{x}", "%7Bx%7D"], ["%", "%25"], ["a:b", "a%3Ab"], ["é", "%C3%A9"]] as const
    for (const [a, b] of pairs) expect(RedisCircuitStore.stateKey(a)).not.toBe(RedisCircuitStore.stateKey(b))
  })
})
