/**
 * The admin routes of `CircuitBreakerHttp` (`POST /circuits/:name/reset`,
 * `…/force-open`, `…/force-close`, `POST /reset-all`): refused when
 * cross-site or when `authorize` does not let the request through; an action
 * drops the shared snapshot, so that the next read shows it.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as HttpRouter from "effect/http/HttpRouter"
import * as HttpServerRequest from "effect/http/HttpServerRequest"
import type * as HttpServerResponse from "effect/http/HttpServerResponse"
// modules that effect 3 does not have, read through the barrel (see internal/effect4.ts)
import * as Effect4 from "effect"
import type { Authorize } from "../../CircuitBreakerHttp.js"
import { CircuitBreakerMonitoring } from "../../CircuitBreakerMonitoring.js"
import { CircuitBreakers } from "../../CircuitBreakers.js"
import * as CircuitConfig from "../../CircuitConfig.js"
import { CircuitStore } from "../../CircuitStore.js"
import { allows } from "./authorize.js"
import { crossSiteProblem } from "../../../../shared/http/crossSite.js"
import { type AdminVerb, cannotTell, noSuchCircuit } from "../../../../shared/http/responses.js"
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
    const names = yield* Effect.result(store.names)
    return Effect4.Result.isFailure(names) ? names.failure.reason : names.success.includes(name)
  })

/**
 * The admin routes, behind `authorize`.
 *
 * @internal
 */
export const adminRoutes = (authorize: Authorize, allowedOrigins: ReadonlyArray<string> = []) => {
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
        const problemOfName = CircuitConfig.serviceNameProblem(name)
        if (problemOfName !== undefined) {
          const valid = CircuitConfig.validateServiceName(name)
          return problem(400, "Bad Request", Effect4.Result.isFailure(valid) ? valid.failure.message : problemOfName)
        }
        const registry = yield* CircuitBreakers
        const known = yield* isKnown(name)
        if (typeof known === "string") return respond(cannotTell(name, known))
        if (!known) return respond(noSuchCircuit(name))
        const breaker = yield* Effect.orDie(registry.get(name))
        const result = yield* Effect.result(
          verb === "reset" ? breaker.reset : verb === "force-open" ? breaker.forceOpen : breaker.forceClose
        )
        if (Effect4.Result.isFailure(result)) return problem(503, "Service Unavailable", result.failure.message)
        return json({ service: name, action: verb, state: yield* breaker.state })
      })
    )
  return [
    HttpRouter.route("POST", "/circuits/:name/reset", admin("reset")),
    HttpRouter.route("POST", "/circuits/:name/force-open", admin("force-open")),
    HttpRouter.route("POST", "/circuits/:name/force-close", admin("force-close")),
    HttpRouter.route(
      "POST",
      "/reset-all",
      guarded(() =>
        Effect.gen(function*() {
          const monitoring = yield* CircuitBreakerMonitoring
          return json({ results: yield* monitoring.resetAll })
        })
      )
    )
  ] as const
}
