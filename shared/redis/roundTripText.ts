/**
 * The texts of a round trip's failure and of an episode of Redis being
 * unavailable: the reason of a round trip that timed out or got a reply that
 * is not what it should be, and the lines that start and end an episode.
 * Shared by both editions' round trips.
 *
 * @internal
 */

/**
 * The problem of a round trip that got no reply within its bound (the
 * episode's first line names it; such a failure is not a connection's).
 *
 * @internal
 */
export const timedOutProblem = "timed out"

/**
 * The reason of a round trip that got no reply within `timeout` ms.
 *
 * @internal
 */
export const timedOutReason = (timeout: number): string => `no reply from Redis within storeTimeout (${timeout} ms)`

/**
 * The reason of a reply to `what` ("script", "TIME", ...) that is not what it should be.
 *
 * @internal
 */
export const unexpectedReplyReason = (what: string): string => `unexpected reply to ${what}`

/**
 * The warning that starts an episode of Redis at `target` being unavailable.
 *
 * @internal
 */
export const episodeStarted = (target: string, problem: string, reason: string): string =>
  `circuit breaker store: Redis at ${target}: ${problem}; circuits follow their onStoreUnavailable ` +
  `policy until it answers (${reason})`

/**
 * The line that ends an episode that started at `since`, at `now`.
 *
 * @internal
 */
export const episodeEnded = (target: string, since: number, now: number): string => {
  const seconds = Math.max(0, now - since) / 1000
  return `circuit breaker store: Redis at ${target} answers again after ${
    seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)
  } s; circuits use it again`
}
