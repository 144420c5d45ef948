/**
 * Every usage example of the Promise API's specification (the original README), run against this
 * edition's `/promise` through the examples both editions share
 * (test/shared/scenarios/readmeParity.ts, where the adaptations to the specification are listed):
 * a real Redis through the Upstash REST bridge, `@upstash/redis` as the specification uses it, the
 * store from the environment.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "@effect/vitest"
import * as promise from "../src/promise.js"
import type { PersistentCircuitBreakerConfig } from "../src/promise.js"
import {
  type ReadmePersistentCircuitBreakerConfig,
  readmeParity,
  type ReadmePromiseApi
} from "../../test/shared/scenarios/readmeParity.js"

// the specification's config interface fits this edition's (checked by `tsc`)
const _fits = (readme: ReadmePersistentCircuitBreakerConfig): PersistentCircuitBreakerConfig => readme
void _fits

const api: ReadmePromiseApi = promise
// vitest 5's `expect`: the shared module types it with the root's vitest 3 types (the same API)
const parity = readmeParity({
  promise: api,
  expect: expect as unknown as Parameters<typeof readmeParity>[0]["expect"],
  vi
})

beforeAll(parity.beforeAll, 60_000)
afterAll(parity.afterAll, 60_000)
beforeEach(parity.beforeEach)
afterEach(parity.afterEach)

const suites = [...new Set(parity.examples.map((example) => example.suite))]
for (const suite of suites) {
  describe(suite, () => {
    for (const example of parity.examples.filter((e) => e.suite === suite)) {
      it(example.name, () => example.run(parity.env))
    }
  })
}

describe("the shared examples", () => {
  it("are all there, under names of their own", () => {
    expect(parity.examples.length).toBe(20)
    expect(new Set(parity.examples.map((e) => `${e.suite} > ${e.name}`)).size).toBe(20)
  })
})
