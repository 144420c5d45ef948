/**
 * The query parameters of `CircuitBreakerHttp`'s read routes: the filters
 * and paging of `/circuits` (shared/http/readOptions.ts), and the format
 * `/metrics` answers in.
 *
 * @internal
 */
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as Effect from "effect/Effect"

/** @internal */
export { parseReadOptions } from "../../../../shared/http/readOptions.js"

/**
 * The format `/metrics` answers in: `?format=`, else the `Accept` header.
 *
 * @internal
 */
export const wantsPrometheus = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const query = yield* HttpServerRequest.ParsedSearchParams
  const format = query["format"]
  if (format !== undefined) {
    if (format === "prometheus" || format === "text") return "prometheus" as const
    if (format === "json") return "json" as const
    return { invalid: String(format) }
  }
  const accept = request.headers["accept"] ?? ""
  return /text\/plain|application\/openmetrics-text/.test(accept) && !/application\/json/.test(accept)
    ? "prometheus" as const
    : "json" as const
})
