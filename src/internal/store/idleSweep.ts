/**
 * Eviction of what no call used for `idleTtl`, one sweep shared by the
 * `CircuitBreakers` registry, the memory store and the Redis store: the
 * option decoded (`idleTtlMillis`), and when a sweep is due (`IdleSweep`,
 * shared/store/idleSweep.ts).
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { CircuitConfigError } from "../../CircuitConfig.js"

/** @internal */
export { defaultIdleTtl, IdleSweep } from "../../../shared/store/idleSweep.js"

/**
 * The `idleTtl` option decoded: a duration in milliseconds (`Infinity` keeps
 * everything), or a `CircuitConfigError` naming the bad value.
 *
 * @internal
 */
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
          issues: [
            `idleTtl must be a duration such as "10 minutes" or Duration.infinity (got ${String(chosen).slice(0, 40)})`
          ]
        })
      )
    }
    return Effect.succeed(millis as never)
  })
