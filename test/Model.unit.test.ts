/**
 * shared/model.ts against the public modules: where a public type is derived from a Schema
 * (CircuitState) or from the config's fields (CircuitConfig), it is the same type as the plain one
 * the Effect-free code of shared/ takes. The type assertions are checked by `tsc --noEmit`
 * (`npm run typecheck`); the runtime checks hold the Schemas and the config tables to the same
 * fields.
 */
import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type { CircuitBreaker, CircuitStore } from "../src/index.js"
import { CircuitBreakerMonitoring, CircuitConfig, CircuitState } from "../src/index.js"
import * as machine from "../shared/breaker/machine.js"
import type * as Model from "../shared/model.js"
import type { RedisErrorText } from "../shared/redis/errorText.js"
import { classify, problemOf, type RedisClientError } from "../src/internal/redis/errors.js"
import { configArgv } from "../shared/redis/scriptArgs.js"

const snapshot: Model.Snapshot = {
  state: "HALF_OPEN",
  version: 3,
  openCount: 1,
  openedAt: 1_000,
  retryAt: 0,
  changedAt: 2_000,
  failures: 0,
  calls: 0,
  halfOpenSuccesses: 1,
  probes: 2
}

describe("shared/model", () => {
  it("the Schema-derived types of CircuitState are the model's", () => {
    expectTypeOf<CircuitState.State>().toEqualTypeOf<Model.State>()
    expectTypeOf<Schema.Schema.Type<typeof CircuitState.State>>().toEqualTypeOf<Model.State>()
    expectTypeOf<Schema.Schema.Type<typeof CircuitState.Snapshot>>().toEqualTypeOf<Model.Snapshot>()
    expectTypeOf<CircuitState.Snapshot>().toEqualTypeOf<Model.Snapshot>()
    expectTypeOf<Schema.Schema.Type<typeof CircuitState.Transition>>().toEqualTypeOf<Model.Transition>()
    expectTypeOf<CircuitState.Transition>().toEqualTypeOf<Model.Transition>()
    // and the Schemas accept the model's values as they are
    expect(Schema.decodeUnknownSync(CircuitState.Snapshot)(snapshot)).toEqual(snapshot)
    const transition: Model.Transition = { service: "svc", from: "OPEN", to: "HALF_OPEN", at: 5, version: 4 }
    expect(Schema.decodeUnknownSync(CircuitState.Transition)(transition)).toEqual(transition)
  })

  it("the public modules re-export the model's plain types", () => {
    expectTypeOf<CircuitStore.Decision>().toEqualTypeOf<Model.Decision>()
    expectTypeOf<CircuitStore.Outcome>().toEqualTypeOf<Model.Outcome>()
    expectTypeOf<CircuitStore.FleetCounts>().toEqualTypeOf<Model.FleetCounts>()
    expectTypeOf<CircuitStore.NotificationStatus>().toEqualTypeOf<Model.NotificationStatus>()
    expectTypeOf<CircuitBreaker.Metrics>().toEqualTypeOf<Model.Metrics>()
    expectTypeOf<CircuitBreaker.Health>().toEqualTypeOf<Model.Health>()
    expectTypeOf<CircuitBreakerMonitoring.CircuitMetrics>().toEqualTypeOf<Model.CircuitMetrics>()
    expectTypeOf<CircuitBreakerMonitoring.FleetSnapshot>().toEqualTypeOf<Model.FleetSnapshot>()
    expectTypeOf<CircuitBreakerMonitoring.OverallHealth>().toEqualTypeOf<Model.OverallHealth>()
    // the monitoring options carry the alert thresholds the shared alerts read
    expectTypeOf<Pick<CircuitBreakerMonitoring.Options, keyof Model.AlertOptions>>().toEqualTypeOf<
      Model.AlertOptions
    >()
    expect(CircuitBreakerMonitoring.alertsFor).toBeTypeOf("function")
  })

  it("a RedisClientError carries the shared classification's kind and reason", () => {
    expectTypeOf<RedisClientError["kind"]>().toEqualTypeOf<RedisErrorText["kind"]>()
    expectTypeOf<RedisClientError["reason"]>().toEqualTypeOf<RedisErrorText["reason"]>()
    const error = classify(new Error("connect ECONNREFUSED 127.0.0.1:1"), [])
    expect({ kind: error.kind, problem: problemOf(error) }).toEqual({
      kind: "Connection",
      problem: "unreachable (connection refused)"
    })
  })

  it("a decoded config is a MachineConfig, field for field", () => {
    expectTypeOf<Pick<CircuitConfig.CircuitConfig, keyof Model.MachineConfig>>().toEqualTypeOf<
      Model.MachineConfig
    >()
    // the circuit script's config arguments are exactly the machine's config
    expectTypeOf<(typeof configArgv)[number]>().toEqualTypeOf<keyof Model.MachineConfig>()
    const config = Either.getOrThrow(CircuitConfig.decodeEither("svc", { failureRateThreshold: 0.5 }))
    const machineConfig: Model.MachineConfig = config
    expect(Object.fromEntries(configArgv.map((field) => [field, machineConfig[field]]))).toEqual({
      monitoringPeriod: 300_000,
      stateTtl: 600_000,
      failureThreshold: 5,
      successThreshold: 3,
      recoveryTimeout: 30_000,
      maxRecoveryTimeout: 300_000,
      backoffMultiplier: 2,
      backoffJitter: 0.1,
      halfOpenMaxProbes: 3,
      probeLease: 10_000,
      failureRateThreshold: 0.5,
      minimumCalls: 10,
      metricsTtl: 86_400_000
    })
    // the machine runs on it as the memory store runs it
    const s = machine.initial()
    expect(machine.acquire(s, config, 1_000, "p")).toEqual({
      _tag: "Allow",
      probe: undefined,
      state: "CLOSED",
      version: 0
    })
  })
})
