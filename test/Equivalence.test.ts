/**
 * The memory store's state machine (shared/breaker/machine.ts) and its Lua twin
 * (lua/circuit.lua) held against each other: thousands of random sequences
 * of calls, outcomes, batched successes, clock steps and admin actions, under
 * random configurations, must give the same decisions, the same states and
 * the same open periods, step by step.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Arbitrary from "effect/Arbitrary"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as fc from "effect/FastCheck"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Schema from "effect/Schema"
import { CircuitConfig, type CircuitStore, RedisClient } from "../src/index.js"
import * as scripts from "../shared/redis/luaScripts.js"
import * as machine from "../shared/breaker/machine.js"
import { keysOf } from "../shared/redis/keys.js"
import { scriptArgs, scriptArgv } from "../shared/redis/scriptArgs.js"
import { toReply } from "../src/internal/redis/scriptReply.js"
import { type RedisServer, startRedis } from "./support/redisServer.js"
import { IORedisClient } from "../src/ioredis.js"

const int = (min: number, max: number) => Schema.Int.pipe(Schema.between(min, max))
/**
 * A double in [min, max] (`maxExcluded`: in [min, max)). `Arbitrary.make` draws a plain number
 * as a 32-bit float: full doubles are what the script's argument encoding has to carry.
 */
const double = (min: number, max: number, maxExcluded = false) =>
  (maxExcluded
    ? Schema.Number.pipe(Schema.greaterThanOrEqualTo(min), Schema.lessThan(max))
    : Schema.Number.pipe(Schema.between(min, max))).annotations({
      arbitrary: () => (fc) => fc.double({ min, max, maxExcluded, noNaN: true })
    })

/** The steps of a sequence, as Schemas: `Arbitrary.make` derives each kind's values. */
const Advance = Schema.TaggedStruct("advance", { ms: Schema.Union(int(0, 2_000), int(0, 400_000)) })
const Acquire = Schema.TaggedStruct("acquire", {})
const Record = Schema.TaggedStruct("record", {
  outcome: Schema.Literal("success", "failure", "release").annotations({
    // a failure twice as often as a success or a release
    arbitrary: () => (fc) => fc.constantFrom<CircuitStore.Outcome>("success", "failure", "failure", "release")
  }),
  probe: int(-1, 3), // -1: not a probe; otherwise an index into the permits held
  u: double(0, 1, true)
})
const Flush = Schema.TaggedStruct("flush", { successes: int(1, 20) })
const AcquireWithBatch = Schema.TaggedStruct("acquireWithBatch", { successes: int(1, 5) })
const Force = Schema.TaggedStruct("force", { to: Schema.Literal("FORCED_OPEN", "FORCED_CLOSED", "RESET") })
const Read = Schema.TaggedStruct("read", {})
type Step = Schema.Schema.Type<
  typeof Advance | typeof Acquire | typeof Record | typeof Flush | typeof AcquireWithBatch | typeof Force | typeof Read
>

/** The kinds of step, weighted: records and acquires most, admin actions and reads least. */
const stepArbitrary: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: Arbitrary.make(Advance) },
  { weight: 4, arbitrary: Arbitrary.make(Acquire) },
  { weight: 6, arbitrary: Arbitrary.make(Record) },
  { weight: 1, arbitrary: Arbitrary.make(Flush) },
  { weight: 1, arbitrary: Arbitrary.make(AcquireWithBatch) },
  { weight: 1, arbitrary: Arbitrary.make(Force) },
  { weight: 1, arbitrary: Arbitrary.make(Read) }
)

/**
 * The configurations, as a Schema of the config's input: small thresholds and periods, so that a
 * sequence of 40 steps goes through every state.
 */
const EquivalenceConfig = Schema.Struct({
  failureThreshold: int(1, 6),
  successThreshold: int(1, 4),
  halfOpenMaxProbes: int(1, 3),
  recoveryTimeout: int(100, 60_000),
  maxRecoveryTimeout: int(60_000, 400_000),
  monitoringPeriod: int(1_000, 300_000),
  backoffMultiplier: Schema.Union(Schema.Literal(2), double(1, 3)),
  backoffJitter: Schema.Union(Schema.Literal(0), double(0, 1)),
  probeLease: int(100, 20_000),
  stateTtl: int(850_000, 2_000_000), // above maxRecoveryTimeout × (1 + jitter) + probeLease
  failureRateThreshold: Schema.optional(double(0.05, 1)),
  minimumCalls: int(1, 12)
})
const configArbitrary = Arbitrary.make(EquivalenceConfig)

/** What one step produced, in a form both sides can be compared in. */
interface Observation {
  readonly decision: string
  readonly snapshot: ReturnType<typeof machine.snapshot>
}

