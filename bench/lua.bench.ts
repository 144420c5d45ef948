/**
 * Redis CPU per call of `lua/circuit.lua` (issue 13): the `usec_per_call` of EVALSHA that
 * INFO commandstats reports, per operation, against a minimal script of the same shape
 * (HGETALL, HINCRBY, HSET, 2 PEXPIRE) measured in the same run. Starts its own redis-server.
 * Each measurement: CONFIG RESETSTAT, CALLS script calls over TCP (ioredis), INFO commandstats.
 * ROUNDS rounds (default 5), the operations interleaved in each; prints medians.
 *
 *   npm run bench:lua                        CALLS=4000 CIRCUITS=200 ROUNDS=5
 *   COMPARE=/tmp/old.lua npm run bench:lua   also measures another version of the script,
 *                                            interleaved with the embedded one (own key prefix)
 *   OPS=record npm run bench:lua             only the ops whose name contains one of these words
 *
 * A failure record is also measured sequentially (one call in flight, as a fleet of instances
 * that each fail now and then sends them), and so is Effect 4's own Redis store's record script
 * (`effect/persistence/CircuitBreaker`, from the devDependency `effect4`, its Lua read from its
 * source) with the KEYS and ARGV that store sends for a failure of a CLOSED circuit
 * (`consecutive(1e9)`: it never opens), in the same rounds.
 *
 * The ARGV are built by the Redis store's own `scriptArgs`/`scriptArgv`/`peekArgs` (shared/redis/scriptArgs.ts).
 */
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { Redis } from "ioredis"
import * as Either from "effect/Either"
import * as CircuitConfig from "../src/CircuitConfig.js"
import * as scripts from "../shared/redis/luaScripts.js"
import { keysOf } from "../shared/redis/keys.js"
import { circuitFields, peekArgs as storePeekArgs, scriptArgs, scriptArgv } from "../shared/redis/scriptArgs.js"
import { startRedis } from "../test/support/redisServer.js"
import { environment, envInt, fmt, markdownTable, median } from "./support.js"

const CALLS = envInt("CALLS", 4_000)
const CIRCUITS = envInt("CIRCUITS", 200)
const ROUNDS = envInt("ROUNDS", 5)
const IN_FLIGHT = 64
const TARGET_USEC = 12
const OPS = process.env.OPS?.split(",").map((w) => w.trim()).filter((w) => w !== "")

/**
 * Effect 4's Redis store's record script (`effect/persistence/CircuitBreaker`, `recordScript`),
 * its prelude and the admit script that creates a circuit and hands out its generation: read from
 * the source the package ships.
 */
const effect4 = (() => {
  const path = createRequire(import.meta.url).resolve("effect4/package.json").replace(
    /package\.json$/,
    "src/persistence/CircuitBreaker.ts"
  )
  const source = readFileSync(path, "utf8")
  const prelude = /const luaPrelude = `([\s\S]*?)`\n/.exec(source)?.[1]
  const lua = (name: string) =>
    /lua: `\$\{luaPrelude\}([\s\S]*?)`\n/.exec(source.slice(source.indexOf(`const ${name} =`)))?.[1]
  const record = lua("recordScript")
  const admit = lua("admitScript")
  if (prelude === undefined || record === undefined || admit === undefined) {
    throw new Error(`no record script found in ${path}`)
  }
  const version = JSON.parse(
    readFileSync(path.replace(/src\/persistence\/CircuitBreaker\.ts$/, "package.json"), "utf8")
  )
    .version as string
  return { record: prelude + record, admit: prelude + admit, version }
})()

/** The idle TTL Effect 4's store sends (its default, one hour). */
const EFFECT4_IDLE = 3_600_000

// a config whose failure threshold keeps a CLOSED circuit CLOSED however many failures it records
const config = Either.getOrThrow(
  CircuitConfig.decodeEither("bench", { failureThreshold: 1_000_000_000, successThreshold: 3, halfOpenMaxProbes: 3 })
)

/** ARGV 3 to 16, exactly as the Redis store sends them. */
const configArgs = scriptArgs(config)

