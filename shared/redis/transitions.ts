/**
 * The messages of a store's transitions channel (ARCHITECTURE.md,
 * "Transitions reach the fleet"): `lua/circuit.lua` publishes every
 * transition it writes on `<prefix>:transitions` as
 * `"<version> <state> <state key>"`. Anyone who can write to Redis can
 * publish there: a message is bounded and parsed strictly. Shared by both
 * editions' notifications.
 *
 * @internal
 */

/**
 * The channel of a store's transitions.
 *
 * @internal
 */
export const channelOf = (prefix: string): string => `${prefix}:transitions`

/**
 * The longest message read: a version, a state and a state key (a prefix of 64, a name of up to 4 KB encoded).
 *
 * @internal
 */
export const maxMessageLength = 16_384

const messagePattern = /^(\d{1,16}) (CLOSED|OPEN|HALF_OPEN|FORCED_OPEN|FORCED_CLOSED) (\S+)$/

/**
 * The circuit and state a message names, or `undefined` for anything that is
 * not a message of the script's about a key of `prefix`.
 *
 * @internal
 */
export const parseMessage = (
  prefix: string,
  message: string
): { readonly name: string; readonly version: number; readonly state: string } | undefined => {
  if (message.length > maxMessageLength) return undefined
  const parsed = messagePattern.exec(message)
  if (parsed === null) return undefined
  const key = parsed[3]!
  const head = `${prefix}:{`
  const tail = "}:state"
  if (!key.startsWith(head) || !key.endsWith(tail) || key.length < head.length + tail.length) return undefined
  let name: string
  try {
    name = decodeURIComponent(key.slice(head.length, key.length - tail.length))
  } catch {
    return undefined
  }
  return { name, version: Number(parsed[1]), state: parsed[2]! }
}
