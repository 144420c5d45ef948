/**
 * Test support for big fleets (Effect 4): many circuits written straight
 * into Redis (`seedCircuits`, Effect-free, in test/shared/seed.ts); and a
 * `RedisClient` that counts its round trips.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { RedisClient } from "../../src/index.js"

export { seedCircuits, seededConfig } from "../../../test/shared/seed.js"

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
    RedisClient.RedisClient.useSync((client) =>
      RedisClient.RedisClient.of({
        description: client.description,
        allowKeyLocking: client.allowKeyLocking,
        cluster: options.cluster ?? client.cluster,
        send: (command) => Effect.suspend(() => (counter.roundTrips++, client.send(command))),
        pipeline: options.pipelined === false || client.pipeline === undefined
          ? undefined
          : (commands) => Effect.suspend(() => (counter.roundTrips++, client.pipeline!(commands)))
      })
    )
  ).pipe(Layer.provide(inner))
  return { counter, layer }
}
