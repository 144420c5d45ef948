/**
 * Loads an optional peer dependency (a Redis client package) at run time,
 * for the clients chosen from the environment, through
 * `shared/redis/optionalPeer.ts` (which says why the import is written the
 * way it is); a failure is a `CircuitConfigError`.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import { CircuitConfigError } from "../../CircuitConfig.js"
import { importAtRunTime, loadProblem, type OptionalPeer } from "../../../../shared/redis/optionalPeer.js"

/** @internal */
export type { OptionalPeer } from "../../../../shared/redis/optionalPeer.js"

/**
 * The package's module, or a `CircuitConfigError` that names the package to
 * install and the variable that asked for it.
 *
 * @internal
 */
export const load = <A>(
  specifier: OptionalPeer,
  wantedBy: string
): Effect.Effect<A, CircuitConfigError> =>
  Effect.tryPromise({
    try: () => importAtRunTime(specifier) as Promise<A>,
    catch: (cause) =>
      new CircuitConfigError({ service: "RedisCircuitStore", issues: [loadProblem(specifier, wantedBy, cause)] })
  })
