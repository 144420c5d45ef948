/**
 * One instance of `bench/fleet.bench.ts` (Effect 4 edition), run as its own OS process:
 *
 *   node --import ../bench/register.mjs bench/fleetProcess.ts '<json ProcessOptions>'
 *
 * A breaker on a Redis store shared by the fleet calls the bench's HTTP dependency one call at a
 * time, every `intervalMs`: this library's `CircuitBreaker` over `RedisCircuitStore` and
 * `IORedisClient` (`library: "ours"`), or Effect 4's `effect/persistence/CircuitBreaker` over
 * `layerStoreRedis` and `NodeRedis` (`library: "effect"`). Each request carries `x-worker: <id>`.
 * JSON lines on stdout: `ready`; `outcome` whenever the outcome of a call differs from the
 * previous call's (`at`: `Date.now()` when the call ended); `summary` (calls by outcome) when
 * `stop` on stdin (or its end) stopped it.
 */
import * as NodeRedis from "@effect/platform-node/NodeRedis"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as EffectBreaker from "effect/persistence/CircuitBreaker"
import { DependencyError, emit as emitLine, fetchDependency, listen } from "../../test/shared/fleetChild.js"

export interface ProcessOptions {
  readonly id: string
  readonly library: "ours" | "effect"
  readonly redisUrl: string
  readonly prefix: string
  readonly circuit: string
  readonly dependencyUrl: string
  readonly intervalMs: number
  /** Consecutive failures that open the circuit. */
  readonly failures: number
  /** How long it stays open (fixed, no backoff), ms. */
  readonly openMs: number
}

export type Outcome = "ok" | "failed" | "rejected" | "other"

export type ProcessEvent =
  | { readonly type: "ready"; readonly id: string }
  | { readonly type: "outcome"; readonly id: string; readonly outcome: Outcome; readonly at: number }
  | { readonly type: "summary"; readonly id: string; readonly calls: Readonly<Record<Outcome, number>> }

const emit: (event: ProcessEvent) => void = emitLine

const options = JSON.parse(process.argv[2] ?? "{}") as ProcessOptions
const control = listen()

const callDependency = Effect.tryPromise({
  try: (signal) => fetchDependency(options.dependencyUrl, options.id, signal),
  catch: (cause) => (cause instanceof DependencyError ? cause : new DependencyError(String(cause)))
})

/** A protected call, and how to name its failures. */
interface Protected {
  readonly call: Effect.Effect<string, unknown>
  readonly classify: (error: unknown) => Outcome
}

const tagOf = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null && "_tag" in error ? String(error._tag) : undefined

const calling = (breaker: Protected) =>
  Effect.gen(function*() {
    const calls: Record<Outcome, number> = { ok: 0, failed: 0, rejected: 0, other: 0 }
    emit({ type: "ready", id: options.id })
    let last: Outcome | undefined
    while (!control.stopped) {
      const result = yield* Effect.result(breaker.call)
      const outcome: Outcome = result._tag === "Success" ? "ok" : breaker.classify(result.failure)
      calls[outcome]++
      if (outcome !== last) emit({ type: "outcome", id: options.id, outcome, at: Date.now() })
      last = outcome
      yield* Effect.sleep(options.intervalMs)
    }
    emit({ type: "summary", id: options.id, calls })
  })

const effectProgram = Effect.gen(function*() {
  const breaker = yield* EffectBreaker.CircuitBreaker
  yield* calling({
    call: breaker.execute(callDependency, { key: options.circuit }),
    classify: (error) =>
      error instanceof DependencyError
        ? "failed"
        : error instanceof EffectBreaker.CircuitBreakerError &&
            (error.reason._tag === "CircuitOpen" || error.reason._tag === "CircuitHalfOpen")
        ? "rejected"
        : "other"
  })
}).pipe(
  Effect.provide(
    EffectBreaker.layer({
      tripPolicy: EffectBreaker.consecutive(options.failures),
      openDuration: options.openMs
    }).pipe(
      Layer.provide(EffectBreaker.layerStoreRedis({ prefix: options.prefix })),
      Layer.provide(NodeRedis.layer({ url: options.redisUrl }))
    )
  )
)

const oursProgram = Effect.gen(function*() {
  const CircuitBreaker = yield* Effect.promise(() => import("../src/CircuitBreaker.js"))
  const RedisCircuitStore = yield* Effect.promise(() => import("../src/RedisCircuitStore.js"))
  const IORedisClient = yield* Effect.promise(() => import("../src/IORedisClient.js"))
  const program = Effect.gen(function*() {
    const breaker = yield* CircuitBreaker.make(options.circuit, {
      failureThreshold: options.failures,
      recoveryTimeout: options.openMs,
      maxRecoveryTimeout: options.openMs,
      backoffMultiplier: 1,
      backoffJitter: 0,
      halfOpenMaxProbes: 1,
      successThreshold: 1,
      instanceId: options.id
    })
    yield* calling({
      call: breaker.protect(callDependency),
      classify: (error) => {
        const tag = tagOf(error)
        return tag === "DependencyError" ? "failed" : tag === "CircuitOpen" ? "rejected" : "other"
      }
    })
  })
  yield* program.pipe(
    Effect.provide(
      RedisCircuitStore.layer({ prefix: options.prefix }).pipe(
        Layer.provide(IORedisClient.layer({ url: options.redisUrl }))
      )
    )
  )
})

const program: Effect.Effect<void, unknown> = options.library === "effect" ? effectProgram : oursProgram

Effect.runPromise(Effect.scoped(program)).then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`fleet process ${options.id} (${options.library}) failed: ${String(error)}\n`)
    process.exit(2)
  }
)
