/**
 * The reply of `lua/circuit.lua` as the Redis store takes it: decoded by
 * shared/redis/scriptReply.ts, a reply that is not what the script writes
 * becoming a `CircuitStoreError`.
 *
 * @internal
 */
import * as Effect4 from "effect"
import { CircuitStoreError } from "../../CircuitStore.js"
import { decodeReply, type Reply } from "../../../../shared/redis/scriptReply.js"

/** @internal */
export type { Reply } from "../../../../shared/redis/scriptReply.js"

/**
 * The script's reply (lua/circuit.lua's header), with its times moved from
 * the clock the script ran on to this instance's, by `offset`
 * (`decodeReply`); a reply of another shape fails with a `CircuitStoreError`.
 *
 * @internal
 */
export const toReply = (raw: unknown, offset: number): Effect4.Result.Result<Reply, CircuitStoreError> => {
  const reply = decodeReply(raw, offset)
  return "problem" in reply
    ? Effect4.Result.fail(new CircuitStoreError({ reason: reply.problem }))
    : Effect4.Result.succeed(reply)
}
