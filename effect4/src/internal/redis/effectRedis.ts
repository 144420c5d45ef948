/**
 * The `RedisClient` over Effect 4's own Redis service
 * (`effect/persistence/Redis`, e.g. `@effect/platform-node`'s `NodeRedis`):
 * commands through its `send`, transition notifications through its
 * `subscribe`. Scripts go by `EVALSHA`/`EVAL` over `send` (`runScript`), as
 * for every client, not through the service's `eval`.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Redis from "effect/persistence/Redis"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import type { EffectRedisOptions, RedisClient, SubscriptionListener } from "../../RedisClient.js"
import { classify, connectionProblem } from "./errors.js"

/** How long a lost subscription waits before it subscribes again. */
const RESUBSCRIBE_AFTER = Duration.seconds(1)

/** The failure a `RedisError` stands for: its cause (node-redis's error), else itself. */
const causeOf = (error: Redis.RedisError): unknown => error.cause ?? error

/**
 * `RedisClient`'s `subscribe` over the service's: a subscription for as long
 * as the scope lasts; live once the service subscribed, lost when its queue
 * fails (the service gave up on the connection), then made again.
 */
const subscriber =
  (redis: Redis.Redis["Service"], secrets: ReadonlyArray<string>) =>
  (channel: string, listener: SubscriptionListener): Effect.Effect<void, never, Scope.Scope> => {
    const once: Effect.Effect<void> = Effect.scoped(Effect.gen(function*() {
      const queue = yield* redis.subscribe(channel)
      if (queue.state._tag !== "Done") listener.status(true)
      const failure = yield* Effect.flip(
        Effect.forever(Effect.flatMap(Queue.takeAll(queue), (messages) =>
          Effect.sync(() => {
            for (const { channel: from, message } of messages) {
              if (from === channel && typeof message === "string") listener.message(message)
            }
          })))
      )
      listener.status(false, `subscription failed: ${classify(causeOf(failure), secrets).reason}`)
    }))
    return Effect.asVoid(Effect.forkScoped(Effect.forever(Effect.andThen(
      Effect.catchCause(
        once,
        (cause) =>
          Cause.hasInterruptsOnly(cause) ?
            Effect.failCause(cause) :
            Effect.sync(() => listener.status(false, connectionProblem(Cause.squash(cause))))
      ),
      Effect.sleep(RESUBSCRIBE_AFTER)
    ))))
  }

/**
 * A `RedisClient` over the `effect/persistence/Redis` service.
 *
 * @internal
 */
export const fromEffectRedis = (
  redis: Redis.Redis["Service"],
  options: EffectRedisOptions = {}
): RedisClient["Service"] => {
  const secrets = options.secrets ?? []
  return {
    description: options.description ?? "effect/persistence/Redis",
    send: (command) =>
      Effect.mapError(redis.send(command[0]!, ...command.slice(1)), (error) => classify(causeOf(error), secrets)),
    subscribe: subscriber(redis, secrets),
    ...(options.cluster !== undefined ? { cluster: options.cluster } : {})
  }
}
