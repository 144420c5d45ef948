/**
 * Health and metrics over HTTP, on `effect/http`:
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
 * Offered as routes for an `HttpRouter` (`router`, a layer: mount it in an
 * Effect server with `HttpRouter.serve`) and as a Web-standard
 * `(Request) => Promise<Response>` handler (Next.js route handlers, Edge
 * functions, Deno, Bun).
 *
 * The routers of `effect/http` are layers: `router(options)` is a `Layer`
 * that adds the routes to the `HttpRouter` service: build an app with
 * `CircuitBreakerHttp.router(options).pipe(Layer.provideMerge(CircuitBreakerHttp.layer()), Layer.provideMerge(store))`
 * and serve it with `HttpRouter.serve` or `HttpRouter.toWebHandler`;
 * `routes(options)` gives the same routes as `HttpRouter.Route` values.
 * `toWebHandler` builds the store on the first request. `Authorize` takes
 * an `effect/http` `HttpServerRequest`.
 * Each route answers a defect of its own with a JSON 500 (in `router` and
 * `routes` as in `toWebHandler`). Serving `router` yourself, pass
 * `routerConfig` (`HttpRouter.serve(app, { routerConfig: CircuitBreakerHttp.routerConfig })`)
 * so that the admin routes take the longest circuit names.
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
import type * as Effect from "effect/Effect"
import type * as HttpRouter from "effect/http/HttpRouter"
import type * as HttpServerRequest from "effect/http/HttpServerRequest"
import type * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import type { CircuitBreakerMonitoring, Options as MonitoringOptions } from "./CircuitBreakerMonitoring.js"
import type { CircuitBreakers } from "./CircuitBreakers.js"
import type { CircuitStore } from "./CircuitStore.js"
import type * as CircuitConfig from "./CircuitConfig.js"
import * as authorize from "./internal/http/authorize.js"
import * as internal from "./internal/http/router.js"

/**
 * A check of a request: `true` lets it through (`authorize`,
 * `authorizeRead`; `bearer(token)` makes one).
 *
 * @example
 * ```ts
 * import { CircuitBreakerHttp } from "effect-circuit-breaker-redis/http"
 * import { Effect } from "effect"
 *
 * const fromOfficeNetwork: CircuitBreakerHttp.Authorize = (request) =>
 *   Effect.succeed(request.headers["x-forwarded-for"]?.startsWith("10.") ?? false)
 *
 * const App = CircuitBreakerHttp.router({ authorizeRead: fromOfficeNetwork })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Authorize = (request: HttpServerRequest.HttpServerRequest) => Effect.Effect<boolean>

/**
 * @example
 * ```ts
 * import { RedisCircuitStore } from "effect-circuit-breaker-redis"
 * import { CircuitBreakerHttp } from "effect-circuit-breaker-redis/http"
 *
 * const options: CircuitBreakerHttp.Options = {
 *   basePath: "/ops/breakers",
 *   authorize: CircuitBreakerHttp.bearer(process.env.ADMIN_TOKEN),
 *   authorizeRead: CircuitBreakerHttp.bearer(process.env.READ_TOKEN),
 *   allowedOrigins: ["https://ops.example.com"],
 *   perCircuit: "non-closed",
 *   healthServices: "non-healthy",
 *   dashboard: false
 * }
 * const { handler } = CircuitBreakerHttp.toWebHandler(RedisCircuitStore.layerFromEnv(), options)
 * ```
 *
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
export const bearer: (token: Redacted.Redacted<string> | string | undefined) => Authorize = authorize.bearer

/**
 * The routes as a layer that adds them to the `HttpRouter` service (under
 * `basePath`). Their handlers need `CircuitBreakerMonitoring`,
 * `CircuitBreakers` (for admin routes by name) and `CircuitStore`: merge
 * them into the app for `HttpRouter.toWebHandler` (below), or provide them
 * outside `HttpRouter.serve`, e.g.
 * `HttpRouter.serve(CircuitBreakerHttp.router(), { routerConfig: CircuitBreakerHttp.routerConfig }).pipe(Layer.provide(CircuitBreakerHttp.layer()), Layer.provide(store), Layer.provide(NodeHttpServer.layer(…)))`.
 *
 * @example
 * ```ts
 * import { CircuitStore } from "effect-circuit-breaker-redis"
 * import { CircuitBreakerHttp } from "effect-circuit-breaker-redis/http"
 * import { Layer } from "effect"
 * import { HttpRouter } from "effect/http"
 *
 * const App = CircuitBreakerHttp.router({ basePath: "/ops/cb" }).pipe(
 *   Layer.provideMerge(CircuitBreakerHttp.layer()),
 *   Layer.provideMerge(CircuitStore.layerMemory)
 * )
 * const { handler, dispose } = HttpRouter.toWebHandler(App, { routerConfig: CircuitBreakerHttp.routerConfig })
 * ```
 *
 * @since 0.1.0
 * @category routers
 */
