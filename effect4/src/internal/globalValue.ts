/**
 * A value made once per JavaScript realm, whatever number of copies of this
 * library are loaded: kept in a `Map` on `globalThis` under `id`.
 *
 * @internal
 */
const registryKey = Symbol.for("effect-circuit-breaker-redis/globalValue")

/** @internal */
export const globalValue = <A>(id: symbol, make: () => A): A => {
  const holder = globalThis as { [registryKey]?: Map<symbol, unknown> }
  const registry = holder[registryKey] ??= new Map()
  if (!registry.has(id)) registry.set(id, make())
  return registry.get(id) as A
}