/** The ARGV of the store's circuit calls (`RedisCircuit.call`), through the store's own builder. */
const callArgs = (
  op: "acquire" | "record" | "read",
  now: number,
  probe: string,
  outcome: string,
  batch: number,
  [successes, failures, rejections, probes]: readonly [number, number, number, number]
): Array<string> =>
  scriptArgv(configArgs, {
    op,
    now,
    probe,
    outcome,
    sample: Math.random(),
    batch,
    unsent: { successes, failures, rejections, probes }
  })

/** The ARGV of the store's `inspectMany` (a monitoring read). */
const peekArgs = (now: number): ReadonlyArray<string> => storePeekArgs(config, now)

const BASELINE = `local raw = redis.call("HGETALL", KEYS[1])
redis.call("HINCRBY", KEYS[2], ARGV[1], 1)
redis.call("HSET", KEYS[1], "writtenAt", ARGV[2])
redis.call("PEXPIRE", KEYS[1], 600000)
redis.call("PEXPIRE", KEYS[2], 600000)
return #raw`

/**
 * The floor of a failure record in the current data model: its commands (HMGET of "s" and
 * "config", HSET of "s", PEXPIRE; the fleet metrics are not written by a record) on data of the
 * same size and a reply of the same 7 elements (the script's short reply), with none of the machine's logic. What a failure
 * record costs over this is the Lua work (parsing, comparisons, string building).
 */
const FLOOR = `local stored = redis.call("HMGET", KEYS[1], "s", "config")
local s = stored[1] or "CLOSED 0 0 0 0 0 0 0 0 0 0 0 0"
redis.call("HSET", KEYS[1], "s", s)
redis.call("PEXPIRE", KEYS[1], 600000)
return { "CLOSED", 0, 0, 0, 1, 1, 0 }`

interface Script {
  readonly label: string
  readonly source: string
  readonly prefix: string
  sha: string
}

type Reply = Array<string | number>

interface Op {
  readonly name: string
  /** Runs before CONFIG RESETSTAT (not measured). */
  readonly prepare?: (script: Script, round: number, now: number) => Promise<void>
  /** The keys and ARGV of call `i`. */
  readonly call: (
    script: Script,
    round: number,
    i: number,
    now: number
  ) => { keys: ReadonlyArray<string>; args: ReadonlyArray<string> }
  /** Throws when a reply says the call did not do what this op measures. */
  readonly check?: (reply: Reply) => void
  /** A fixed script of its own (run once, not per script compared), instead of the circuit script. */
  readonly fixed?: string
  /** The fixed script the other ops are divided by. */
  readonly baseline?: boolean
  /** Calls in flight at once (default IN_FLIGHT); 1: sequential. */
  readonly inFlight?: number
}

const circuit = (i: number) => `bench-${i % CIRCUITS}`

const expect = (what: string, ok: boolean, reply: Reply) => {
  if (!ok) throw new Error(`${what}: unexpected reply ${JSON.stringify(reply)}`)
}

