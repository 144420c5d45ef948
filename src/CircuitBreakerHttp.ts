/**
 * Health and metrics over HTTP, on @effect/platform:
 *
 * - `GET /health`: the fleet's health as JSON; 200, or 503 when unhealthy
 *   or unknown (the store could not be read, entirely or in part); every
 *   circuit in `services`, or `?services=non-healthy` / `none` (with
 *   `authorizeRead`, a request it refuses gets the verdict and counts only);
 * - `GET /circuits`: the circuits as JSON, filtered and paged
 *   (`?state=OPEN&prefix=tenant-&limit=100&cursor=…`), with `complete`;
 * - `GET /metrics`: every circuit as JSON, or Prometheus text with
 *   `Accept: text/plain` or `?format=prometheus`;
 * - `GET /alerts`: the current alerts as JSON;
 * - admin routes (`POST /circuits/:name/reset`, `…/force-open`,
 *   `…/force-close`, `POST /reset-all`) only when an `authorize` check is
 *   given (`CircuitBreakerHttp.bearer(token)`); a request it refuses gets
 *   401 or 403, a cross-site one 403, an unknown circuit 404;
 * - `GET /dashboard`: a live page of the circuits and alerts, with admin
 *   buttons for those `authorize` lets through (`dashboard: false` leaves it out).
 *
 * The read routes answer from one snapshot of the fleet, shared by every
 * request and read again at most once per `snapshotTtl` (default 1 s): its
 * age in ms is in the `x-snapshot-age` header, and in `age` of the JSON
 * bodies of `/health`, `/circuits` and `/alerts`. With `authorizeRead`, every
 * read route but the health summary needs it.
 *
 * Offered as an `HttpRouter` (mount it in an Effect server) and as a
 * Web-standard `(Request) => Promise<Response>` handler (Next.js route
 * handlers, Edge functions, Deno, Bun).
 *
 * @example
 * ```ts
 * // app/api/circuit-breakers/[...path]/route.ts (Next.js)
 * import { RedisCircuitStore } from "effect-circuit-breaker-redis"
 * import { CircuitBreakerHttp } from "effect-circuit-breaker-redis/http"
 *
 * const { handler } = CircuitBreakerHttp.toWebHandler(RedisCircuitStore.layerFromEnv(), {
 *   basePath: "/api/circuit-breakers",
 *   authorize: CircuitBreakerHttp.bearer(process.env.ADMIN_TOKEN)
 * })
 * export const GET = handler
 * export const POST = handler
 * ```
 *
 * @since 0.1.0
 */
import * as HttpApp from "@effect/platform/HttpApp"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
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
import { CircuitStore } from "./CircuitStore.js"
import * as CircuitConfig from "./CircuitConfig.js"
import * as dashboard from "./internal/http/dashboard.js"
import * as prometheus from "./internal/monitoring/prometheus.js"

/**
 * A check of a request: `true` lets it through (`authorize`,
 * `authorizeRead`; `bearer(token)` makes one).
 *
 * @since 0.1.0
 * @category models
 */
export type Authorize = (request: HttpServerRequest.HttpServerRequest) => Effect.Effect<boolean>

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Path the routes are mounted under, e.g. `"/api/circuit-breakers"` (default: none). */
  readonly basePath?: string | undefined
  /**
   * Enables the admin routes: called for each admin request; `true` lets it
   * through. Without it, admin routes do not exist (404). Use
   * `CircuitBreakerHttp.bearer(token)` for a bearer token.
   */
  readonly authorize?: Authorize | undefined
  /**
   * Guards every read route but the health summary (`/circuits`, `/metrics`,
   * `/alerts`, and the circuits listed by `/health`): a request it refuses
   * gets 401 or 403, and `/health` answers it with the verdict and counts
   * only. Without it, the read routes are open to anyone who can reach them
   * (as are the dashboard's page and files, which hold no data).
   */
  readonly authorizeRead?: Authorize | undefined
  /**
   * Origins (`https://ops.example.com`) from which admin requests are
   * accepted besides the server's own. Other cross-site requests get 403
   * (`Origin` of another host, or `Sec-Fetch-Site` other than `same-origin`
   * or `none`), as do form bodies (`application/x-www-form-urlencoded`,
   * `multipart/form-data`, `text/plain`).
   */
  readonly allowedOrigins?: ReadonlyArray<string> | undefined
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

const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  HttpServerResponse.unsafeJson(body, { status, headers: { "cache-control": "no-store", ...headers } })

const problem = (status: number, error: string, message: string, headers?: Record<string, string>) =>
  json({ error, message }, status, headers)

/** 401 for a request that brings no credentials (no `Authorization`, no cookie), else 403. */
const refused = (request: HttpServerRequest.HttpServerRequest, what: string) =>
  request.headers["authorization"] === undefined && request.headers["cookie"] === undefined
    ? problem(401, "Unauthorized", `${what} needs authorization`, { "www-authenticate": "Bearer" })
    : problem(403, "Forbidden", `${what} is not authorized`)

