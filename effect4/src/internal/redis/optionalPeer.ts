/**
 * Loads an optional peer dependency (a Redis client package) at run time,
 * for the clients chosen from the environment. The specifier is not a string
 * literal and carries the bundlers' ignore hints, so that no bundler pulls a
 * client into a bundle that never asked for it: an Upstash-only Worker must
 * not carry ioredis (and its Node built-ins). Code that names its client
 * imports its entry point (`/upstash`, `/ioredis`) instead, which bundlers
 * follow. See ARCHITECTURE.md, "Entry points".
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import { CircuitConfigError } from "../../CircuitConfig.js"

/** @internal */
export type OptionalPeer = "@upstash/redis" | "ioredis"

const entryPoints: Record<OptionalPeer, string> = {
  "@upstash/redis": "UpstashClient.layerConfig() from \"effect-circuit-breaker-redis/upstash\"",
  "ioredis": "IORedisClient.layerConfig() from \"effect-circuit-breaker-redis/ioredis\""
}

const importAtRunTime = (specifier: string): Promise<unknown> =>
  import(/* webpackIgnore: true */ /* turbopackIgnore: true */ /* @vite-ignore */ specifier)

const isMissing = (cause: unknown, specifier: string): boolean => {
  const code = (cause as { code?: unknown } | null)?.code
  const message = cause instanceof Error ? cause.message : String(cause)
  return code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND" ||
    (message.includes(specifier) && /cannot find|not found|could not resolve|no such module/i.test(message))
}

/**
 * The package's module, or a `CircuitConfigError` that names the package to
 * install and the variable that asked for it.
 *
 * @internal
 */
export const load = <A>(
  specifier: OptionalPeer,
  wantedBy: string
): Effect.Effect<A, CircuitConfigError> =>
  Effect.tryPromise({
    try: () => importAtRunTime(specifier) as Promise<A>,
    catch: (cause) =>
      new CircuitConfigError({
        service: "RedisCircuitStore",
        issues: [
          (isMissing(cause, specifier)
            ? `${wantedBy} is set, but the package "${specifier}" is not installed (or the deployment did not copy it): ` +
              `run \`npm install ${specifier}\``
            : `${wantedBy} is set, but the package "${specifier}" could not be loaded (${
              cause instanceof Error ? cause.message.slice(0, 200) : String(cause).slice(0, 200)
            })`) +
          ` (in a bundled app, such as a Worker, an Edge function or a Next.js build with traced output, ` +
          `name the client instead: ${entryPoints[specifier]}, with RedisCircuitStore.layer())`
        ]
      })
  })
