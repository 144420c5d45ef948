/**
 * Test and bench support for big fleets: many circuits written straight into
 * Redis, in the format `lua/circuit.lua` writes (`circuitFields`: the
 * circuit's hash with its config, and the registry sorted set), one pipeline
 * per 1,000 circuits; and
 * a `RedisClient` that counts its round trips.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import { Redis } from "ioredis"
import { CircuitConfig, RedisClient } from "../../src/index.js"
import { circuitFields, keysOf, registryKeyOf, scriptArgs } from "../../src/internal/redisStore.js"

/**
 * `inner`, counting its round trips (a pipeline is one). Without `pipelined`
 * it offers no pipeline, so every command is a round trip of its own.
 */
export const countRoundTrips = <E>(
  inner: Layer.Layer<RedisClient.RedisClient, E>,
  options: { readonly pipelined?: boolean } = {}
) => {
  const counter = { roundTrips: 0 }
  const layer = Layer.effect(
    RedisClient.RedisClient,
    Effect.map(RedisClient.RedisClient, (client) =>
      RedisClient.RedisClient.of({
        description: client.description,
        allowKeyLocking: client.allowKeyLocking,
        send: (command) => Effect.suspend(() => (counter.roundTrips++, client.send(command))),
        pipeline: options.pipelined === false || client.pipeline === undefined
          ? undefined
          : (commands) => Effect.suspend(() => (counter.roundTrips++, client.pipeline!(commands)))
      }))
  ).pipe(Layer.provide(inner))
  return { counter, layer }
}

/** The config the seeded circuits were written with. */
const seededArgs = scriptArgs(Either.getOrThrow(CircuitConfig.decodeEither("seeded", {
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
})))

/**
 * Writes `count` circuits named `<name>-<n>` (zero-padded to `width` digits,
 * by default as many as `count - 1` has); every `openEvery`-th is OPEN, and
 * so is every name in `open`.
 */
export const seedCircuits = async (
  redisUrl: string,
  prefix: string,
  count: number,
  options: {
    readonly name?: string
    readonly openEvery?: number
    readonly open?: ReadonlyArray<string>
    readonly width?: number
  } = {}
): Promise<ReadonlyArray<string>> => {
  const redis = new Redis(redisUrl)
  try {
    const [seconds] = await redis.time()
    const now = Number(seconds) * 1000
    const width = options.width ?? String(count - 1).length
    const names = Array.from({ length: count }, (_, i) => `${options.name ?? "tenant"}-${String(i).padStart(width, "0")}`)
    for (let start = 0; start < count; start += 1_000) {
      const pipeline = redis.pipeline()
      for (let i = start; i < Math.min(count, start + 1_000); i++) {
        const open = (options.openEvery !== undefined && i % options.openEvery === 0) ||
          (options.open?.includes(names[i]!) ?? false)
        const [state] = keysOf(prefix, names[i]!)
        pipeline.hset(state, circuitFields(seededArgs, {
          state: open ? "OPEN" : "CLOSED",
          version: open ? 1 : 0,
          openCount: 0,
          openedAt: open ? now : 0,
          retryAt: open ? now + 600_000 : 0,
          changedAt: now,
          writtenAt: now,
          halfOpenSuccesses: 0
        }))
        pipeline.pexpire(state, 1_200_000)
        pipeline.zadd(registryKeyOf(prefix), now, names[i]!)
      }
      await pipeline.exec()
    }
    return names
  } finally {
    redis.disconnect()
  }
}