/** Whether `check` lets the request through (a check that fails does not). */
const allows = (check: Authorize, request: HttpServerRequest.HttpServerRequest) =>
  check(request).pipe(Effect.catchAllCause(() => Effect.succeed(false)))

const encoder = new TextEncoder()

/** Compares in a time that depends only on `expected`'s length. */
const constantTimeEqual = (given: Uint8Array, expected: Uint8Array): boolean => {
  let difference = given.length ^ expected.length
  for (let i = 0; i < expected.length; i++) {
    difference |= (i < given.length ? given[i]! : 0) ^ expected[i]!
  }
  return difference === 0
}

const withoutToken = Symbol.for("effect-circuit-breaker-redis/CircuitBreakerHttp/bearerWithoutToken")

/** Whether `check` is a `bearer` check given no token (it lets nothing through). */
const hasNoToken = (check: Authorize | undefined): boolean =>
  check !== undefined && (check as unknown as Record<symbol, unknown>)[withoutToken] === true

/**
 * A check for `authorize` or `authorizeRead`: lets through requests with
 * `Authorization: Bearer <token>`, compared in constant time. Fails closed:
 * with no token (`undefined`, empty or blank, e.g. an unset environment
 * variable) it lets nothing through, and `toWebHandler` logs a warning
 * once when it is built.
 *
 * @example
 * ```ts
 * import { CircuitStore } from "effect-circuit-breaker-redis"
 * import { CircuitBreakerHttp } from "effect-circuit-breaker-redis/http"
 *
 * const { handler } = CircuitBreakerHttp.toWebHandler(CircuitStore.layerMemory, {
 *   authorize: CircuitBreakerHttp.bearer(process.env.ADMIN_TOKEN)
 * })
 * ```
 *
 * @since 0.1.0
 * @category authorization
 */
export const bearer = (token: Redacted.Redacted<string> | string | undefined): Authorize => {
  const secret = token === undefined ? "" : Redacted.isRedacted(token) ? Redacted.value(token) : token
  if (secret.trim().length === 0) {
    return Object.assign((_request: HttpServerRequest.HttpServerRequest) => Effect.succeed(false), {
      [withoutToken]: true
    })
  }
  const expected = encoder.encode(secret)
  return (request) =>
    Effect.sync(() => {
      const header = request.headers["authorization"]
      if (header === undefined || header.slice(0, 7).toLowerCase() !== "bearer ") return false
      const given = header.slice(7).trim()
      return given.length > 0 && constantTimeEqual(encoder.encode(given), expected)
    })
}

const formBodies = ["application/x-www-form-urlencoded", "multipart/form-data", "text/plain"]

