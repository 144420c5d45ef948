/**
 * One round trip to Redis, the one way the Redis store sends anything: its
 * failure as a `CircuitStoreError`, interruptible, bounded by a timeout, and
 * accounted to the store's own breaker (`StoreGuard`). See ARCHITECTURE.md,
 * "The admit step and the round-trip budget".
 *
 * @internal
 */
import type * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import { CircuitStoreError } from "../../CircuitStore.js"
import type { RedisClientError } from "../../RedisClient.js"
import { problemOf } from "./errors.js"
import { isTransport, StoreGuard as SharedGuard } from "../../../../shared/redis/storeGuard.js"
import {
  episodeEnded,
  episodeStarted,
  timedOutProblem,
  timedOutReason,
  unexpectedReplyReason
} from "../../../../shared/redis/roundTripText.js"

/**
 * The store's own breaker (shared/redis/storeGuard.ts), refusing with this
 * edition's `CircuitStoreError`.
 *
 * @internal
 */
export class StoreGuard extends SharedGuard<CircuitStoreError> {
  constructor(threshold: number, cooldown: number) {
    super(threshold, cooldown, (reason) => new CircuitStoreError({ reason }))
  }
}

/**
 * A client's failure as the store's error, the client's error (its reason
 * scrubbed of secrets) as the cause.
 *
 * @internal
 */
export const storeError = (error: RedisClientError): CircuitStoreError =>
  new CircuitStoreError({ reason: error.message, cause: error })

/**
 * How a round trip stands with the store's breaker: `"checked"`, refused at
 * once while Redis is deemed unavailable, and its outcome counted;
 * `"counted"`, its outcome counted (the caller checked the guard itself);
 * `"bypass"`, neither (monitoring reads: they always ask Redis).
 *
 * @internal
 */
export type GuardUse = "checked" | "counted" | "bypass"

/** @internal */
export interface RoundTripOptions {
  /** The bound, in ms. */
  readonly timeout: number
  /** What is sent ("script", "registry", "TIME", "pipeline"): the error of a reply that is not what it should be names it. */
  readonly what: string
  readonly guard: GuardUse
}

/** The failure of a round trip that got no reply within its bound. */
const timedOut: unique symbol = Symbol("timedOut")

/**
 * The Clock of Effect's default services: what `Clock.sleep` does on it, a
 * timer of the JavaScript host, `timer` does for one deadline, with no fiber.
 */
let liveClock: Clock.Clock | undefined = undefined
/** (Read on first use: the module itself runs nothing at import.) */
const live = (): Clock.Clock => liveClock ??= Effect.runSync(Effect.clockWith(Effect.succeed))

/** Calls `fire` at `at` (the live clock's time) unless the returned function was called first. */
const timer = (at: number, fire: () => void): () => void => {
  const handle = setTimeout(fire, Math.max(0, at - live().currentTimeMillisUnsafe()))
  return () => clearTimeout(handle)
}

/**
 * The deadlines of the round trips under way on another clock (`TestClock`): one sleeping
 * fiber, on that clock (`TestClock` drives it in tests), wakes at the
 * earliest and fires what is due; it ends when nothing is left. A round trip
 * adds its deadline and removes it when answered, which costs no fiber:
 * sequential round trips with the same bound wake it at most once per bound.
 */
class Deadlines {
  private readonly due = new Set<{ readonly at: number; readonly fire: () => void }>()
  /** When the sleeper wakes (Infinity: no sleeper). */
  private wakeAt = Infinity
  private sleeper: Fiber.Fiber<void> | undefined = undefined
  /** The current sleeper's mark: a sleeper that was replaced finds it changed. */
  private mark: object = {}
  constructor(private readonly clock: Clock.Clock) {}

  /** Calls `fire` at `at` on the clock, unless the returned function was called first. */
  add(at: number, fire: () => void): () => void {
    const entry = { at, fire }
    this.due.add(entry)
    if (at < this.wakeAt) this.sleep(at)
    return () => {
      this.due.delete(entry)
    }
  }

  private sleep(at: number): void {
    this.sleeper?.interruptUnsafe()
    this.wakeAt = at
    const clock = this.clock
    const mark = this.mark = {}
    this.sleeper = Effect.runFork(Effect.suspend(() =>
      Effect.flatMap(
        clock.sleep(Duration.millis(Math.max(0, at - clock.currentTimeMillisUnsafe()))),
        () =>
          Effect.sync(() => {
            if (this.mark !== mark) return
            this.sleeper = undefined
            this.wakeAt = Infinity
            const now = clock.currentTimeMillisUnsafe()
            let next = Infinity
            for (const entry of this.due) {
              if (entry.at <= now) {
                this.due.delete(entry)
                entry.fire()
              } else if (entry.at < next) next = entry.at
            }
            if (next < Infinity) this.sleep(next)
          })
      )
    ))
  }
}

