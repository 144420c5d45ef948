/**
 * The memory store's state machine (shared/breaker/machine.ts) and its Lua twin (lua/circuit.lua)
 * held against each other (test/shared/scenarios/equivalence.ts, shared by both editions):
 * thousands of random sequences of calls, outcomes, batched successes, clock steps and admin
 * actions, under random configurations, must give the same decisions, the same states and the
 * same open periods, step by step. This edition decodes configs with its `CircuitConfig` and runs
 * the script through its `RedisClient` over ioredis.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Result from "effect/Result"
import { CircuitConfig, RedisClient } from "../src/index.js"
import { IORedisClient } from "../src/ioredis.js"
import * as scripts from "../../shared/redis/luaScripts.js"
import {
  divergenceProbe,
  type EquivalenceDriver,
  equivalenceProperty,
  seedOf
} from "../../test/shared/scenarios/equivalence.js"
import { type RedisServer, startRedis } from "./support/redisServer.js"

const RUNS = 3_000

describe("memory store ≡ Lua script", () => {
  let server: RedisServer
  let runtime: ManagedRuntime.ManagedRuntime<RedisClient.RedisClient, unknown>

  beforeAll(async () => {
    server = await startRedis()
    runtime = ManagedRuntime.make(IORedisClient.layer({ url: server.url }))
  }, 60_000)

  afterAll(async () => {
    await runtime?.dispose()
    await server?.stop()
  })

  const driver: EquivalenceDriver = {
    decodeConfig: (name, input) => Result.getOrThrow(CircuitConfig.decodeEither(name, input)),
    runScript: (keys, args) =>
      runtime.runPromise(
        Effect.flatMap(RedisClient.RedisClient, (client) => RedisClient.runScript(client, scripts.circuit, keys, args))
      )
  }

  it("gives the same decisions, states and open periods on random sequences", { timeout: 240_000 }, async () => {
    const seed = seedOf()
    const { sequences, steps } = await equivalenceProperty(driver, { runs: RUNS, seed })
    console.log(`equivalence (seed ${seed}): ${sequences} sequences, ${steps} steps, no divergence`)
    expect(sequences).toBe(RUNS)
    expect(steps).toBeGreaterThanOrEqual(RUNS * 5)
  })

  it("a divergence is caught: a script run with another threshold decides differently", async () => {
    // guards the property above against comparing something that can never differ
    expect(await divergenceProbe(driver)).toEqual({ machine: "OPEN", script: "CLOSED" })
  })
})
