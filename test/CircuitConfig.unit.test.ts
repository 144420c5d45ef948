/**
 * Config decoding: defaults, every field, durations, presets, errors naming every bad field.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { CircuitBreaker, CircuitConfig, CircuitStore } from "../src/index.js"

const problems = (name: string, input: unknown): string => {
  const result = CircuitConfig.decodeEither(name, input)
  if (Either.isRight(result)) throw new Error(`expected a CircuitConfigError for ${JSON.stringify(input)}`)
  expect(result.left).toBeInstanceOf(CircuitConfig.CircuitConfigError)
  expect(result.left._tag).toBe("CircuitConfigError")
  return result.left.message
}

describe("CircuitConfig", () => {
  it("defaults are those the README and docs list", () => {
    const config = Either.getOrThrow(CircuitConfig.decodeEither("svc"))
    expect(config).toMatchObject({
      failureThreshold: 5,
      successThreshold: 3,
      recoveryTimeout: 30_000,
      maxRecoveryTimeout: 300_000,
      monitoringPeriod: 300_000,
      backoffMultiplier: 2,
      backoffJitter: 0.1,
      stateTtl: 600_000,
      metricsTtl: 86_400_000,
      serviceName: "svc",
      halfOpenMaxProbes: 3,
      onStoreUnavailable: "local",
      recordLatency: true
    })
  })

  it("every field is present in a decoded config, undefined for an optional one not given", () => {
    const config = Either.getOrThrow(CircuitConfig.decodeEither("svc"))
    for (const field of ["instanceId", "failureRateThreshold", "slowCallDuration", "isFailure", "timeSource"]) {
      expect(config).toHaveProperty(field, undefined)
    }
    const isFailure = (error: unknown) => error !== "excused"
    const given = Either.getOrThrow(CircuitConfig.decodeEither("svc", { isFailure, slowCallDuration: "2 seconds" }))
    expect(given.isFailure).toBe(isFailure)
    expect(given.slowCallDuration).toBe(2_000)
  })

  it("recordLatency: false switches latency off, and slow-call detection needs it on", () => {
    expect(Either.getOrThrow(CircuitConfig.decodeEither("svc", { recordLatency: false })).recordLatency).toBe(false)
    const message = problems("svc", { recordLatency: false, slowCallDuration: 1_000 })
    expect(message).toContain("slowCallDuration needs recordLatency: true (got recordLatency: false)")
    expect(problems("svc", { recordLatency: "no" })).toContain("recordLatency must be true or false (got \"no\")")
  })

  it("a bad field and a bad service name are reported together", () => {
    const message = problems("", { failureThreshold: 0 })
    expect(message).toContain("service name must not be empty")
    expect(message).toContain("failureThreshold must be a positive integer")
  })

  it("durations accept milliseconds and Duration inputs", () => {
    const config = Either.getOrThrow(CircuitConfig.decodeEither("svc", {
      recoveryTimeout: 10_000,
      maxRecoveryTimeout: "2 minutes",
      monitoringPeriod: Duration.minutes(1),
      probeLease: undefined
    }))
    expect(config.recoveryTimeout).toBe(10_000)
    expect(config.maxRecoveryTimeout).toBe(120_000)
    expect(config.monitoringPeriod).toBe(60_000)
    expect(config.probeLease).toBe(CircuitConfig.defaults.probeLease)
  })

  it("defaults that depend on other fields adapt to them", () => {
    const config = Either.getOrThrow(CircuitConfig.decodeEither("svc", {
      successThreshold: 5,
      recoveryTimeout: "10 minutes"
    }))
    expect(config.halfOpenMaxProbes).toBe(5)
    expect(config.maxRecoveryTimeout).toBe(600_000)
    expect(config.stateTtl).toBeGreaterThan(config.maxRecoveryTimeout)
  })

  it("presets decode", () => {
    for (const [name, preset] of Object.entries(CircuitConfig.presets)) {
      expect(Either.isRight(CircuitConfig.decodeEither(name, preset))).toBe(true)
    }
  })

  const cases: ReadonlyArray<[string, unknown, string]> = [
    [
      "negative threshold",
      { failureThreshold: -1 },
      "failureThreshold must be a positive integer at most 1000000000 (got -1)"
    ],
    [
      "zero threshold",
      { successThreshold: 0 },
      "successThreshold must be a positive integer at most 1000000000 (got 0)"
    ],
    [
      "non-integer threshold",
      { failureThreshold: 2.5 },
      "failureThreshold must be a positive integer at most 1000000000 (got 2.5)"
    ],
    ["threshold as a string", { failureThreshold: "5" }, "failureThreshold must be a number (got \"5\")"],
    [
      "NaN threshold",
      { halfOpenMaxProbes: Number.NaN },
      "halfOpenMaxProbes must be a positive integer at most 1000000000 (got NaN)"
    ],
    ["jitter above 1", { backoffJitter: 1.5 }, "backoffJitter must be between 0 and 1 (got 1.5)"],
    ["jitter below 0", { backoffJitter: -0.1 }, "backoffJitter must be between 0 and 1 (got -0.1)"],
    ["multiplier below 1", { backoffMultiplier: 0.5 }, "backoffMultiplier must be between 1 and 1000 (got 0.5)"],
    [
      "maxRecoveryTimeout < recoveryTimeout",
      { recoveryTimeout: 60_000, maxRecoveryTimeout: 10_000 },
      "maxRecoveryTimeout must be at least recoveryTimeout (got 10000 ms < 60000 ms)"
    ],
    [
      "stateTtl <= maxRecoveryTimeout",
      { maxRecoveryTimeout: 600_000, stateTtl: 600_000 },
      "stateTtl must exceed maxRecoveryTimeout × (1 + backoffJitter) + probeLease (got 600000 ms <= 670000 ms)"
    ],
    [
      "stateTtl shorter than the longest jittered open period and a lease",
      { maxRecoveryTimeout: 100_000, backoffJitter: 0.5, probeLease: 5_000, stateTtl: 150_000 },
      "stateTtl must exceed maxRecoveryTimeout × (1 + backoffJitter) + probeLease (got 150000 ms <= 155000 ms)"
    ],
    ["unknown field", { failureTreshold: 3 }, "failureTreshold is not a known field"],
    ["negative duration", { recoveryTimeout: -5 }, "recoveryTimeout must not be negative (got -5)"],
    ["zero duration", { probeLease: 0 }, "probeLease must be greater than zero (got 0)"],
    ["infinite duration", { storeTimeout: Infinity }, "storeTimeout must be a duration"],
    ["unparsable duration", { recoveryTimeout: "soon" }, "recoveryTimeout must be a duration"],
    [
      "rate above 1",
      { failureRateThreshold: 50 },
      "failureRateThreshold must be a fraction greater than 0 and at most 1 (got 50)"
    ],
    [
      "bad policy",
      { onStoreUnavailable: "ignore" },
      "onStoreUnavailable must be one of \"local\", \"fail-open\", \"fail-closed\" (got \"ignore\")"
    ],
    ["isFailure not a function", { isFailure: true }, "isFailure must be a function (got true)"],
    ["config not an object", 42, "configuration must be an object (got 42)"],
    ["empty serviceName", { serviceName: "" }, "serviceName must not be empty"],
    // bounds: beyond them Lua and Redis would see exponent notation or inexact integers
    [
      "stateTtl 1e17",
      { stateTtl: 1e17 },
      "stateTtl must be at most 315360000000 ms (10 years) (got 100000000000000000)"
    ],
    [
      "metricsTtl 1e17",
      { metricsTtl: 1e17 },
      "metricsTtl must be at most 315360000000 ms (10 years) (got 100000000000000000)"
    ],
    [
      "stateCacheTtl 11 years",
      { stateCacheTtl: "4000 days" },
      "stateCacheTtl must be at most 315360000000 ms (10 years)"
    ],
    [
      "a huge threshold",
      { failureThreshold: 2 ** 53 },
      "failureThreshold must be a positive integer at most 1000000000 (got 9007199254740992)"
    ],
    ["a huge multiplier", { backoffMultiplier: 1e6 }, "backoffMultiplier must be between 1 and 1000 (got 1000000)"]
  ]

  for (const [title, input, message] of cases) {
    it(`rejects ${title}`, () => {
      expect(problems("svc", input)).toContain(message)
    })
  }

  it("reports every bad field at once", () => {
    const message = problems("svc", { failureThreshold: 0, backoffJitter: 2, nope: 1 })
    expect(message).toContain("failureThreshold")
    expect(message).toContain("backoffJitter")
    expect(message).toContain("nope is not a known field")
  })

  const names: ReadonlyArray<[string, string, string]> = [
    ["empty", "", "service name must not be empty"],
    ["blank", "   ", "service name must not be blank"],
    ["too long", "x".repeat(257), "service name must be at most 256 characters (got 257)"],
    ["a newline", "pay\nments", "service name must not contain control characters"],
    ["a NUL", "pay\u0000ments", "service name must not contain control characters"],
    ["a DEL", "pay\u007fments", "service name must not contain control characters"],
    ["only a dot", ".", "service name must not be \".\" (a URL path cannot name it)"],
    ["only two dots", "..", "service name must not be \"..\" (a URL path cannot name it)"],
    [
      "a bidi override",
      "pay\u202Estnemy",
      "service name must not contain invisible or bidirectional formatting characters (U+202E at index 3)"
    ],
    [
      "a bidi isolate",
      "\u2067pay",
      "service name must not contain invisible or bidirectional formatting characters (U+2067 at index 0)"
    ],
    [
      "a zero-width space",
      "pay\u200Bments",
      "service name must not contain invisible or bidirectional formatting characters (U+200B at index 3)"
    ],
    ["a zero-width joiner", "pay\u200Dments", "(U+200D at index 3)"],
    ["a byte order mark", "\uFEFFpayments", "(U+FEFF at index 0)"],
    ["a soft hyphen", "pay\u00ADments", "(U+00AD at index 3)"]
  ]
  for (const [title, name, message] of names) {
    it(`rejects a service name with ${title}`, () => {
      expect(problems(name, {})).toContain(message)
    })
  }

  it("accepts names of 256 characters, unicode, braces, colons and spaces", () => {
    for (
      const name of ["x".repeat(256), "paiements ✓", "{tag}:a*b", "api v2", "...", ".a", "a..b", "עברית", "مدفوعات"]
    ) {
      expect(Either.isRight(CircuitConfig.decodeEither(name))).toBe(true)
    }
  })

  it.effect("CircuitBreaker.make fails with the typed CircuitConfigError", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(CircuitBreaker.make("svc", { backoffJitter: 3 }))
      expect(error._tag).toBe("CircuitConfigError")
      expect(error.service).toBe("svc")
      expect(error.issues).toEqual(["backoffJitter must be between 0 and 1 (got 3)"])
    }).pipe(Effect.provide(CircuitStore.layerMemory)))
})
