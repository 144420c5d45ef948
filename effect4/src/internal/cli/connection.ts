/**
 * The CLI's connection to the fleet's store: where it is (`--redis-url`, else
 * `UPSTASH_REDIS_REST_URL` + `UPSTASH_REDIS_REST_TOKEN`, else `REDIS_URL`),
 * the layers on it (client, Redis store, registry, monitoring), and a first
 * round trip that turns a wrong URL, wrong credentials or an unreachable
 * Redis into a clear `CliError` within `--timeout`. No secret is ever
 * printed: URLs are shown without their password, tokens never.
 *
 * @internal
 */
import * as Flag from "effect/cli/Flag"
import * as Config from "effect/Config"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type { CircuitBreakerMonitoring } from "../../CircuitBreakerMonitoring.js"
import { layer as monitoringLayer } from "../../CircuitBreakerMonitoring.js"
import type { CircuitBreakers } from "../../CircuitBreakers.js"
import { layer as registryLayer } from "../../CircuitBreakers.js"
import type { CircuitStore } from "../../CircuitStore.js"
import { layer as redisStoreLayer } from "../../RedisCircuitStore.js"
import { RedisClient } from "../../RedisClient.js"
import * as ioredis from "../redis/ioredisClient.js"
import * as optionalPeer from "../redis/optionalPeer.js"
import type { RedisClientError } from "../redis/errors.js"
import * as upstash from "../redis/upstashClient.js"
import {
  describeClientError as describe,
  descriptions,
  showHttpUrl,
  showRedisUrl
} from "../../../../shared/cli/commands.js"

/**
 * A failure the CLI reports on stderr (`message`, never a secret) and
 * answers with `exitCode`.
 *
 * @internal
 */
export class CliError extends Schema.TaggedError<CliError>("effect-circuit-breaker-redis/CliError")("CliError", {
  message: Schema.String,
  exitCode: Schema.Number
}) {}

/**
 * The connection options every command takes.
 *
 * @internal
 */
export const connectionOptions = {
  redisUrl: Flag.Redacted("redis-url").pipe(
    Flag.withDescription(descriptions.redisUrl),
    Flag.optional
  ),
  prefix: Flag.String("prefix").pipe(
    Flag.withDescription(descriptions.prefix),
    Flag.withDefault("cb")
  ),
  timeout: Flag.Int("timeout").pipe(
    Flag.withDescription(descriptions.timeout),
    Flag.withDefault(5_000)
  )
} as const

/**
 * The parsed connection options.
 *
 * @internal
 */
export interface Connection {
  readonly redisUrl: Option.Option<Redacted.Redacted<string>>
  readonly prefix: string
  readonly timeout: number
}

/** Where the store is. */
type Target =
  | { readonly _tag: "redis"; readonly url: Redacted.Redacted<string>; readonly shown: string; readonly from: string }
  | {
    readonly _tag: "upstash"
    readonly url: string
    readonly token: Redacted.Redacted<string>
    readonly shown: string
  }

const usage = (message: string) => new CliError({ message, exitCode: 2 })

const resolveTarget = (connection: Connection): Effect.Effect<Target, CliError> =>
  Effect.gen(function*() {
    const env = yield* Effect.all({
      upstashUrl: Config.option(Config.NonEmptyString("UPSTASH_REDIS_REST_URL")),
      upstashToken: Config.option(Config.Redacted("UPSTASH_REDIS_REST_TOKEN")),
      redisUrl: Config.option(Config.Redacted("REDIS_URL"))
    }).pipe(
      Effect.orElseSucceed(() => ({ upstashUrl: Option.none(), upstashToken: Option.none(), redisUrl: Option.none() }))
    )
    const redis = (url: Redacted.Redacted<string>, from: string) => {
      const shown = showRedisUrl(Redacted.value(url))
      return shown === undefined
        ? Effect.fail(usage(`${from} is not a Redis URL: expected redis://[:password@]host:port[/db] or rediss://…`))
        : Effect.succeed<Target>({ _tag: "redis", url, shown, from })
    }
    if (Option.isSome(connection.redisUrl)) return yield* redis(connection.redisUrl.value, "--redis-url")
    if (Option.isSome(env.upstashUrl) || Option.isSome(env.upstashToken)) {
      if (Option.isNone(env.upstashUrl) || Option.isNone(env.upstashToken)) {
        return yield* usage("set both UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN (only one is set)")
      }
      const shown = showHttpUrl(env.upstashUrl.value)
      if (shown === undefined) {
        return yield* usage("UPSTASH_REDIS_REST_URL is not an http(s) URL, e.g. https://eu1-fine-fox-12345.upstash.io")
      }
      return { _tag: "upstash", url: env.upstashUrl.value, token: env.upstashToken.value, shown } as const
    }
    if (Option.isSome(env.redisUrl)) return yield* redis(env.redisUrl.value, "REDIS_URL")
    return yield* usage(
      "no store to connect to: pass --redis-url, or set REDIS_URL, or UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN"
    )
  })

