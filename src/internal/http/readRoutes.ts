/**
 * The read routes of `CircuitBreakerHttp` (`/health`, `/circuits`,
 * `/alerts`, `/metrics`): each answers from the one shared snapshot of
 * `CircuitBreakerMonitoring`, never from a read of its own, and says its age.
 *
 * @internal
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type { Options } from "../../CircuitBreakerHttp.js"
import * as CircuitBreakerMetrics from "../../CircuitBreakerMetrics.js"
import { CircuitBreakerMonitoring } from "../../CircuitBreakerMonitoring.js"
import * as prometheus from "../monitoring/prometheus.js"
import { allows } from "./authorize.js"
import { parseReadOptions, wantsPrometheus } from "./query.js"
import { healthAnswer, healthServicesChoice, perCircuitChoice } from "../../../shared/http/responses.js"
import { ageHeader, json, problem, refused, respond } from "./responses.js"

/** The shared snapshot and its age in ms. */
const current = Effect.gen(function*() {
  const monitoring = yield* CircuitBreakerMonitoring
  const snapshot = yield* monitoring.snapshot
  const now = yield* Clock.currentTimeMillis
  return { snapshot, age: Math.max(0, now - snapshot.takenAt) }
})

/**
 * The read routes, added to `routes`.
 *
 * @internal
 */
export const readRoutes = <R>(
  routes: HttpRouter.HttpRouter<never, R>,
  options: Options
): HttpRouter.HttpRouter<never, R | CircuitBreakerMonitoring> => {
  const authorizeRead = options.authorizeRead
  /** A read route: behind `authorizeRead` when it is given. */
  const reading = <E, R>(route: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) =>
    authorizeRead === undefined ? route : Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      if (!(yield* allows(authorizeRead, request))) return refused(request, "this read")
      return yield* route
    })

  return routes.pipe(
    HttpRouter.get(
      "/health",
      Effect.gen(function*() {
        const query = yield* HttpServerRequest.ParsedSearchParams
        const services = query["services"]
        const listed = healthServicesChoice(
          services === undefined ? undefined : String(services),
          options.healthServices
        )
        if (typeof listed === "object") return respond(listed)
        const { age, snapshot } = yield* current
        const request = yield* HttpServerRequest.HttpServerRequest
        const summaryOnly = authorizeRead !== undefined && !(yield* allows(authorizeRead, request))
        return respond(healthAnswer(snapshot.health, listed, age, summaryOnly))
      })
    ),
    HttpRouter.get(
      "/circuits",
      reading(Effect.gen(function*() {
        const query = yield* HttpServerRequest.ParsedSearchParams
        const parsed = parseReadOptions(query)
        if (typeof parsed === "string") return problem(400, "Bad Request", parsed)
        const { age, snapshot } = yield* current
        return json({ ...snapshot.read(parsed), age }, 200, ageHeader(age))
      }))
    ),
    HttpRouter.get(
      "/alerts",
      reading(Effect.gen(function*() {
        const { age, snapshot } = yield* current
        return json({ alerts: snapshot.alerts, age }, 200, ageHeader(age))
      }))
    ),
    HttpRouter.get(
      "/metrics",
      reading(Effect.gen(function*() {
        const format = yield* wantsPrometheus
        if (typeof format === "object") return respond(format)
        const query = yield* HttpServerRequest.ParsedSearchParams
        const circuits = query["circuits"]
        const perCircuit = perCircuitChoice(circuits === undefined ? undefined : String(circuits), options.perCircuit)
        if (format === "prometheus" && typeof perCircuit === "object") return respond(perCircuit)
        const { age, snapshot } = yield* current
        // by circuit name: the age goes in the header only (a circuit may be named "age")
        if (format === "json") return json(snapshot.metrics, 200, ageHeader(age))
        const instance = yield* CircuitBreakerMetrics.snapshot
        return HttpServerResponse.text(
          prometheus.render(snapshot.read(), instance, typeof perCircuit === "object" ? "all" : perCircuit, age),
          { contentType: prometheus.contentType, headers: { "cache-control": "no-store", ...ageHeader(age) } }
        )
      }))
    )
  )
}
