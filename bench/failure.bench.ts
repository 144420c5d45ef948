/**
 * The client time of a failing call on the Redis store: sequential failing
 * calls through `protect` on a CLOSED circuit (failureThreshold 1e9: every
 * failure is recorded, none opens the circuit), against the same EVALSHA
 * (the circuit script, the same keys, the ARGV the store builds) sent by the
 * client library directly, in the same run, alternating rounds. Starts its
 * own redis-server, and the Upstash REST bridge in front of it.
 *
 *   npm run bench:failure                    CALLS=300 ROUNDS=15
 *   TRANSPORTS=tcp npm run bench:failure     one transport (tcp, upstash)
 *   PROFILE=1 node --cpu-prof --import ./bench/register.mjs bench/failure.bench.ts
 *                                            only the protected calls over TCP (for a CPU profile)
 *
 * Per round and transport: the wall time per call through `protect`, the raw
 * round trip of the same script call, their difference (the client time: what
 * the breaker, the store and Effect add to one round trip; and the same in
 * process user CPU time, which other processes on the machine disturb less), the round trips
 * per failing call (commands clients sent, from INFO commandstats) and the Redis CPU of
 * the script per call (`usec_per_call` of EVALSHA). Prints medians of the
 * per-round values.
 */
import { Redis as UpstashRedis } from "@upstash/redis"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import { Redis } from "ioredis"
import { CircuitBreaker, RedisCircuitStore } from "../src/index.js"
import type { CircuitStore, RedisClient } from "../src/index.js"
import { IORedisClient } from "../src/ioredis.js"
import { keysOf } from "../shared/redis/keys.js"
import * as scripts from "../shared/redis/luaScripts.js"
import { scriptArgs, scriptArgv } from "../shared/redis/scriptArgs.js"
import { UpstashClient } from "../src/upstash.js"
import { startRedis } from "../test/support/redisServer.js"
import { startUpstashBridge } from "../test/shared/upstashBridge.js"
import { environment, envInt, fmt, markdownTable, median } from "./support.js"

const CALLS = envInt("CALLS", 300)
const ROUNDS = envInt("ROUNDS", 15)
/** "1": only the protected calls over TCP, for a CPU profile; "raw": only the raw script calls. */
const PROFILE = process.env.PROFILE === "1" || process.env.PROFILE === "raw"
const TRANSPORTS = (process.env.TRANSPORTS ?? "tcp,upstash").split(",").map((t) => t.trim())
const TARGET_USEC = 50
const TOKEN = "bench-token-failure"

class Boom extends Error {
  readonly _tag = "Boom"
}

const log = (line: string) => process.stderr.write(line + "\n")

/**
 * The commands `lua/circuit.lua` runs with `redis.call`: INFO commandstats counts them like any
 * other, but they cost no round trip.
 */
