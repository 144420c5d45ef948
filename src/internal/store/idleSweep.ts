/**
 * The `idleTtl` option of the registry and the stores, decoded: a duration
 * in milliseconds (`Infinity` keeps everything), or a `CircuitConfigError`
 * naming the bad value.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { CircuitConfigError } from "../../CircuitConfig.js"

/** @internal */
export const idleTtlMillis = <D extends Duration.DurationInput | undefined>(
  owner: string,
  input: Duration.DurationInput | undefined,
  fallback: D
): Effect.Effect<D extends undefined ? number | undefined : number, CircuitConfigError> =>
  Effect.suspend(() => {
    const chosen = input ?? fallback
    if (chosen === undefined) return Effect.succeed(undefined as never)
    const decoded = Duration.decodeUnknown(chosen)
    const millis = Option.isSome(decoded) ? Duration.toMillis(decoded.value) : Number.NaN
    if (Number.isNaN(millis) || (typeof chosen === "number" && chosen < 0)) {
      return Effect.fail(
        new CircuitConfigError({
          service: owner,
          issues: [`idleTtl must be a duration such as "10 minutes" or Duration.infinity (got ${String(chosen).slice(0, 40)})`]
        })
      )
    }
    return Effect.succeed(millis as never)
  })
