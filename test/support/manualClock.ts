/**
 * A clock a test moves by hand, counting its reads.
 */
import type * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"

/**
 * A clock the test moves by hand (`advance`), counting its reads; its timers never fire (the
 * recent time then stays at its last read, which only `advance` changes).
 */
export const manualClock = () => {
  const state = { now: 1_700_000_000_000, reads: 0 }
  const clock: Clock.Clock = {
    [Symbol.for("effect/Clock") as Clock.ClockTypeId]: Symbol.for("effect/Clock") as Clock.ClockTypeId,
    unsafeCurrentTimeMillis: () => (state.reads++, state.now),
    unsafeCurrentTimeNanos: () => BigInt(state.now) * 1_000_000n,
    currentTimeMillis: Effect.sync(() => (state.reads++, state.now)),
    currentTimeNanos: Effect.sync(() => BigInt(state.now) * 1_000_000n),
    sleep: () => Effect.never
  } as Clock.Clock
  return { clock, state, advance: (ms: number) => Effect.sync(() => (state.now += ms)) }
}
