/**
 * A clock a test moves by hand, counting its reads.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"

/**
 * A clock the test moves by hand (`advance`), counting its reads of the time; its timers never
 * fire (the recent time then stays at its last read, which only `advance` changes).
 */
export const manualClock = () => {
  const state = { now: 1_700_000_000_000, reads: 0 }
  const clock: Clock.Clock = {
    currentTimeMillisUnsafe: () => (state.reads++, state.now),
    currentTimeMillis: Effect.sync(() => (state.reads++, state.now)),
    currentTimeNanosUnsafe: () => BigInt(state.now) * 1_000_000n,
    currentTimeNanos: Effect.sync(() => BigInt(state.now) * 1_000_000n),
    monotonicTimeNanosUnsafe: () => BigInt(state.now) * 1_000_000n,
    monotonicTimeNanos: Effect.sync(() => BigInt(state.now) * 1_000_000n),
    sleep: () => Effect.never
  }
  return {
    clock,
    state,
    advance: (ms: number) => Effect.sync(() => (state.now += ms)),
    /** Runs `effect` on this clock. */
    withClock: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.provideService(effect, Clock.Clock, clock)
  }
}
