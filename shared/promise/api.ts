/**
 * The parts of the Promise API that do not depend on Effect, the same for
 * every edition: how an operation's result is read, the preset breakers,
 * `withCircuitBreaker` over a breaker's `execute`, its 503 answer, and how
 * two configs of one circuit differ.
 *
 * @internal
 */
import { CircuitBreakerError, HttpResponseError } from "./errors.js"

/**
 * Whether a result is a thenable. Reading `then` runs a getter if there is
 * one: callers do it where a throw counts as the operation's failure.
 *
 * @internal
 */
export const isThenable = (u: unknown): u is PromiseLike<unknown> =>
  (typeof u === "object" || typeof u === "function") && u !== null &&
  typeof (u as { readonly then?: unknown }).then === "function"

/**
 * An operation's error, for a debug log line.
 *
 * @internal
 */
export const describeError = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : typeof error === "string" ? error : typeof error

/**
 * The fields that differ between two decoded configs (functions compare by
 * identity or source).
 *
 * @internal
 */
export const differences = <C extends object>(a: C, b: C): Array<string> => {
  const fields: Array<string> = []
  for (const key of Object.keys(a) as Array<keyof C & string>) {
    const x = a[key]
    const y = b[key]
    if (x === y) continue
    if (typeof x === "function" && typeof y === "function" && x.toString() === y.toString()) continue
    fields.push(key)
  }
  return fields
}

/**
 * The warning for a handle whose config (`input`, decoded as `decoded`)
 * differs from that of the breaker it got, once per breaker (`warned`), or
 * `undefined`: a handle made without a config takes the circuit as it is.
 *
 * @internal
 */
export const configConflict = <Config extends object>(
  warned: WeakSet<object>,
  breaker: { readonly name: string; readonly config: Config },
  input: unknown,
  decoded: Config
): string | undefined => {
  if (input === undefined || breaker.config === decoded || warned.has(breaker)) return undefined
  const fields = differences(breaker.config, decoded)
  if (fields.length === 0) return undefined
  warned.add(breaker)
  return `circuit breaker ${JSON.stringify(breaker.name)} already exists in this runtime with another configuration ` +
    `(differs in ${fields.join(", ")}); the first configuration is kept`
}

/**
 * What `withCircuitBreaker` and the presets need of a breaker handle.
 *
 * @internal
 */
export interface Executes {
  readonly execute: <T>(operation: () => PromiseLike<T> | T, operationName?: string) => Promise<T>
}

/**
 * The presets `CircuitBreakers.redis | database | api | auth` make.
 *
 * @internal
 */
export type PresetName = "redis" | "database" | "api" | "auth"

/**
 * The preset breakers, each made on first access by `make`.
 *
 * @internal
 */
export const presetBreakers = <B>(make: (name: PresetName) => B): Readonly<Record<PresetName, B>> => {
  const made: Partial<Record<PresetName, B>> = {}
  const preset = (name: PresetName): B => made[name] ??= make(name)
  return {
    get redis() {
      return preset("redis")
    },
    get database() {
      return preset("database")
    },
    get api() {
      return preset("api")
    },
    get auth() {
      return preset("auth")
    }
  }
}

/** The Retry-After header value: seconds, rounded up, at least 1. */
const retryAfterSeconds = (ms: number): string => String(Math.max(1, Math.ceil(ms / 1000)))

/**
 * The 503 answer of a handler whose breaker did not let the request run.
 *
 * @internal
 */
export const unavailable = (error: CircuitBreakerError): Response => {
  const headers: Record<string, string> = {
    "Content-Type": "application/json",
    "Cache-Control": "no-store"
  }
  if (error.retryAfter !== undefined) headers["Retry-After"] = retryAfterSeconds(error.retryAfter)
  return new Response(
    JSON.stringify({
      error: "Service Unavailable",
      code: error.code,
      service: error.serviceName,
      ...(error.retryAfter !== undefined ? { retryAfter: error.retryAfter } : {})
    }),
    { status: 503, headers }
  )
}

const operationNameOf = (request: Request): string => {
  try {
    return `${request.method} ${new URL(request.url).pathname}`
  } catch {
    return request.method
  }
}

/**
 * `handler` run through `breaker`: a 5xx answer is recorded as a failure
 * and still returned; a rejection of the breaker answers 503.
 *
 * @internal
 */
export const protectHandler = <Req extends Request, Rest extends Array<unknown>>(
  breaker: Executes,
  handler: (request: Req, ...rest: Rest) => Response | PromiseLike<Response>
) =>
async (request: Req, ...rest: Rest): Promise<Response> => {
  // the 5xx answer this call recorded as a failure, if any
  const own: { failed: HttpResponseError | undefined } = { failed: undefined }
  try {
    return await breaker.execute(async () => {
      const response = await handler(request, ...rest)
      if (response.status >= 500) throw (own.failed = new HttpResponseError(response))
      return response
    }, operationNameOf(request))
  } catch (error) {
    if (own.failed !== undefined && error === own.failed) return own.failed.response
    if (error instanceof CircuitBreakerError) return unavailable(error)
    throw error
  }
}
