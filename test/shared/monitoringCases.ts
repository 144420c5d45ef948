/**
 * Effect-free cases of the monitoring and HTTP suites, run by both editions:
 * names that must survive every output, the cross-site refusals of the admin
 * routes, bearer checks, the reads a snapshot must answer as the store does,
 * the alerts an operator reads, and the dashboard's page headers.
 */
import type { CircuitMetrics, ReadOptions } from "../../shared/model.js"

/** Circuit names that every output (JSON, Prometheus text) must carry as they are. */
export const hostileNames: ReadonlyArray<string> = [
  "__proto__",
  "constructor",
  "say \"hi\"",
  "back\\slash",
  "{brace}",
  "名前",
  "a b"
]

/**
 * Admin requests refused as cross-site or as a form's: the request's headers,
 * its body, and what the 403's message names.
 */
export const crossSiteRefusals: ReadonlyArray<readonly [Record<string, string>, string | undefined, string]> = [
  [{ origin: "https://evil.example" }, undefined, "Origin \"https://evil.example\" is not this server's"],
  [{ origin: "null" }, undefined, "Origin \"null\" is not this server's"],
  [{ "sec-fetch-site": "cross-site" }, undefined, "Sec-Fetch-Site: \"cross-site\""],
  [{ "sec-fetch-site": "same-site" }, undefined, "Sec-Fetch-Site: \"same-site\""],
  [{ "content-type": "text/plain" }, "x", "Content-Type: text/plain"],
  [
    { "content-type": "application/x-www-form-urlencoded" },
    "a=b",
    "Content-Type: application/x-www-form-urlencoded"
  ],
  [{ "content-type": "multipart/form-data; boundary=x" }, "--x--", "Content-Type: multipart/form-data"],
  // a page of the same origin that posts a form
  [
    { origin: "http://localhost", "sec-fetch-site": "same-origin", "content-type": "text/plain" },
    "x",
    "Content-Type: text/plain"
  ]
]

/** `Authorization` headers that `bearer("s3cret")` refuses. */
export const wrongBearerHeaders: ReadonlyArray<string | undefined> = [
  undefined,
  "",
  "Bearer",
  "Bearer ",
  "Bearer s3cre",
  "Bearer s3cretx",
  "Basic s3cret",
  "s3cret"
]

/** `Authorization` headers that `bearer("s3cret")` lets through. */
export const rightBearerHeaders: ReadonlyArray<string> = ["Bearer s3cret", "bearer s3cret"]

/** Headers a `bearer` check given no token (`undefined`, empty, blank) must refuse, whatever its token. */
export const noTokenHeaders = (token: string | undefined): ReadonlyArray<string | undefined> => [
  undefined,
  "Bearer undefined",
  "Bearer ",
  "Bearer",
  `Bearer ${token}`
]

/** Reads of tenants `tenant-000`…`tenant-299` that a snapshot must answer as a read of the store does. */
export const snapshotReadCases: ReadonlyArray<ReadOptions> = [
  {},
  { limit: 7 },
  { state: ["OPEN"] },
  { state: ["OPEN"], limit: 5, cursor: "tenant-150" },
  { state: ["CLOSED", "OPEN"], limit: 3, cursor: "tenant-0" },
  { prefix: "tenant-1", limit: 4 },
  { prefix: "tenant-29", cursor: "tenant-295" },
  { prefix: "tenant-29", cursor: "tenant-2955", limit: 1 },
  { prefix: "tenant-2", state: ["OPEN"], limit: 2, cursor: "tenant-201" },
  { prefix: "nobody" },
  { cursor: "tenant-299" },
  { cursor: "zzz", limit: 2 }
]

/** An OPEN circuit as monitoring reports it, for `alertsFor`. */
export const openCircuit: CircuitMetrics = {
  name: "pay",
  service: "pay",
  state: "OPEN",
  status: "unhealthy",
  windowFailures: 5,
  windowCalls: 5,
  openCount: 0,
  retryAt: 1,
  lastTransitionAt: 1,
  fleet: { successes: 0, failures: 5, rejections: 0, probes: 0, opens: 1, calls: 5, failureRate: 1 },
  instance: null,
  storeUnavailable: false
}

/** `alertsFor({ ...openCircuit, openCount }, 2, { failureRateMinimumCalls: 100 })`'s messages, by `openCount`. */
export const openAlertMessages: ReadonlyArray<readonly [number, ReadonlyArray<string>]> = [
  [0, ["circuit \"pay\" is OPEN"]],
  [1, ["circuit \"pay\" is OPEN (re-opened once without closing)"]],
  [4, [
    "circuit \"pay\" is OPEN (re-opened 4 times without closing)",
    "circuit \"pay\" re-opened 4 times without closing"
  ]]
]

/** The dashboard page's Content-Security-Policy, as a browser receives it. */
export const dashboardCsp = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; " +
  "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/** The dashboard's routes, below the base path. */
export const dashboardPaths: ReadonlyArray<string> = [
  "/dashboard",
  "/dashboard/app.js",
  "/dashboard/app.css",
  "/dashboard/permissions"
]

/** The read routes `authorizeRead` guards, with queries. */
export const guardedReadPaths: ReadonlyArray<string> = [
  "/circuits",
  "/circuits?state=OPEN",
  "/metrics",
  "/metrics?format=prometheus",
  "/alerts"
]

/**
 * Admin requests by circuit name on a server that has no such circuit: the
 * name as a path segment, the status, and what the message says (a name no
 * circuit may have is a 400; the longest one a circuit may have still has its
 * routes, a 404 naming it).
 */
export const adminNameCases: ReadonlyArray<readonly [string, number, string]> = [
  ["a%01b", 400, "service name must not contain control characters"],
  [encodeURIComponent("x".repeat(101)), 404, "no circuit named"],
  [encodeURIComponent("\u{1F600}".repeat(128)), 404, "no circuit named"]
]
