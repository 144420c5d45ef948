/**
 * Test and bench support for big fleets, of both editions: many circuits
 * written straight into Redis over ioredis, in the format `lua/circuit.lua`
 * writes (`circuitFields`: the circuit's hash with its config, and the
 * registry sorted set), one pipeline per 1,000 circuits (on a Cluster, one
 * per circuit: its keys share a slot). Each edition passes the script
 * arguments of `seededConfig`, decoded by its own `CircuitConfig`.
 */
import { Cluster, Redis } from "ioredis"
import { keysOf, registryKeyOf } from "../../shared/redis/keys.js"
import { circuitFields } from "../../shared/redis/scriptArgs.js"

/** The config the seeded circuits are written with (decode it with `CircuitConfig.decodeEither("seeded", …)`). */
export const seededConfig = {
  monitoringPeriod: 300_000,
  stateTtl: 1_200_000,
  failureThreshold: 5,
  successThreshold: 3,
  recoveryTimeout: 600_000,
  maxRecoveryTimeout: 600_000,
  backoffMultiplier: 2,
  backoffJitter: 0.1,
  halfOpenMaxProbes: 3,
  probeLease: 10_000
} as const

/**
 * Writes `count` circuits (with the script arguments `seededArgs` of `seededConfig`) named `<name>-<n>` (zero-padded to `width` digits,
 * by default as many as `count - 1` has); every `openEvery`-th is OPEN, and
 * so is every name in `open`. `target` is a server's URL, or the startup
 * nodes of a Cluster.
 */
export const seedCircuitsWith = async (
  seededArgs: ReadonlyArray<string>,
  target: string | ReadonlyArray<{ readonly host: string; readonly port: number }>,
  prefix: string,
  count: number,
  options: {
    readonly name?: string
    readonly openEvery?: number
    readonly open?: ReadonlyArray<string>
    readonly width?: number
  } = {}
): Promise<ReadonlyArray<string>> => {
  const redis = typeof target === "string" ? new Redis(target) : new Cluster([...target])
  try {
    const [seconds] = await redis.time()
    const now = Number(seconds) * 1000
    const width = options.width ?? String(count - 1).length
    const names = Array.from(
      { length: count },
      (_, i) => `${options.name ?? "tenant"}-${String(i).padStart(width, "0")}`
    )
    const write = (pipeline: ReturnType<Redis["pipeline"]>, i: number) => {
      const open = (options.openEvery !== undefined && i % options.openEvery === 0) ||
        (options.open?.includes(names[i]!) ?? false)
      const [state] = keysOf(prefix, names[i]!)
      pipeline.hset(
        state,
        circuitFields(seededArgs, {
          state: open ? "OPEN" : "CLOSED",
          version: open ? 1 : 0,
          openCount: 0,
          openedAt: open ? now : 0,
          retryAt: open ? now + 600_000 : 0,
          changedAt: now,
          writtenAt: now,
          halfOpenSuccesses: 0
        })
      )
      pipeline.pexpire(state, 1_200_000)
    }
    for (let start = 0; start < count; start += 1_000) {
      const chunk = Array.from({ length: Math.min(count, start + 1_000) - start }, (_, n) => start + n)
      if (redis instanceof Cluster) {
        await Promise.all(chunk.map((i) => {
          const pipeline = redis.pipeline()
          write(pipeline, i)
          return pipeline.exec()
        }))
        await redis.zadd(registryKeyOf(prefix), ...chunk.flatMap((i) => [now, names[i]!]))
      } else {
        const pipeline = redis.pipeline()
        for (const i of chunk) {
          write(pipeline, i)
          pipeline.zadd(registryKeyOf(prefix), now, names[i]!)
        }
        await pipeline.exec()
      }
    }
    return names
  } finally {
    redis.disconnect()
  }
}
