/**
 * The building blocks of the option Schemas (`CircuitConfig`, the Redis
 * store's options): fields whose failures read `<field> must be <rule> (got
 * <value>)`, and one decoder that reports every bad field at once and refuses
 * unknown ones.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import type * as SchemaIssue from "effect/SchemaIssue"
// modules that effect 3 does not have, read through the barrel (see internal/effect4.ts)
import * as Effect4 from "effect"
import { describePlain } from "../../../../shared/config/serviceName.js"

/** @internal */
export { truncate } from "../../../../shared/config/serviceName.js"

/** A value as an error message shows it: short, and never a whole object. @internal */
export const describe = (u: unknown): string => Duration.isDuration(u) ? Duration.format(u) : describePlain(u)

/**
 * The annotation holding the message of a value a schema's type refuses (the
 * decoder reads it when it formats an `InvalidType` issue).
 */
const problemKey = "effect-circuit-breaker-redis/problem"

type Problem = (actual: unknown) => string

/** `schema`, whose type failures read `problem(value)`. */
const withProblem = <S extends Schema.Top>(schema: S, problem: Problem): S["Rebuild"] =>
  schema.annotate({ [problemKey]: problem } as Schema.Annotations.Bottom<S["Type"], S["~type.parameters"]>)

/**
 * `self`, refined by `predicate`; a failure reads `must be <text> (got <value>)`.
 *
 * @internal
 */
export const rule = <S extends Schema.Top>(
  self: S,
  text: string,
  predicate: (a: S["Type"]) => boolean
): S["Rebuild"] =>
  self.pipe(
    Schema.check(
      Schema.makeFilter<S["Type"]>((a) => predicate(a) ? undefined : `must be ${text} (got ${describe(a)})`)
    )
  )

/** @internal */
export const numberField = withProblem(Schema.Number, (u) => `must be a number (got ${describe(u)})`)

/** @internal */
export const booleanField = withProblem(Schema.Boolean, (u) => `must be true or false (got ${describe(u)})`)

/** @internal */
export const positiveInt = (max: number) =>
  rule(numberField, `a positive integer at most ${max}`, (n) => Number.isInteger(n) && n >= 1 && n <= max)

/** Milliseconds (or `Infinity` where allowed), or the rule `input` breaks. */
const durationToMillis = (input: unknown, infinite: boolean): Result.Result<number, string> => {
  const decoded = typeof input === "number" || typeof input === "string" || typeof input === "bigint" ||
      Duration.isDuration(input)
    ? Duration.fromInput(input as Duration.Input)
    : undefined
  if (
    decoded === undefined || decoded._tag === "None" ||
    (typeof input === "number" && (Number.isNaN(input) || (!infinite && !Number.isFinite(input))))
  ) {
    return Effect4.Result.fail(
      `must be a duration: milliseconds or a Duration such as "30 seconds" (got ${describe(input)})`
    )
  }
  const millis = Duration.toMillis(decoded.value)
  // a negative duration (effect 4 has them), or a negative input
  if (
    millis < 0 || (typeof input === "number" && input < 0) || (typeof input === "bigint" && input < BigInt(0)) ||
    (typeof input === "string" && input.trim().startsWith("-"))
  ) {
    return Effect4.Result.fail(`must not be negative (got ${describe(input)})`)
  }
  if (!infinite && !Number.isFinite(millis)) return Effect4.Result.fail(`must be finite (got ${describe(input)})`)
  return Effect4.Result.succeed(Number.isFinite(millis) ? Math.round(millis) : millis)
}

/**
 * Milliseconds, or a `Duration.Input`, decoded to a whole number of
 * milliseconds; `infinite: true` also accepts `Duration.infinity` (decoded to
 * `Infinity`).
 *
 * @internal
 */
export const durationMillis = (
  options: { readonly infinite: boolean }
): Schema.Codec<number, Duration.Input> =>
  Schema.Unknown.pipe(
    Schema.decodeTo(
      Schema.Number,
      Effect4.SchemaTransformation.transformEffect<number, unknown>({
        decode: (input, parseOptions) =>
          Effect4.Result.match(durationToMillis(input, options.infinite), {
            onFailure: (problem) =>
              Effect.fail(new Effect4.SchemaIssue.InvalidValue({ message: problem }, input, parseOptions)),
            onSuccess: Effect.succeed
          }),
        encode: Effect.succeed
      })
    )
  ) as Schema.Codec<number, unknown> as Schema.Codec<number, Duration.Input>

