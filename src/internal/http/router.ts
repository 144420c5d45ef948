/**
 * `CircuitBreakerHttp.router` and `toWebHandler`: the read routes, the
 * dashboard and the admin routes under one `basePath`, and the layer they
 * run on.
 *
 * @internal
 */
import * as HttpApp from "@effect/platform/HttpApp"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { Options } from "../../CircuitBreakerHttp.js"
import {
  type CircuitBreakerMonitoring,
  layer as monitoringLayer,
  type Options as MonitoringOptions
} from "../../CircuitBreakerMonitoring.js"
import { type CircuitBreakers, layer as registryLayer } from "../../CircuitBreakers.js"
import type * as CircuitConfig from "../../CircuitConfig.js"
import { maxServiceNameLength } from "../../../shared/config/limits.js"
import { CircuitStore } from "../../CircuitStore.js"
import { adminRoutes } from "./adminRoutes.js"
import { hasNoToken } from "./authorize.js"
import * as dashboard from "./dashboard.js"
import { readRoutes } from "./readRoutes.js"
import { noTokenWarning } from "../../../shared/http/bearer.js"
import { internalError } from "../../../shared/http/responses.js"
import { respond } from "./responses.js"

/** @internal */
export const router = (
  options: Options = {}
): HttpRouter.HttpRouter<never, CircuitBreakerMonitoring | CircuitBreakers | CircuitStore> => {
  let routes: HttpRouter.HttpRouter<never, CircuitBreakerMonitoring | CircuitBreakers | CircuitStore> = readRoutes(
    HttpRouter.empty,
    options
  )
  if (options.dashboard !== false) {
    routes = routes.pipe(
      HttpRouter.get("/dashboard", dashboard.page),
      HttpRouter.get("/dashboard/app.js", dashboard.scriptResponse),
      HttpRouter.get("/dashboard/app.css", dashboard.stylesheetResponse),
      HttpRouter.get("/dashboard/permissions", dashboard.permissions(options.authorize))
    )
  }
  if (options.authorize !== undefined) routes = adminRoutes(routes, options.authorize, options.allowedOrigins)
  const base = options.basePath?.replace(/\/+$/, "")
  return base === undefined || base === "" ? routes : HttpRouter.prefixAll(routes, base as `/${string}`)
}

/** @internal */
export const layer = (
  options?: MonitoringOptions
): Layer.Layer<
  CircuitBreakerMonitoring | CircuitBreakers | CircuitStore,
  CircuitConfig.CircuitConfigError,
  CircuitStore
> => monitoringLayer(options).pipe(Layer.provideMerge(registryLayer()), Layer.provideMerge(Layer.service(CircuitStore)))

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
  const app = router(options).pipe(
    HttpRouter.catchAllCause(() => Effect.succeed(respond(internalError)))
  )
  // a bearer check without a token fails closed, and says so once
  const warnings = Layer.effectDiscard(Effect.all([
    hasNoToken(options.authorize) ? Effect.logWarning(noTokenWarning.authorize) : Effect.void,
    hasNoToken(options.authorizeRead) ? Effect.logWarning(noTokenWarning.authorizeRead) : Effect.void
  ], { discard: true }))
  const built = HttpApp.toWebHandlerLayer(
    app,
    Layer.mergeAll(layer(options.monitoring), warnings, HttpRouter.setRouterConfig(routerConfig)).pipe(
      Layer.provideMerge(store)
    )
  )
  return { handler: (request) => built.handler(request), dispose: built.dispose }
}