/** The client of `target`, its errors told as the CLI tells them. */
const clientLayer = (target: Target, timeout: number): Layer.Layer<RedisClient, CliError> =>
  Layer.effect(
    RedisClient,
    (target._tag === "redis"
      ? Effect.flatMap(
        optionalPeer.load<ioredis.IORedisModule>("ioredis", target.from),
        (module) => ioredis.make(module, { url: target.url, commandTimeout: timeout })
      )
      : Effect.flatMap(
        optionalPeer.load<{ Redis: upstash.UpstashConstructor }>("@upstash/redis", "UPSTASH_REDIS_REST_URL"),
        (module) => upstash.make(module.Redis, { url: target.url, token: target.token, requestTimeout: timeout })
      )).pipe(
        Effect.mapError((error) =>
          error._tag === "CircuitConfigError"
            ? new CliError({ message: error.issues.join("; "), exitCode: 2 })
            : describeClientError(error, target.shown)
        )
      )
  )

const describeClientError = (error: RedisClientError, shown: string): CliError =>
  new CliError({ message: describe(error.kind, error.reason, shown), exitCode: 2 })

/**
 * What the commands run on.
 *
 * @internal
 */
export type Services = CircuitStore | CircuitBreakers | CircuitBreakerMonitoring

/**
 * Runs `use` on the store the options name, after one `PING` has shown that
 * it answers (within `timeout`). Also gives where it connected, for display.
 *
 * @internal
 */
export const withStore = <A, E, R>(
  connection: Connection,
  use: (where: string) => Effect.Effect<A, E, R | Services>
): Effect.Effect<A, E | CliError, Exclude<R, Services>> =>
  Effect.gen(function*() {
    if (!Number.isInteger(connection.timeout) || connection.timeout <= 0) {
      return yield* usage(`--timeout must be a positive number of milliseconds (got ${connection.timeout})`)
    }
    if (connection.prefix.length === 0) return yield* usage("--prefix must not be empty")
    const target = yield* resolveTarget(connection)
    const bound = Duration.millis(connection.timeout)
    const timedOut = new CliError({
      message: `${target.shown} did not answer within ${connection.timeout} ms`,
      exitCode: 2
    })
    const client = clientLayer(target, connection.timeout)
    const ping = Layer.effectDiscard(
      RedisClient.use((redis) => redis.send(["PING"])).pipe(
        Effect.mapError((error) => describeClientError(error, target.shown)),
        Effect.timeoutOrElse({ duration: bound, orElse: () => Effect.fail(timedOut) })
      )
    )
    const services = monitoringLayer().pipe(
      Layer.provideMerge(registryLayer()),
      Layer.provideMerge(redisStoreLayer({ prefix: connection.prefix })),
      Layer.provide(ping.pipe(Layer.provideMerge(client)))
    )
    return yield* Effect.scoped(
      Effect.flatMap(
        Layer.build(services).pipe(
          Effect.mapError((error) =>
            error._tag === "CircuitConfigError" ? new CliError({ message: error.message, exitCode: 2 }) : error
          ),
          // the first connection is bounded too: a host that swallows packets never answers
          Effect.timeoutOrElse({ duration: Duration.times(bound, 2), orElse: () => Effect.fail(timedOut) })
        ),
        (context) => Effect.provideContext(use(target.shown), context)
      )
    )
  })
