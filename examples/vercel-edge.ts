/**
 * A Vercel Edge function whose breaker state lives in Upstash (REST, so it
 * runs on the Edge): `UPSTASH_REDIS_REST_URL` and `UPSTASH_REDIS_REST_TOKEN`.
 * The upstream it protects is `UPSTREAM_URL`.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { CircuitBreaker, CircuitBreakers, RedisCircuitStore } from "../src/index.js"
import { UpstashClient } from "../src/upstash.js"

export const config = { runtime: "edge" }

/** Built once per Edge isolate, reused by every request it serves. */
const runtime = ManagedRuntime.make(
  CircuitBreakers.layer({ circuits: { upstream: { failureThreshold: 5, recoveryTimeout: "15 seconds" } } }).pipe(
    Layer.provide(RedisCircuitStore.layer()),
    Layer.provide(UpstashClient.layerConfig())
  )
)

class UpstreamError extends Error {
  readonly _tag = "UpstreamError"
}

const callUpstream = (url: string) =>
  Effect.tryPromise({
    try: (signal) => fetch(url, { signal }),
    catch: (cause) => new UpstreamError(String(cause))
  }).pipe(
    Effect.filterOrFail((response) => response.status < 500, (response) =>
      new UpstreamError(`upstream ${response.status}`)),
    Effect.flatMap((response) =>
      Effect.promise(() => response.text())
    )
  )

export default async function handler(_request: Request): Promise<Response> {
  const upstream = process.env.UPSTREAM_URL ?? "https://example.com/"
  return runtime.runPromise(
    callUpstream(upstream).pipe(
      CircuitBreaker.protect("upstream"),
      Effect.map((body) => new Response(body, { status: 200 })),
      Effect.catchTags({
        CircuitOpen: (open) => {
          const retryAfterMs = Duration.toMillis(open.retryAfter)
          return Effect.succeed(
            new Response(JSON.stringify({ error: "upstream unavailable", retryAfterMs }), {
              status: 503,
              headers: { "content-type": "application/json", "retry-after": String(Math.ceil(retryAfterMs / 1000)) }
            })
          )
        },
        ServiceUnavailable: () => Effect.succeed(new Response("breaker store unavailable", { status: 503 })),
        UpstreamError: (error) => Effect.succeed(new Response(error.message, { status: 502 }))
      })
    )
  )
}

/** Releases the runtime (tests; an Edge isolate simply ends). */
export const dispose = () => runtime.dispose()
