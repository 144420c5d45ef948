/**
 * A whole number of milliseconds as Effect's `Duration.format` writes it
 * (`1d 2h 3m 4s 5ms`), without its `bigint` arithmetic: how a rejection says
 * how long to wait. The same in every edition.
 *
 * @internal
 */

/**
 * `ms` as `Duration.format` writes it, or `undefined` when `ms` is not a
 * positive safe integer (the caller then formats the `Duration` itself).
 *
 * @internal
 */
export const formatMillis = (millis: number): string | undefined => {
  if (!Number.isSafeInteger(millis) || millis <= 0) return undefined
  let ms = millis
  const days = Math.floor(ms / 86_400_000)
  ms -= days * 86_400_000
  const hours = Math.floor(ms / 3_600_000)
  ms -= hours * 3_600_000
  const minutes = Math.floor(ms / 60_000)
  ms -= minutes * 60_000
  const seconds = Math.floor(ms / 1_000)
  ms -= seconds * 1_000
  let text = ""
  if (days !== 0) text = `${days}d`
  if (hours !== 0) text = text === "" ? `${hours}h` : `${text} ${hours}h`
  if (minutes !== 0) text = text === "" ? `${minutes}m` : `${text} ${minutes}m`
  if (seconds !== 0) text = text === "" ? `${seconds}s` : `${text} ${seconds}s`
  if (ms !== 0) text = text === "" ? `${ms}ms` : `${text} ${ms}ms`
  return text
}
