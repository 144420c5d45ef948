/**
 * Redis's clock, as one instance learns it: the offset between Redis `TIME`
 * and the instance's own `Clock`, measured over one round trip (its error is
 * at most half the round trip) and refreshed in the background. The Redis
 * store sends `local + offset` as the scripts' `now`, so that no instance's
 * clock, however wrong, changes what the rest of the fleet sees; the scripts
 * themselves never call `TIME`, which keeps them deterministic (Upstash asks
 * for that). See ARCHITECTURE.md, "Time".
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as CircuitBreakerMetrics from "../../CircuitBreakerMetrics.js"
import type { CircuitStoreError } from "../../CircuitStore.js"
import type { RedisClient, RedisClientError } from "../../RedisClient.js"
import { parseTime } from "../../../../shared/redis/clientValues.js"

/** How long a measured offset is trusted before it is measured again (in the background). */
const REFRESH_AFTER = 60_000

/** @internal */
export class ServerClock {
  /** Redis's clock minus the local one, in ms; undefined until measured. */
  offset: number | undefined = undefined
  /** The round trip of the measurement the offset came from. */
  roundTrip = Infinity
  /** Local time of that measurement. */
  measuredAt = 0
  private refreshing = false

  constructor(readonly client: RedisClient["Service"]) {}

  /** Whether the offset should be measured again (it is still usable meanwhile). */
  stale(now: number): boolean {
    return this.offset === undefined || now - this.measuredAt >= REFRESH_AFTER || now < this.measuredAt
  }

  /**
   * One `TIME` round trip; `local` reads the instance's clock. A reply that
   * is not a time fails as a `Reply` error.
   */
  measure(local: () => number): Effect.Effect<number, RedisClientError | "BadTime"> {
    return Effect.suspend(() => {
      const sent = local()
      return this.client.send(["TIME"]).pipe(
        Effect.flatMap((reply) => {
          const received = local()
          const server = parseTime(reply)
          if (server === undefined) return Effect.fail("BadTime" as const)
          const roundTrip = Math.max(0, received - sent)
          const offset = Math.round(server - (sent + received) / 2)
          this.offset = offset
          this.roundTrip = roundTrip
          this.measuredAt = received
          return Effect.as(Metric.update(CircuitBreakerMetrics.clockSkew, offset), offset)
        })
      )
    })
  }

  /**
   * Starts a background refresh unless one is running; never fails.
   * `measured` is `measure` as the caller bounds it (the store: by
   * `storeTimeout`, so that a reply that never comes does not stop the
   * refreshes for good).
   */
  refresh(
    measured: () => Effect.Effect<number, CircuitStoreError>,
    fork: (effect: Effect.Effect<void>) => Effect.Effect<void>
  ): Effect.Effect<void> {
    if (this.refreshing) return Effect.void
    this.refreshing = true
    return fork(
      measured().pipe(
        Effect.ignore,
        Effect.ensuring(Effect.sync(() => (this.refreshing = false)))
      )
    )
  }
}
