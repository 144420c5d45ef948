/**
 * Test support: one member of a fleet on the Effect 4 edition, run as its own OS process by
 * `effect4/test/Fleet.test.ts` (the scenarios of test/shared/scenarios/fleet.ts, whose
 * `WorkerEvent` protocol it speaks):
 *
 *   node --import tsx effect4/test/support/fleetWorker.ts '<json WorkerOptions>'
 *
 * It makes a breaker on a Redis store (ioredis) and loops, one call at a time:
 * `breaker.protect(callDependency)`, then a short sleep. The dependency is an HTTP server run by
 * the test process; every request carries `x-worker: <id>`. The worker never decides anything
 * itself: the breaker does. It stops (and prints `final`) on a `stop` line on stdin, when stdin
 * ends, or after `maxRunMs` (test/shared/fleetChild.ts).
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Result from "effect/Result"
import * as Stream from "effect/Stream"
import { CircuitBreaker, RedisCircuitStore } from "../../src/index.js"
import { IORedisClient } from "../../src/ioredis.js"
import { DependencyError, emit as emitLine, fetchDependency, listen } from "../../../test/shared/fleetChild.js"
import type { WorkerCounts, WorkerEvent, WorkerOptions } from "../../../test/shared/scenarios/fleet.js"

const emit: (event: WorkerEvent) => void = emitLine

const options = JSON.parse(process.argv[2] ?? "{}") as WorkerOptions

const control = listen()
setTimeout(control.stop, options.maxRunMs).unref()

/** A GET of the dependency, as this member. */
const callDependency: Effect.Effect<string, DependencyError> = Effect.tryPromise({
  try: (signal) => fetchDependency(options.dependencyUrl, options.id, signal),
  catch: (cause) => (cause instanceof DependencyError ? cause : new DependencyError(String(cause)))
})

const program = Effect.gen(function*() {
  const breaker = yield* CircuitBreaker.make(options.circuit, { ...options.config, instanceId: options.id })
  let lastState = "CLOSED"
  yield* breaker.stateChanges.pipe(
    Stream.runForEach((t) =>
      Effect.sync(() => {
        lastState = t.to
        emit({ type: "transition", id: options.id, from: t.from, to: t.to, at: t.at, version: t.version })
      })
    ),
    Effect.forkScoped
  )
  // let the forked stream subscribe before the first call
  yield* Effect.sleep("20 millis")
  emit({ type: "ready", id: options.id, pid: process.pid })

  const counts: WorkerCounts = { ran: 0, ok: 0, failed: 0, rejected: 0, other: 0 }
  let lastOutcome: "ok" | "failed" | "rejected" | "other" | "none" = "none"
  let lastOkAt = 0
  while (!control.stopped) {
    const result = yield* Effect.result(breaker.protect(callDependency))
    if (Result.isSuccess(result)) {
      counts.ran++
      counts.ok++
      lastOutcome = "ok"
      lastOkAt = Date.now()
    } else if (result.failure._tag === "DependencyError") {
      counts.ran++
      counts.failed++
      lastOutcome = "failed"
    } else if (result.failure._tag === "CircuitOpen") {
      counts.rejected++
      lastOutcome = "rejected"
    } else {
      counts.other++
      lastOutcome = "other"
    }
    yield* Effect.sleep(options.intervalMs)
  }
  const metrics = yield* breaker.metrics
  emit({
    type: "final",
    id: options.id,
    counts,
    probes: metrics.probes,
    rejections: metrics.rejections,
    storeErrors: metrics.storeErrors,
    lastState,
    lastOutcome,
    lastOkAt
  })
})

const Store = RedisCircuitStore.layer({ prefix: options.prefix }).pipe(
  Layer.provide(IORedisClient.layer({ url: options.redisUrl }))
)

Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(Store))).then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`fleet worker ${options.id} failed: ${String(error)}\n`)
    process.exit(2)
  }
)
