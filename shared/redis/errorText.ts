/**
 * How a Redis client's failure is told to the user: its kind, and a reason
 * with every secret scrubbed out. Shared by every `RedisClient` of every
 * edition (each wraps the result in its `RedisClientError`).
 *
 * @internal
 */

/**
 * What went wrong with a Redis command.
 *
 * @internal
 */
export type RedisErrorKind = "NoScript" | "Auth" | "Connection" | "Timeout" | "Reply" | "Command"

/**
 * A client failure, classified: `reason` is safe to log.
 *
 * @internal
 */
export interface RedisErrorText {
  readonly kind: RedisErrorKind
  readonly reason: string
}

/**
 * Strips every occurrence of the secrets from a text.
 *
 * @internal
 */
export const scrub = (text: string, secrets: ReadonlyArray<string>): string =>
  secrets.reduce((acc, secret) => (secret.length > 0 ? acc.split(secret).join("<redacted>") : acc), text)

/** The system error code of an error (`ECONNREFUSED`, `ENOTFOUND`, …), if it has one. */
const codeOf = (error: unknown): string | undefined => {
  const code = typeof error === "object" && error !== null ? (error as { readonly code?: unknown }).code : undefined
  return typeof code === "string" && /^E[A-Z_]+$/.test(code) ? code : undefined
}

/**
 * What a connection error says, in a few words: connection refused, unknown
 * host, connection timed out, …
 *
 * @internal
 */
export const connectionProblem = (error: unknown): string => {
  const message = error instanceof Error ? error.message : String(error)
  const text = `${codeOf(error) ?? ""} ${message}`
  if (/ECONNREFUSED/.test(text)) return "connection refused"
  if (/ENOTFOUND|EAI_AGAIN|EAI_NONAME/.test(text)) return "unknown host"
  if (/ETIMEDOUT|timed? ?out/i.test(text)) return "connection timed out"
  if (/EHOSTUNREACH|ENETUNREACH/.test(text)) return "host unreachable"
  if (/ECONNRESET|EPIPE/.test(text)) return "connection reset"
  return "not connected"
}

/** The longest reason a classified failure carries. */
const maxReason = 300

/**
 * A client failure's kind, from its message, and its reason: the message
 * scrubbed of `secrets`, then cut to 300 characters (scrubbed first:
 * a cut through a secret would leave its first characters).
 *
 * @internal
 */
export const classifyText = (cause: unknown, secrets: ReadonlyArray<string>): RedisErrorText => {
  const message = cause instanceof Error ? `${cause.message}` : String(cause)
  // fetch says "fetch failed" and keeps why in its cause (connection refused, unknown host)
  const why = codeOf(cause instanceof Error ? cause.cause : undefined)
  const raw = why === undefined ? message : `${message}: ${connectionProblem(why)} (${why})`
  // @upstash/redis appends the whole command (a script's source) to its errors
  const text = scrub(raw.split(", command was:")[0], secrets).slice(0, maxReason)
  const name = cause instanceof Error ? cause.name : ""
  let kind: RedisErrorKind = "Command"
  if (/NOSCRIPT/.test(text)) kind = "NoScript"
  else if (/WRONGPASS|NOAUTH|unauthori[sz]ed|invalid password|\b401\b|\b403\b/i.test(text)) kind = "Auth"
  else if (name === "TimeoutError" || name === "AbortError" || /timed? ?out|aborted/i.test(text)) kind = "Timeout"
  else if (name === "UpstashJSONParseError" || /parse|Unexpected token|did not return a result/i.test(text))
    kind = "Reply"
  else if (
    /ECONNREFUSED|ECONNRESET|ENOTFOUND|EPIPE|EHOSTUNREACH|fetch failed|socket|Connection is closed|isn't writeable|connect|closed|offline|network|max retries/i
      .test(text)
  ) kind = "Connection"
  return { kind, reason: text.length > 0 ? text : name || "unknown error" }
}

/**
 * What a failed round trip says of Redis, in a few words, for the store's
 * log: credentials refused, unreachable (and why), timed out, …
 *
 * @internal
 */
export const problemOf = (error: RedisErrorText): string => {
  const reason = error.reason
  switch (error.kind) {
    case "Auth":
      return "credentials refused"
    case "Timeout":
      return "timed out"
    case "Reply":
      return "unreadable replies"
    case "Connection": {
      if (/refused database/.test(reason)) return "database index refused"
      if (/connection refused|ECONNREFUSED/.test(reason)) return "unreachable (connection refused)"
      if (/unknown host|ENOTFOUND|EAI_AGAIN|EAI_NONAME/.test(reason)) return "unreachable (unknown host)"
      if (/timed out|ETIMEDOUT/.test(reason)) return "unreachable (connection timed out)"
      return "unreachable"
    }
    default: {
      const word = /^[A-Z]+/.exec(reason)
      return word === null ? "failing" : `cannot serve (${word[0]})`
    }
  }
}
