/**
 * Test support for big fleets (Effect 4): circuits written straight into
 * Redis (`seedCircuitsWith` of test/shared/seed.ts, with the script
 * arguments of this edition's `CircuitConfig`), and a `RedisClient` that
 * counts its round trips.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Result from "effect/Result"
import * as CircuitConfig from "../../src/CircuitConfig.js"
import * as RedisClient from "../../src/RedisClient.js"
import { scriptArgs } from "../../../shared/redis/scriptArgs.js"
import { seedCircuitsWith, seededConfig } from "../../../test/shared/seed.js"

/**
 * `inner`, counting its round trips (a pipeline is one). With `pipelined:
 * false` it offers no pipeline, so every command is a round trip of its own.
 */
export const countRoundTrips = <E>(
  inner: Layer.Layer<RedisClient.RedisClient, E>,
  options: { readonly pipelined?: boolean } = {}
) => {
  const counter = { roundTrips: 0 }
  const layer = Layer.effect(RedisClient.RedisClient)(
    Effect.map(RedisClient.RedisClient, (client) =>
      RedisClient.RedisClient.of({
        description: client.description,
        allowKeyLocking: client.allowKeyLocking,
        cluster: client.cluster,
        send: (command) => Effect.suspend(() => (counter.roundTrips++, client.send(command))),
        pipeline: options.pipelined === false || client.pipeline === undefined
          ? undefined
          : (commands) => Effect.suspend(() => (counter.roundTrips++, client.pipeline!(commands)))
      }))
  ).pipe(Layer.provide(inner))
  return { counter, layer }
}

const seededArgs = scriptArgs(Result.getOrThrow(CircuitConfig.decodeEither("seeded", seededConfig)))

/**
 * Writes `count` circuits named `<name>-<n>` (zero-padded); every
 * `openEvery`-th is OPEN, and so is every name in `open`.
 */
export const seedCircuits = (
  target: Parameters<typeof seedCircuitsWith>[1],
  prefix: string,
  count: number,
  options: Parameters<typeof seedCircuitsWith>[4] = {}
): Promise<ReadonlyArray<string>> => seedCircuitsWith(seededArgs, target, prefix, count, options)
