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

/**
 * Whether `check` lets the request through (a check that fails does not).
 *
 * @internal
 */
export const allows = (check: Authorize, request: HttpServerRequest.HttpServerRequest) =>
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

/**
 * Whether `check` is a `bearer` check given no token (it lets nothing through).
 *
 * @internal
 */
export const hasNoToken = (check: Authorize | undefined): boolean =>
  check !== undefined && (check as unknown as Record<symbol, unknown>)[withoutToken] === true

/** @internal */
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
