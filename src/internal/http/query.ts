/**
 * The query parameters of `CircuitBreakerHttp`'s read routes: the filters
 * and paging of `/circuits` (shared/http/readOptions.ts), and the format
 * `/metrics` answers in (shared/http/responses.ts).
 *
 * @internal
 */
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as Effect from "effect/Effect"
import { metricsFormat } from "../../../shared/http/responses.js"

/** @internal */
export { parseReadOptions } from "../../../shared/http/readOptions.js"

/**
 * The format `/metrics` answers in: `?format=`, else the `Accept` header; or the answer to a bad one.
 *
 * @internal
 */
export const wantsPrometheus = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const query = yield* HttpServerRequest.ParsedSearchParams
  const format = query["format"]
  return metricsFormat(format === undefined ? undefined : String(format), request.headers["accept"])
})
