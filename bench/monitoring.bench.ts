/**
 * Monitoring a big fleet: one read of every circuit (`CircuitBreakerMonitoring.read`)
 * of 10,000 circuits in Redis, as a route with no breakers of its own reads them, over
 * TCP loopback and over the Upstash bridge; its round trips (counted by a wrapping
 * client: a pipeline is one), HTTP requests (counted by the bridge) and Redis CPU per
 * circuit (`INFO commandstats`). The default read (`lua/manyCircuits.lua`: 100 circuits
 * per script call, 5 calls per pipeline) against, in the same run, the same read
 * without a pipeline (one script call per round trip) and the read a Redis Cluster
 * gets (one circuit per script call, 100 calls per pipeline). Prints medians of
 * ROUNDS rounds (default 5) and the per-round ratios.
 *
 *   npm run bench:monitoring          CIRCUITS=10000 ROUNDS=5
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import type { RedisClient } from "../src/index.js"
import { CircuitBreakerMonitoring, CircuitBreakers, RedisCircuitStore } from "../src/index.js"
import { IORedisClient } from "../src/ioredis.js"
import { UpstashClient } from "../src/upstash.js"
import { startRedis } from "../test/support/redisServer.js"
import { countRoundTrips, seedCircuits } from "../test/support/seed.js"
import { startUpstashBridge } from "../test/shared/upstashBridge.js"
import { envInt, quantile } from "./support.js"

const CIRCUITS = envInt("CIRCUITS", 10_000)
const ROUNDS = envInt("ROUNDS", 5)

const counted = (
  inner: Layer.Layer<RedisClient.RedisClient, unknown>,
  options: { readonly pipelined: boolean; readonly cluster?: boolean }
) => {
  const { counter, layer } = countRoundTrips(inner, options)
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
      Effect.provide(
        CircuitBreakerMonitoring.layer().pipe(
          Layer.provideMerge(CircuitBreakers.layer()),
          Layer.provide(RedisCircuitStore.layer({ prefix })),
          Layer.provide(client),
          Layer.orDie
        )
      )
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
    const rows: Record<string, { ms: Array<number>; trips: Array<number>; cpu: Array<number> }> = {}
    /** One read of `label`: its time, round trips and Redis CPU per circuit (script calls only). */
    const measure = async (label: string, read: () => Promise<number>, trips: () => number) => {
      await server.cli("CONFIG", "RESETSTAT")
      const ms = await read()
      const info = await server.cli("INFO", "commandstats")
      const usec = [...info.matchAll(/cmdstat_eval(?:sha)?:calls=\d+,usec=(\d+)/g)].reduce(
        (sum, m) => sum + Number(m[1]),
        0
      )
      rows[label] ??= { ms: [], trips: [], cpu: [] }
      rows[label].ms.push(ms)
      rows[label].trips.push(trips())
      rows[label].cpu.push(usec / CIRCUITS)
      return ms
    }
    const DEFAULT = "TCP: 100 circuits per script call, 5 calls per round trip"
    const UPSTASH = "Upstash bridge: as the default"
    const ratios: Array<number> = []
    for (let round = 0; round < ROUNDS; round++) {
      const piped = counted(tcp(), { pipelined: true })
      const pipedMs = await measure(DEFAULT, () => readOnce(piped.layer, prefix), () => piped.counter.roundTrips)
      const single = counted(tcp(), { pipelined: false })
      await measure(
        "TCP: 100 circuits per script call, one call per round trip",
        () => readOnce(single.layer, prefix),
        () => single.counter.roundTrips
      )
      const cluster = counted(tcp(), { pipelined: true, cluster: true })
      const clusterMs = await measure(
        "TCP: one circuit per script call, 100 calls per round trip (as on a Cluster)",
        () => readOnce(cluster.layer, prefix),
        () => cluster.counter.roundTrips
      )
      ratios.push(pipedMs / clusterMs)
      bridge.resetStats()
      await measure(
        UPSTASH,
        () => readOnce(counted(upstash(), { pipelined: true }).layer, prefix),
        () => bridge.requests
      )
    }
    console.log(
      `\nReading ${CIRCUITS.toLocaleString("en")} circuits (${CIRCUITS / 100} OPEN), medians of ${ROUNDS} rounds:\n`
    )
    console.log("| read | time | round trips (HTTP requests for Upstash) | Redis CPU per circuit |")
    console.log("|---|--:|--:|--:|")
    for (const [label, row] of Object.entries(rows)) {
      console.log(
        `| ${label} | ${Math.round(quantile(row.ms, 0.5))} ms | ${quantile(row.trips, 0.5)} | ${
          quantile(row.cpu, 0.5).toFixed(1)
        } µs |`
      )
    }
    console.log(
      `\n100 circuits per script call ÷ one per call (TCP, pipelined), median of per-round ratios: ${
        quantile(ratios, 0.5).toFixed(2)
      }×`
    )
    const goalMs = 300
    const tcpMs = quantile(rows[DEFAULT]!.ms, 0.5)
    console.log(
      `goals: TCP ≤ ${goalMs} ms: ${tcpMs <= goalMs ? "met" : "NOT met"} (${Math.round(tcpMs)} ms); ` +
        `TCP ≤ 150 round trips: ${quantile(rows[DEFAULT]!.trips, 0.5) <= 150 ? "met" : "NOT met"}; ` +
        `Upstash ≤ 150 requests: ${quantile(rows[UPSTASH]!.trips, 0.5) <= 150 ? "met" : "NOT met"}`
    )
  } finally {
    await bridge.close()
    await server.stop()
  }
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
