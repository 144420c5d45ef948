/**
 * test/support/layer.ts: a layer suite's services and TestClock stay with its tests, nested
 * suites included; tests collected after it run as `it.effect` runs them anywhere.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import { layer } from "./support/layer.js"

class Outer extends Context.Tag("test/supportLayer/Outer")<Outer, number>() {}
class Inner extends Context.Tag("test/supportLayer/Inner")<Inner, number>() {}

layer(Layer.succeed(Outer, 1))("a layer suite", (it) => {
  it.effect("has its service, and its TestClock moves on from test to test", () =>
    Effect.gen(function*() {
      expect(yield* Outer).toBe(1)
      yield* TestClock.adjust("1 minute")
    }))

  it.effect("(the second test starts where the first left the suite's clock)", () =>
    Effect.gen(function*() {
      expect(yield* TestClock.currentTimeMillis).toBe(60_000)
    }))

  it.layer(Layer.succeed(Inner, 2))("nested, named", (it) => {
    it.effect("has both services", () =>
      Effect.gen(function*() {
        expect(yield* Outer).toBe(1)
        expect(yield* Inner).toBe(2)
      }))
  })

  it.layer(Layer.succeed(Inner, 3))((it) => {
    it.effect("nested, unnamed: has both services", () =>
      Effect.gen(function*() {
        expect(yield* Outer).toBe(1)
        expect(yield* Inner).toBe(3)
      }))
  })

  it.effect("a test after the nested suites has the outer service only", () =>
    Effect.gen(function*() {
      expect(yield* Outer).toBe(1)
      expect(Option.isNone(yield* Effect.serviceOption(Inner))).toBe(true)
    }))
})

describe("after a layer suite", () => {
  it.effect("a test runs without its services, on a TestClock of its own", () =>
    Effect.gen(function*() {
      expect(Option.isNone(yield* Effect.serviceOption(Outer))).toBe(true)
      expect(Option.isNone(yield* Effect.serviceOption(Inner))).toBe(true)
      expect(yield* TestClock.currentTimeMillis).toBe(0)
    }))

  it.scoped("it.scoped too", () =>
    Effect.gen(function*() {
      expect(Option.isNone(yield* Effect.serviceOption(Outer))).toBe(true)
    }))
})
