/**
 * The demo: four simulated instances share one circuit store and call a
 * dependency that fails for a while and then recovers. Each transition an
 * instance sees is printed, then a summary.
 *
 *   npm run demo                      # memory store
 *   REDIS_URL=redis://127.0.0.1:6379 npm run demo
 *   UPSTASH_REDIS_REST_URL=… UPSTASH_REDIS_REST_TOKEN=… npm run demo
 */
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { CircuitBreaker } from "../src/index.js"
import { storeFromEnv } from "./storeFromEnv.js"

const INSTANCES = 4
const RUN_FOR = Duration.seconds(7.5)
const OUTAGE = { from: 500, to: 4_000 } // ms after start

const program = Effect.gen(function*() {
  const { description } = storeFromEnv
  yield* Console.log(`Store: ${description}`)
  const start = Date.now()
  const since = () => `${String(Date.now() - start).padStart(5)} ms`
  const stats = { ran: 0, reachedWhileDown: 0, rejected: 0, probes: 0, failed: 0 }

  /** The dependency: down between OUTAGE.from and OUTAGE.to. */
  const dependency = Effect.suspend(() => {
    stats.ran++
    const t = Date.now() - start
    const down = t >= OUTAGE.from && t < OUTAGE.to
    if (down) stats.reachedWhileDown++
    return Effect.zipRight(
      Effect.sleep("20 millis"),
      down ? Effect.fail(new Error("503 from upstream")) : Effect.succeed("200 OK")
    )
  })

  const name = `payments-api-${start}` // a fresh circuit on a shared Redis
  const instance = (i: number) =>
    Effect.gen(function*() {
      const breaker = yield* CircuitBreaker.make(name, {
        serviceName: "payments-api",
        instanceId: `instance-${i}`,
        failureThreshold: 3,
        successThreshold: 2,
        halfOpenMaxProbes: 1,
        recoveryTimeout: "500 millis",
        maxRecoveryTimeout: "2 seconds",
        backoffJitter: 0.1,
        stateCacheTtl: "100 millis"
      })
      yield* breaker.stateChanges.pipe(
        Stream.runForEach((t) => Console.log(`${since()}  instance-${i}  ${t.from} -> ${t.to}`)),
        Effect.forkScoped
      )
      while (Date.now() - start < Duration.toMillis(RUN_FOR)) {
        const before = (yield* breaker.metrics).probes
        yield* breaker.protect(dependency).pipe(
          Effect.catchTags({ CircuitOpen: () => Effect.sync(() => stats.rejected++) }),
          Effect.catchAll(() => Effect.sync(() => stats.failed++))
        )
        stats.probes += (yield* breaker.metrics).probes - before
        yield* Effect.sleep(Duration.millis(40 + 20 * Math.random()))
      }
      return yield* breaker.state
    })

  const finalStates = yield* Effect.all(Array.from({ length: INSTANCES }, (_, i) => instance(i + 1)), {
    concurrency: "unbounded"
  })
  yield* Console.log("")
  yield* Console.log("Summary")
  yield* Console.log(`  calls that ran:                   ${stats.ran}`)
  yield* Console.log(`  calls that hit the dead upstream: ${stats.reachedWhileDown}`)
  yield* Console.log(`  calls failed by the upstream:     ${stats.failed}`)
  yield* Console.log(`  calls rejected by the breaker:    ${stats.rejected}`)
  yield* Console.log(`  half-open probes sent:            ${stats.probes}`)
  yield* Console.log(`  final state on each instance:     ${finalStates.join(", ")}`)
}).pipe(Effect.scoped, Effect.provide(storeFromEnv.layer))

Effect.runPromise(program).catch((error) => {
  console.error(String(error))
  process.exitCode = 1
})
