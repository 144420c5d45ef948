/**
 * The Redis store's options against a real redis-server: every bad option named at once. The
 * config's own decoding is in CircuitConfig.unit.test.ts.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import { CircuitBreaker } from "../src/index.js"
import { redisServerScoped } from "./support/redisServer.js"
import { tcpStore } from "./support/stores.js"

describe("RedisCircuitStore options", () => {
  it.scoped(
    "every bad option is named with its rule, at once, and unknown ones are refused",
    () =>
      Effect.gen(function*() {
        const server = yield* redisServerScoped()
        const error = yield* Effect.flip(Layer.build(tcpStore(server, {
          prefix: "a{b",
          unavailableAfter: 0,
          cooldown: "soon" as never,
          timeSource: "local" as never,
          idleTtl: -1,
          ...{ prefixx: "cb" }
        })))
        if (error._tag !== "CircuitConfigError") throw error
        expect(error.service).toBe("RedisCircuitStore")
        expect(error.issues).toEqual([
          "prefixx is not a known field",
          "prefix must be 1 to 64 characters without braces, spaces or control characters (got \"a{b\")",
          "unavailableAfter must be a positive integer at most 1000000000 (got 0)",
          "cooldown must be a duration: milliseconds or a Duration such as \"30 seconds\" (got \"soon\")",
          "timeSource must be one of \"server\", \"client\" (got \"local\")",
          "idleTtl must not be negative (got -1)"
        ])
        // good values, Duration.infinity and undefined (the default) included, build the store
        const store = yield* Layer.build(tcpStore(server, {
          cooldown: Duration.seconds(1),
          idleTtl: Duration.infinity,
          unavailableAfter: undefined
        }))
        expect(Either.isRight(
          yield* Effect.either(
            Effect.flatMap(
              CircuitBreaker.make("svc"),
              (breaker) => breaker.protect(Effect.succeed(1))
            ).pipe(Effect.provide(store))
          )
        )).toBe(true)
      }),
    30_000
  )
})
