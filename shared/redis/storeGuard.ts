/**
 * The Redis store's own breaker (`StoreGuard`), and which failed commands
 * count against it (`isTransport`): Effect-free, shared by both editions.
 * See ARCHITECTURE.md, "The admit step and the round-trip budget".
 *
 * @internal
 */
import type { RedisErrorText } from "./errorText.js"

/**
 * The store's own breaker, shared by every circuit of one store: after
 * `threshold` consecutive failed round trips it stops calling Redis for
 * `cooldown` ms (calls then cost nothing and the breakers follow their
 * `onStoreUnavailable` policy), then lets one trial round trip through.
 *
 * @internal
 */
export class StoreGuard<E> {
  private failures = 0
  private openUntil = 0
  private trial = false
  private lastReason = ""
  /** When the round trips started failing (an episode), if they are failing now; and whether it was told. */
  private failingSince: number | undefined = undefined
  private told = false
  /** `refused` makes the error of a refused round trip (the edition's store error) from its reason. */
  constructor(
    readonly threshold: number,
    readonly cooldown: number,
    private readonly refused: (reason: string) => E
  ) {}

  /** One error per cool-down: during an outage every call is refused, and allocates nothing. */
  private refusal: E | undefined = undefined

  /** Undefined when a round trip may be made now; otherwise why not. */
  check(now: number): E | undefined {
    if (this.failures < this.threshold) return undefined
    if (now >= this.openUntil && !this.trial) {
      this.trial = true
      return undefined
    }
    return this.refusal ?? (this.refusal = this.refused(
      `Redis unavailable (${this.failures} round trips failed in a row; last: ${this.lastReason}); ` +
        `store calls paused for ${this.cooldown} ms`
    ))
  }

  /**
   * A round trip was answered (or failed on one circuit's data); when it
   * ends an episode of failures that was told, the time that episode started.
   */
  success(): number | undefined {
    this.failures = 0
    this.trial = false
    const since = this.told ? this.failingSince : undefined
    this.failingSince = undefined
    this.told = false
    return since
  }

  /**
   * A round trip failed; `now` is when it failed (the cool-down starts then).
   * True when this failure is the one to tell: the first of an episode when
   * it is `definite` (Redis refused the credentials or the connection, or
   * its host is unknown), else the one that pauses the store (a timeout may
   * be a moment's congestion).
   */
  failure(now: number, reason: string, definite: boolean): boolean {
    this.failures++
    this.trial = false
    this.lastReason = reason
    this.refusal = undefined
    if (this.failures >= this.threshold) this.openUntil = now + this.cooldown
    if (this.failingSince === undefined) this.failingSince = now
    if (this.told || (!definite && this.failures < this.threshold)) return false
    this.told = true
    return true
  }
}

/** Redis errors that say Redis cannot be used now, as opposed to one circuit's data being wrong. */
const unavailableReply = /^(BUSY|LOADING|MASTERDOWN|READONLY|CLUSTERDOWN|TRYAGAIN|NOREPLICAS|MISCONF)\b/

/**
 * Whether a failed command counts against the store's own breaker: only
 * transport failures (connection, timeout, authentication, an unreadable
 * reply) and a server that cannot serve do. An error about one circuit's
 * data (a script error) fails that call alone.
 */
export const isTransport = (error: RedisErrorText): boolean =>
  error.kind === "Connection" || error.kind === "Timeout" || error.kind === "Auth" || error.kind === "Reply" ||
  (error.kind === "Command" && unavailableReply.test(error.reason))