/** Why an admin request looks cross-site (or like a form's), or undefined. */
const crossSiteProblem = (
  request: HttpServerRequest.HttpServerRequest,
  allowedOrigins: ReadonlySet<string>
): string | undefined => {
  const headers = request.headers
  const origin = headers["origin"]
  const allowed = origin !== undefined && allowedOrigins.has(origin)
  if (origin !== undefined && !allowed) {
    const own = ownHosts(request)
    let host: string | undefined
    try {
      host = new URL(origin).host.toLowerCase()
    } catch {
      host = undefined
    }
    if (host === undefined || host === "" || !own.has(host)) {
      return `cross-site request refused: Origin ${JSON.stringify(origin.slice(0, 100))} is not this server's`
    }
  }
  const site = headers["sec-fetch-site"]
  if (!allowed && site !== undefined && site !== "same-origin" && site !== "none") {
    return `cross-site request refused (Sec-Fetch-Site: ${JSON.stringify(site.slice(0, 40))})`
  }
  const type = (headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase()
  if (formBodies.includes(type)) {
    return `admin requests take no form body (Content-Type: ${type}): send no body, or application/json`
  }
  return undefined
}

/** The hosts this request was sent to: its URL's, `Host`, `X-Forwarded-Host`. */
const ownHosts = (request: HttpServerRequest.HttpServerRequest): ReadonlySet<string> => {
  const hosts = new Set<string>()
  try {
    hosts.add(new URL(request.originalUrl).host.toLowerCase())
  } catch {
    // a path only (a Node server's request): the headers say it
  }
  for (const header of [request.headers["host"], request.headers["x-forwarded-host"]]) {
    if (header === undefined) continue
    for (const host of header.split(",")) if (host.trim() !== "") hosts.add(host.trim().toLowerCase())
  }
  return hosts
}

/** The age of a snapshot, in ms, as a header. */
const ageHeader = (age: number) => ({ "x-snapshot-age": String(age) })

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
): HttpRouter.HttpRouter<never, CircuitBreakerMonitoring | CircuitBreakers | CircuitStore> => {
  const authorizeRead = options.authorizeRead
  /** The shared snapshot and its age in ms. */
  const current = Effect.gen(function*() {
    const monitoring = yield* CircuitBreakerMonitoring
    const snapshot = yield* monitoring.snapshot
    const now = yield* Clock.currentTimeMillis
    return { snapshot, age: Math.max(0, now - snapshot.takenAt) }
  })
  /** A read route: behind `authorizeRead` when it is given. */
  const reading = <E, R>(route: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) =>
    authorizeRead === undefined ? route : Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      if (!(yield* allows(authorizeRead, request))) return refused(request, "this read")
      return yield* route
    })

  let routes: HttpRouter.HttpRouter<never, CircuitBreakerMonitoring | CircuitBreakers | CircuitStore> = HttpRouter.empty
    .pipe(
      HttpRouter.get(
        "/health",
        Effect.gen(function*() {
          const query = yield* HttpServerRequest.ParsedSearchParams
          const listed = query["services"] ?? options.healthServices ?? "all"
          if (listed !== "all" && listed !== "non-healthy" && listed !== "none") {
            return problem(
              400,
              "Bad Request",
              `services must be "all", "non-healthy" or "none" (got ${JSON.stringify(String(listed).slice(0, 40))})`
            )
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
          if (typeof format === "object") {
            return problem(
              400,
              "Bad Request",
              `format must be "json" or "prometheus" (got ${JSON.stringify(format.invalid.slice(0, 40))})`
            )
          }
          const query = yield* HttpServerRequest.ParsedSearchParams
          const perCircuit = query["circuits"] ?? options.perCircuit ?? "all"
          if (format === "prometheus" && perCircuit !== "all" && perCircuit !== "non-closed" && perCircuit !== "none") {
            return problem(
              400,
              "Bad Request",
              `circuits must be "all", "non-closed" or "none" (got ${JSON.stringify(String(perCircuit).slice(0, 40))})`
            )
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
    const allowedOrigins = new Set(options.allowedOrigins ?? [])
    const guarded = <E, R>(action: (name: string) => Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) =>
      Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        const crossSite = crossSiteProblem(request, allowedOrigins)
        if (crossSite !== undefined) return problem(403, "Forbidden", crossSite)
        if (!(yield* allows(authorize, request))) return refused(request, "this admin action")
        const params = yield* HttpRouter.params
        const response = yield* action(params["name"] ?? "")
        // what the next read shows includes the action
        yield* Effect.flatMap(CircuitBreakerMonitoring, (monitoring) => monitoring.invalidate)
        return response
      })
    const admin = (verb: "reset" | "force-open" | "force-close") =>
      guarded((name) =>
        Effect.gen(function*() {
          const valid = CircuitConfig.validateServiceName(name)
          if (valid._tag === "Left") return problem(400, "Bad Request", valid.left.message)
          const registry = yield* CircuitBreakers
          const known = yield* isKnown(name)
          if (typeof known === "string") {
            return problem(
              503,
              "Service Unavailable",
              `cannot tell whether the circuit ${JSON.stringify(name)} exists: ${known}`
            )
          }
          if (!known) return problem(404, "Not Found", `no circuit named ${JSON.stringify(name)} in the store`)
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
 * Whether the circuit `name` is in use: this instance has a breaker for it,
 * or the store lists it (as the CLI's rule); or why the store cannot say.
 */
const isKnown = (name: string): Effect.Effect<boolean | string, never, CircuitBreakers | CircuitStore> =>
  Effect.gen(function*() {
    const registry = yield* CircuitBreakers
    if ((yield* registry.all).some((breaker) => breaker.name === name)) return true
    const store = yield* CircuitStore
    const names = yield* Effect.either(store.names)
    return names._tag === "Left" ? names.left.reason : names.right.includes(name)
  })

/**
 * What the routes need, on a given store: the registry and monitoring.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options?: MonitoringOptions
): Layer.Layer<
  CircuitBreakerMonitoring | CircuitBreakers | CircuitStore,
  CircuitConfig.CircuitConfigError,
  CircuitStore
> => monitoringLayer(options).pipe(Layer.provideMerge(registryLayer()), Layer.provideMerge(Layer.service(CircuitStore)))

/**
 * The routes as a Web-standard handler, building `store` (and the registry
 * and monitoring on it) once, on the first request.
 *
 * @example
 * ```ts
 * import { CircuitStore } from "effect-circuit-breaker-redis"
 * import { CircuitBreakerHttp } from "effect-circuit-breaker-redis/http"
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
  // a bearer check without a token fails closed, and says so once
  const warnings = Layer.effectDiscard(Effect.all([
    hasNoToken(options.authorize)
      ? Effect.logWarning("CircuitBreakerHttp: admin routes disabled: no token (bearer was given none)")
      : Effect.void,
    hasNoToken(options.authorizeRead)
      ? Effect.logWarning("CircuitBreakerHttp: read routes closed to every request: no token (bearer was given none)")
      : Effect.void
  ], { discard: true }))
  const built = HttpApp.toWebHandlerLayer(
    app,
    Layer.merge(layer(options.monitoring), warnings).pipe(Layer.provideMerge(store))
  )
  return { handler: (request) => built.handler(request), dispose: built.dispose }
}
