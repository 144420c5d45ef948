/**
 * The Redis keys of the store (ARCHITECTURE.md, "The Redis data model"): a
 * circuit's two keys under one hash tag, and the registry of names.
 *
 * @internal
 */

/** @internal */
export const defaultPrefix = "cb"

/**
 * The keys of one circuit, under one hash tag (ARCHITECTURE.md, "The Redis
 * data model"): its hash (state, window, probe leases) and its fleet metrics.
 *
 * @internal
 */
export const keysOf = (prefix: string, name: string): readonly [string, string] => {
  const tag = `${prefix}:{${encodeURIComponent(name)}}`
  return [`${tag}:state`, `${tag}:metrics`]
}

/** @internal */
export const registryKeyOf = (prefix: string): string => `${prefix}:circuits`
