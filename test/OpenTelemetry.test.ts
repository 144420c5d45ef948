/**
 * examples/opentelemetry.ts: the breakers' Effect metrics reach an OpenTelemetry metric exporter
 * through @effect/opentelemetry, and `protectTraced` makes one span per call with the decision
 * and the state. Real OTel SDK (its in-memory exporters), a real redis-server for the store.
 */
import { describe, expect, it } from "@effect/vitest"
import {
  AggregationTemporality,
  DataPointType,
  InMemoryMetricExporter,
  type MetricData
} from "@opentelemetry/sdk-metrics"
import { InMemorySpanExporter, type ReadableSpan } from "@opentelemetry/sdk-trace-base"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { execFile } from "node:child_process"
import { promisify } from "node:util"
import { attributes, layerTelemetry, protectTraced } from "../examples/opentelemetry.js"
import { CircuitBreaker } from "../src/index.js"
import { type RedisServer, redisServerScoped } from "./support/redisServer.js"
import { tcpStore } from "./support/stores.js"
import { beforeAllScoped } from "./support/suite.js"

let redis: RedisServer
let names = 0
/** Metrics are global: every test uses circuits of its own. */
const unique = (base: string) => `${base}-${process.pid}-${++names}`

beforeAllScoped(Effect.gen(function*() {
  redis = yield* redisServerScoped()
}))

const store = (url: string, commandTimeout?: number) =>
  Layer.orDie(tcpStore({ url }, {}, commandTimeout === undefined ? {} : { commandTimeout }))

const exported = (exporter: InMemoryMetricExporter): Array<MetricData> =>
  exporter.getMetrics().flatMap((resource) => resource.scopeMetrics.flatMap((scope) => scope.metrics))

/** The last exported value of a metric's data point with these attributes. */
const valueOf = (metrics: ReadonlyArray<MetricData>, name: string, attrs: Record<string, string>): unknown => {
  const points = metrics
    .filter((m) => m.descriptor.name === name)
    .flatMap((m) => m.dataPoints as ReadonlyArray<{ attributes: Record<string, unknown>; value: unknown }>)
    .filter((p) => Object.entries(attrs).every(([k, v]) => p.attributes[k] === v))
  return points.at(-1)?.value
}

const fail = Effect.fail(new Error("dependency down"))

