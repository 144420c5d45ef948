/**
 * Monitoring reads of many circuits at once: `lua/manyCircuits.lua` per 100
 * circuits, or on a Redis Cluster one `lua/circuit.lua` call per circuit, in
 * pipelines; names whose state is gone leave the registry.
 *
 * @internal
 */
import type * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Effect4 from "effect"
import { type CircuitStore, CircuitStoreError, type Inspected } from "../../CircuitStore.js"
import type { Shared } from "./circuit.js"
import type { Entry } from "./circuitCache.js"
import { classify, type RedisClientError } from "./errors.js"
import { keysOf } from "../../../../shared/redis/keys.js"
import * as scripts from "../../../../shared/redis/luaScripts.js"
import type { LuaScript } from "../../../../shared/redis/luaScripts.js"
import { storeError } from "./roundTrip.js"
import { scriptFor } from "./runScript.js"
import { peekArgs } from "../../../../shared/redis/scriptArgs.js"
import { toReply } from "./scriptReply.js"

/**
 * Circuits per script call (`lua/manyCircuits.lua`), or per pipeline of
 * `lua/circuit.lua` calls on a Cluster, when monitoring reads many at once.
 */
const INSPECT_BATCH = 100

/** Calls of `lua/manyCircuits.lua` per round trip, for a client with a pipeline. */
const MANY_PER_ROUND_TRIP = 5

/**
 * Monitoring reads of circuits no breaker of this instance uses (`inspectMany`,
 * `INSPECT_BATCH` per script call): peek script calls, outside the store's
 * breaker; names whose state is gone and that no entry holds leave the
 * registry.
 *
 * @internal
 */
