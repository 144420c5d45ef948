/**
 * The refusal of cross-site admin requests (`allowedOrigins` of
 * `CircuitBreakerHttp.Options`): another site's `Origin` or
 * `Sec-Fetch-Site`, or a body a form could send.
 *
 * @internal
 */

/**
 * What the check reads of a request: its headers (lower-case names) and its
 * URL as received (a full URL, or a path only).
 *
 * @internal
 */
export interface RequestLike {
  readonly headers: Readonly<Record<string, string | undefined>>
  readonly originalUrl: string
}

/**
 * The platform's WHATWG `URL` (Node, browsers, workers), typed as far as this
 * module reads it: shared/ compiles without the DOM's or Node's types.
 */
declare const URL: new(url: string) => { readonly host: string }

const formBodies = ["application/x-www-form-urlencoded", "multipart/form-data", "text/plain"]

/**
 * Why an admin request looks cross-site (or like a form's), or undefined.
 *
 * @internal
 */
export const crossSiteProblem = (
  request: RequestLike,
  allowedOrigins: ReadonlySet<string>
): string | undefined => {
  const headers = request.headers
  const origin = headers["origin"]
  const allowed = origin !== undefined && allowedOrigins.has(origin)
  if (origin !== undefined && !allowed) {
    const own = ownHosts(request)
    let host: string | undefined
    try {
      host = new URL(origin).host.toLowerCase()
    } catch {
      host = undefined
    }
    if (host === undefined || host === "" || !own.has(host)) {
      return `cross-site request refused: Origin ${JSON.stringify(origin.slice(0, 100))} is not this server's`
    }
  }
  const site = headers["sec-fetch-site"]
  if (!allowed && site !== undefined && site !== "same-origin" && site !== "none") {
    return `cross-site request refused (Sec-Fetch-Site: ${JSON.stringify(site.slice(0, 40))})`
  }
  const type = (headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase()
  if (formBodies.includes(type)) {
    return `admin requests take no form body (Content-Type: ${type}): send no body, or application/json`
  }
  return undefined
}

/** The hosts this request was sent to: its URL's, `Host`, `X-Forwarded-Host`. */
const ownHosts = (request: RequestLike): ReadonlySet<string> => {
  const hosts = new Set<string>()
  try {
    hosts.add(new URL(request.originalUrl).host.toLowerCase())
  } catch {
    // a path only (a Node server's request): the headers say it
  }
  for (const header of [request.headers["host"], request.headers["x-forwarded-host"]]) {
    if (header === undefined) continue
    for (const host of header.split(",")) if (host.trim() !== "") hosts.add(host.trim().toLowerCase())
  }
  return hosts
}
