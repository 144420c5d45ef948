/**
 * The responses `CircuitBreakerHttp`'s routes share: the answers of
 * shared/http/responses.ts as JSON responses.
 *
 * @internal
 */
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as answers from "../../../shared/http/responses.js"

/** @internal */
export { ageHeader } from "../../../shared/http/responses.js"

/**
 * An answer as a JSON response, never cached.
 *
 * @internal
 */
export const respond = (answer: answers.JsonAnswer) =>
  HttpServerResponse.unsafeJson(answer.body, {
    status: answer.status,
    headers: { ...answers.jsonHeaders, ...answer.headers }
  })

/**
 * A JSON response, never cached.
 *
 * @internal
 */
export const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  respond({ status, body, headers })

/**
 * `{ error, message }` with `status`.
 *
 * @internal
 */
export const problem = (status: number, error: string, message: string, headers?: Record<string, string>) =>
  respond(answers.problem(status, error, message, headers))

/**
 * 401 for a request that brings no credentials (no `Authorization`, no cookie), else 403.
 *
 * @internal
 */
export const refused = (request: HttpServerRequest.HttpServerRequest, what: string) =>
  respond(answers.refused(request.headers, what))
