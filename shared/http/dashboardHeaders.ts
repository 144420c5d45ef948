/**
 * How `CircuitBreakerHttp` serves the dashboard (`GET /dashboard`): the
 * headers of its page, files and permissions, and where the page finds its
 * files. The page, script and stylesheet are in ./dashboardAssets.ts.
 *
 * @internal
 */

/**
 * The page's Content-Security-Policy: no inline script, no style attribute, no other origin.
 *
 * @internal
 */
export const contentSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'"
].join("; ")

/**
 * The page's headers (its content type besides).
 *
 * @internal
 */
export const pageHeaders: Readonly<Record<string, string>> = {
  "content-security-policy": contentSecurityPolicy,
  "cache-control": "no-cache",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer"
}

/**
 * The script's and stylesheet's headers (their content types besides).
 *
 * @internal
 */
export const assetHeaders: Readonly<Record<string, string>> = {
  "cache-control": "no-cache",
  "x-content-type-options": "nosniff",
  "cross-origin-resource-policy": "same-origin"
}

/**
 * The content types of the page, the script and the stylesheet.
 *
 * @internal
 */
export const contentTypes = {
  page: "text/html; charset=utf-8",
  script: "text/javascript; charset=utf-8",
  stylesheet: "text/css; charset=utf-8"
} as const

/**
 * The headers of `GET /dashboard/permissions` (an answer per credentials).
 *
 * @internal
 */
export const permissionsHeaders: Readonly<Record<string, string>> = {
  "cache-control": "no-store",
  vary: "authorization, cookie"
}

/**
 * Where the page's files are, relative to the page's URL (`url`, as the
 * route sees it): `dashboard/` for `…/dashboard`, `` for `…/dashboard/`.
 *
 * @internal
 */
export const assetsBase = (url: string): string => {
  const path = url.split("?")[0] ?? ""
  return path.endsWith("/") ? "" : "dashboard/"
}
