/**
 * A breaker's reads and admin effects (`BreakerReads`, the base of the
 * breaker): the circuit read from the store, or from the local fallback
 * while the store is unavailable; admin actions applied to the store, and
 * to the local fallback when the store cannot be reached.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type { Health, Metrics } from "../../CircuitBreaker.js"
import type * as CircuitConfig from "../../CircuitConfig.js"
import type { Snapshot, State } from "../../CircuitState.js"
import type { Circuit, CircuitStoreError } from "../../CircuitStore.js"
import { isAvailableAt, type LocalCounts, metricsOf, statusOf } from "../../../../shared/breaker/counts.js"
import type { RecentTime } from "./recentTime.js"

/** @internal */
export { type LocalCounts, statusOf } from "../../../../shared/breaker/counts.js"

/**
 * The reads and admin effects of a breaker, over what the breaker keeps.
 *
 * @internal
 */
export abstract class BreakerReads {
  abstract readonly config: CircuitConfig.CircuitConfig
  abstract readonly instanceId: string
  abstract readonly circuit: Circuit
  abstract readonly time: RecentTime
  abstract readonly counts: LocalCounts
  /** True while the last store operation failed and the local fallback is in use. */
  abstract degraded: boolean
  /** The store answered: leave the local fallback. */
  protected abstract storeUp(): void
  /** The store failed. */
  protected abstract storeDown(): void
  /** Notes the state and version the store reported at `at`. */
  abstract observe(state: State, version: number, at: number): void
  /** The local fallback (made on first use). */
  protected abstract localCircuit(now: number): Circuit

  /** The time on the breaker's clock (the one `protect` reads). */
  protected get now(): Effect.Effect<number> {
    return Effect.sync(this.time.now)
  }

  /**
   * Reads the circuit from the store; while the store is unavailable, from
   * the local fallback (so monitoring keeps working, and says `degraded`).
   */
  protected withSnapshot<A>(f: (snapshot: Snapshot, now: number) => A): Effect.Effect<A> {
    return Effect.flatMap(this.now, (now) =>
      this.circuit.read(now).pipe(
        Effect.map((snapshot) => {
          this.storeUp()
          this.observe(snapshot.state, snapshot.version, now)
          return f(snapshot, now)
        }),
        Effect.catch(() => {
          this.storeDown()
          return Effect.map(Effect.orDie(this.localCircuit(now).read(now)), (snapshot) => f(snapshot, now))
        })
      ))
  }

  /**
   * An admin action on the store. If the store cannot be reached it is
   * applied to the local fallback, so this instance obeys it anyway, and the
   * store error is reported, since the fleet did not hear of it.
   */
  protected admin(
    op: (circuit: Circuit, now: number) => Effect.Effect<Snapshot, CircuitStoreError>
  ): Effect.Effect<void, CircuitStoreError> {
    return Effect.flatMap(this.now, (now) =>
      op(this.circuit, now).pipe(
        Effect.matchEffect({
          onFailure: (error) =>
            Effect.andThen(
              Effect.sync(() => this.storeDown()),
              Effect.andThen(Effect.orDie(op(this.localCircuit(now), now)), Effect.fail(error))
            ),
          onSuccess: (snapshot) =>
            Effect.sync(() => {
              this.storeUp()
              this.observe(snapshot.state, snapshot.version, now)
            })
        })
      ))
  }

  localSnapshot(now: number): Effect.Effect<Snapshot> {
    return Effect.orDie(this.localCircuit(now).read(now))
  }

  get snapshot(): Effect.Effect<Snapshot> {
    return this.withSnapshot((snapshot) => snapshot)
  }

  get state(): Effect.Effect<State> {
    return this.withSnapshot((snapshot) => snapshot.state)
  }

  metricsFrom(snapshot: Snapshot): Metrics {
    return metricsOf(this.config.serviceName, this.instanceId, this.counts, snapshot)
  }

  get metrics(): Effect.Effect<Metrics> {
    return this.withSnapshot((snapshot) => this.metricsFrom(snapshot))
  }

  get health(): Effect.Effect<Health> {
    return this.withSnapshot((snapshot, now) => {
      const clockSkewMs = this.circuit.clockSkew?.()
      const notifications = this.circuit.notifications?.()
      return {
        service: this.config.serviceName,
        status: statusOf(snapshot.state, this.degraded),
        state: snapshot.state,
        metrics: this.metricsFrom(snapshot),
        timestamp: now,
        ...(clockSkewMs !== undefined ? { clockSkewMs } : {}),
        ...(notifications !== undefined ? { notifications } : {})
      }
    })
  }

  get isAvailable(): Effect.Effect<boolean> {
    return this.withSnapshot((snapshot, now) => isAvailableAt(snapshot, now, this.config.halfOpenMaxProbes))
  }

  get reset(): Effect.Effect<void, CircuitStoreError> {
    return this.admin((circuit, now) => circuit.reset(now))
  }

  get forceOpen(): Effect.Effect<void, CircuitStoreError> {
    return this.admin((circuit, now) => circuit.force(now, "FORCED_OPEN"))
  }

  get forceClose(): Effect.Effect<void, CircuitStoreError> {
    return this.admin((circuit, now) => circuit.force(now, "FORCED_CLOSED"))
  }
}
