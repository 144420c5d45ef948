/**
 * Test support: one member of a fleet, run as its own OS process by `test/Fleet.test.ts`
 * (the scenarios of test/shared/scenarios/fleet.ts, whose `WorkerEvent` protocol it speaks):
 *
 *   node --import tsx test/support/fleetWorker.ts '<json WorkerOptions>'
 *
 * It makes a breaker on a Redis store (ioredis) and loops, one call at a time:
 * `breaker.protect(callDependency)`, then a short sleep. The dependency is an HTTP
 * server run by the test process; every request carries `x-worker: <id>` so the
 * server knows who called. The worker never decides anything itself: the breaker does.
 *
 * Output: JSON lines on stdout.
 * - `{ type: "ready", id, pid }` once the breaker exists and the transition stream is live;
 * - `{ type: "transition", id, from, to, at, version }` for every transition this instance sees;
 * - `{ type: "final", id, counts, metrics, lastState, lastOutcome }` when it stops.
 *
 * It stops (and prints `final`) on a `stop` line on stdin, when stdin ends (the test
 * process died: a worker never outlives its parent), or after `maxRunMs`. A watchdog exits
 * the process 3 s after that, whatever the loop is doing.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { CircuitBreaker, RedisCircuitStore } from "../../src/index.js"
import type { WorkerCounts, WorkerEvent, WorkerOptions } from "../shared/scenarios/fleet.js"
import { callDependency as dependency, emit as emitLine, listen } from "./fleetChild.js"
import { IORedisClient } from "../../src/ioredis.js"

export type { WorkerCounts, WorkerEvent, WorkerOptions } from "../shared/scenarios/fleet.js"

const emit: (event: WorkerEvent) => void = emitLine

const options = JSON.parse(process.argv[2] ?? "{}") as WorkerOptions

const control = listen()
setTimeout(control.stop, options.maxRunMs).unref()
const callDependency = dependency(options.dependencyUrl, options.id)

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
    const result = yield* Effect.either(breaker.protect(callDependency))
    if (result._tag === "Right") {
      counts.ran++
      counts.ok++
      lastOutcome = "ok"
      lastOkAt = Date.now()
    } else if (result.left._tag === "DependencyError") {
      counts.ran++
      counts.failed++
      lastOutcome = "failed"
    } else if (result.left._tag === "CircuitOpen") {
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
