/**
 * The Effect-free parts of the `RedisClient` over `@upstash/redis` (beside
 * `clientValues.ts`: the REST URL's check, Upstash's own hosts): the
 * client's settings, its description, and the replies of `/pipeline`. Each
 * edition builds its client from them (its `internal/redis/upstashClient.ts`).
 *
 * @internal
 */

declare const URL: new(url: string) => { readonly host: string }

/**
 * The settings of the `Redis` instance the client makes: automatic
 * deserialization, client retries, auto-pipelining, telemetry and
 * read-your-writes off (the breaker decides what a failure means).
 *
 * @internal
 */
export const clientSettings = {
  automaticDeserialization: false,
  enableAutoPipelining: false,
  enableTelemetry: false,
  readYourWrites: false,
  // `retry: false` still makes a second attempt in @upstash/redis 1.39
  retry: { retries: 0 }
} as const

/** The client's description: `upstash <host>`, without credentials. @internal */
export const descriptionOf = (url: string): string => {
  try {
    return `upstash ${new URL(url).host}`
  } catch {
    // reported by the client's own URL check
    return "upstash"
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
