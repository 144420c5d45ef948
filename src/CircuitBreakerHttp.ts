/**
 * Health and metrics over HTTP, on @effect/platform:
 *
 * - `GET /health`: the fleet's health as JSON; 200, or 503 when unhealthy
 *   or unknown (the store could not be read, entirely or in part); every
 *   circuit in `services`, or `?services=non-healthy` / `none`;
 * - `GET /circuits`: the circuits as JSON, filtered and paged
 *   (`?state=OPEN&prefix=tenant-&limit=100&cursor=…`), with `complete`;
 * - `GET /metrics`: every circuit as JSON, or Prometheus text with
 *   `Accept: text/plain` or `?format=prometheus`;
 * - `GET /alerts`: the current alerts as JSON;
 * - admin routes (`POST /circuits/:name/reset`, `…/force-open`,
 *   `…/force-close`, `POST /reset-all`) only when an `authorize` check is
 *   given; a request it refuses gets 403;
 * - `GET /dashboard`: a live page of the circuits and alerts, with admin
 *   buttons for those `authorize` lets through (`dashboard: false` leaves it out).
 *
 * Offered as an `HttpRouter` (mount it in an Effect server) and as a
 * Web-standard `(Request) => Promise<Response>` handler (Next.js route
 * handlers, Edge functions, Deno, Bun).
 *
 * @example
 * ```ts
 * // app/api/circuit-breakers/[...path]/route.ts (Next.js)
 * import { CircuitBreakerHttp, RedisCircuitStore } from "effect-circuit-breaker-redis"
 *
 * const { handler } = CircuitBreakerHttp.toWebHandler(RedisCircuitStore.layerFromEnv(), {
 *   basePath: "/api/circuit-breakers"
 * })
 * export const GET = handler
 * ```
 *
 * @since 0.1.0
 */
import * as HttpApp from "@effect/platform/HttpApp"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as CircuitBreakerMetrics from "./CircuitBreakerMetrics.js"
import {
  CircuitBreakerMonitoring,
  layer as monitoringLayer,
  type Options as MonitoringOptions,
  type OverallHealth,
  type ReadOptions
} from "./CircuitBreakerMonitoring.js"
import { CircuitBreakers, layer as registryLayer } from "./CircuitBreakers.js"
import type { State } from "./CircuitState.js"
import type { CircuitStore } from "./CircuitStore.js"
import * as CircuitConfig from "./CircuitConfig.js"
import * as dashboard from "./internal/dashboard.js"
import * as prometheus from "./internal/prometheus.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Path the routes are mounted under, e.g. `"/api/circuit-breakers"` (default: none). */
  readonly basePath?: string | undefined
  /**
   * Enables the admin routes: called for each admin request; `true` lets it
   * through. Without it, admin routes do not exist (404).
   */
  readonly authorize?:
    | ((request: HttpServerRequest.HttpServerRequest) => Effect.Effect<boolean>)
    | undefined
  /**
   * Which circuits get series of their own in the Prometheus output
   * (`?circuits=` overrides it): `"all"` (default), `"non-closed"` (a fleet
   * of 10,000 tenants scrapes only the circuits that need attention) or
   * `"none"`. The aggregate series (circuits per state, the read's
   * completeness) are always there.
   */
  readonly perCircuit?: "all" | "non-closed" | "none" | undefined
  /**
   * Which circuits `GET /health` lists in `services` (`?services=`
   * overrides it): `"all"` (default), `"non-healthy"` (a load balancer's
   * probe of 10,000 tenants gets the few that need attention, not every one)
   * or `"none"`. `overall`, `complete`, `unreadable` and `reason` are always
   * those of the whole fleet.
   */
  readonly healthServices?: "all" | "non-healthy" | "none" | undefined
  /**
   * Serves the dashboard (default `true`): `GET /dashboard`, a page of the
   * circuits (not-closed first, filtered and paged on the server) and the
   * alerts, polling `/circuits` and `/alerts` every 2 s, under a strict
   * Content-Security-Policy; its script and stylesheet at
   * `/dashboard/app.js` and `/dashboard/app.css`; and
   * `GET /dashboard/permissions`, `{ admin }` from `authorize` (false without
   * it), which shows the admin buttons.
   */
  readonly dashboard?: boolean | undefined
}

const states: ReadonlyArray<State> = ["CLOSED", "OPEN", "HALF_OPEN", "FORCED_OPEN", "FORCED_CLOSED"]

