/**
 * The check of `CircuitBreakerHttp.bearer(token)`: `Authorization: Bearer
 * <token>`, compared in constant time; no token lets nothing through.
 *
 * @internal
 */

/**
 * The platform's `TextEncoder` (Node, browsers, workers), typed as far as this
 * module uses it: shared/ compiles without the DOM's or Node's types.
 */
declare const TextEncoder: new() => { encode(input: string): Uint8Array }

const encoder = new TextEncoder()

/** Compares in a time that depends only on `expected`'s length. */
const constantTimeEqual = (given: Uint8Array, expected: Uint8Array): boolean => {
  let difference = given.length ^ expected.length
  for (let i = 0; i < expected.length; i++) {
    difference |= (i < given.length ? given[i]! : 0) ^ expected[i]!
  }
  return difference === 0
}

/**
 * The check of an `Authorization` header against `secret`, or undefined when
 * there is no token (`secret` empty or blank, e.g. an unset environment
 * variable): such a check lets nothing through.
 *
 * @internal
 */
export const bearerCheck = (secret: string): ((authorization: string | undefined) => boolean) | undefined => {
  if (secret.trim().length === 0) return undefined
  const expected = encoder.encode(secret)
  return (header) => {
    if (header === undefined || header.slice(0, 7).toLowerCase() !== "bearer ") return false
    const given = header.slice(7).trim()
    return given.length > 0 && constantTimeEqual(encoder.encode(given), expected)
  }
}

/**
 * What `toWebHandler` logs once when built with a `bearer` check given no token.
 *
 * @internal
 */
export const noTokenWarning = {
  authorize: "CircuitBreakerHttp: admin routes disabled: no token (bearer was given none)",
  authorizeRead: "CircuitBreakerHttp: read routes closed to every request: no token (bearer was given none)"
} as const
