/**
 * Running a Lua script through a `RedisClient`: the variant the client asks
 * for, by `EVALSHA`, with its source sent when Redis does not have it; the
 * Effect-free parts (the variant, the Promise form of a call) are in
 * `shared/redis/runScript.ts`.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type { RedisClient, RedisClientError } from "../../RedisClient.js"
import type { LuaScript } from "../../../shared/redis/luaScripts.js"
import { scriptFor } from "../../../shared/redis/runScript.js"

/** @internal */
export { type DirectSend, runScriptDirect, scriptFor, withDirectSend } from "../../../shared/redis/runScript.js"

/** @internal */
export const runScript = (
  client: RedisClient["Type"],
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
