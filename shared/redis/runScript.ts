/**
 * Running a Lua script through a Redis client, the Effect-free parts: the
 * variant the client asks for (flagged `allow-key-locking` or not), and the
 * Promise form of a script call for the clients this package makes (by
 * `EVALSHA`, with the source sent by `EVAL` when Redis does not have it).
 * Each edition's `internal/redis/runScript.ts` runs a script as an Effect
 * over its `RedisClient` and uses these.
 *
 * @internal
 */
import type { LuaScript } from "./luaScripts.js"

/**
 * A client's command as a Promise that rejects with the client's error (a
 * `RedisClientError` of the edition, whose `kind` says what went wrong):
 * what a `RedisClient` made by this package (`fromConnection`, the Upstash
 * client) sends through, so that a round trip on the hot path costs no
 * fiber (`RoundTrips.run`).
 *
 * @internal
 */
export type DirectSend = (command: ReadonlyArray<string>) => Promise<unknown>

/** What these functions read of a client: whether it wants scripts flagged `allow-key-locking`. */
export interface ScriptClient {
  readonly allowKeyLocking?: boolean | undefined
}

/** Kept beside the client, not on it: a wrapper made by spreading a client (`{ ...client, send }`) has none. */
const directSends = new WeakMap<object, DirectSend>()

/**
 * `client`, with `direct` registered as the Promise form of its own `send`
 * (the same command, the same errors).
 *
 * @internal
 */
export const withDirectSend = <C extends object>(client: C, direct: DirectSend): C => {
  directSends.set(client, direct)
  return client
}

/** @internal */
export const scriptFor = (
  client: ScriptClient,
  script: LuaScript
): { readonly sha: string; readonly source: string } => client.allowKeyLocking === true ? script.keyLocking : script

/**
 * A script call as a function that starts the round trip and returns its
 * Promise, when the client has a `DirectSend`; undefined otherwise (then the
 * edition's `runScript`).
 *
 * @internal
 */
export const runScriptDirect = (
  client: ScriptClient & object,
  script: LuaScript,
  keys: ReadonlyArray<string>,
  args: ReadonlyArray<string>
): (() => Promise<unknown>) | undefined => {
  const direct = directSends.get(client)
  if (direct === undefined) return undefined
  const variant = scriptFor(client, script)
  return () => {
    const command = ["EVALSHA", variant.sha, String(keys.length), ...keys, ...args]
    return direct(command).catch((error: { readonly kind?: unknown }) => {
      if (error?.kind !== "NoScript") throw error
      command[0] = "EVAL"
      command[1] = variant.source
      return direct(command)
    })
  }
}
