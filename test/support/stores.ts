/**
 * The stores the state-machine suite runs against. Each case gives a fresh,
 * empty store per test.
 */
import type * as Layer from "effect/Layer"
import { CircuitStore } from "../../src/index.js"

export interface StoreCase {
  readonly name: string
  /** Starts whatever the store needs (servers); called once before the suite. */
  readonly setup: () => Promise<void>
  readonly teardown: () => Promise<void>
  /** A layer with an empty store, isolated from every other test. */
  readonly fresh: () => Layer.Layer<CircuitStore.CircuitStore>
}

export const memoryCase: StoreCase = {
  name: "memory",
  setup: async () => {},
  teardown: async () => {},
  fresh: () => CircuitStore.layerMemory
}

export const storeCases: ReadonlyArray<StoreCase> = [memoryCase]