/** `?state=OPEN&state=HALF_OPEN&prefix=pay&limit=100&cursor=…`, or what is wrong with it. */
const parseReadOptions = (query: Readonly<Record<string, string | ReadonlyArray<string>>>): ReadOptions | string => {
  const one = (key: string): string | undefined => {
    const value = query[key]
    return typeof value === "string" ? value : value?.[value.length - 1]
  }
  const stateParam = query["state"]
  const wanted = stateParam === undefined ? undefined : typeof stateParam === "string" ? [stateParam] : [...stateParam]
  const bad = wanted?.find((state) => !states.includes(state as State))
  if (bad !== undefined) {
    return `state must be one of ${states.join(", ")} (got ${JSON.stringify(bad.slice(0, 40))})`
  }
  const limitParam = one("limit")
  const limit = limitParam === undefined ? undefined : Number(limitParam)
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > 10_000)) {
    return `limit must be a whole number from 1 to 10000 (got ${JSON.stringify(String(limitParam).slice(0, 40))})`
  }
  const prefix = one("prefix")
  const cursor = one("cursor")
  return {
    ...(wanted !== undefined ? { state: wanted as Array<State> } : {}),
    ...(prefix !== undefined ? { prefix } : {}),
    ...(limit !== undefined ? { limit } : {}),
    ...(cursor !== undefined ? { cursor } : {})
  }
}

const json = (body: unknown, status = 200) =>
  HttpServerResponse.unsafeJson(body, { status, headers: { "cache-control": "no-store" } })

const problem = (status: number, error: string, message: string) => json({ error, message }, status)

const wantsPrometheus = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const query = yield* HttpServerRequest.ParsedSearchParams
  const format = query["format"]
  if (format !== undefined) {
    if (format === "prometheus" || format === "text") return "prometheus" as const
    if (format === "json") return "json" as const
    return { invalid: String(format) }
  }
  const accept = request.headers["accept"] ?? ""
  return /text\/plain|application\/openmetrics-text/.test(accept) && !/application\/json/.test(accept)
    ? "prometheus" as const
    : "json" as const
})

/**
 * The routes as an `HttpRouter`. Needs `CircuitBreakerMonitoring` and
 * `CircuitBreakers` (for admin routes by name).
 *
 * @since 0.1.0
 * @category routers
 */
