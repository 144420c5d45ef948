/**
 * What the Redis clients of both editions tell from the values they are
 * given, Effect-free: an Upstash REST URL's check and whether it is
 * Upstash's own service, a `TIME` reply, a user's client's host, and what
 * `@upstash/redis`'s deserialization did to a registry member.
 *
 * @internal
 */

/**
 * Checks an Upstash REST URL: `http:` or `https:` with a host. The problem
 * (undefined: none) names `field`.
 *
 * @internal
 */
export const restUrlIssue = (url: unknown, field: string): string | undefined => {
  const refuse = (got: string) =>
    `${field} must be the REST URL of the database, e.g. https://eu1-fine-fox-12345.upstash.io (got ${got})`
  if (typeof url !== "string") return refuse(typeof url)
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return refuse(url.trim() === "" ? "an empty value" : "a value that is not a URL")
  }
  if ((parsed.protocol !== "https:" && parsed.protocol !== "http:") || parsed.hostname === "") {
    return refuse(JSON.stringify(`${parsed.protocol}//${parsed.host}`))
  }
  return undefined
}

/**
 * Whether `url` is Upstash's own service (`*.upstash.io`), where scripts may
 * be flagged `allow-key-locking`, rather than a REST proxy in front of Redis.
 *
 * @internal
 */
export const isUpstashHost = (url: string | undefined): boolean => {
  if (url === undefined) return false
  try {
    return /(^|\.)upstash\.io$/i.test(new URL(url).hostname)
  } catch {
    return false
  }
}

/**
 * A reply to `TIME` (`[seconds, microseconds]`) in epoch milliseconds, or
 * `undefined` for a reply that is not a time.
 *
 * @internal
 */
export const parseTime = (reply: unknown): number | undefined => {
  if (!Array.isArray(reply) || reply.length !== 2) return undefined
  const seconds = Number(reply[0])
  const micros = Number(reply[1])
  if (!Number.isInteger(seconds) || !Number.isInteger(micros) || seconds <= 0 || micros < 0 || micros >= 1e6) {
    return undefined
  }
  return seconds * 1000 + micros / 1000
}

/**
 * The host of `url` (for a description), `?` when it has none.
 *
 * @internal
 */
export const hostOf = (url: string | undefined): string => {
  if (url === undefined) return "?"
  try {
    return new URL(url).host
  } catch {
    return "?"
  }
}

/**
 * What `@upstash/redis`'s automatic deserialization did to a member of
 * `ZRANGE` or `ZSCAN` (the circuit registry), undone where it can be:
 * numbers, booleans and null print back as they were; objects as compact
 * JSON.
 *
 * @internal
 */
export const undeserialized = (u: unknown): unknown =>
  typeof u === "string" ? u : u === null || typeof u !== "object" ? String(u) : JSON.stringify(u)
