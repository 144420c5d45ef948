import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Result from "effect/Result"
import * as Backoff from "../src/Backoff.js"
import * as CircuitConfig from "../src/CircuitConfig.js"

const config = (input: CircuitConfig.Input = {}) => Result.getOrThrow(CircuitConfig.decodeEither("svc", input))

/** `Random` drawing `values` in turn, round and round. */
const withRandomFixed = (values: ReadonlyArray<number>) => <A, E, R>(effect: Effect.Effect<A, E, R>) => {
  let i = 0
  const next = () => values[i++ % values.length]!
  return Effect.provideService(effect, Random.Random, {
    nextDoubleUnsafe: next,
    nextIntUnsafe: () => Math.floor(next() * Number.MAX_SAFE_INTEGER)
  })
}

describe("Backoff", () => {
  it.effect("the schedule gives 30 s, 60 s, 120 s, 240 s, then 300 s (defaults, no jitter)", () =>
    Effect.gen(function*() {
      const delays = yield* Backoff.delays(Backoff.schedule(config({ backoffJitter: 0 })), 7)
      expect(delays.map(Duration.toMillis)).toEqual([30_000, 60_000, 120_000, 240_000, 300_000, 300_000, 300_000])
    }))

  it.effect("with jitter, each delay lies in [1 - j, 1 + j] of the base", () =>
    Effect.gen(function*() {
      const delays = yield* Backoff.delays(Backoff.schedule(config()), 6)
      const base = [30_000, 60_000, 120_000, 240_000, 300_000, 300_000]
      delays.forEach((delay, i) => {
        expect(Duration.toMillis(delay)).toBeGreaterThanOrEqual(base[i] * 0.9)
        expect(Duration.toMillis(delay)).toBeLessThanOrEqual(base[i] * 1.1)
      })
    }).pipe(withRandomFixed([0, 0.99, 0.3, 0.7, 0.5, 0.01])))

  it.effect("nth reads one delay without sleeping", () =>
    Effect.gen(function*() {
      const third = yield* Backoff.nth(Backoff.schedule(config({ backoffJitter: 0 })), 2)
      expect(Option.map(third, Duration.toMillis)).toEqual(Option.some(120_000))
    }))

  it.effect("the schedule and openPeriod (what the stores use) agree, sample by sample", () =>
    Effect.gen(function*() {
      const samples: [number, ...Array<number>] = [0, 0.123456789, 0.5, 0.75, 0.999999, 0.31415926535]
      for (
        const input of [{}, { backoffMultiplier: 1.5, backoffJitter: 0.3 }, {
          recoveryTimeout: 1234,
          maxRecoveryTimeout: 98_765
        }]
      ) {
        const c = config(input)
        const delays = yield* Backoff.delays(Backoff.schedule(c), samples.length).pipe(withRandomFixed(samples))
        delays.forEach((delay, k) => {
          expect(Math.abs(Math.round(Duration.toMillis(delay)) - Backoff.openPeriod(c, k, samples[k])))
            .toBeLessThanOrEqual(1)
        })
      }
    }))
})
