/**
 * The registry of circuit names in Redis (a sorted set scored by
 * registration time, ARCHITECTURE.md, "The Redis data model"), the
 * Effect-free parts: its commands' sizes, a `ZSCAN` page's reply checked,
 * the names to remove split into commands, and what the store logs about
 * it. Each edition's `internal/redis/registry.ts` sends the commands.
 *
 * @internal
 */

/** Entries asked for per `ZSCAN` round trip: a bounded reply however many names there are. @internal */
export const REGISTRY_PAGE = 10_000

/** Names removed per `ZREM`. @internal */
export const PRUNE_CHUNK = 1_000

/**
 * A reply to `ZSCAN`: the next cursor and the page's members with their
 * scores, or `undefined` when it is not one.
 *
 * @internal
 */
export const zscanPage = (
  reply: unknown
): { readonly next: string; readonly entries: ReadonlyArray<readonly [string, number]> } | undefined => {
  const [next, members] = Array.isArray(reply) && reply.length === 2 ? reply : [undefined, undefined]
  if (
    (typeof next !== "string" && typeof next !== "number") || !Array.isArray(members) ||
    members.length % 2 !== 0 ||
    !members.every((item) => typeof item === "string")
  ) {
    return undefined
  }
  const entries: Array<readonly [string, number]> = []
  for (let i = 0; i < members.length; i += 2) entries.push([members[i] as string, Number(members[i + 1])])
  return { next: String(next), entries }
}

/** The failure of a reply that is not a `ZSCAN` page. @internal */
export const unexpectedZscan = "unexpected reply to ZSCAN of the circuit registry"

/** `names` in commands of at most `PRUNE_CHUNK` names. @internal */
export const pruneChunks = (names: ReadonlyArray<string>): ReadonlyArray<ReadonlyArray<string>> => {
  const chunks: Array<ReadonlyArray<string>> = []
  for (let i = 0; i < names.length; i += PRUNE_CHUNK) chunks.push(names.slice(i, i + PRUNE_CHUNK))
  return chunks
}

/** The warning when the registry's key held something else, dropped. @internal */
export const droppedWarning = (key: string): string =>
  `circuit registry ${JSON.stringify(key)} was not a sorted set and was dropped; ` +
  "circuits register again as they are used"

/**
 * What a failed prune logs: a warning for the first of an episode (every
 * monitoring read of a fleet with gone names tries again), a debug line for
 * the others.
 *
 * @internal
 */
export const pruneFailed = (key: string, reason: string, first: boolean): string =>
  first
    ? `pruning the circuit registry ${JSON.stringify(key)} failed (${reason}); ` +
      "names whose state is gone stay listed, and monitoring reads them again, until a prune succeeds"
    : `pruning the circuit registry ${JSON.stringify(key)} failed: ${reason}`
