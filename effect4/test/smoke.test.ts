import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"

describe("edition", () => {
  it.effect("runs on effect 4", () =>
    Effect.gen(function*() {
      const version = yield* Effect.succeed((yield* Effect.sync(() => process.versions.node)).split(".")[0])
      expect(Number(version)).toBeGreaterThanOrEqual(22)
    }))
})
