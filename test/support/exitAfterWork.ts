/**
 * Run by test/WrongRedis.test.ts in a process of its own: makes a few calls
 * through breakers on the Redis store of `REDIS_URL` (which may be
 * unreachable), then prints one JSON line `{ "done": <ms> }` when its work is
 * done and `{ "exit": <ms> }` when the process exits, both on the process's
 * own clock (`performance.now()`).
 *
 * `API=effect`: a `ManagedRuntime` over `RedisCircuitStore.layerFromEnv()`,
 * disposed once the work is done. `API=promise`: the Promise API's default
 * runtime (the store from the environment), never disposed: the process has
 * nothing else to do.
 */
import * as Effect from "effect/Effect"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { CircuitBreaker, RedisCircuitStore } from "../../src/index.js"
import { createCircuitBreaker } from "../../src/promise.js"

process.on("exit", () => console.log(JSON.stringify({ exit: performance.now() })))
const config = { storeTimeout: 200 }

if (process.env.API === "promise") {
  const breaker = createCircuitBreaker("exit-promise", config)
  for (let i = 0; i < 10; i++) await breaker.execute(() => i)
  console.log(JSON.stringify({ done: performance.now() }))
} else {
  const runtime = ManagedRuntime.make(RedisCircuitStore.layerFromEnv())
  await runtime.runPromise(Effect.gen(function*() {
    const breaker = yield* CircuitBreaker.make("exit-effect", config)
    for (let i = 0; i < 10; i++) yield* breaker.protect(Effect.succeed(i))
  }))
  await runtime.dispose()
  console.log(JSON.stringify({ done: performance.now() }))
}
