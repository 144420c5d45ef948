/**
 * What to run when the CLI's optional peer is missing: the version of
 * `@effect/cli` that works with effect 3 (its `latest` may be for another
 * effect major). The README shows the same lines, and the consumer matrix
 * runs them as written.
 *
 * @internal
 */

/**
 * The CLI's peers, as npm install specifiers (`@effect/cli` brings its own
 * peers, `@effect/platform` among them).
 *
 * @internal
 */
export const peers = ["@effect/cli@^0.77"] as const

/**
 * In a project that has the package: the line that adds the CLI's peers.
 *
 * @internal
 */
export const installLine = `npm install -D ${peers.join(" ")}`

/**
 * Without a project (`npx` of the package alone): the line that runs the CLI
 * with its peers and a Redis client.
 *
 * @internal
 */
export const npxLine = `npx ${
  ["effect-circuit-breaker-redis@0", ...peers, "ioredis"].map((p) => `-p ${p}`).join(" ")
} effect-circuit-breaker`

/**
 * The message for a missing peer: the `npx` line when the CLI runs from
 * npx's cache (`…/_npx/…`), else the install line.
 *
 * @internal
 */
export const missingPeers = (script: string | undefined): string =>
  "effect-circuit-breaker: the CLI needs the package @effect/cli (its version for effect 3): " +
  (script !== undefined && /[\\/]_npx[\\/]/.test(script)
    ? `run it with them: ${npxLine} --help`
    : installLine)
