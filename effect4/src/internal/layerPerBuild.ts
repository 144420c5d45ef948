/**
 * Layers built as Effect 3 builds them: once per build of a layer graph
 * (one `Effect.provide`, one `ManagedRuntime`), shared by every use inside
 * that build, and never taken from an enclosing build. Effect 4 reuses a
 * layer an enclosing `Effect.provide` or runtime already built, so an inner
 * `Effect.provide(CircuitStore.layerMemory)` would otherwise get the outer
 * store rather than a store of its own.
 *
 * @internal
 */
import * as Layer from "effect/Layer"

/**
 * `layer`, built at most once per memo map (one build of a layer graph): an
 * enclosing build's memo map is the parent of the inner one's, and the inner
 * build gets an entry of its own.
 *
 * @internal
 */
export const perBuild = <A, E, R>(layer: Layer.Layer<A, E, R>): Layer.Layer<A, E, R> => {
  const byMemoMap = new WeakMap<Layer.MemoMap, Layer.Layer<A, E, R>>()
  return Layer.fromBuild((memoMap, scope) => {
    let own = byMemoMap.get(memoMap)
    if (own === undefined) {
      // memoized in `memoMap` alone: `layer` itself is built on a memo map of its own
      own = Layer.fromBuildMemo((_, ownScope) => Layer.buildWithMemoMap(layer, Layer.makeMemoMapUnsafe(), ownScope))
      byMemoMap.set(memoMap, own)
    }
    return Layer.buildWithMemoMap(own, memoMap, scope)
  })
}
