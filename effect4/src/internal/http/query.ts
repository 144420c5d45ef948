/**
 * The query parameters of `CircuitBreakerHttp`'s read routes: the filters
 * and paging of `/circuits` (shared/http/readOptions.ts), and the format
 * `/metrics` answers in (shared/http/responses.ts).
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as HttpServerRequest from "effect/http/HttpServerRequest"
import { metricsFormat } from "../../../../shared/http/responses.js"

/** @internal */
export { parseReadOptions } from "../../../../shared/http/readOptions.js"

/**
 * One query parameter as text (a repeated one as its values joined by commas), or undefined.
 *
 * @internal
 */
export const queryParam = Effect.fnUntraced(function*(name: string) {
  const query = yield* HttpServerRequest.ParsedSearchParams
  const value = query[name]
  return value === undefined ? undefined : String(value)
})

/**
 * The format `/metrics` answers in: `?format=`, else the `Accept` header; or the answer to a bad one.
 *
 * @internal
 */
export const wantsPrometheus = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  return metricsFormat(yield* queryParam("format"), request.headers["accept"])
})
