/**
 * Monitoring a big fleet: one read of every circuit (`CircuitBreakerMonitoring.read`)
 * of 10,000 circuits in Redis, as a route with no breakers of its own reads them, over
 * TCP loopback and over the Upstash bridge; its round trips (counted by a wrapping
 * client: a pipeline is one) and HTTP requests (counted by the bridge). Against the
 * same read made one circuit per round trip (the client without its pipeline), in
 * the same run. Prints medians of ROUNDS rounds (default 5) and the per-round ratios.
 *
 *   npm run bench:monitoring          CIRCUITS=10000 ROUNDS=5
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { CircuitBreakerMonitoring, CircuitBreakers, RedisCircuitStore, RedisClient } from "../src/index.js"
import { IORedisClient } from "../src/ioredis.js"
import { UpstashClient } from "../src/upstash.js"
import { startRedis } from "../test/support/redisServer.js"
import { countRoundTrips, seedCircuits } from "../test/support/seed.js"
import { startUpstashBridge } from "../test/support/upstashBridge.js"
import { envInt, quantile } from "./support.js"

const CIRCUITS = envInt("CIRCUITS", 10_000)
const ROUNDS = envInt("ROUNDS", 5)

const counted = (inner: Layer.Layer<RedisClient.RedisClient, unknown>, pipelined: boolean) => {
  const { counter, layer } = countRoundTrips(inner, { pipelined })
  return { counter, layer: Layer.orDie(layer) }
}

const readOnce = (client: Layer.Layer<RedisClient.RedisClient>, prefix: string) =>
  Effect.runPromise(
    Effect.gen(function*() {
      const monitoring = yield* CircuitBreakerMonitoring.CircuitBreakerMonitoring
      const started = performance.now()
      const fleet = yield* monitoring.read()
      if (fleet.circuits.length !== CIRCUITS || !fleet.complete) {
        throw new Error(`read ${fleet.circuits.length} of ${CIRCUITS} circuits (complete: ${fleet.complete})`)
      }
      return performance.now() - started
    }).pipe(
      Effect.provide(CircuitBreakerMonitoring.layer().pipe(
        Layer.provideMerge(CircuitBreakers.layer()),
        Layer.provide(RedisCircuitStore.layer({ prefix })),
        Layer.provide(client),
        Layer.orDie
      ))
    )
  )

const main = async () => {
  const server = await startRedis()
  const token = "bench-token"
  const bridge = await startUpstashBridge({ redisUrl: server.url, token })
  try {
    const prefix = "bench"
    await seedCircuits(server.url, prefix, CIRCUITS, { openEvery: 100 })
    const tcp = () => IORedisClient.layer({ url: server.url })
    const upstash = () => UpstashClient.layer({ url: bridge.url, token: Redacted.make(token), requestTimeout: 30_000 })
    const rows: Record<string, { ms: Array<number>; trips: Array<number> }> = {}
    const record = (label: string, ms: number, trips: number) => {
      rows[label] ??= { ms: [], trips: [] }
      rows[label].ms.push(ms)
      rows[label].trips.push(trips)
    }
    const ratios: Array<number> = []
    for (let round = 0; round < ROUNDS; round++) {
      const piped = counted(tcp(), true)
      const pipedMs = await readOnce(piped.layer, prefix)
      record("TCP, pipelined", pipedMs, piped.counter.roundTrips)
      const single = counted(tcp(), false)
      const singleMs = await readOnce(single.layer, prefix)
      record("TCP, one circuit per round trip", singleMs, single.counter.roundTrips)
      ratios.push(pipedMs / singleMs)
      bridge.resetStats()
      const upstashMs = await readOnce(counted(upstash(), true).layer, prefix)
      record("Upstash bridge, pipelined", upstashMs, bridge.requests)
    }
    console.log(`\nReading ${CIRCUITS.toLocaleString("en")} circuits (${CIRCUITS / 100} OPEN), medians of ${ROUNDS} rounds:\n`)
    console.log("| read | time | round trips (HTTP requests for Upstash) |")
    console.log("|---|--:|--:|")
    for (const [label, row] of Object.entries(rows)) {
      console.log(`| ${label} | ${Math.round(quantile(row.ms, 0.5))} ms | ${quantile(row.trips, 0.5)} |`)
    }
    console.log(`\npipelined ÷ one per round trip (TCP), median of per-round ratios: ${quantile(ratios, 0.5).toFixed(2)}×`)
    const goalMs = 300
    const tcpMs = quantile(rows["TCP, pipelined"]!.ms, 0.5)
    console.log(
      `goals: TCP ≤ ${goalMs} ms: ${tcpMs <= goalMs ? "met" : "NOT met"} (${Math.round(tcpMs)} ms); ` +
        `TCP ≤ 150 round trips: ${quantile(rows["TCP, pipelined"]!.trips, 0.5) <= 150 ? "met" : "NOT met"}; ` +
        `Upstash ≤ 150 requests: ${quantile(rows["Upstash bridge, pipelined"]!.trips, 0.5) <= 150 ? "met" : "NOT met"}`
    )
    const info = await server.cli("INFO", "commandstats")
    const evalsha = /cmdstat_evalsha:calls=(\d+),usec=(\d+),usec_per_call=([\d.]+)/.exec(info)
    if (evalsha !== null) console.log(`Redis CPU per circuit read (usec_per_call of EVALSHA): ${evalsha[3]} µs`)
  } finally {
    await bridge.close()
    await server.stop()
  }
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
