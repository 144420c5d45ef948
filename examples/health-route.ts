/**
 * Health and metrics endpoints as a Next.js App Router route
 * (`app/api/circuit-breakers/[...path]/route.ts`): `GET …/health`,
 * `GET …/metrics` (JSON, or Prometheus with `?format=prometheus`),
 * `GET …/alerts`, and admin `POST` routes behind a bearer token (none
 * without `CIRCUIT_ADMIN_TOKEN`: the check fails closed).
 */
import { RedisCircuitStore } from "../src/index.js"
import { CircuitBreakerHttp } from "../src/http.js"

const { handler, dispose } = CircuitBreakerHttp.toWebHandler(RedisCircuitStore.layerFromEnv(), {
  basePath: "/api/circuit-breakers",
  authorize: CircuitBreakerHttp.bearer(process.env.CIRCUIT_ADMIN_TOKEN)
})

export const GET = handler
export const POST = handler
export { dispose }
