/**
 * Picks the circuit store from the environment: Upstash when its variables
 * are set, else Redis over TCP when `REDIS_URL` is set, else in memory.
 */
import * as Effect from "effect/Effect"
import { RedisCircuitStore } from "../src/index.js"

export const storeFromEnv = {
  layer: RedisCircuitStore.layerFromEnv(),
  description: Effect.runSync(RedisCircuitStore.sourceFromEnv.pipe(
    Effect.map((source) =>
      source === "memory"
        ? "in-memory (set REDIS_URL, or UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN, to share it through Redis)"
        : source === "upstash"
        ? "Redis over Upstash REST"
        : "Redis over TCP (REDIS_URL)"
    ),
    Effect.orElseSucceed(() => "from the environment")
  ))
}
