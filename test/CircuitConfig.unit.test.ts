/**
 * Config decoding: defaults, every field, durations, presets, errors naming every bad field.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { CircuitBreaker, CircuitConfig, CircuitStore } from "../src/index.js"
import { acceptedNames, allAtOnce, configCases, nameCases } from "./shared/configCases.js"

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

  for (const [title, input, message] of configCases) {
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

  it("names the unknown fields first, then the bad ones in the order of the fields", () => {
    const result = CircuitConfig.decodeEither("svc", allAtOnce.input)
    expect(Either.isLeft(result) && result.left.issues).toEqual(allAtOnce.issues)
  })

  for (const [title, name, message] of nameCases) {
    it(`rejects a service name with ${title}`, () => {
      expect(problems(name, {})).toContain(message)
    })
  }

  it("accepts names of 256 characters, unicode, braces, colons and spaces", () => {
    for (const name of acceptedNames) {
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
