/**
 * The filters and paging of the read routes (`/circuits`), from their query
 * parameters.
 *
 * @internal
 */
import type { ReadOptions, State } from "../model.js"

const states: ReadonlyArray<State> = ["CLOSED", "OPEN", "HALF_OPEN", "FORCED_OPEN", "FORCED_CLOSED"]

/**
 * `?state=OPEN&state=HALF_OPEN&prefix=pay&limit=100&cursor=…`, or what is wrong with it.
 *
 * @internal
 */
export const parseReadOptions = (
  query: Readonly<Record<string, string | ReadonlyArray<string>>>
): ReadOptions | string => {
  const one = (key: string): string | undefined => {
    const value = query[key]
    return typeof value === "string" ? value : value?.[value.length - 1]
  }
  const stateParam = query["state"]
  const wanted = stateParam === undefined ? undefined : typeof stateParam === "string" ? [stateParam] : [...stateParam]
  const bad = wanted?.find((state) => !states.includes(state as State))
  if (bad !== undefined) {
    return `state must be one of ${states.join(", ")} (got ${JSON.stringify(bad.slice(0, 40))})`
  }
  const limitParam = one("limit")
  const limit = limitParam === undefined ? undefined : Number(limitParam)
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > 10_000)) {
    return `limit must be a whole number from 1 to 10000 (got ${JSON.stringify(String(limitParam).slice(0, 40))})`
  }
  const prefix = one("prefix")
  const cursor = one("cursor")
  return {
    ...(wanted !== undefined ? { state: wanted as Array<State> } : {}),
    ...(prefix !== undefined ? { prefix } : {}),
    ...(limit !== undefined ? { limit } : {}),
    ...(cursor !== undefined ? { cursor } : {})
  }
}
