/**
 * `CircuitBreakerHttp.router` and `toWebHandler`: the read routes, the
 * dashboard and the admin routes under one `basePath`, and the layer they
 * run on.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as HttpRouter from "effect/http/HttpRouter"
import * as Layer from "effect/Layer"
import type { Options } from "../../CircuitBreakerHttp.js"
import {
  type CircuitBreakerMonitoring,
  layer as monitoringLayer,
  type Options as MonitoringOptions
} from "../../CircuitBreakerMonitoring.js"
import { type CircuitBreakers, layer as registryLayer } from "../../CircuitBreakers.js"
import type * as CircuitConfig from "../../CircuitConfig.js"
import { maxServiceNameLength } from "../../../../shared/config/limits.js"
import { CircuitStore } from "../../CircuitStore.js"
import { adminRoutes } from "./adminRoutes.js"
import { hasNoToken } from "./authorize.js"
import * as dashboard from "./dashboard.js"
import { readRoutes } from "./readRoutes.js"
import { noTokenWarning } from "../../../../shared/http/bearer.js"
import { internalError } from "../../../../shared/http/responses.js"
import { respond } from "./responses.js"

/**
 * What the routes need.
 *
 * @internal
 */
export type Services = CircuitBreakerMonitoring | CircuitBreakers | CircuitStore

/** A route whose failure (a defect) is answered 500 with a JSON problem. */
const answeringFailures = <R>(route: HttpRouter.Route<never, R>): HttpRouter.Route<never, R> =>
  HttpRouter.route(
    route.method,
    route.path,
    Effect.catchCause(route.handler, () => Effect.succeed(respond(internalError)))
  ) as HttpRouter.Route<never, R>

/**
 * The routes, under `basePath`.
 *
 * @internal
 */
export const routes = (options: Options = {}): ReadonlyArray<HttpRouter.Route<never, Services>> => {
  const all: ReadonlyArray<HttpRouter.Route<never, Services>> = [
    ...readRoutes(options),
    ...(options.dashboard === false ? [] : [
      HttpRouter.route("GET", "/dashboard", dashboard.page),
      HttpRouter.route("GET", "/dashboard/app.js", dashboard.scriptResponse),
      HttpRouter.route("GET", "/dashboard/app.css", dashboard.stylesheetResponse),
      HttpRouter.route("GET", "/dashboard/permissions", dashboard.permissions(options.authorize))
    ]),
    ...(options.authorize === undefined ? [] : adminRoutes(options.authorize, options.allowedOrigins))
  ]
  const base = options.basePath?.replace(/\/+$/, "")
  const safe = all.map(answeringFailures)
  return base === undefined || base === "" ? safe : safe.map(HttpRouter.prefixRoute(base))
}

/** @internal */
export const router = (
  options: Options = {}
): Layer.Layer<never, never, HttpRouter.HttpRouter | HttpRouter.Request.From<"Requires", Services>> =>
  HttpRouter.addAll(routes(options))

/** @internal */
export const layer = (
  options?: MonitoringOptions
): Layer.Layer<Services, CircuitConfig.CircuitConfigError, CircuitStore> =>
  monitoringLayer(options).pipe(
    Layer.provideMerge(registryLayer()),
    Layer.provideMerge(Layer.effect(CircuitStore)(CircuitStore))
  )

/**
 * The router's config for `toWebHandler`: a path parameter as long as the
 * longest circuit name, percent-encoded (the router's default, 100, would
 * leave longer names without their admin routes).
 *
 * @internal
 */
export const routerConfig = { maxParamLength: maxServiceNameLength * 12 }

/** @internal */
export const toWebHandler = <E>(
  store: Layer.Layer<CircuitStore, E>,
  options: Options & { readonly monitoring?: MonitoringOptions | undefined } = {}
): {
  readonly handler: (request: Request) => Promise<Response>
  readonly dispose: () => Promise<void>
} => {
  // a bearer check without a token fails closed, and says so once
  const warnings = Layer.effectDiscard(Effect.all([
    hasNoToken(options.authorize) ? Effect.logWarning(noTokenWarning.authorize) : Effect.void,
    hasNoToken(options.authorizeRead) ? Effect.logWarning(noTokenWarning.authorizeRead) : Effect.void
  ], { discard: true }))
  const app = router(options).pipe(
    Layer.provideMerge(Layer.merge(layer(options.monitoring), warnings)),
    Layer.provideMerge(store)
  )
  // built on the first request (a module that makes the handler connects to nothing until then)
  let built:
    | { readonly handler: (request: Request) => Promise<Response>; readonly dispose: () => Promise<void> }
    | undefined
  let disposed = false
  return {
    handler: (request) => {
      if (disposed) return Promise.reject(new Error("CircuitBreakerHttp: the handler was disposed"))
      built ??= HttpRouter.toWebHandler(app, { disableLogger: true, routerConfig })
      return built.handler(request)
    },
    dispose: () => {
      disposed = true
      return built === undefined ? Promise.resolve() : built.dispose()
    }
  }
}
