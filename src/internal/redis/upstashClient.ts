/**
 * The `RedisClient` over `@upstash/redis`, written against the shape of its
 * `Redis` class rather than an import of it, so that the core can build it
 * from a module loaded at run time (`RedisCircuitStore.layerFromEnv`) and the
 * `/upstash` entry point from its static import.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { CircuitConfigError } from "../../CircuitConfig.js"
// modules that effect 4 does not have, read through the barrel (see internal/effect3.ts)
import * as Effect3 from "effect"
import type { RedisClient } from "../../RedisClient.js"
import type { Options } from "../../UpstashClient.js"
import { classify, type RedisClientError } from "./errors.js"
import { withDirectSend } from "./runScript.js"
import { isUpstashHost, restUrlIssue } from "../../../shared/redis/clientValues.js"
import * as upstash from "../../../shared/redis/upstash.js"

/**
 * The part of `@upstash/redis`'s `Redis` class this client uses.
 *
 * @internal
 */
export interface UpstashConstructor {
  new(config: {
    readonly url: string
    readonly token: string
    readonly automaticDeserialization: boolean
    readonly enableAutoPipelining: boolean
    readonly enableTelemetry: boolean
    readonly readYourWrites: boolean
    readonly retry: { readonly retries: number }
    readonly signal: () => AbortSignal
  }): { exec: (command: [string, ...Array<string>]) => Promise<unknown> }
}

/** The HTTP client inside a `Redis` (not in its public types; `/pipeline` answers each command apart). */
interface Requester {
  readonly request: (req: { readonly path: ReadonlyArray<string>; readonly body: unknown }) => Promise<unknown>
}

/**
 * Checks an Upstash REST URL (`restUrlIssue`): a problem is a
 * `CircuitConfigError` naming `field`.
 *
 * @internal
 */
export const checkRestUrl = (url: unknown, field: string): CircuitConfigError | undefined => {
  const issue = restUrlIssue(url, field)
  return issue === undefined ? undefined : new CircuitConfigError({ service: "UpstashClient", issues: [issue] })
}

/**
 * A client with automatic deserialization, client retries and
 * auto-pipelining off (the breaker decides what a failure means). A `url`
 * that is not an http(s) URL fails with a `CircuitConfigError` naming
 * `field` (default `"url"`).
 *
 * @internal
 */
export const make = (
  Upstash: UpstashConstructor,
  options: Options,
  field: string = "url"
): Effect.Effect<RedisClient["Type"], RedisClientError | CircuitConfigError> => {
  const bad = checkRestUrl(options.url, field)
  return bad !== undefined ? Effect.fail(bad) : Effect.try({
    try: () => {
      const timeout = options.requestTimeout ?? 5_000
      const token = Redacted.value(options.token)
      const redis = new Upstash({
        url: options.url,
        token,
        ...upstash.clientSettings,
        signal: () => AbortSignal.timeout(timeout)
      })
      const secrets = [token]
      const requester = (redis as unknown as { readonly client?: Requester }).client
      const client: RedisClient["Type"] = {
        description: upstash.descriptionOf(options.url),
        // Upstash locks only a script's KEYS when its shebang asks (every key the circuit script touches is
        // one); a REST proxy in front of Redis refuses the flag
        allowKeyLocking: options.allowKeyLocking ?? isUpstashHost(options.url),
        send: (command) =>
          Effect.tryPromise({
            try: () => redis.exec(command as [string, ...Array<string>]),
            catch: (cause) => classify(cause, secrets)
          }),
        pipeline: typeof requester?.request !== "function"
          ? undefined
          : pipelineOver((commands) => requester.request({ path: ["pipeline"], body: commands }), secrets)
      }
      return withDirectSend(client, (command) => {
        try {
          return redis.exec(command as [string, ...Array<string>]).catch((cause: unknown) => {
            throw classify(cause, secrets)
          })
        } catch (cause) {
          return Promise.reject(classify(cause, secrets))
        }
      })
    },
    catch: (cause) => classify(cause, [Redacted.value(options.token)])
  })
}

/**
 * A pipeline over an Upstash HTTP client's `/pipeline` (`request` sends the
 * commands there, with the signal that aborts it): one request, each command
 * answered by its result or its own error. For this package's client and a
 * user's own (`RedisClient.fromClient`).
 *
 * @internal
 */
export const pipelineOver = (
  request: (commands: ReadonlyArray<ReadonlyArray<string>>, signal: AbortSignal) => Promise<unknown>,
  secrets: ReadonlyArray<string>
): NonNullable<RedisClient["Type"]["pipeline"]> =>
(commands) =>
  Effect.tryPromise({
    try: (signal) => request(commands, signal),
    catch: (cause) => classify(cause, secrets)
  }).pipe(
    Effect.flatMap((replies) => {
      const entries = upstash.pipelineEntries(replies, commands.length)
      return entries !== undefined
        ? Effect.succeed(entries.map((entry) =>
          entry.ok ? Effect3.Either.right(entry.result) : Effect3.Either.left(classify(new Error(entry.error), secrets))
        ))
        : Effect.fail(classify(new Error(upstash.notAPipelineReply), secrets))
    })
  )

/** @internal */
export { isUpstashHost } from "../../../shared/redis/clientValues.js"
