/**
 * The checks of `CircuitBreakerHttp`: `bearer(token)`, and how a route asks
 * one (`allows`).
 *
 * @internal
 */
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import type { Authorize } from "../../CircuitBreakerHttp.js"
import { bearerCheck } from "../../../shared/http/bearer.js"

/**
 * Whether `check` lets the request through (a check that fails does not).
 *
 * @internal
 */
export const allows = (check: Authorize, request: HttpServerRequest.HttpServerRequest) =>
  check(request).pipe(Effect.catchAllCause(() => Effect.succeed(false)))

const withoutToken = Symbol.for("effect-circuit-breaker-redis/CircuitBreakerHttp/bearerWithoutToken")

/**
 * Whether `check` is a `bearer` check given no token (it lets nothing through).
 *
 * @internal
 */
export const hasNoToken = (check: Authorize | undefined): boolean =>
  check !== undefined && (check as unknown as Record<symbol, unknown>)[withoutToken] === true

/** @internal */
export const bearer = (token: Redacted.Redacted<string> | string | undefined): Authorize => {
  const check = bearerCheck(token === undefined ? "" : Redacted.isRedacted(token) ? Redacted.value(token) : token)
  if (check === undefined) {
    return Object.assign((_request: HttpServerRequest.HttpServerRequest) => Effect.succeed(false), {
      [withoutToken]: true
    })
  }
  return (request) => Effect.sync(() => check(request.headers["authorization"]))
}