/**
 * One of `literals`; a failure lists them.
 *
 * @internal
 */
export const literals = <const L extends ReadonlyArray<string>>(...literals: L): Schema.Codec<L[number]> =>
  Schema.declare(
    (u: unknown): u is L[number] => typeof u === "string" && literals.includes(u),
    {
      [problemKey]: (u: unknown) =>
        `must be one of ${literals.map((l) => JSON.stringify(l)).join(", ")} (got ${describe(u)})`
    }
  )

/** A value of the type `is` accepts; a failure reads `problem(value)`. @internal */
export const guarded = <A>(is: (u: unknown) => u is A, problem: Problem): Schema.Codec<A> =>
  Schema.declare(is, { [problemKey]: problem })

/** An optional field: absent (or `undefined`) means "not given". @internal */
export const optional = <S extends Schema.Top>(schema: S) => Schema.optionalKey(schema)

/** An optional field with a default, applied when it is absent (or `undefined`). @internal */
export const withDefault = <S extends Schema.Top>(schema: S, value: S["Encoded"]) =>
  schema.pipe(Schema.withDecodingDefaultKey(Effect.succeed(value)))

const problemOf = (issue: SchemaIssue.Issue): string => {
  switch (issue._tag) {
    case "InvalidValue":
      return issue.annotations?.message ?? `is invalid (got ${describe(issue.input)})`
    case "InvalidType": {
      const problem = issue.ast.annotations?.[problemKey] as Problem | undefined
      return problem === undefined ? `is invalid (got ${describe(issue.input)})` : problem(issue.input)
    }
    case "Filter":
    case "Encoding":
      return problemOf(issue.issue)
    case "UnexpectedKey":
      return "is not a known field"
    case "MissingKey":
      return "is missing"
    default:
      return "is invalid"
  }
}

/** One line per field (the first problem of each): `<field> <problem>`. */
const formatIssues = (root: SchemaIssue.Issue): Array<string> => {
  const seen = new Set<string>()
  const lines: Array<string> = []
  const visit = (issue: SchemaIssue.Issue, path: ReadonlyArray<PropertyKey>): void => {
    if (issue._tag === "Composite" || issue._tag === "AnyOf") {
      for (const child of issue.issues) visit(child, path)
      return
    }
    if (issue._tag === "Pointer") return visit(issue.issue, [...path, ...issue.path])
    if ((issue._tag === "Filter" || issue._tag === "Encoding") && issue.issue._tag !== "InvalidValue") {
      return visit(issue.issue, path)
    }
    const field = path.map(String).join(".")
    if (seen.has(field)) return
    seen.add(field)
    const problem = problemOf(issue)
    lines.push(field === "" ? `configuration ${problem}` : `${field} ${problem}`)
  }
  visit(root, [])
  return lines
}

/**
 * A decoder of options: drops fields whose value is `undefined` (they mean
 * "use the default"), then decodes, naming every bad or unknown field with
 * its rule (`<field> must be …`, `<field> is not a known field`).
 *
 * @internal
 */
export const decoder = <A, I>(schema: Schema.Codec<A, I>) => {
  const decode = Schema.decodeUnknownResult(schema as Schema.Codec<A, I, never, never>)
  const options = { errors: "all", onExcessProperty: "error", reportInput: true } as const
  return (input: unknown): Result.Result<A, ReadonlyArray<string>> => {
    if (input === null || typeof input !== "object" || Array.isArray(input)) {
      return Effect4.Result.fail([`configuration must be an object (got ${describe(input)})`])
    }
    const defined: Record<string, unknown> = {}
    for (const [key, value] of Object.entries(input)) {
      if (value !== undefined) defined[key] = value
    }
    return Effect4.Result.mapError(decode(defined, options), (error) => formatIssues(error.issue))
  }
}