export const router: (
  options?: Options
) => Layer.Layer<
  never,
  never,
  HttpRouter.HttpRouter | HttpRouter.Request.From<"Requires", CircuitBreakerMonitoring | CircuitBreakers | CircuitStore>
> = internal.router

/**
 * The routes as `HttpRouter.Route` values (under `basePath`), for
 * `HttpRouter.addAll` or a router of one's own.
 *
 * @example
 * ```ts
 * import { CircuitBreakerHttp } from "effect-circuit-breaker-redis/http"
 * import { HttpRouter } from "effect/http"
 *
 * const Routes = HttpRouter.addAll(CircuitBreakerHttp.routes({ dashboard: false }))
 * ```
 *
 * @since 0.1.0
 * @category routers
 */
export const routes: (
  options?: Options
) => ReadonlyArray<HttpRouter.Route<never, CircuitBreakerMonitoring | CircuitBreakers | CircuitStore>> = internal.routes

/**
 * The router config the routes need: path parameters as long as the longest
 * circuit name, percent-encoded (the router's default of 100 characters
 * leaves longer names without their admin routes). `toWebHandler` uses it;
 * pass it when serving `router` yourself.
 *
 * @example
 * ```ts
 * import { CircuitStore } from "effect-circuit-breaker-redis"
 * import { CircuitBreakerHttp } from "effect-circuit-breaker-redis/http"
 * import { Layer } from "effect"
 * import { HttpRouter } from "effect/http"
 *
 * const App = CircuitBreakerHttp.router().pipe(
 *   Layer.provideMerge(CircuitBreakerHttp.layer()),
 *   Layer.provideMerge(CircuitStore.layerMemory)
 * )
 * const { handler } = HttpRouter.toWebHandler(App, { routerConfig: CircuitBreakerHttp.routerConfig })
 * ```
 *
 * @since 0.1.0
 * @category routers
 */
export const routerConfig: { readonly maxParamLength: number } = internal.routerConfig

/**
 * What the routes need, on a given store: the registry and monitoring.
 *
 * @example
 * ```ts
 * import { CircuitStore } from "effect-circuit-breaker-redis"
 * import { CircuitBreakerHttp } from "effect-circuit-breaker-redis/http"
 * import { Layer } from "effect"
 *
 * const Services = CircuitBreakerHttp.layer({ snapshotTtl: "2 seconds" }).pipe(
 *   Layer.provideMerge(CircuitStore.layerMemory)
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: (
  options?: MonitoringOptions
) => Layer.Layer<
  CircuitBreakerMonitoring | CircuitBreakers | CircuitStore,
  CircuitConfig.CircuitConfigError,
  CircuitStore
> = internal.layer

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
export const toWebHandler: <E>(
  store: Layer.Layer<CircuitStore, E>,
  options?: Options & { readonly monitoring?: MonitoringOptions | undefined }
) => {
  readonly handler: (request: Request) => Promise<Response>
  readonly dispose: () => Promise<void>
} = internal.toWebHandler