describe("memory store ≡ Lua script", () => {
  let server: RedisServer
  let runtime: ManagedRuntime.ManagedRuntime<RedisClient.RedisClient, unknown>
  let run = 0

  beforeAll(async () => {
    server = await startRedis()
    runtime = ManagedRuntime.make(IORedisClient.layer({ url: server.url }))
  }, 60_000)

  afterAll(async () => {
    await runtime?.dispose()
    await server?.stop()
  })

  const lua = (keys: ReadonlyArray<string>, args: ReadonlyArray<string>) =>
    runtime.runPromise(
      Effect.flatMap(RedisClient.RedisClient, (client) => RedisClient.runScript(client, scripts.circuit, keys, args))
    )

  it("gives the same decisions, states and open periods on random sequences", { timeout: 240_000 }, async () => {
    let sequences = 0
    let steps = 0
    await fc.assert(
      fc.asyncProperty(
        configArbitrary,
        fc.array(stepArbitrary, { minLength: 5, maxLength: 40 }),
        async (input, sequence) => {
          const config = Either.getOrThrow(CircuitConfig.decodeEither("eq", input))
          const keys = keysOf(`eq${process.pid}-${++run}`, "eq")
          const configArgs = scriptArgs(config)
          const s = machine.initial()
          let now = 1_700_000_000_000
          let probeIds = 0
          const held: Array<string> = []

          const viaLua = async (
            op: "acquire" | "record" | "force" | "read",
            probe: string,
            outcome: string,
            u: number,
            batch: number
          ): Promise<Observation> => {
            // decoded as the store decodes it (the full reply, or the first block's short one)
            const decoded = toReply(
              await lua(keys, scriptArgv(configArgs, { op, now, probe, outcome, sample: u, batch })),
              0
            )
            if (Either.isLeft(decoded)) throw decoded.left
            const reply = decoded.right
            const snapshot = {
              state: reply.snapshot.state as machine.MachineState["state"],
              version: reply.snapshot.version,
              openCount: reply.snapshot.openCount,
              openedAt: reply.snapshot.openedAt,
              retryAt: reply.snapshot.retryAt,
              changedAt: reply.snapshot.changedAt,
              failures: reply.snapshot.failures,
              calls: reply.snapshot.calls,
              halfOpenSuccesses: reply.snapshot.halfOpenSuccesses,
              probes: reply.snapshot.probes
            }
            const decision = reply.decision === "allow"
              ? `allow ${reply.probe === "" ? "-" : reply.probe}`
              : reply.decision === "reject"
              ? `reject ${reply.retryAfter}`
              : ""
            return { decision, snapshot }
          }
          const describeDecision = (d: CircuitStore.Decision) =>
            d._tag === "Allow" ? `allow ${d.probe ?? "-"}` : `reject ${d.retryAfter}`

          for (const step of sequence) {
            steps++
            let expected: Observation
            let actual: Observation
            switch (step._tag) {
              case "advance":
                now += step.ms
                continue
              case "acquire":
              case "acquireWithBatch": {
                const batch = step._tag === "acquire" ? 0 : step.successes
                const id = `p${++probeIds}`
                if (batch > 0) machine.record(s, config, now, undefined, undefined, 0, batch)
                const d = machine.acquire(s, config, now, id)
                expected = { decision: describeDecision(d), snapshot: machine.snapshot(s, config, now) }
                actual = await viaLua("acquire", id, "", 0, batch)
                if (d._tag === "Allow" && d.probe !== undefined) held.push(d.probe)
                break
              }
              case "record": {
                const probe = step.probe >= 0 && step.probe < held.length ? held.splice(step.probe, 1)[0] : undefined
                machine.record(s, config, now, step.outcome, probe, step.u, 0)
                expected = { decision: "", snapshot: machine.snapshot(s, config, now) }
                actual = await viaLua("record", probe ?? "", step.outcome, step.u, 0)
                break
              }
              case "flush":
                machine.record(s, config, now, undefined, undefined, 0, step.successes)
                expected = { decision: "", snapshot: machine.snapshot(s, config, now) }
                actual = await viaLua("record", "", "", 0, step.successes)
                break
              case "force":
                machine.force(s, config, now, step.to)
                expected = { decision: "", snapshot: machine.snapshot(s, config, now) }
                actual = await viaLua("force", "", step.to, 0, 0)
                break
              case "read":
                expected = { decision: "", snapshot: machine.snapshot(s, config, now) }
                actual = await viaLua("read", "", "", 0, 0)
                break
            }
            expect(actual).toEqual(expected)
          }
          sequences++
        }
      ),
      { numRuns: 3_000 }
    )
    console.log(`equivalence: ${sequences} sequences, ${steps} steps, no divergence`)
    expect(sequences).toBeGreaterThanOrEqual(3_000)
  })

  it("a divergence is caught: a script run with another threshold decides differently", async () => {
    // guards the property above against comparing something that can never differ
    const config = Either.getOrThrow(CircuitConfig.decodeEither("eq", { failureThreshold: 2 }))
    const keys = keysOf(`eq${process.pid}-neg`, "eq")
    const now = 1_700_000_000_000
    const s = machine.initial()
    machine.record(s, config, now, "failure", undefined, 0, 0)
    machine.record(s, config, now, "failure", undefined, 0, 0)
    expect(s.state).toBe("OPEN")
    const args = (failureThreshold: number) =>
      scriptArgv(scriptArgs({ ...config, failureThreshold }), { op: "record", now, outcome: "failure" })
    await lua(keys, args(3))
    const reply = (await lua(keys, args(3))) as ReadonlyArray<unknown>
    expect(reply[0]).toBe("CLOSED")
  })
})
