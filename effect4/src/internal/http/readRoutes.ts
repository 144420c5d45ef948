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
import { CircuitBreakerMonitoring, type OverallHealth } from "../../CircuitBreakerMonitoring.js"
import * as prometheus from "../monitoring/prometheus.js"
import { allows } from "./authorize.js"
import { parseReadOptions, wantsPrometheus } from "./query.js"
import { ageHeader, badChoice, json, problem, refused } from "./responses.js"

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
        const listed = query["services"] ?? options.healthServices ?? "all"
        if (listed !== "all" && listed !== "non-healthy" && listed !== "none") {
          return badChoice("services", `"all", "non-healthy" or "none"`, listed)
        }
        const { age, snapshot } = yield* current
        const health = snapshot.health
        // a fleet that could not be read is not reported healthy
        const status = health.overall === "unhealthy" || health.overall === "unknown" ? 503 : 200
        const request = yield* HttpServerRequest.HttpServerRequest
        if (authorizeRead !== undefined && !(yield* allows(authorizeRead, request))) {
          // the summary: the verdict and counts, no circuit's name (`reason` names them)
          const circuits = { healthy: 0, degraded: 0, unhealthy: 0 }
          for (const name in health.services) circuits[health.services[name]!.status]++
          const { complete, overall, timestamp, unreadable } = health
          return json({ overall, complete, unreadable, circuits, timestamp, age }, status, ageHeader(age))
        }
        const services: Record<string, OverallHealth["services"][string]> = Object.create(null)
        if (listed === "non-healthy") {
          for (const name in health.services) {
            const service = health.services[name]!
            if (service.status !== "healthy") services[name] = service
          }
        }
        const body = listed === "all" ? { ...health, age } : { ...health, services, age }
        return json(body, status, ageHeader(age))
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
        if (typeof format === "object") return badChoice("format", `"json" or "prometheus"`, format.invalid)
        const query = yield* HttpServerRequest.ParsedSearchParams
        const perCircuit = query["circuits"] ?? options.perCircuit ?? "all"
        if (format === "prometheus" && perCircuit !== "all" && perCircuit !== "non-closed" && perCircuit !== "none") {
          return badChoice("circuits", `"all", "non-closed" or "none"`, perCircuit)
        }
        const { age, snapshot } = yield* current
        // by circuit name: the age goes in the header only (a circuit may be named "age")
        if (format === "json") return json(snapshot.metrics, 200, ageHeader(age))
        const instance = yield* CircuitBreakerMetrics.snapshot
        return HttpServerResponse.text(
          prometheus.render(snapshot.read(), instance, perCircuit as "all" | "non-closed" | "none", age),
          { contentType: prometheus.contentType, headers: { "cache-control": "no-store", ...ageHeader(age) } }
        )
      }))
    )
  )
}