export const makeInspectMany = (
  shared: Shared,
  entries: Map<string, Entry>
): CircuitStore["Service"]["inspectMany"] => {
  const { client, prefix, registry, roundTrips } = shared

  /** One `TIME` round trip, outside the store's breaker: the offset to Redis's clock. */
  const measure = (local: Clock.Clock, timeout: number) =>
    roundTrips.run(shared.clock.measure(() => local.currentTimeMillisUnsafe()), {
      timeout,
      what: "TIME",
      guard: "bypass"
    })

  /**
   * The offset to Redis's clock for a read on `timeSource`: measured first if
   * it never was, refreshed in the background once it is old (a process that
   * only monitors has no circuit calls to refresh it).
   */
  const offsetFor = (timeSource: "client" | "server", timeout: number): Effect.Effect<number, CircuitStoreError> =>
    timeSource === "client"
      ? Effect.succeed(0)
      : Effect.clockWith((local) => {
        const offset = shared.clock.offset
        if (offset === undefined) return measure(local, timeout)
        if (!shared.clock.stale(local.currentTimeMillisUnsafe())) return Effect.succeed(offset)
        return Effect.as(shared.clock.refresh(() => measure(local, timeout), shared.fork), offset)
      })

  /** Whether the server refused a call whose keys are in several slots: a Cluster (unless the client said). */
  let crossSlot = false

  /**
   * Script calls, each `[numkeys, ...keys, ...args]` of `script`, with their
   * replies in order: `perRoundTrip` of them per pipeline (for a client
   * without one, up to 16 of them at once, one per round trip), a few groups at
   * once, each round trip bounded by the read's timeout. After a restart or a
   * `SCRIPT FLUSH`, the calls answered NOSCRIPT are sent again with the
   * source (which loads it).
   */
  const callAll = (
    script: LuaScript,
    calls: ReadonlyArray<ReadonlyArray<string>>,
    perRoundTrip: number,
    timeout: number
  ): Effect.Effect<
    ReadonlyArray<Effect4.Result.Result<unknown, RedisClientError | CircuitStoreError>>,
    CircuitStoreError
  > => {
    const variant = scriptFor(client, script)
    const pipeline = client.pipeline
    type Replies = ReadonlyArray<Effect4.Result.Result<unknown, RedisClientError | CircuitStoreError>>
    const send = (
      group: ReadonlyArray<ReadonlyArray<string>>,
      sha: boolean
    ): Effect.Effect<Replies, CircuitStoreError> => {
      const commands = group.map((call) => [sha ? "EVALSHA" : "EVAL", sha ? variant.sha : variant.source, ...call])
      return pipeline !== undefined
        ? roundTrips.run(pipeline(commands), { timeout: timeout * 4, what: "pipeline", guard: "bypass" })
        : Effect.forEach(
          commands,
          (command) =>
            Effect.result(
              roundTrips.run(Effect.result(client.send(command)), { timeout, what: command[0]!, guard: "bypass" })
            )
              .pipe(Effect.map(Effect4.Result.flatMap((reply) => reply))),
          { concurrency: Math.min(perRoundTrip, 16) }
        )
    }
    const noScript = (reply: Effect4.Result.Result<unknown, RedisClientError | CircuitStoreError>) =>
      Effect4.Result.isFailure(reply) && reply.failure._tag === "RedisClientError" && reply.failure.kind === "NoScript"
    const groups: Array<ReadonlyArray<ReadonlyArray<string>>> = []
    for (let i = 0; i < calls.length; i += perRoundTrip) groups.push(calls.slice(i, i + perRoundTrip))
    return Effect.map(
      Effect.forEach(
        groups,
        (group) =>
          Effect.flatMap(send(group, true), (replies): Effect.Effect<Replies, CircuitStoreError> => {
            const again = group.filter((_, i) => noScript(replies[i]!))
            if (again.length === 0) return Effect.succeed(replies)
            return Effect.map(send(again, false), (resent) => {
              let next = 0
              return replies.map((reply) => noScript(reply) ? resent[next++]! : reply)
            })
          }),
        { concurrency: 4 }
      ),
      (replies) => replies.flat()
    )
  }

  /** A reply of `lua/manyCircuits.lua`, one per circuit of a call of `size` circuits. */
  const each = (
    reply: Effect4.Result.Result<unknown, RedisClientError | CircuitStoreError>,
    size: number
  ): ReadonlyArray<Effect4.Result.Result<unknown, RedisClientError | CircuitStoreError>> => {
    if (Effect4.Result.isFailure(reply)) return Array.from({ length: size }, () => reply)
    const replies = reply.success
    if (!Array.isArray(replies) || replies.length !== size) {
      const error = new CircuitStoreError({ reason: `unexpected reply from the circuits script: not ${size} replies` })
      return Array.from({ length: size }, () => Effect4.Result.fail(error))
    }
    // an error of one circuit is its own element (an error object, or its message over REST)
    return replies.map((one) =>
      one instanceof Error || typeof one === "string"
        ? Effect4.Result.fail(classify(one instanceof Error ? one : new Error(one), []))
        : Effect4.Result.succeed(one)
    )
  }

  /**
   * One reply of the circuit script per name: `lua/manyCircuits.lua` once per
   * 100 circuits, 5 calls per round trip; or, on a Redis Cluster (a call's
   * keys must share a slot, and every circuit has its own), `lua/circuit.lua`
   * once per circuit, 100 per round trip (the client groups a pipeline by
   * node). A server that answers CROSSSLOT to a client that did not say
   * whether it is a Cluster is taken for one from then on.
   */
  const readAll = (
    names: ReadonlyArray<string>,
    args: ReadonlyArray<string>,
    timeout: number
  ): Effect.Effect<
    ReadonlyArray<Effect4.Result.Result<unknown, RedisClientError | CircuitStoreError>>,
    CircuitStoreError
  > => {
    const oneByOne = Effect.suspend(() =>
      callAll(scripts.circuit, names.map((name) => ["2", ...keysOf(prefix, name), ...args]), INSPECT_BATCH, timeout)
    )
    if (client.cluster === true || crossSlot) return oneByOne
    return Effect.suspend(() => {
      const batches: Array<ReadonlyArray<string>> = []
      for (let i = 0; i < names.length; i += INSPECT_BATCH) batches.push(names.slice(i, i + INSPECT_BATCH))
      const calls = batches.map((
        batch
      ) => [String(batch.length * 2), ...batch.flatMap((name) => keysOf(prefix, name)), ...args])
      return Effect.flatMap(callAll(scripts.manyCircuits, calls, MANY_PER_ROUND_TRIP, timeout), (replies) => {
        const refused = replies.some((reply) =>
          Effect4.Result.isFailure(reply) && reply.failure._tag === "RedisClientError" &&
          reply.failure.kind === "Command" &&
          /^CROSSSLOT\b/.test(reply.failure.reason)
        )
        if (refused && client.cluster === undefined) {
          crossSlot = true
          return Effect.andThen(
            Effect.logWarning(
              `${client.description} refused a script call over several hash slots (CROSSSLOT): it is taken for a ` +
                "Redis Cluster, and monitoring reads one circuit per call (a client of your own says so with `cluster: true`)"
            ),
            oneByOne
          )
        }
        return Effect.succeed(replies.flatMap((reply, i) => each(reply, batches[i]!.length)))
      })
    })
  }

  return (names, config, now) =>
    Effect.gen(function*() {
      const timeout = config.storeTimeout
      const offset = yield* offsetFor(config.timeSource ?? shared.timeSource, timeout)
      const replies = yield* readAll(names, peekArgs(config, now + offset), timeout)
      const all = names.map((name, i): Inspected => {
        const reply = replies[i]!
        if (Effect4.Result.isFailure(reply)) {
          const error = reply.failure._tag === "RedisClientError" ? storeError(reply.failure) : reply.failure
          return { name, read: undefined, missing: false, error }
        }
        const decoded = toReply(reply.success, offset)
        if (Effect4.Result.isFailure(decoded)) return { name, read: undefined, missing: false, error: decoded.failure }
        const r = decoded.success
        // no state: gone when it was registered longer ago than a state lives; else new, CLOSED
        const since = registry.registeredAt(name)
        const gone = r.missing && since !== undefined && now + offset - since > config.stateTtl
        return gone
          ? { name, read: undefined, missing: true, error: undefined }
          : { name, read: [r.snapshot, r.fleet], missing: false, error: undefined }
      })
      // a name whose state is gone, and that no breaker of this instance uses, leaves the registry
      yield* registry.forget(all.filter((r) => r.missing && entries.get(r.name) === undefined).map((r) => r.name))
      return all
    })
}
