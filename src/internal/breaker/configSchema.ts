/**
 * The building blocks of the option Schemas (`CircuitConfig`, the Redis
 * store's options): fields whose failures read `<field> must be <rule> (got
 * <value>)`, and one decoder that reports every bad field at once and refuses
 * unknown ones.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import type * as Arbitrary from "effect/Arbitrary"
import type * as Either from "effect/Either"
import type * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
// modules that effect 4 does not have, read through the barrel (see internal/effect3.ts)
import * as Effect3 from "effect"
import { describePlain } from "../../../shared/config/serviceName.js"

/** @internal */
export { truncate } from "../../../shared/config/serviceName.js"

/** A value as an error message shows it: short, and never a whole object. @internal */
export const describe = (u: unknown): string => Duration.isDuration(u) ? Duration.format(u) : describePlain(u)

/**
 * `self`, refined by `predicate`; a failure reads `must be <text> (got <value>)`. `arbitrary`
 * generates values the rule accepts (for `Arbitrary.make`, which cannot read a custom predicate).
 *
 * @internal
 */
export const rule = <S extends Schema.Schema.Any>(
  self: S,
  text: string,
  predicate: (a: Schema.Schema.Type<S>) => boolean,
  arbitrary?: Arbitrary.LazyArbitrary<Schema.Schema.Type<S>>
) =>
  self.pipe(
    Schema.filter(predicate, {
      message: (issue) => `must be ${text} (got ${describe(issue.actual)})`,
      ...(arbitrary === undefined ? {} : { arbitrary: () => arbitrary })
    })
  )

/** @internal */
export const numberField = Schema.Number.annotations({
  message: (issue) => `must be a number (got ${describe(issue.actual)})`
})

/** @internal */
export const booleanField = Schema.Boolean.annotations({
  message: (issue) => `must be true or false (got ${describe(issue.actual)})`
})

/** @internal */
export const positiveInt = (max: number) =>
  rule(
    numberField,
    `a positive integer at most ${max}`,
    (n) => Number.isInteger(n) && n >= 1 && n <= max,
    (fc) => fc.oneof(fc.integer({ min: 1, max: Math.min(max, 1_000_000) }), fc.integer({ min: 1, max }))
  )

/** Milliseconds (or `Infinity` where allowed), or the rule `input` breaks. */
const durationToMillis = (input: unknown, infinite: boolean): Either.Either<number, string> => {
  const decoded = typeof input === "number" || typeof input === "string" || typeof input === "bigint" ||
      Duration.isDuration(input)
    ? Duration.decodeUnknown(input)
    : undefined
  if (
    decoded === undefined || decoded._tag === "None" ||
    (typeof input === "number" && (Number.isNaN(input) || (!infinite && !Number.isFinite(input))))
  ) {
    return Effect3.Either.left(
      `must be a duration: milliseconds or a Duration such as "30 seconds" (got ${describe(input)})`
    )
  }
  const millis = Duration.toMillis(decoded.value)
  if (!infinite && !Number.isFinite(millis)) return Effect3.Either.left(`must be finite (got ${describe(input)})`)
  // Duration clamps negative inputs to zero: catch them before it does
  if (
    (typeof input === "number" && input < 0) || (typeof input === "bigint" && input < BigInt(0)) ||
    (typeof input === "string" && input.trim().startsWith("-"))
  ) {
    return Effect3.Either.left(`must not be negative (got ${describe(input)})`)
  }
  return Effect3.Either.right(Number.isFinite(millis) ? Math.round(millis) : millis)
}

/**
 * Milliseconds, or a `DurationInput`, decoded to a whole number of
 * milliseconds; `infinite: true` also accepts `Duration.infinity` (decoded to
 * `Infinity`).
 *
 * @internal
 */
export const durationMillis = (
  options: { readonly infinite: boolean }
): Schema.Schema<number, Duration.DurationInput> =>
  Schema.transformOrFail(
    Schema.Unknown,
    Schema.Number,
    {
      strict: true,
      decode: (input, _, ast) =>
        Effect3.Either.match(durationToMillis(input, options.infinite), {
          onLeft: (problem) => Effect3.ParseResult.fail(new Effect3.ParseResult.Type(ast, input, problem)),
          onRight: Effect3.ParseResult.succeed
        }),
      encode: Effect3.ParseResult.succeed
    }
  ) as Schema.Schema<number, unknown> as Schema.Schema<number, Duration.DurationInput>

/**
 * One of `literals`; a failure lists them. Typed as a plain `Schema` (not
 * `Schema.declare`, a type only newer effect versions export), since the
 * public config types are derived from it. @internal
 */
export const literals = <const L extends ReadonlyArray<string>>(...literals: L): Schema.Schema<L[number]> =>
  Schema.declare(
    (u: unknown): u is L[number] => typeof u === "string" && literals.includes(u),
    {
      message: (issue) =>
        `must be one of ${literals.map((l) => JSON.stringify(l)).join(", ")} (got ${describe(issue.actual)})`,
      arbitrary: () => (fc) => fc.constantFrom(...literals)
    }
  )

/** An optional field: absent (or `undefined`) means "not given". @internal */
export const optional = <S extends Schema.Schema.All>(schema: S) => Schema.optionalWith(schema, { exact: true })

/** An optional field with a default, applied when it is absent (or `undefined`). @internal */
export const withDefault = <S extends Schema.Schema.All>(schema: S, value: Schema.Schema.Type<S>) =>
  Schema.optionalWith(schema, { exact: true, default: () => value })

const formatIssues = (error: ParseResult.ParseError): Array<string> => {
  const seen = new Set<string>()
  const lines: Array<string> = []
  for (const issue of Effect3.ParseResult.ArrayFormatter.formatErrorSync(error)) {
    const field = issue.path.map(String).join(".")
    if (seen.has(field)) continue
    seen.add(field)
    if (issue._tag === "Unexpected") lines.push(`${field} is not a known field`)
    else lines.push(field === "" ? `configuration ${issue.message}` : `${field} ${issue.message}`)
  }
  return lines
}

/**
 * A decoder of options: drops fields whose value is `undefined` (they mean
 * "use the default"), then decodes, naming every bad or unknown field with
 * its rule (`<field> must be …`, `<field> is not a known field`).
 *
 * @internal
 */
export const decoder = <A, I>(schema: Schema.Schema<A, I>) => {
  const decode = Schema.decodeUnknownEither(schema, { errors: "all", onExcessProperty: "error" })
  return (input: unknown): Either.Either<A, ReadonlyArray<string>> => {
    if (input === null || typeof input !== "object" || Array.isArray(input)) {
      return Effect3.Either.left([`configuration must be an object (got ${describe(input)})`])
    }
    const defined: Record<string, unknown> = {}
    for (const [key, value] of Object.entries(input)) {
      if (value !== undefined) defined[key] = value
    }
    return Effect3.Either.mapLeft(decode(defined), formatIssues)
  }
}
