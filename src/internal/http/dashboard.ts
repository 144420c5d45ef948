/**
 * The dashboard of `CircuitBreakerHttp` (`GET /dashboard`): one page, its
 * script and its stylesheet, served from sibling routes so that the page runs
 * under a strict Content-Security-Policy (no inline script, no style
 * attribute, no other origin), and `GET /dashboard/permissions`, which tells
 * the page whether to show the admin buttons.
 *
 * The page, script and stylesheet are the files of `dashboard/`, embedded by
 * scripts/embed-dashboard.ts in `./dashboardAssets.ts`. The script polls the
 * routes next to it (`circuits`, `alerts`, the admin `POST`s) through URLs
 * relative to its own, so it works under any `basePath` or proxy prefix.
 *
 * @internal
 */
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import type { Authorize } from "../../CircuitBreakerHttp.js"
import { allows } from "./authorize.js"
import * as assets from "../../../shared/http/dashboardAssets.js"
import {
  assetHeaders,
  assetsBase,
  contentTypes,
  pageHeaders,
  permissionsHeaders
} from "../../../shared/http/dashboardHeaders.js"

/** @internal */
export { contentSecurityPolicy } from "../../../shared/http/dashboardHeaders.js"

/**
 * The page: `assets` relative to the page's URL, with or without its trailing slash.
 *
 * @internal
 */
export const page: Effect.Effect<HttpServerResponse.HttpServerResponse, never, HttpServerRequest.HttpServerRequest> =
  Effect.map(HttpServerRequest.HttpServerRequest, (request) => {
    return HttpServerResponse.text(assets.html(assetsBase(request.url)), {
      contentType: contentTypes.page,
      headers: pageHeaders
    })
  })

/** @internal */
export const scriptResponse: Effect.Effect<HttpServerResponse.HttpServerResponse> = Effect.sync(() =>
  HttpServerResponse.text(assets.script, { contentType: contentTypes.script, headers: assetHeaders })
)

/** @internal */
export const stylesheetResponse: Effect.Effect<HttpServerResponse.HttpServerResponse> = Effect.sync(() =>
  HttpServerResponse.text(assets.css, { contentType: contentTypes.stylesheet, headers: assetHeaders })
)

/**
 * `{ admin }`: whether `authorize` lets this request through (false without
 * one, or when it fails), so that the page shows the admin buttons only then.
 *
 * @internal
 */
export const permissions = (
  authorize: Authorize | undefined
): Effect.Effect<HttpServerResponse.HttpServerResponse, never, HttpServerRequest.HttpServerRequest> =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const admin = authorize === undefined ? false : yield* allows(authorize, request)
    return HttpServerResponse.unsafeJson({ admin }, { headers: permissionsHeaders })
  })
