/**
 * `it.layer` of @effect/vitest, with the suite's methods kept to the suite.
 *
 * @effect/vitest 0.30 hands a layer suite its `effect` and `scoped` by assigning them onto vitest's
 * one shared `it` (`Object.assign(it, …)` when the suite is collected). Every `it.effect` or
 * `it.scoped` collected after that suite in the same file then runs in the suite's runtime: with its
 * services in context and on its one `TestClock`, whose time the other tests' `TestClock.adjust`
 * calls move on. `layer` here gives the suite its methods on an object of its own and puts the
 * shared `it`'s own methods back before anything else is collected.
 */
import { it, type Vitest } from "@effect/vitest"
import type * as Duration from "effect/Duration"
import type * as Layer from "effect/Layer"

/** The shared `it`'s methods, read when this module loads (before any suite is collected). */
const shared = {
  effect: it.effect,
  scoped: it.scoped,
  live: it.live,
  scopedLive: it.scopedLive,
  flakyTest: it.flakyTest,
  layer: it.layer,
  prop: it.prop
}

type Options = { readonly timeout?: Duration.DurationInput }

/** The suite's methods, on an object of their own; the shared `it` gets its own methods back. */
const isolate = <R>(methods: Vitest.MethodsNonLive<R>): Vitest.MethodsNonLive<R> => {
  // read now: `methods` is the shared `it`, whose own methods are put back below
  const nestedLayer = methods.layer
  const own: Record<PropertyKey, unknown> = {
    effect: methods.effect,
    scoped: methods.scoped,
    flakyTest: methods.flakyTest,
    prop: methods.prop,
    layer: <R2, E>(nested: Layer.Layer<R2, E, R>, options?: Options) =>
    (
      ...args:
        | [tests: (it: Vitest.MethodsNonLive<R | R2>) => void]
        | [name: string, tests: (it: Vitest.MethodsNonLive<R | R2>) => void]
    ): void =>
      args.length === 1
        ? nestedLayer(nested, options)((inner) => args[0](isolate(inner)))
        : nestedLayer(nested, options)(args[0], (inner) => args[1](isolate(inner)))
  }
  Object.assign(it, shared)
  return new Proxy(methods, {
    get: (target, key, receiver) => (key in own ? own[key] : Reflect.get(target, key, receiver))
  })
}

/**
 * `it.layer(self, options)(name, tests)`: `self` built once for the suite's tests, and only for them.
 */
export const layer =
  <R, E>(self: Layer.Layer<R, E>, options?: Options) =>
  (name: string, tests: (it: Vitest.MethodsNonLive<R>) => void): void =>
    shared.layer(self, options)(name, (methods) => tests(isolate(methods)))