const scriptCommands: ReadonlySet<string> = new Set(
  [...scripts.circuit.source.matchAll(/call\("([A-Z]+)"/g)].map((m) => m[1]!.toLowerCase())
)

/**
 * The commands clients sent since the last CONFIG RESETSTAT (round trips), and the script's
 * `usec_per_call` of EVALSHA: every command INFO commandstats counts but INFO, CONFIG and the
 * script's own. (A wrapping client would count as well, but it would hide the client's direct
 * path, `DirectSend`, from the store.)
 */
const commandStats = async (redis: Redis): Promise<{ sent: number; evalshaUsec: number }> => {
  let sent = 0
  let evalshaUsec = Number.NaN
  for (const line of String(await redis.info("commandstats")).split(/\r?\n/)) {
    const m = /^cmdstat_([^:]+):calls=(\d+),usec=\d+,usec_per_call=([\d.]+)/.exec(line)
    if (m === null) continue
    const name = m[1]!
    if (name === "evalsha") evalshaUsec = Number(m[3])
    if (name === "info" || name === "config" || scriptCommands.has(name.split("|")[0]!)) continue
    sent += Number(m[2])
  }
  return { sent, evalshaUsec }
}

interface Transport {
  readonly label: string
  readonly client: Layer.Layer<RedisClient.RedisClient, unknown>
  /** The same script call, sent by the client library itself. */
  readonly raw: (keys: ReadonlyArray<string>, args: ReadonlyArray<string>) => Promise<unknown>
  readonly close: () => Promise<void>
}

interface Row {
  readonly protect: Array<number>
  readonly raw: Array<number>
  readonly client: Array<number>
  /**
   * Process user CPU per call through `protect` less per raw call: the client's own computation,
   * less disturbed by other processes than wall time (system time is left out: on a loopback
   * socket a write may run Redis's side of the round trip inside the syscall).
   */
  readonly clientCpu: Array<number>
  readonly roundTrips: Array<number>
  readonly redisCpu: Array<number>
}

const main = async () => {
  const server = await startRedis()
  const admin = new Redis(server.url)
  const bridge = await startUpstashBridge({ redisUrl: server.url, token: TOKEN, keyLocking: false })
  const transports: Array<Transport> = []
  if (TRANSPORTS.includes("tcp")) {
    const direct = new Redis(server.url)
    transports.push({
      label: "TCP (ioredis)",
      client: IORedisClient.layer({ url: server.url }),
      raw: (keys, args) => direct.evalsha(scripts.circuit.sha, keys.length, ...keys, ...args),
      close: async () => void direct.disconnect()
    })
  }
  if (TRANSPORTS.includes("upstash") && !PROFILE) {
    const direct = new UpstashRedis({
      url: bridge.url,
      token: TOKEN,
      automaticDeserialization: false,
      enableAutoPipelining: false,
      enableTelemetry: false,
      retry: { retries: 0 }
    })
    transports.push({
      label: "Upstash REST (bridge)",
      client: UpstashClient.layer({ url: bridge.url, token: Redacted.make(TOKEN), allowKeyLocking: false }),
      raw: (keys, args) => direct.evalsha(scripts.circuit.sha, [...keys], [...args]),
      close: async () => undefined
    })
  }
  const results = new Map<string, Row>()
  const runtimes: Array<ManagedRuntime.ManagedRuntime<CircuitStore.CircuitStore, unknown>> = []
  try {
    await admin.script("LOAD", scripts.circuit.source)
    const runs = transports.map((transport, t) => {
      const prefix = `failure-${t}`
      const rt: ManagedRuntime.ManagedRuntime<CircuitStore.CircuitStore, unknown> = ManagedRuntime.make(
        RedisCircuitStore.layer({ prefix }).pipe(Layer.provide(transport.client))
      )
      runtimes.push(rt)
      return { transport, prefix, rt }
    })
    const prepared = await Promise.all(runs.map(async (run) => {
      const breaker = await run.rt.runPromise(CircuitBreaker.make("failing", { failureThreshold: 1_000_000_000 }))
      const fail = breaker.protect(Effect.fail(new Boom()))
      const loop = Effect.gen(function*() {
        for (let i = 0; i < CALLS; i++) yield* Effect.either(fail)
      })
      const keys = keysOf(run.prefix, "failing")
      const config = scriptArgs(breaker.config)
      const rawLoop = async () => {
        for (let i = 0; i < CALLS; i++) {
          await run.transport.raw(
            keys,
            scriptArgv(config, {
              op: "record",
              now: Date.now(),
              outcome: "failure",
              sample: Math.random(),
              // a record carries no metric counts (they ride along with the next other call)
              unsent: { successes: 0, failures: 0, rejections: 0, probes: 0 }
            })
          )
        }
      }
      return { ...run, breaker, loop, rawLoop }
    }))
    // warm-up: the circuit exists, the script is loaded, the JIT has seen both loops
    for (const run of prepared) {
      await run.rt.runPromise(run.loop)
      if (!PROFILE) await run.rawLoop()
    }
    if (PROFILE) {
      const run = prepared[0]!
      const start = performance.now()
      for (let round = 0; round < ROUNDS; round++) {
        if (process.env.PROFILE === "raw") await run.rawLoop()
        else await run.rt.runPromise(run.loop)
      }
      log(`${fmt(((performance.now() - start) * 1000) / (ROUNDS * CALLS), 1)} µs per call`)
      return
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (const run of round % 2 === 0 ? prepared : [...prepared].reverse()) {
        const row = results.get(run.transport.label) ??
          { protect: [], raw: [], client: [], clientCpu: [], roundTrips: [], redisCpu: [] }
        results.set(run.transport.label, row)
        // alternate which goes first
        const order = round % 2 === 0 ? ["protect", "raw"] : ["raw", "protect"]
        let protect = 0
        let raw = 0
        let protectCpu = 0
        let rawCpu = 0
        for (const which of order) {
          if (which === "protect") {
            await admin.config("RESETSTAT")
            const start = performance.now()
            const cpu = process.cpuUsage()
            await run.rt.runPromise(run.loop)
            const used = process.cpuUsage(cpu)
            protect = ((performance.now() - start) * 1000) / CALLS
            protectCpu = used.user / CALLS
            const stats = await commandStats(admin)
            row.roundTrips.push(stats.sent / CALLS)
            row.redisCpu.push(stats.evalshaUsec)
          } else {
            const start = performance.now()
            const cpu = process.cpuUsage()
            await run.rawLoop()
            const used = process.cpuUsage(cpu)
            raw = ((performance.now() - start) * 1000) / CALLS
            rawCpu = used.user / CALLS
          }
        }
        row.protect.push(protect)
        row.raw.push(raw)
        row.client.push(protect - raw)
        row.clientCpu.push(protectCpu - rawCpu)
      }
      log(`round ${round + 1}/${ROUNDS} done`)
    }
    for (const run of prepared) {
      const state = await run.rt.runPromise(run.breaker.state)
      if (state !== "CLOSED") throw new Error(`${run.transport.label}: the circuit left CLOSED (${state})`)
    }
    console.log(environment())
    console.log(
      `redis ${
        (await admin.info("server")).match(/redis_version:(\S+)/)?.[1]
      }, ${CALLS} sequential failing calls per round, ${ROUNDS} rounds; medians of per-round values\n`
    )
    const rows = [...results].map(([label, row]) => [
      label,
      fmt(median(row.protect), 1),
      fmt(median(row.raw), 1),
      fmt(median(row.client), 1),
      row.client.map((v) => fmt(v, 0)).join(" "),
      fmt(median(row.clientCpu), 1),
      fmt(median(row.roundTrips), 2),
      fmt(median(row.redisCpu), 2),
      // judged at the precision shown: a flush of batched counts within a round adds one command in hundreds
      median(row.client) <= TARGET_USEC && Number(median(row.roundTrips).toFixed(2)) <= 1 ? "yes" : "no"
    ])
    console.log(markdownTable([
      "transport",
      "protect µs/call",
      "raw EVALSHA µs/call",
      "client µs/call",
      "client per round",
      "client user CPU µs/call",
      "round trips/call",
      "Redis CPU µs/call",
      `≤ 1 round trip + ${TARGET_USEC} µs`
    ], rows))
  } finally {
    for (const rt of runtimes) await rt.dispose()
    for (const run of transports) await run.close()
    admin.disconnect()
    await bridge.close()
    await server.stop()
  }
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (error) => {
    console.error(error)
    process.exit(1)
  }
)