export const router = (
  options: Options = {}
): HttpRouter.HttpRouter<never, CircuitBreakerMonitoring | CircuitBreakers> => {
  let routes: HttpRouter.HttpRouter<never, CircuitBreakerMonitoring | CircuitBreakers> = HttpRouter.empty.pipe(
    HttpRouter.get(
      "/health",
      Effect.gen(function*() {
        const monitoring = yield* CircuitBreakerMonitoring
        const query = yield* HttpServerRequest.ParsedSearchParams
        const listed = query["services"] ?? options.healthServices ?? "all"
        if (listed !== "all" && listed !== "non-healthy" && listed !== "none") {
          return problem(400, "Bad Request", `services must be "all", "non-healthy" or "none" (got ${JSON.stringify(String(listed).slice(0, 40))})`)
        }
        const health = yield* monitoring.health
        const services: Record<string, OverallHealth["services"][string]> = Object.create(null)
        if (listed === "non-healthy") {
          for (const name in health.services) {
            const service = health.services[name]!
            if (service.status !== "healthy") services[name] = service
          }
        }
        const body = listed === "all" ? health : { ...health, services }
        // a fleet that could not be read is not reported healthy
        return json(body, health.overall === "unhealthy" || health.overall === "unknown" ? 503 : 200)
      })
    ),
    HttpRouter.get(
      "/circuits",
      Effect.gen(function*() {
        const monitoring = yield* CircuitBreakerMonitoring
        const query = yield* HttpServerRequest.ParsedSearchParams
        const parsed = parseReadOptions(query)
        if (typeof parsed === "string") return problem(400, "Bad Request", parsed)
        return json(yield* monitoring.read(parsed))
      })
    ),
    HttpRouter.get(
      "/alerts",
      Effect.gen(function*() {
        const monitoring = yield* CircuitBreakerMonitoring
        return json({ alerts: yield* monitoring.getAlerts })
      })
    ),
    HttpRouter.get(
      "/metrics",
      Effect.gen(function*() {
        const monitoring = yield* CircuitBreakerMonitoring
        const format = yield* wantsPrometheus
        if (typeof format === "object") {
          return problem(400, "Bad Request", `format must be "json" or "prometheus" (got ${JSON.stringify(format.invalid.slice(0, 40))})`)
        }
        if (format === "json") return json(yield* monitoring.getAllMetrics)
        const query = yield* HttpServerRequest.ParsedSearchParams
        const perCircuit = query["circuits"] ?? options.perCircuit ?? "all"
        if (perCircuit !== "all" && perCircuit !== "non-closed" && perCircuit !== "none") {
          return problem(400, "Bad Request", `circuits must be "all", "non-closed" or "none" (got ${JSON.stringify(String(perCircuit).slice(0, 40))})`)
        }
        const fleet = yield* monitoring.read()
        const instance = yield* CircuitBreakerMetrics.snapshot
        return HttpServerResponse.text(prometheus.render(fleet, instance, perCircuit), {
          contentType: prometheus.contentType,
          headers: { "cache-control": "no-store" }
        })
      })
    )
  )

  if (options.dashboard !== false) {
    routes = routes.pipe(
      HttpRouter.get("/dashboard", dashboard.page),
      HttpRouter.get("/dashboard/app.js", dashboard.scriptResponse),
      HttpRouter.get("/dashboard/app.css", dashboard.stylesheetResponse),
      HttpRouter.get("/dashboard/permissions", dashboard.permissions(options.authorize))
    )
  }

  const authorize = options.authorize
  if (authorize !== undefined) {
    const guarded = <E, R>(action: (name: string) => Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) =>
      Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        const allowed = yield* authorize(request).pipe(Effect.catchAllCause(() => Effect.succeed(false)))
        if (!allowed) return problem(403, "Forbidden", "this admin action is not authorized")
        const params = yield* HttpRouter.params
        return yield* action(params["name"] ?? "")
      })
    const admin = (verb: "reset" | "force-open" | "force-close") =>
      guarded((name) =>
        Effect.gen(function*() {
          const valid = CircuitConfig.validateServiceName(name)
          if (valid._tag === "Left") return problem(400, "Bad Request", valid.left.message)
          const registry = yield* CircuitBreakers
          const breaker = yield* Effect.orDie(registry.get(name))
          const result = yield* Effect.either(
            verb === "reset" ? breaker.reset : verb === "force-open" ? breaker.forceOpen : breaker.forceClose
          )
          if (result._tag === "Left") return problem(503, "Service Unavailable", result.left.message)
          return json({ service: name, action: verb, state: yield* breaker.state })
        })
      )
    routes = routes.pipe(
      HttpRouter.post("/circuits/:name/reset", admin("reset")),
      HttpRouter.post("/circuits/:name/force-open", admin("force-open")),
      HttpRouter.post("/circuits/:name/force-close", admin("force-close")),
      HttpRouter.post(
        "/reset-all",
        guarded(() =>
          Effect.gen(function*() {
            const monitoring = yield* CircuitBreakerMonitoring
            return json({ results: yield* monitoring.resetAll })
          })
        )
      )
    )
  }
  const base = options.basePath?.replace(/\/+$/, "")
  return base === undefined || base === "" ? routes : HttpRouter.prefixAll(routes, base as `/${string}`)
}

/**
 * What the routes need, on a given store: the registry and monitoring.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options?: MonitoringOptions
): Layer.Layer<CircuitBreakerMonitoring | CircuitBreakers, CircuitConfig.CircuitConfigError, CircuitStore> =>
  monitoringLayer(options).pipe(Layer.provideMerge(registryLayer()))

/**
 * The routes as a Web-standard handler, building `store` (and the registry
 * and monitoring on it) once, on the first request.
 *
 * @example
 * ```ts
 * import { CircuitBreakerHttp, CircuitStore } from "effect-circuit-breaker-redis"
 *
 * const { handler, dispose } = CircuitBreakerHttp.toWebHandler(CircuitStore.layerMemory)
 * const response = await handler(new Request("http://localhost/health"))
 * ```
 *
 * @since 0.1.0
 * @category conversions
 */
export const toWebHandler = <E>(
  store: Layer.Layer<CircuitStore, E>,
  options: Options & { readonly monitoring?: MonitoringOptions | undefined } = {}
): {
  readonly handler: (request: Request) => Promise<Response>
  readonly dispose: () => Promise<void>
} => {
  const app = router(options).pipe(
    HttpRouter.catchAllCause(() => Effect.succeed(problem(500, "Internal Server Error", "the request failed")))
  )
  const built = HttpApp.toWebHandlerLayer(app, layer(options.monitoring).pipe(Layer.provideMerge(store)))
  return { handler: (request) => built.handler(request), dispose: built.dispose }
}
