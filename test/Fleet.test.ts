/**
 * A real fleet (ARCHITECTURE.md): five OS processes running this edition's breaker
 * (`test/support/fleetWorker.ts`), each with its own ioredis connection, share one circuit in one
 * `redis-server`, through the scenarios both editions share (test/shared/scenarios/fleet.ts, where
 * what is measured at the dependency is described): the fleet opens together, probes at most
 * halfOpenMaxProbes per half-open episode fleet-wide, closes together, and a probe holder killed
 * mid-probe frees its permit when its lease expires.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "@effect/vitest"
import { fileURLToPath } from "node:url"
import { fleetSuite } from "./shared/scenarios/fleet.js"

const fleet = fleetSuite({
  workerScript: fileURLToPath(new URL("./support/fleetWorker.ts", import.meta.url)),
  cwd: fileURLToPath(new URL("..", import.meta.url)),
  expect
})

beforeAll(fleet.beforeAll, 60_000)
afterEach(fleet.afterEach)
afterAll(fleet.afterAll, 60_000)

describe("a fleet of processes sharing one circuit in Redis", () => {
  for (const scenario of fleet.scenarios) it(scenario.name, scenario.run, scenario.timeout)

  it("runs every shared scenario", () => {
    expect(fleet.scenarios.map((s) => s.name)).toHaveLength(2)
  })
})
