/**
 * Test and bench support for big fleets: many circuits written straight into
 * Redis, in the format `lua/circuit.lua` writes (`circuitFields`: the
 * circuit's hash with its config, and the registry sorted set), one pipeline
 * per 1,000 circuits (on a Cluster, one per circuit: its keys share a slot);
 * and a `RedisClient` that counts its round trips.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import { CircuitConfig, RedisClient } from "../../src/index.js"
import { scriptArgs } from "../../shared/redis/scriptArgs.js"
import { seedCircuitsWith, seededConfig } from "../shared/seed.js"

/**
 * `inner`, counting its round trips (a pipeline is one). With `pipelined:
 * false` it offers no pipeline, so every command is a round trip of its own;
 * with `cluster: true` it says it is a Redis Cluster (monitoring then reads
 * one circuit per script call).
 */
export const countRoundTrips = <E>(
  inner: Layer.Layer<RedisClient.RedisClient, E>,
  options: { readonly pipelined?: boolean; readonly cluster?: boolean } = {}
) => {
  const counter = { roundTrips: 0 }
  const layer = Layer.effect(
    RedisClient.RedisClient,
    Effect.map(RedisClient.RedisClient, (client) =>
      RedisClient.RedisClient.of({
        description: client.description,
        allowKeyLocking: client.allowKeyLocking,
        cluster: options.cluster ?? client.cluster,
        send: (command) => Effect.suspend(() => (counter.roundTrips++, client.send(command))),
        pipeline: options.pipelined === false || client.pipeline === undefined
          ? undefined
          : (commands) => Effect.suspend(() => (counter.roundTrips++, client.pipeline!(commands)))
      }))
  ).pipe(Layer.provide(inner))
  return { counter, layer }
}

/** The config the seeded circuits were written with. */
const seededArgs = scriptArgs(Either.getOrThrow(CircuitConfig.decodeEither("seeded", seededConfig)))

/**
 * Writes `count` circuits named `<name>-<n>` (zero-padded to `width` digits,
 * by default as many as `count - 1` has); every `openEvery`-th is OPEN, and
 * so is every name in `open`. `target` is a server's URL, or the startup
 * nodes of a Cluster.
 */
export const seedCircuits = (
  target: Parameters<typeof seedCircuitsWith>[1],
  prefix: string,
  count: number,
  options: Parameters<typeof seedCircuitsWith>[4] = {}
): Promise<ReadonlyArray<string>> => seedCircuitsWith(seededArgs, target, prefix, count, options)
