/**
 * OpenTelemetry: the breakers' Effect metrics (`circuit_breaker_*`) reach an OTel metric
 * exporter through `@effect/opentelemetry`, and, opt in, every protected call gets a span
 * carrying the breaker's decision and the circuit's state as attributes.
 *
 *   npx tsx examples/opentelemetry.ts
 *   (console exporters; on the memory store, or on Redis when REDIS_URL / the Upstash
 *   variables are set)
 *
 * Needs (not dependencies of the library): `@effect/opentelemetry`, `@opentelemetry/api`,
 * `@opentelemetry/sdk-metrics`, `@opentelemetry/sdk-trace-base` (and the peers
 * `@effect/opentelemetry` names). In production swap the console exporters for OTLP ones
 * (`@opentelemetry/exporter-metrics-otlp-http`, `@opentelemetry/exporter-trace-otlp-http`), or
 * use `@effect/opentelemetry`'s own `Otlp.layer`.
 *
 * The library's metrics are plain Effect `Metric`s in Effect's global registry: the layer below
 * registers a producer that reads that registry whenever the OTel reader collects, so nothing
 * in the breaker changes. Counters arrive as OTel sums (`circuit_breaker_calls_total` with the
 * attributes `service` and `outcome`), the state as a gauge, call durations as a histogram.
 */
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import type * as Resource from "@effect/opentelemetry/Resource"
import {
  ConsoleMetricExporter,
  type PushMetricExporter,
  PeriodicExportingMetricReader
} from "@opentelemetry/sdk-metrics"
import { ConsoleSpanExporter, SimpleSpanProcessor, type SpanExporter } from "@opentelemetry/sdk-trace-base"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { CircuitBreaker, CircuitBreakerError, RedisCircuitStore } from "../src/index.js"

/** Where the telemetry goes. */
export interface TelemetryOptions {
  /** `service.name` of the OTel resource. */
  readonly serviceName: string
  /** Receives the metrics, every `exportInterval` and once more when the layer closes. */
  readonly metricExporter: PushMetricExporter
  /** Default 60 seconds. */
  readonly exportInterval?: Duration.DurationInput | undefined
  /**
   * Opt in to spans: each call wrapped with `protectTraced` becomes a span sent here.
   * Without it, `protectTraced` costs nothing more than `protect` (Effect's default tracer
   * records nothing anyone exports).
   */
  readonly spanExporter?: SpanExporter | undefined
}

/**
 * The OTel SDK as a layer: a periodic metric reader over `metricExporter` (reading Effect's
 * metric registry, where every `circuit_breaker_*` metric lives) and, if given, a tracer that
 * sends Effect spans to `spanExporter`. Closing the layer flushes both.
 */
export const layerTelemetry = (options: TelemetryOptions): Layer.Layer<Resource.Resource> =>
  NodeSdk.layer(() => ({
    resource: { serviceName: options.serviceName },
    metricReader: new PeriodicExportingMetricReader({
      exporter: options.metricExporter,
      exportIntervalMillis: Duration.toMillis(options.exportInterval ?? "60 seconds")
    }),
    ...(options.spanExporter === undefined ? {} : { spanProcessor: new SimpleSpanProcessor(options.spanExporter) })
  }))

/**
 * What the breaker decided for a call: `allowed` (the call ran), `rejected` (the circuit is
 * open: `CircuitOpen`), `unavailable` (the store is down and `onStoreUnavailable` is
 * `"fail-closed"`: `ServiceUnavailable`).
 */
export type Decision = "allowed" | "rejected" | "unavailable"

/** Attribute names of the spans made by `protectTraced`. */
export const attributes = {
  name: "circuit_breaker.name",
  service: "circuit_breaker.service",
  decision: "circuit_breaker.decision",
  outcome: "circuit_breaker.outcome",
  state: "circuit_breaker.state",
  retryAfterMs: "circuit_breaker.retry_after_ms"
} as const

/**
 * `CircuitBreaker.protect` in a span named `circuit_breaker <name>`, annotated with the
 * decision (`allowed`, `rejected`, `unavailable`), the outcome of a call that ran (`success`,
 * `failure`), and the circuit's state after the call: taken from the `CircuitOpen` of a rejected
 * call, else read with `breaker.state`, which asks the store (on Redis: one round trip per
 * traced call; spans are opt in for that reason). Data-first and data-last.
 */
export const protectTraced: {
  (breaker: CircuitBreaker.CircuitBreaker): <A, E, R>(
    self: Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | CircuitBreakerError.CircuitOpen | CircuitBreakerError.ServiceUnavailable, R>
  <A, E, R>(
    self: Effect.Effect<A, E, R>,
    breaker: CircuitBreaker.CircuitBreaker
  ): Effect.Effect<A, E | CircuitBreakerError.CircuitOpen | CircuitBreakerError.ServiceUnavailable, R>
} = dual(
  2,
  <A, E, R>(self: Effect.Effect<A, E, R>, breaker: CircuitBreaker.CircuitBreaker) =>
    breaker.protect(self).pipe(
      Effect.onExit((exit) =>
        Effect.gen(function*() {
          const error = exit._tag === "Failure" ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined
          if (CircuitBreakerError.isCircuitOpen(error)) {
            yield* Effect.annotateCurrentSpan({
              [attributes.decision]: "rejected" satisfies Decision,
              [attributes.state]: error.state,
              [attributes.retryAfterMs]: Duration.toMillis(error.retryAfter)
            })
            return
          }
          if (CircuitBreakerError.isServiceUnavailable(error)) {
            yield* Effect.annotateCurrentSpan({
              [attributes.decision]: "unavailable" satisfies Decision,
              [attributes.state]: yield* breaker.state
            })
            return
          }
          yield* Effect.annotateCurrentSpan({
            [attributes.decision]: "allowed" satisfies Decision,
            [attributes.outcome]: exit._tag === "Success" ? "success" : "failure",
            [attributes.state]: yield* breaker.state
          })
        })
      ),
      Effect.withSpan(`circuit_breaker ${breaker.name}`, {
        kind: "internal",
        attributes: { [attributes.name]: breaker.name, [attributes.service]: breaker.config.serviceName }
      })
    )
)

/** A short run: a dependency that fails, a circuit that opens, metrics and spans on the console. */
export const main = Effect.gen(function*() {
  const breaker = yield* CircuitBreaker.make("inventory", { failureThreshold: 3, recoveryTimeout: "30 seconds" })
  let down = false
  const inventory = Effect.suspend(() => down ? Effect.fail(new Error("inventory is down")) : Effect.succeed(7))
  for (let i = 0; i < 2; i++) yield* inventory.pipe(protectTraced(breaker))
  down = true
  for (let i = 0; i < 5; i++) {
    const result = yield* Effect.either(inventory.pipe(protectTraced(breaker)))
    yield* Effect.log(result._tag === "Right" ? `stock ${result.right}` : result.left.message)
  }
}).pipe(
  Effect.provide(Layer.merge(
    RedisCircuitStore.layerFromEnv(),
    layerTelemetry({
      serviceName: "opentelemetry-example",
      metricExporter: new ConsoleMetricExporter(),
      spanExporter: new ConsoleSpanExporter()
    })
  ))
)

if (import.meta.url === `file://${process.argv[1]}`) {
  Effect.runPromise(main)
}
