/**
 * How an instance hears of transitions made elsewhere (ARCHITECTURE.md,
 * "Transitions reach the fleet"): `lua/circuit.lua` publishes every
 * transition it writes on `<prefix>:transitions` as
 * `"<version> <state> <state key>"` (shared/redis/transitions.ts); the store subscribes to that channel
 * through its client (`RedisClient`'s `subscribe`: one connection of its own,
 * opened when the first circuit is made, closed with the store) and drops the
 * cached state of a circuit it uses when a message names a state it does not
 * hold, so that the next call asks Redis.
 *
 * Anyone who can write to Redis can publish on the channel: a message is
 * bounded, parsed strictly, and can at most cost one extra round trip of one
 * circuit (the next call reads what Redis holds), never set a state.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type { NotificationStatus } from "../../CircuitStore.js"
import type { RedisClient } from "../../RedisClient.js"
import type { Entry } from "./circuitCache.js"
import { channelOf, parseMessage } from "../../../../shared/redis/transitions.js"

/** @internal */
export { channelOf, maxMessageLength, parseMessage } from "../../../../shared/redis/transitions.js"

/**
 * The transition notifications of one store.
 *
 * @internal
 */
export class Notifications {
  /**
   * `undefined`: none (the client cannot subscribe, the store's
   * `notifications` option is off, or no circuit was made yet).
   */
  status: NotificationStatus | undefined = undefined
  private started = false
  constructor(
    private readonly client: RedisClient["Service"],
    private readonly prefix: string,
    private readonly entries: ReadonlyMap<string, Entry>,
    private readonly enabled: boolean
  ) {}

  /**
   * Whether cached states may be trusted for `stateCacheTtl` in full: a
   * transition made elsewhere would drop them. Also while the first
   * subscription is on its way (milliseconds after the first circuit is
   * made: a transition published before it is live reaches the instance
   * within `stateCacheTtl`); after a loss, every cached state is dropped
   * once the subscription is back.
   */
  get live(): boolean {
    return this.status === "connecting" || this.status === "connected"
  }

  /** Subscribes, once, in the background (`fork`: in the store's scope). */
  start(fork: (effect: Effect.Effect<void>) => Effect.Effect<void>): Effect.Effect<void> {
    const subscribe = this.client.subscribe
    if (this.started || !this.enabled || subscribe === undefined) return Effect.void
    this.started = true
    this.status = "connecting"
    return fork(Effect.flatMap(Effect.context<never>(), (context) => {
      const log = Effect.runForkWith(context)
      const channel = channelOf(this.prefix)
      return Effect.scoped(Effect.andThen(
        subscribe(channel, {
          message: (message) => this.heard(message),
          status: (live, reason) => {
            const before = this.status
            if (live) {
              if (before === "connected") return
              this.status = "connected"
              if (before === "lost") {
                // transitions published while the subscription was down were missed
                this.dropAll()
                log(Effect.logInfo(`circuit breaker: transition notifications of ${this.client.description} are back`))
              }
            } else if (before !== "lost") {
              this.status = "lost"
              log(Effect.logWarning(
                `circuit breaker: lost the transition notifications of ${this.client.description} ` +
                  `(${reason ?? "not connected"}); transitions made by other instances reach this one ` +
                  "when its cached state expires (stateCacheTtl) until they are back"
              ))
            }
          }
        }),
        // held until the store closes; unlike `Effect.never`, no timer keeps the process alive
        Effect.callback<void>(() => {})
      ))
    }))
  }

  /** A message: the circuit it names is asked again, unless this instance already holds that state. */
  private heard(message: string): void {
    const parsed = parseMessage(this.prefix, message)
    if (parsed === undefined) return
    const entry = this.entries.get(parsed.name)
    if (entry === undefined) return
    const s = entry.snapshot
    if (s !== undefined && s.version === parsed.version && s.state === parsed.state) return
    entry.drop(parsed.version)
  }

  private dropAll(): void {
    for (const entry of this.entries.values()) entry.drop(Infinity)
  }
}