/**
 * The round trips of one store, all through `run`. An episode of failing
 * round trips is logged twice, whatever the number of calls: a warning when
 * it starts (where Redis is, what is wrong) and a line when Redis answers
 * again; `target` says where Redis is, without credentials.
 *
 * @internal
 */
export class RoundTrips {
  constructor(readonly guard: StoreGuard, readonly target: string = "Redis") {}

  /** The deadlines of the round trips under way, per clock they were started on. */
  private readonly deadlines = new WeakMap<Clock.Clock, Deadlines>()

  /**
   * `command` bounded by `timeout` ms of `clock`, interruptible where the
   * caller is. An Effect races a timer (two fibers); a Promise (`DirectSend`) is awaited
   * by the caller's fiber, its bound one entry in the clock's `Deadlines`: no
   * fiber per round trip.
   */
  private within<A, E>(
    clock: Clock.Clock,
    command: Effect.Effect<A, E> | (() => Promise<A>),
    timeout: number
  ): Effect.Effect<A, E | typeof timedOut> {
    if (typeof command !== "function") {
      return Effect.timeoutOrElse(Effect.interruptible(command), {
        duration: Duration.millis(timeout),
        orElse: () => Effect.fail<E | typeof timedOut>(timedOut)
      })
    }
    let add = timer
    if (clock !== live()) {
      let deadlines = this.deadlines.get(clock)
      if (deadlines === undefined) this.deadlines.set(clock, deadlines = new Deadlines(clock))
      const bound = deadlines
      add = (at, fire) => bound.add(at, fire)
    }
    // interruptible as the caller is: a round trip that must report (a probe's outcome, run
    // uninterruptibly) is not cut short by the caller's interruption
    return Effect.callback<A, E | typeof timedOut>((resume) => {
      let done = false
      const cancel = add(clock.currentTimeMillisUnsafe() + timeout, () => {
        if (done) return
        done = true
        resume(Effect.fail(timedOut))
      })
      let reply: Promise<A>
      try {
        reply = command()
      } catch (error) {
        reply = Promise.reject(error)
      }
      reply.then(
        (value) => {
          if (done) return
          done = true
          cancel()
          resume(Effect.succeed(value))
        },
        (error: E) => {
          if (done) return
          done = true
          cancel()
          resume(Effect.fail(error))
        }
      )
      // the caller gave up: the reply, when it comes, is dropped
      return Effect.sync(() => {
        if (done) return
        done = true
        cancel()
      })
    })
  }

  /** The warning that starts an episode. */
  private started(problem: string, reason: string): Effect.Effect<void> {
    return Effect.logWarning(episodeStarted(this.target, problem, reason))
  }

  /** The line that ends an episode that started at `since`. */
  private ended(since: number, now: number): Effect.Effect<void> {
    return Effect.logInfo(episodeEnded(this.target, since, now))
  }

  /**
   * One round trip: refused at once when the guard says so (`"checked"`),
   * interruptible (callers run it inside uninterruptible regions), bounded by
   * `options.timeout`, its failure as a `CircuitStoreError`; transport
   * failures count against the store's breaker, anything else (an error about
   * one circuit's data) does not. `"BadTime"` is a `TIME` reply that is not
   * a time (`ServerClock.measure`).
   */
  run<A>(
    command: Effect.Effect<A, RedisClientError | "BadTime"> | (() => Promise<A>),
    options: RoundTripOptions
  ): Effect.Effect<A, CircuitStoreError> {
    const { guard, timeout, what } = options
    return Effect.clockWith((clock) => {
      if (guard === "checked") {
        const refused = this.guard.check(clock.currentTimeMillisUnsafe())
        if (refused !== undefined) return Effect.fail(refused)
      }
      let transport = false
      let problem = ""
      const bounded = Effect.mapError(this.within(clock, command, timeout), (error) => {
        if (error === timedOut) {
          transport = true
          problem = timedOutProblem
          return new CircuitStoreError({ reason: timedOutReason(timeout) })
        }
        if (error === "BadTime") return new CircuitStoreError({ reason: unexpectedReplyReason(what) })
        transport = isTransport(error)
        problem = problemOf(error)
        return storeError(error)
      })
      if (guard === "bypass") return bounded
      const answered = () => {
        const since = this.guard.success()
        return since === undefined ? Effect.void : this.ended(since, clock.currentTimeMillisUnsafe())
      }
      return bounded.pipe(
        Effect.tapError((error) =>
          Effect.suspend(() => {
            if (!transport) return answered()
            const started = this.guard.failure(
              clock.currentTimeMillisUnsafe(),
              error.reason,
              problem !== timedOutProblem
            )
            return started ? this.started(problem, error.reason) : Effect.void
          })
        ),
        Effect.tap(answered)
      )
    })
  }
}
