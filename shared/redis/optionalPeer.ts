/**
 * Loads an optional peer dependency (a Redis client package) at run time,
 * for the clients chosen from the environment. The specifier is not a string
 * literal and carries the bundlers' ignore hints, so that no bundler pulls a
 * client into a bundle that never asked for it: an Upstash-only Worker must
 * not carry ioredis (and its Node built-ins). Code that names its client
 * imports its entry point (`/upstash`, `/ioredis`) instead, which bundlers
 * follow. See ARCHITECTURE.md, "Entry points and the build". Each edition turns a failed
 * load into its `CircuitConfigError` (its `internal/redis/optionalPeer.ts`).
 *
 * @internal
 */

/** @internal */
export type OptionalPeer = "@upstash/redis" | "ioredis"

const entryPoints: Record<OptionalPeer, string> = {
  "@upstash/redis": "UpstashClient.layerConfig() from \"effect-circuit-breaker-redis/upstash\"",
  "ioredis": "IORedisClient.layerConfig() from \"effect-circuit-breaker-redis/ioredis\""
}

/** The package's module, loaded where bundlers do not look. @internal */
export const importAtRunTime = (specifier: string): Promise<unknown> =>
  import(/* webpackIgnore: true */ /* turbopackIgnore: true */ /* @vite-ignore */ specifier)

const isMissing = (cause: unknown, specifier: string): boolean => {
  const code = (cause as { code?: unknown } | null)?.code
  const message = cause instanceof Error ? cause.message : String(cause)
  return code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND" ||
    (message.includes(specifier) && /cannot find|not found|could not resolve|no such module/i.test(message))
}

/**
 * Why `specifier`, asked for by the variable `wantedBy`, could not be loaded:
 * the package to install, or the loader's reason, and the entry point to name
 * instead in a bundled app.
 *
 * @internal
 */
export const loadProblem = (specifier: OptionalPeer, wantedBy: string, cause: unknown): string =>
  (isMissing(cause, specifier)
    ? `${wantedBy} is set, but the package "${specifier}" is not installed (or the deployment did not copy it): ` +
      `run \`npm install ${specifier}\``
    : `${wantedBy} is set, but the package "${specifier}" could not be loaded (${
      cause instanceof Error ? cause.message.slice(0, 200) : String(cause).slice(0, 200)
    })`) +
  ` (in a bundled app, such as a Worker, an Edge function or a Next.js build with traced output, ` +
  `name the client instead: ${entryPoints[specifier]}, with RedisCircuitStore.layer())`
