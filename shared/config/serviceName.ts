/**
 * The rule for a service name (and an instance id), and how an error message
 * shows a value: the same in every edition.
 *
 * @internal
 */
import { maxServiceNameLength } from "./limits.js"

/** A string as an error message shows it: at most 40 characters. @internal */
export const truncate = (s: string): string => (s.length > 40 ? s.slice(0, 40) + "…" : s)

/**
 * A value as an error message shows it: short, and never a whole object
 * (each edition shows its `Duration`s first, then falls back to this).
 *
 * @internal
 */
export const describePlain = (u: unknown): string => {
  if (typeof u === "string") return JSON.stringify(truncate(u))
  if (typeof u === "number" || typeof u === "boolean" || u === null || u === undefined) return String(u)
  if (typeof u === "function") return "a function"
  if (Array.isArray(u)) return "an array"
  return typeof u
}

const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

const controlCharacters = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/

/** Characters that show nothing, or reorder what follows: a name holding one can pass for another. */
const invisibleCharacters =
  /[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0]/

/**
 * The rule for a service name, or `undefined` when the name is valid:
 * non-empty, at most 256 characters, not `.` or `..`, no control
 * characters, and no invisible or bidirectional formatting characters
 * (zero-width spaces and joiners, bidi overrides and isolates, variation
 * selectors), with which one name could pass for another.
 *
 * `describe` shows a name that is not a string.
 *
 * @internal
 */
export const serviceNameProblem = (
  name: unknown,
  describe: (u: unknown) => string = describePlain
): string | undefined => {
  if (typeof name !== "string") return `must be a string (got ${describe(name)})`
  if (name.length === 0) return "must not be empty"
  if (name.trim().length === 0) return "must not be blank"
  if (name.length > maxServiceNameLength) {
    return `must be at most ${maxServiceNameLength} characters (got ${name.length})`
  }
  if (controlCharacters.test(name)) return "must not contain control characters"
  if (name === "." || name === "..") return `must not be ${JSON.stringify(name)} (a URL path cannot name it)`
  const invisible = invisibleCharacters.exec(name)
  if (invisible !== null) {
    const code = invisible[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")
    return `must not contain invisible or bidirectional formatting characters (U+${code} at index ${invisible.index})`
  }
  if (loneSurrogate.test(name)) return "must be well-formed Unicode (it holds a lone surrogate)"
  return undefined
}
