/**
 * CircuitBreakerMonitoring on the memory store: each state's status, alert and overall health,
 * resetAll, and the alerts an operator reads. Fleet reads, the snapshot and the HTTP routes are
 * in Monitoring.test.ts.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import { TestClock } from "effect/testing"
// the modules, not the index: the index also loads the Redis store
import * as CircuitBreakerMonitoring from "../src/CircuitBreakerMonitoring.js"
import * as CircuitBreakers from "../src/CircuitBreakers.js"
import * as CircuitStore from "../src/CircuitStore.js"
import { calls } from "./support/monitoring.js"
import { openAlertMessages, openCircuit } from "../../test/shared/monitoringCases.js"

const monitoring = CircuitBreakerMonitoring.CircuitBreakerMonitoring

describe("alerts, health, resetAll (memory store)", () => {
  const Live = CircuitBreakerMonitoring.layer({ failureRateAlert: 0.5, failureRateMinimumCalls: 4, flappingReopens: 2 })
    .pipe(
      Layer.provideMerge(CircuitBreakers.layer({
        defaults: { failureThreshold: 3, successThreshold: 1, recoveryTimeout: "10 seconds", backoffJitter: 0 }
      })),
      Layer.provideMerge(CircuitStore.layerMemory)
    )

  it.effect("each state gives its status, alert and overall health", () =>
    Effect.gen(function*() {
      const m = yield* monitoring
      yield* calls("ok", 5, 0)
      expect((yield* m.health).overall).toBe("healthy")
      expect(yield* m.getAlerts).toEqual([])

      yield* calls("flaky", 2, 2) // 50 % over 4 calls: a rate alert, still CLOSED
      let alerts = yield* m.getAlerts
      expect(alerts.map((a) => [a.service, a.kind, a.severity])).toEqual([["flaky", "failure-rate", "warning"]])

      yield* calls("down", 0, 3)
      alerts = yield* m.getAlerts
      const open = alerts.find((a) => a.service === "down")!
      expect(open).toMatchObject({ kind: "open", severity: "critical" })
      expect(open.message).toContain("OPEN")
      let health = yield* m.health
      expect(health.overall).toBe("unhealthy")
      expect(health.services.down).toMatchObject({ status: "unhealthy", state: "OPEN" })
      expect(health.services.ok).toMatchObject({ status: "healthy", state: "CLOSED" })

      // the probe fails twice in a row: re-opened twice, flapping
      for (let i = 0; i < 2; i++) {
        yield* TestClock.adjust("1 minute")
        yield* calls("down", 0, 1)
      }
      alerts = yield* m.getAlerts
      expect(alerts.filter((a) => a.service === "down").map((a) => a.kind).sort()).toEqual([
        "failure-rate",
        "flapping",
        "open"
      ])

      const registry = yield* CircuitBreakers.CircuitBreakers
      yield* Effect.flatMap(registry.get("held"), (b) => b.forceOpen)
      alerts = yield* m.getAlerts
      expect(alerts.find((a) => a.service === "held")).toMatchObject({ kind: "forced-open", severity: "warning" })

      const results = yield* m.resetAll
      expect(results.map((r) => r.service).sort()).toEqual(["down", "flaky", "held", "ok"])
      expect(results.every((r) => r.success)).toBe(true)
      health = yield* m.health
      expect(health.overall).toBe("healthy")
      expect(Object.values(health.services).every((s) => s.state === "CLOSED")).toBe(true)
    }).pipe(Effect.provide(Live, { local: true })))

  it.effect("HALF_OPEN is degraded", () =>
    Effect.gen(function*() {
      const m = yield* monitoring
      yield* calls("svc", 0, 3)
      yield* TestClock.adjust("10 seconds")
      const registry = yield* CircuitBreakers.CircuitBreakers
      const breaker = yield* registry.get("svc")
      const fiber = yield* Effect.forkChild(breaker.protect(Effect.never))
      yield* Effect.yieldNow
      const health = yield* m.health
      expect(health.services.svc).toMatchObject({ status: "degraded", state: "HALF_OPEN" })
      expect(health.overall).toBe("degraded")
      yield* Fiber.interrupt(fiber)
    }).pipe(Effect.provide(Live, { local: true })))
})

describe("what an operator reads", () => {
  it("a first open is not 're-opened 0 times'; re-opens are counted", () => {
    for (const [openCount, messages] of openAlertMessages) {
      const alerts = CircuitBreakerMonitoring.alertsFor({ ...openCircuit, openCount }, 2, {
        failureRateMinimumCalls: 100
      })
      expect(alerts.map((a) => a.message)).toEqual(messages)
    }
  })
})