describe("examples/opentelemetry.ts", () => {
  it("circuit_breaker_* metrics reach the OTel metric exporter; spans carry decision, outcome and state", async () => {
    const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
    const spanExporter = new InMemorySpanExporter()
    const name = unique("otel-payments")
    // read before the layer closes: shutting the SDK down empties the in-memory span exporter
    const finished = await Effect.runPromise(
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make(name, { failureThreshold: 3, recoveryTimeout: "1 minute" })
        for (let i = 0; i < 2; i++) yield* Effect.succeed("ok").pipe(protectTraced(breaker))
        for (let i = 0; i < 3; i++) yield* Effect.either(fail.pipe(protectTraced(breaker)))
        const rejected = yield* Effect.either(Effect.succeed("not run").pipe(protectTraced(breaker)))
        expect(rejected._tag === "Left" && rejected.left._tag).toBe("CircuitOpen")
        return [...spanExporter.getFinishedSpans()]
      }).pipe(
        Effect.provide(Layer.merge(
          store(redis.url),
          // a long interval: what arrives is the flush when the layer closes
          layerTelemetry({ serviceName: "otel-test", metricExporter, spanExporter, exportInterval: "1 hour" })
        ))
      )
    )

    const metrics = exported(metricExporter)
    const names = new Set(metrics.map((m) => m.descriptor.name))
    for (
      const metric of [
        "circuit_breaker_calls_total",
        "circuit_breaker_transitions_total",
        "circuit_breaker_state",
        "circuit_breaker_call_duration_ms"
      ]
    ) {
      expect(names, metric).toContain(metric)
    }
    expect(valueOf(metrics, "circuit_breaker_calls_total", { service: name, outcome: "success" })).toBe(2)
    expect(valueOf(metrics, "circuit_breaker_calls_total", { service: name, outcome: "failure" })).toBe(3)
    expect(valueOf(metrics, "circuit_breaker_calls_total", { service: name, outcome: "rejected" })).toBe(1)
    expect(valueOf(metrics, "circuit_breaker_transitions_total", { service: name, from: "CLOSED", to: "OPEN" })).toBe(1)
    expect(valueOf(metrics, "circuit_breaker_state", { service: name })).toBe(2) // OPEN
    const latency = metrics.find((m) => m.descriptor.name === "circuit_breaker_call_duration_ms")!
    expect(latency.dataPointType).toBe(DataPointType.HISTOGRAM)
    expect(valueOf([latency], "circuit_breaker_call_duration_ms", { service: name })).toMatchObject({ count: 5 })
    expect(metrics.find((m) => m.descriptor.name === "circuit_breaker_calls_total")!.dataPointType).toBe(
      DataPointType.SUM
    )
    expect(metricExporter.getMetrics()[0]!.resource.attributes["service.name"]).toBe("otel-test")

    const spans = finished.filter((span) => span.attributes[attributes.name] === name)
    expect(spans.map((span) => span.name)).toEqual(Array(6).fill(`circuit_breaker ${name}`))
    const summary = (span: ReadableSpan) => [
      span.attributes[attributes.decision],
      span.attributes[attributes.outcome],
      span.attributes[attributes.state]
    ]
    expect(spans.map(summary)).toEqual([
      ["allowed", "success", "CLOSED"],
      ["allowed", "success", "CLOSED"],
      ["allowed", "failure", "CLOSED"],
      ["allowed", "failure", "CLOSED"],
      ["allowed", "failure", "OPEN"], // the third failure opened it
      ["rejected", undefined, "OPEN"]
    ])
    expect(spans[5]!.attributes[attributes.retryAfterMs]).toBeGreaterThan(50_000)
    expect(spans[5]!.attributes[attributes.service]).toBe(name)
    // failed and rejected calls are error spans
    expect(spans.map((span) => span.status.code)).toEqual([1, 1, 2, 2, 2, 2])
  })

  it("the state on a span is the fleet's: another instance's forced open is seen", async () => {
    const spanExporter = new InMemorySpanExporter()
    const name = unique("otel-fleet")
    const shared = store(redis.url)
    const finished = await Effect.runPromise(
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make(name)
        yield* Effect.succeed("ok").pipe(protectTraced(breaker))
        // another instance: its own store layer and connection, the same Redis and prefix
        yield* Effect.flatMap(CircuitBreaker.make(name), (other) => other.forceOpen).pipe(Effect.provide(shared))
        // (rejected once the notification of the force-open arrived; either way the span says FORCED_OPEN)
        yield* Effect.either(Effect.succeed("ok").pipe(protectTraced(breaker)))
        return [...spanExporter.getFinishedSpans()]
      }).pipe(
        Effect.provide(Layer.merge(
          shared,
          layerTelemetry({
            serviceName: "otel-test",
            metricExporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
            spanExporter
          })
        ))
      )
    )
    const spans = finished.filter((span) => span.attributes[attributes.name] === name)
    expect(spans.map((span) => span.attributes[attributes.state])).toEqual(["CLOSED", "FORCED_OPEN"])
  })

  it("decision unavailable: a fail-closed breaker whose store is down", async () => {
    const spanExporter = new InMemorySpanExporter()
    const name = unique("otel-unavailable")
    const finished = await Effect.runPromise(
      Effect.gen(function*() {
        const breaker = yield* CircuitBreaker.make(name, { onStoreUnavailable: "fail-closed", storeTimeout: 300 })
        const result = yield* Effect.either(Effect.succeed("ok").pipe(protectTraced(breaker)))
        expect(result._tag === "Left" && result.left._tag).toBe("ServiceUnavailable")
        return [...spanExporter.getFinishedSpans()]
      }).pipe(
        Effect.provide(Layer.merge(
          store("redis://127.0.0.1:1", 300), // nothing listens there
          layerTelemetry({
            serviceName: "otel-test",
            metricExporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
            spanExporter
          })
        ))
      )
    )
    const [span] = finished.filter((s) => s.attributes[attributes.name] === name)
    expect(span?.attributes[attributes.decision]).toBe("unavailable")
    expect(span?.attributes[attributes.outcome]).toBeUndefined()
  })

  it("spans are opt in: without a span exporter no OTel span is made, metrics still arrive", async () => {
    const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
    const name = unique("otel-metrics-only")
    let runs = 0
    /** Whether the call ran inside an OTel span (an Effect span backed by the SDK holds one as `span`). */
    const inOtelSpan = (spanExporter?: InMemorySpanExporter) =>
      Effect.runPromise(
        Effect.gen(function*() {
          const breaker = yield* CircuitBreaker.make(name)
          const current = yield* Effect.currentSpan.pipe(Effect.option, protectTraced(breaker))
          return current._tag === "Some" && "span" in current.value
        }).pipe(Effect.provide(Layer.merge(
          store(redis.url),
          layerTelemetry({
            serviceName: "otel-test",
            // an exporter is closed with the SDK: the first run's is the one read below
            metricExporter: runs++ === 0
              ? metricExporter
              : new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
            ...(spanExporter === undefined ? {} : { spanExporter })
          })
        )))
      )
    expect(await inOtelSpan()).toBe(false)
    expect(await inOtelSpan(new InMemorySpanExporter())).toBe(true) // the check can fail
    expect(valueOf(exported(metricExporter), "circuit_breaker_calls_total", { service: name, outcome: "success" }))
      .toBe(1)
  })

  it("runs as a program: console exporters print the metrics and the spans", { timeout: 60_000 }, async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", "examples/opentelemetry.ts"], {
      cwd: new URL("..", import.meta.url).pathname,
      env: { PATH: process.env.PATH ?? "" },
      timeout: 50_000
    })
    expect(stdout).toContain("name: 'circuit_breaker_calls_total'")
    expect(stdout).toContain("name: 'circuit_breaker_transitions_total'")
    expect(stdout).toContain("'circuit_breaker.decision': 'rejected'")
    expect(stdout).toContain("'circuit_breaker.state': 'OPEN'")
  })
})
