/**
 * The Effect-free parts of the `RedisClient` over `@upstash/redis`: the
 * check of a REST URL, whether a URL is Upstash's own service, the client's
 * description, and the replies of `/pipeline`. Each edition builds its client
 * from them (its `internal/redis/upstashClient.ts`).
 *
 * @internal
 */

declare const URL: new(url: string) => { readonly protocol: string; readonly host: string; readonly hostname: string }

/**
 * What is wrong with an Upstash REST URL (`http:` or `https:` with a host),
 * naming `field`, or `undefined` when nothing is.
 *
 * @internal
 */
export const restUrlProblem = (url: unknown, field: string): string | undefined => {
  const refuse = (got: string) =>
    `${field} must be the REST URL of the database, e.g. https://eu1-fine-fox-12345.upstash.io (got ${got})`
  if (typeof url !== "string") return refuse(typeof url)
  let parsed: InstanceType<typeof URL>
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

/** The client's description: `upstash <host>`, without credentials. @internal */
export const descriptionOf = (url: string): string => {
  try {
    return `upstash ${new URL(url).host}`
  } catch {
    // reported by the client's own URL check
    return "upstash"
  }
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

/** One command's answer in a `/pipeline` reply: its result, or its own error. @internal */
export type PipelineEntry =
  | { readonly ok: true; readonly result: unknown }
  | { readonly ok: false; readonly error: string }

/** What `/pipeline` answered to `count` commands, or `undefined` when it is not a pipeline reply. @internal */
export const pipelineEntries = (replies: unknown, count: number): ReadonlyArray<PipelineEntry> | undefined =>
  Array.isArray(replies) && replies.length === count
    ? replies.map((entry: { readonly result?: unknown; readonly error?: unknown } | null | undefined) =>
      typeof entry?.error === "string" ? { ok: false, error: entry.error } : { ok: true, result: entry?.result }
    )
    : undefined

/** The failure of a reply that is not a pipeline reply. @internal */
export const notAPipelineReply = "Unable to parse response body: not a pipeline reply"
