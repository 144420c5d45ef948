/**
 * A Next.js App Router route handler (`app/api/catalog/route.ts`) protected
 * by `withCircuitBreaker`: an open circuit answers 503 with `Retry-After`,
 * and the handler's own 5xx answers count as failures.
 *
 * The breaker state is shared through Redis when `UPSTASH_REDIS_REST_URL` /
 * `UPSTASH_REDIS_REST_TOKEN` (or `REDIS_URL`) are set.
 */
import { withCircuitBreaker } from "../src/promise.js"

const upstream = () => process.env.CATALOG_URL ?? "https://catalog.example.com/items"

export const GET = withCircuitBreaker(
  async (request: Request) => {
    const category = new URL(request.url).searchParams.get("category") ?? "all"
    const response = await fetch(`${upstream()}?category=${encodeURIComponent(category)}`)
    if (!response.ok) {
      // a 5xx from here counts as a failure of the catalog; the client gets it as is
      return new Response(JSON.stringify({ error: `catalog answered ${response.status}` }), {
        status: response.status >= 500 ? 502 : response.status,
        headers: { "content-type": "application/json" }
      })
    }
    return new Response(await response.text(), { status: 200, headers: { "content-type": "application/json" } })
  },
  "catalog-api",
  { failureThreshold: 3, recoveryTimeout: 10_000 }
)
