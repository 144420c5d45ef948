/**
 * The responses `CircuitBreakerHttp`'s routes share: JSON bodies, problems,
 * refusals and the snapshot's age header.
 *
 * @internal
 */
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"

/**
 * A JSON response, never cached.
 *
 * @internal
 */
export const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  HttpServerResponse.unsafeJson(body, { status, headers: { "cache-control": "no-store", ...headers } })

/**
 * `{ error, message }` with `status`.
 *
 * @internal
 */
export const problem = (status: number, error: string, message: string, headers?: Record<string, string>) =>
  json({ error, message }, status, headers)

/**
 * 400 for a query parameter that is not one of `allowed`.
 *
 * @internal
 */
export const badChoice = (name: string, allowed: string, got: unknown) =>
  problem(400, "Bad Request", `${name} must be ${allowed} (got ${JSON.stringify(String(got).slice(0, 40))})`)

/**
 * 401 for a request that brings no credentials (no `Authorization`, no cookie), else 403.
 *
 * @internal
 */
export const refused = (request: HttpServerRequest.HttpServerRequest, what: string) =>
  request.headers["authorization"] === undefined && request.headers["cookie"] === undefined
    ? problem(401, "Unauthorized", `${what} needs authorization`, { "www-authenticate": "Bearer" })
    : problem(403, "Forbidden", `${what} is not authorized`)

/**
 * The age of a snapshot, in ms, as a header.
 *
 * @internal
 */
export const ageHeader = (age: number) => ({ "x-snapshot-age": String(age) })
