/**
 * The admin routes of `CircuitBreakerHttp` (`POST /circuits/:name/reset`,
 * `…/force-open`, `…/force-close`, `POST /reset-all`): refused when
 * cross-site or when `authorize` does not let the request through; an action
 * drops the shared snapshot, so that the next read shows it.
 *
 * @internal
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import type * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import type { Authorize } from "../../CircuitBreakerHttp.js"
import { CircuitBreakerMonitoring } from "../../CircuitBreakerMonitoring.js"
import { CircuitBreakers } from "../../CircuitBreakers.js"
import * as CircuitConfig from "../../CircuitConfig.js"
import { CircuitStore } from "../../CircuitStore.js"
import { allows } from "./authorize.js"
import { crossSiteProblem } from "../../../shared/http/crossSite.js"
import { type AdminVerb, cannotTell, noSuchCircuit } from "../../../shared/http/responses.js"
import { json, problem, refused, respond } from "./responses.js"

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
 * The admin routes, added to `routes`, behind `authorize`.
 *
 * @internal
 */
export const adminRoutes = <R>(
  routes: HttpRouter.HttpRouter<never, R>,
  authorize: Authorize,
  allowedOrigins: ReadonlyArray<string> = []
): HttpRouter.HttpRouter<never, R | CircuitBreakerMonitoring | CircuitBreakers | CircuitStore> => {
  const allowed = new Set(allowedOrigins)
  const guarded = <E, R>(action: (name: string) => Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) =>
    Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const crossSite = crossSiteProblem(request, allowed)
      if (crossSite !== undefined) return problem(403, "Forbidden", crossSite)
      if (!(yield* allows(authorize, request))) return refused(request, "this admin action")
      const params = yield* HttpRouter.params
      const response = yield* action(params["name"] ?? "")
      // what the next read shows includes the action
      yield* Effect.flatMap(CircuitBreakerMonitoring, (monitoring) => monitoring.invalidate)
      return response
    })
  const admin = (verb: AdminVerb) =>
    guarded((name) =>
      Effect.gen(function*() {
        const valid = CircuitConfig.validateServiceName(name)
        if (valid._tag === "Left") return problem(400, "Bad Request", valid.left.message)
        const registry = yield* CircuitBreakers
        const known = yield* isKnown(name)
        if (typeof known === "string") return respond(cannotTell(name, known))
        if (!known) return respond(noSuchCircuit(name))
        const breaker = yield* Effect.orDie(registry.get(name))
        const result = yield* Effect.either(
          verb === "reset" ? breaker.reset : verb === "force-open" ? breaker.forceOpen : breaker.forceClose
        )
        if (result._tag === "Left") return problem(503, "Service Unavailable", result.left.message)
        return json({ service: name, action: verb, state: yield* breaker.state })
      })
    )
  return routes.pipe(
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