const main = async () => {
  const server = await startRedis()
  const redis = new Redis(server.url)
  try {
    const list: Array<Script> = [{ label: "embedded", source: scripts.circuit.source, prefix: "cur", sha: "" }]
    if (process.env.COMPARE) {
      list.push({
        label: process.env.COMPARE,
        source: readFileSync(process.env.COMPARE, "utf8"),
        prefix: "cmp",
        sha: ""
      })
    }
    for (const script of list) script.sha = String(await redis.script("LOAD", script.source))
    const fixedShas = new Map<string, string>()
    for (const source of [BASELINE, FLOOR, effect4.record, effect4.admit]) {
      fixedShas.set(source, String(await redis.script("LOAD", source)))
    }
    /** Effect 4 circuits by key: their generation (the admit script creates them). */
    const generations = new Map<string, string>()
    const effect4Prepare = async () => {
      for (let i = 0; i < CIRCUITS; i++) {
        const key = `circuitbreaker:${circuit(i)}`
        if (generations.has(key)) continue
        const reply = await redis.evalsha(fixedShas.get(effect4.admit)!, 1, key, 10_000, EFFECT4_IDLE) as Reply
        if (reply[0] !== "ok") throw new Error(`Effect 4 admit: ${JSON.stringify(reply)}`)
        generations.set(key, String(reply[1]))
      }
    }
    const effect4Record = (i: number) => {
      const key = `circuitbreaker:${circuit(i)}`
      // the store's ARGV: generation, outcome, policy tag, failures, 0, 0, openFor ms, idle ms
      return {
        keys: [key],
        args: [generations.get(key)!, "Failure", "Consecutive", "1000000000", "0", "0", "30000", String(EFFECT4_IDLE)]
      }
    }
    // (a record carries no metric counts: they ride along with the next other call, or the flush)
    const recordFailure = (script: Script, i: number, now: number) => ({
      keys: keysOf(script.prefix, circuit(i)),
      args: callArgs("record", now, "", "failure", 0, [0, 0, 0, 0])
    })

    const ops: Array<Op> = [
      {
        name: "record failure (CLOSED)",
        call: (script, _round, i, now) => recordFailure(script, i, now),
        check: (r) => expect("record failure", r[0] === "CLOSED", r)
      },
      {
        name: "record failure (CLOSED), sequential",
        inFlight: 1,
        call: (script, _round, i, now) => recordFailure(script, i, now),
        check: (r) => expect("record failure", r[0] === "CLOSED", r)
      },
      {
        name: `Effect ${effect4.version} record failure (Closed)`,
        fixed: effect4.record,
        prepare: effect4Prepare,
        call: (_script, _round, i) => effect4Record(i),
        check: (r) => expect("Effect 4 record", r[0] === "none", r)
      },
      {
        name: `Effect ${effect4.version} record failure (Closed), sequential`,
        fixed: effect4.record,
        inFlight: 1,
        prepare: effect4Prepare,
        call: (_script, _round, i) => effect4Record(i),
        check: (r) => expect("Effect 4 record", r[0] === "none", r)
      },
      {
        name: "flush (read + 20 successes)",
        call: (script, _round, i, now) => ({
          keys: keysOf(script.prefix, circuit(i)),
          args: callArgs("read", now, "", "", 20, [20, 0, 0, 0])
        }),
        check: (r) => expect("flush", r[0] === "CLOSED", r)
      },
      {
        name: "acquire (CLOSED)",
        call: (script, _round, i, now) => ({
          keys: keysOf(script.prefix, circuit(i)),
          args: callArgs("acquire", now, `p${i}`, "", 0, [0, 0, 0, 0])
        }),
        check: (r) => expect("acquire", r[0] === "CLOSED" && r[10] === "allow", r)
      },
      {
        name: "probe acquire (OPEN → HALF_OPEN)",
        // a fresh OPEN circuit per call, its retryAt passed
        prepare: async (script, round, now) => {
          const pipeline = redis.pipeline()
          for (let i = 0; i < CALLS; i++) {
            const [state] = keysOf(script.prefix, `probe-${round}-${i}`)
            pipeline.hset(
              state,
              circuitFields(configArgs, {
                state: "OPEN",
                version: 3,
                openCount: 1,
                openedAt: now - 60_000,
                retryAt: now - 1_000,
                changedAt: now - 60_000,
                writtenAt: now - 60_000,
                halfOpenSuccesses: 0
              })
            )
            pipeline.pexpire(state, config.stateTtl)
          }
          await pipeline.exec()
        },
        call: (script, round, i, now) => ({
          keys: keysOf(script.prefix, `probe-${round}-${i}`),
          args: callArgs("acquire", now, `probe-${i}`, "", 0, [0, 0, 0, 0])
        }),
        check: (r) => expect("probe acquire", r[0] === "HALF_OPEN" && r[10] === "allow" && r[12] !== "", r)
      },
      {
        name: "peek (monitoring read)",
        call: (script, _round, i, now) => ({ keys: keysOf(script.prefix, circuit(i)), args: peekArgs(now) }),
        check: (r) => expect("peek", r[0] === "CLOSED" && r.length >= 22, r)
      },
      {
        name: "floor of a failure record (its 3 commands and reply, no logic)",
        fixed: FLOOR,
        call: (script, _round, i, now) => {
          const [state, metrics] = keysOf(script.prefix, circuit(i))
          return { keys: [state, metrics], args: [`${Math.floor(now / 3_600_000)}:f`] }
        }
      },
      {
        name: "baseline (HGETALL, HINCRBY, HSET, 2 PEXPIRE)",
        fixed: BASELINE,
        baseline: true,
        call: (script, _round, i, now) => {
          const [state, metrics] = keysOf(`base-${script.prefix}`, circuit(i))
          return { keys: [state, metrics], args: [`c:${Math.floor(now / 30_000)}`, String(now)] }
        }
      }
    ]

    const usecPerCall = async (): Promise<{ calls: number; usec: number }> => {
      const info = String(await redis.info("commandstats"))
      const line = info.split("\n").find((l) => l.startsWith("cmdstat_evalsha:"))
      if (line === undefined) throw new Error("no cmdstat_evalsha")
      const calls = Number(/calls=(\d+)/.exec(line)![1])
      const usec = Number(/usec_per_call=([\d.]+)/.exec(line)![1])
      return { calls, usec }
    }

    const measure = async (op: Op, script: Script, round: number): Promise<number> => {
      const now = Date.now()
      await op.prepare?.(script, round, now)
      await redis.config("RESETSTAT")
      let next = 0
      const worker = async () => {
        while (next < CALLS) {
          const i = next++
          const { args, keys } = op.call(script, round, i, Date.now())
          const reply = await redis.evalsha(
            op.fixed !== undefined ? fixedShas.get(op.fixed)! : script.sha,
            keys.length,
            ...keys,
            ...args
          ) as Reply
          if (i % 97 === 0) op.check?.(reply)
        }
      }
      await Promise.all(Array.from({ length: op.inFlight ?? IN_FLIGHT }, worker))
      const { calls, usec } = await usecPerCall()
      if (calls !== CALLS) throw new Error(`${op.name}: ${calls} EVALSHA counted, ${CALLS} sent`)
      return usec
    }

    if (OPS !== undefined) {
      for (let k = ops.length - 1; k >= 0; k--) {
        const op = ops[k]!
        if (!op.baseline && !OPS.some((word) => op.name.includes(word))) ops.splice(k, 1)
      }
    }
    // warm-up: every circuit exists, with a window and fleet metrics, before the first round
    for (const script of list) {
      for (const op of ops) {
        if (op.prepare === undefined || op.fixed === effect4.record) await measure(op, script, -1)
      }
    }

    const results = new Map<string, Array<number>>()
    const key = (op: Op, script: Script) => op.fixed !== undefined ? `${op.name}|fixed` : `${op.name}|${script.label}`
    for (let round = 0; round < ROUNDS; round++) {
      // rotate the order, so that no op is always measured first (or right after the seeding)
      for (let k = 0; k < ops.length; k++) {
        const op = ops[(k + round) % ops.length]!
        for (const script of round % 2 === 0 ? list : [...list].reverse()) {
          if (op.fixed !== undefined && script !== list[0]) continue
          const usec = await measure(op, script, round)
          const values = results.get(key(op, script)) ?? []
          values.push(usec)
          results.set(key(op, script), values)
        }
      }
      console.error(`round ${round + 1}/${ROUNDS} done`)
    }

    const baselineOp = ops.find((op) => op.baseline)!
    const baseline = median(results.get(key(baselineOp, list[0]!))!)
    const rows: Array<Array<string>> = []
    for (const op of ops) {
      for (const script of list) {
        if (op.fixed !== undefined && script !== list[0]) continue
        const values = results.get(key(op, script))!
        const m = median(values)
        rows.push([
          op.name,
          op.fixed !== undefined ? "-" : script.label,
          fmt(m, 2),
          values.map((v) => fmt(v, 1)).join(" "),
          `${fmt(m / baseline, 2)}×`,
          op.fixed !== undefined ? "" : m <= TARGET_USEC ? "yes" : "no"
        ])
      }
    }
    console.log(environment())
    console.log(
      `redis ${
        (await redis.info("server")).match(/redis_version:(\S+)/)?.[1]
      }, ${CALLS} calls per measurement, ${CIRCUITS} circuits, ${ROUNDS} rounds\n`
    )
    console.log(markdownTable(["op", "script", "median µs/call", "rounds", "÷ baseline", `≤ ${TARGET_USEC} µs`], rows))
  } finally {
    redis.disconnect()
    await server.stop()
  }
}

main().catch((error) => {
  console.error(error)
  process.exitCode = 1
})
