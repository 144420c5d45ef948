/**
 * What `CircuitBreakerHttp`'s routes answer, apart from how an edition sends
 * it: problems, refusals, the choices of query parameters, the body and
 * status of `/health`, the format of `/metrics`, the admin routes' problems.
 *
 * @internal
 */
import type { OverallHealth } from "../model.js"

/**
 * A JSON answer: body, status and headers (besides `cache-control: no-store`,
 * which every JSON answer gets).
 *
 * @internal
 */
export interface JsonAnswer {
  readonly status: number
  readonly body: unknown
  readonly headers: Readonly<Record<string, string>>
}

/**
 * The headers every JSON answer carries.
 *
 * @internal
 */
export const jsonHeaders: Readonly<Record<string, string>> = { "cache-control": "no-store" }

/**
 * `{ error, message }` with `status`.
 *
 * @internal
 */
export const problem = (
  status: number,
  error: string,
  message: string,
  headers: Readonly<Record<string, string>> = {}
): JsonAnswer => ({ status, body: { error, message }, headers })

/**
 * 400 for a query parameter that is not one of `allowed`.
 *
 * @internal
 */
export const badChoice = (name: string, allowed: string, got: unknown): JsonAnswer =>
  problem(400, "Bad Request", `${name} must be ${allowed} (got ${JSON.stringify(String(got).slice(0, 40))})`)

/**
 * 401 for a request that brings no credentials (no `Authorization`, no cookie), else 403.
 *
 * @internal
 */
export const refused = (headers: Readonly<Record<string, string | undefined>>, what: string): JsonAnswer =>
  headers["authorization"] === undefined && headers["cookie"] === undefined
    ? problem(401, "Unauthorized", `${what} needs authorization`, { "www-authenticate": "Bearer" })
    : problem(403, "Forbidden", `${what} is not authorized`)

/**
 * What a route that failed answers.
 *
 * @internal
 */
export const internalError: JsonAnswer = problem(500, "Internal Server Error", "the request failed")

/**
 * The age of a snapshot, in ms, as a header.
 *
 * @internal
 */
export const ageHeader = (age: number): Record<string, string> => ({ "x-snapshot-age": String(age) })

/**
 * Which circuits `/health` lists (`?services=`, else the option), or the 400 for a bad one.
 *
 * @internal
 */
export const healthServicesChoice = (
  query: string | undefined,
  option: "all" | "non-healthy" | "none" | undefined
): "all" | "non-healthy" | "none" | JsonAnswer => {
  const listed = query ?? option ?? "all"
  return listed === "all" || listed === "non-healthy" || listed === "none"
    ? listed
    : badChoice("services", `"all", "non-healthy" or "none"`, listed)
}

/**
 * Which circuits the Prometheus text gives series of their own (`?circuits=`,
 * else the option), or the 400 for a bad one.
 *
 * @internal
 */
export const perCircuitChoice = (
  query: string | undefined,
  option: "all" | "non-closed" | "none" | undefined
): "all" | "non-closed" | "none" | JsonAnswer => {
  const perCircuit = query ?? option ?? "all"
  return perCircuit === "all" || perCircuit === "non-closed" || perCircuit === "none"
    ? perCircuit
    : badChoice("circuits", `"all", "non-closed" or "none"`, perCircuit)
}

/**
 * The format `/metrics` answers in: `?format=`, else the `Accept` header; or the 400 for a bad one.
 *
 * @internal
 */
export const metricsFormat = (
  format: string | undefined,
  accept: string | undefined
): "prometheus" | "json" | JsonAnswer => {
  if (format !== undefined) {
    if (format === "prometheus" || format === "text") return "prometheus"
    if (format === "json") return "json"
    return badChoice("format", `"json" or "prometheus"`, format)
  }
  const accepted = accept ?? ""
  return /text\/plain|application\/openmetrics-text/.test(accepted) && !/application\/json/.test(accepted)
    ? "prometheus"
    : "json"
}

/**
 * `/health`'s answer: 503 when the fleet is unhealthy or could not be read;
 * the circuits `listed`, or (`summaryOnly`, for a request `authorizeRead`
 * refuses) the verdict and counts with no circuit's name.
 *
 * @internal
 */
export const healthAnswer = (
  health: OverallHealth,
  listed: "all" | "non-healthy" | "none",
  age: number,
  summaryOnly: boolean
): JsonAnswer => {
  // a fleet that could not be read is not reported healthy
  const status = health.overall === "unhealthy" || health.overall === "unknown" ? 503 : 200
  if (summaryOnly) {
    // the summary: the verdict and counts, no circuit's name (`reason` names them)
    const circuits = { healthy: 0, degraded: 0, unhealthy: 0 }
    for (const name in health.services) circuits[health.services[name]!.status]++
    const { complete, overall, timestamp, unreadable } = health
    return { status, body: { overall, complete, unreadable, circuits, timestamp, age }, headers: ageHeader(age) }
  }
  if (listed === "all") return { status, body: { ...health, age }, headers: ageHeader(age) }
  const services: Record<string, OverallHealth["services"][string]> = Object.create(null)
  if (listed === "non-healthy") {
    for (const name in health.services) {
      const service = health.services[name]!
      if (service.status !== "healthy") services[name] = service
    }
  }
  return { status, body: { ...health, services, age }, headers: ageHeader(age) }
}

/**
 * The admin actions on one circuit, as named in their routes (`POST /circuits/:name/<verb>`).
 *
 * @internal
 */
export const adminVerbs = ["reset", "force-open", "force-close"] as const

/**
 * An admin action on one circuit.
 *
 * @internal
 */
export type AdminVerb = typeof adminVerbs[number]

/**
 * 503: the store cannot say whether the circuit `name` exists.
 *
 * @internal
 */
export const cannotTell = (name: string, reason: string): JsonAnswer =>
  problem(503, "Service Unavailable", `cannot tell whether the circuit ${JSON.stringify(name)} exists: ${reason}`)

/**
 * 404: no circuit `name` is in use.
 *
 * @internal
 */
export const noSuchCircuit = (name: string): JsonAnswer =>
  problem(404, "Not Found", `no circuit named ${JSON.stringify(name)} in the store`)
