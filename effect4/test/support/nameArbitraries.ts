/**
 * Circuit names of every kind for the property tests (fast-check): the characters that mean
 * something to Redis keys, hash tags, percent-encoding or terminals (test/shared/names.ts).
 */
import * as fc from "fast-check"
import * as Result from "effect/Result"
import * as CircuitConfig from "../../src/CircuitConfig.js"
import { trickyCharacters } from "../../../test/shared/names.js"

/** Characters that mean something to Redis keys, hash tags, percent-encoding or terminals. */
export const tricky = fc.constantFrom(...trickyCharacters)

/** One unit of a name: a tricky character, any code point, or a grapheme. */
export const unit = fc.oneof(
  { weight: 3, arbitrary: tricky },
  { weight: 2, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: fc.string({ unit: "grapheme", minLength: 1, maxLength: 1 }) }
)

/** Names of every kind, valid or not (control characters, blanks, too long...). */
export const anyName = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary" }),
  fc.string({ unit, maxLength: 40 }),
  fc.string({ unit, minLength: 230, maxLength: 280 }) // around the 256-character limit
)

/** 10 kB names (generated sparingly: only in the properties with few runs). */
export const hugeName = fc.string({ unit, minLength: 10_000, maxLength: 10_240 })

export const decodes = (name: string) => Result.isSuccess(CircuitConfig.decodeEither(name))

/** Names `decodeEither` accepts. */
export const validName = anyName.filter(decodes)
