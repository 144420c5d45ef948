/**
 * When Redis misbehaves (README, "When Redis misbehaves"), on this edition's Redis store, against
 * real processes and no mocks, on the real clock: the scenarios both editions share
 * (test/shared/scenarios/faults.ts): a `redis-server` killed under each `onStoreUnavailable`
 * policy, frozen under concurrent callers, its scripts flushed, restarted with no data, over
 * ioredis and over the Upstash bridge.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import {
  faultScenarios,
  frozenScenarios,
  policyScenarios,
  restartScenarios
} from "../../test/shared/scenarios/faults.js"
import { runFaultScenario } from "./support/faultsDriver.js"

describe("onStoreUnavailable, with Redis killed", () => {
  for (const scenario of policyScenarios) {
    it.live(scenario.name, () =>
      Effect.map(runFaultScenario(scenario), (ran) => {
        expect(ran).toBe(scenario.steps.length)
      }), 30_000)
  }
})

describe("a frozen Redis (SIGSTOP, SIGCONT)", () => {
  for (const scenario of frozenScenarios) {
    it.live(scenario.name, () =>
      Effect.map(runFaultScenario(scenario), (ran) => {
        expect(ran).toBe(scenario.steps.length)
      }), 30_000)
  }
})

describe("NOSCRIPT and a restarted, empty Redis", () => {
  for (const scenario of restartScenarios) {
    it.live(scenario.name, () =>
      Effect.map(runFaultScenario(scenario), (ran) => {
        expect(ran).toBe(scenario.steps.length)
      }), 30_000)
  }
})

describe("the shared fault scenarios", () => {
  it("are all there, under names of their own", () => {
    expect(faultScenarios).toHaveLength(8)
    expect(new Set(faultScenarios.map((s) => s.name)).size).toBe(8)
  })
})
