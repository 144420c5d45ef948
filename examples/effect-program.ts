/**
 * An Effect program: the Redis store in its runtime, calls piped through
 * `CircuitBreaker.protect`, retries that respect an open circuit, and a
 * fallback on `CircuitOpen`.
 *
 *   REDIS_URL=redis://127.0.0.1:6379 npx tsx examples/effect-program.ts
 *   (with no REDIS_URL / Upstash variables it runs on the memory store)
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import { CircuitBreaker, CircuitBreakerError, CircuitBreakers, RedisCircuitStore } from "../src/index.js"

/** A price service that fails while `down` is true. */
export class PriceService {
  down = false
  calls = 0
  readonly price = (sku: string): Effect.Effect<number, Error> =>
    Effect.suspend(() => {
      this.calls++
      return this.down ? Effect.fail(new Error(`price service unavailable for ${sku}`)) : Effect.succeed(42)
    })
}

/** The breakers of this program, on whatever store the environment names. */
export const Breakers = CircuitBreakers.layer({
  circuits: { prices: { failureThreshold: 3, recoveryTimeout: "30 seconds" } }
}).pipe(Layer.provide(RedisCircuitStore.layerFromEnv()))

/**
 * The price of `sku`, for a request that cannot wait: protected by the
 * "prices" circuit, retried twice with exponential backoff while the circuit
 * lets calls through, and the cached price as soon as it is open.
 */
export const priceOf = (service: PriceService, sku: string, cached = 40) =>
  service.price(sku).pipe(
    CircuitBreaker.protect("prices"),
    Effect.retry({
      schedule: Schedule.exponential("100 millis").pipe(Schedule.intersect(Schedule.recurs(2))),
      while: (error) => !CircuitBreakerError.isCircuitOpen(error)
    }),
    Effect.catchTag("CircuitOpen", (open) =>
      Effect.logInfo(`prices: circuit ${open.state}, serving the cached price`).pipe(Effect.as(cached)))
  )

/**
 * The price of `sku`, for a background job that can wait: the same retries,
 * but an open circuit makes the next attempt wait for its `retryAfter`
 * (`CircuitBreaker.retrySchedule`) instead of failing over.
 */
export const priceOfPatiently = (service: PriceService, sku: string) =>
  service.price(sku).pipe(
    CircuitBreaker.protect("prices"),
    Effect.retry(
      CircuitBreaker.retrySchedule(Schedule.exponential("100 millis").pipe(Schedule.intersect(Schedule.recurs(5))))
    )
  )

const main = Effect.gen(function*() {
  const service = new PriceService()
  yield* Effect.log(`price: ${yield* priceOf(service, "sku-1")}`)
  service.down = true
  for (let i = 0; i < 3; i++) {
    const result = yield* Effect.either(priceOf(service, "sku-1"))
    yield* Effect.log(`while down: ${result._tag === "Right" ? `price ${result.right}` : result.left.message}`)
  }
  yield* Effect.log(`calls that reached the service: ${service.calls}`)
}).pipe(Effect.provide(Breakers))

if (import.meta.url === `file://${process.argv[1]}`) {
  Effect.runPromise(main)
}
