/**
 * One instance of part 3 of `bench/fleet.bench.ts`, run as its own OS process:
 *
 *   node --import ./bench/register.mjs bench/fleetProcess.ts '<json ProcessOptions>'
 *
 * A breaker on a Redis store (ioredis, default store options) calls the bench's HTTP dependency one
 * call at a time, every `intervalMs`. Each request carries `x-worker: <id>`. JSON lines on stdout:
 * `ready`; `outcome` whenever the outcome of a call differs from the previous call's (`at`:
 * `Date.now()` when the call ended); `admin` when an operator command given on stdin
 * (`force-open`, `reset`) was sent (`started`) and answered (`ended`). `stop` on stdin (or its end)
 * stops it.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Runtime from "effect/Runtime"
import { CircuitBreaker, RedisCircuitStore } from "../src/index.js"
import type { CircuitConfig } from "../src/index.js"
import { callDependency as dependency, emit as emitLine, listen } from "../test/support/fleetChild.js"
import { IORedisClient } from "../src/ioredis.js"

export interface ProcessOptions {
  readonly id: string
  readonly redisUrl: string
  readonly prefix: string
  readonly circuit: string
  readonly dependencyUrl: string
  readonly config: CircuitConfig.Input
  readonly intervalMs: number
  /** The store's `notifications` option. */
  readonly notifications: boolean
}

export type Outcome = "ok" | "failed" | "rejected" | "other"

export type ProcessEvent =
  | { readonly type: "ready"; readonly id: string }
  | { readonly type: "outcome"; readonly id: string; readonly outcome: Outcome; readonly at: number }
  | {
    readonly type: "admin"
    readonly id: string
    readonly action: string
    readonly started: number
    readonly ended: number
  }

const emit: (event: ProcessEvent) => void = emitLine

const options = JSON.parse(process.argv[2] ?? "{}") as ProcessOptions

let onCommand: (command: string) => void = () => {}
const control = listen((command) => onCommand(command))
const callDependency = dependency(options.dependencyUrl, options.id)

const program = Effect.gen(function*() {
  const breaker = yield* CircuitBreaker.make(options.circuit, { ...options.config, instanceId: options.id })
  const runtime = yield* Effect.runtime<never>()
  onCommand = (command) => {
    const action = command === "force-open" ? breaker.forceOpen : command === "reset" ? breaker.reset : undefined
    if (action === undefined) return
    const started = Date.now()
    Runtime.runPromise(runtime)(Effect.either(action)).then(() =>
      emit({ type: "admin", id: options.id, action: command, started, ended: Date.now() })
    )
  }
  emit({ type: "ready", id: options.id })
  let last: Outcome | undefined
  while (!control.stopped) {
    const result = yield* Effect.either(breaker.protect(callDependency))
    const outcome: Outcome = result._tag === "Right"
      ? "ok"
      : result.left._tag === "DependencyError"
      ? "failed"
      : result.left._tag === "CircuitOpen"
      ? "rejected"
      : "other"
    if (outcome !== last) emit({ type: "outcome", id: options.id, outcome, at: Date.now() })
    last = outcome
    yield* Effect.sleep(options.intervalMs)
  }
})

const Store = RedisCircuitStore.layer({ prefix: options.prefix, notifications: options.notifications }).pipe(
  Layer.provide(IORedisClient.layer({ url: options.redisUrl }))
)

Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(Store))).then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`fleet process ${options.id} failed: ${String(error)}\n`)
    process.exit(2)
  }
)
