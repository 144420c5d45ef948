/**
 * A Redis client's failure as this edition reports it: a `RedisClientError`
 * with the kind and scrubbed reason of shared/redis/errorText.ts. Shared by
 * every `RedisClient`.
 *
 * @internal
 */
import * as Schema from "effect/Schema"
import { classifyText } from "../../../../shared/redis/errorText.js"

/** @internal */
export { connectionProblem, problemOf, scrub } from "../../../../shared/redis/errorText.js"

/**
 * A command failed. `kind` tells what went wrong; `reason` is safe to log.
 * Re-exported by `RedisClient.ts`.
 *
 * @internal
 */
export class RedisClientError
  extends Schema.TaggedError<RedisClientError>("effect-circuit-breaker-redis/RedisClientError")(
    "RedisClientError",
    {
      kind: Schema.Literals(["NoScript", "Auth", "Connection", "Timeout", "Reply", "Command"]),
      reason: Schema.String
    }
  )
{
  override get message(): string {
    return `Redis ${this.kind} error: ${this.reason}`
  }
}

/**
 * A client failure as a `RedisClientError` (`classifyText`: its kind from the
 * message, the reason scrubbed of `secrets` and cut to 300 characters).
 *
 * @internal
 */
export const classify = (cause: unknown, secrets: ReadonlyArray<string>): RedisClientError =>
  new RedisClientError(classifyText(cause, secrets))
