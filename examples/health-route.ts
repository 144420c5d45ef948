/**
 * Health and metrics endpoints as a Next.js App Router route
 * (`app/api/circuit-breakers/[...path]/route.ts`): `GET …/health`,
 * `GET …/metrics` (JSON, or Prometheus with `?format=prometheus`),
 * `GET …/alerts`, and admin `POST` routes behind a bearer token.
 */
import * as Effect from "effect/Effect"
import { RedisCircuitStore } from "../src/index.js"
import { CircuitBreakerHttp } from "../src/http.js"

const { handler, dispose } = CircuitBreakerHttp.toWebHandler(RedisCircuitStore.layerFromEnv(), {
  basePath: "/api/circuit-breakers",
  authorize: (request) =>
    Effect.sync(() => {
      const token = process.env.CIRCUIT_ADMIN_TOKEN
      return token !== undefined && token.length > 0 && request.headers["authorization"] === `Bearer ${token}`
    })
})

export const GET = handler
export const POST = handler
export { dispose }
