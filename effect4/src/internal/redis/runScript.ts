/**
 * Running a Lua script through a `RedisClient`: the variant the client asks
 * for, by `EVALSHA`, with its source sent when Redis does not have it.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type { RedisClient, RedisClientError } from "../../RedisClient.js"
import type { LuaScript } from "../../../../shared/redis/luaScripts.js"

/**
 * A client's command as a Promise that rejects with a `RedisClientError`:
 * what a `RedisClient` made by this package (`fromConnection`, the Upstash
 * client) sends through, so that a round trip on the hot path costs no
 * fiber (`RoundTrips.run`).
 *
 * @internal
 */
export type DirectSend = (command: ReadonlyArray<string>) => Promise<unknown>

/** Kept beside the client, not on it: a wrapper made by spreading a client (`{ ...client, send }`) has none. */
const directSends = new WeakMap<object, DirectSend>()

/**
 * `client`, with `direct` registered as the Promise form of its own `send`
 * (the same command, the same errors).
 *
 * @internal
 */
export const withDirectSend = <C extends RedisClient["Service"]>(client: C, direct: DirectSend): C => {
  directSends.set(client, direct)
  return client
}

/** @internal */
export const scriptFor = (
  client: RedisClient["Service"],
  script: LuaScript
): { readonly sha: string; readonly source: string } => client.allowKeyLocking === true ? script.keyLocking : script

/** @internal */
export const runScript = (
  client: RedisClient["Service"],
  script: LuaScript,
  keys: ReadonlyArray<string>,
  args: ReadonlyArray<string>
): Effect.Effect<unknown, RedisClientError> => {
  const tail = [String(keys.length), ...keys, ...args]
  const variant = scriptFor(client, script)
  return client.send(["EVALSHA", variant.sha, ...tail]).pipe(
    Effect.catchIf((error) => error.kind === "NoScript", () => client.send(["EVAL", variant.source, ...tail]))
  )
}

/**
 * `runScript` as a function that starts the round trip and returns its
 * Promise, when the client has a `DirectSend`; undefined otherwise (then
 * `runScript`).
 *
 * @internal
 */
export const runScriptDirect = (
  client: RedisClient["Service"],
  script: LuaScript,
  keys: ReadonlyArray<string>,
  args: ReadonlyArray<string>
): (() => Promise<unknown>) | undefined => {
  const direct = directSends.get(client)
  if (direct === undefined) return undefined
  const variant = scriptFor(client, script)
  return () => {
    const command = ["EVALSHA", variant.sha, String(keys.length), ...keys, ...args]
    return direct(command).catch((error: RedisClientError) => {
      if (error.kind !== "NoScript") throw error
      command[0] = "EVAL"
      command[1] = variant.source
      return direct(command)
    })
  }
}
