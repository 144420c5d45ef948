/**
 * What a fleet member run as its own OS process (`test/support/fleetWorker.ts`,
 * `bench/fleetProcess.ts`) does around its breaker: the Effect-free plumbing of
 * test/shared/fleetChild.ts (JSON lines out, commands in), and the call to the parent's HTTP
 * dependency as an Effect.
 */
import * as Effect from "effect/Effect"
import { DependencyError, fetchDependency } from "../shared/fleetChild.js"

export { DependencyError, emit, listen } from "../shared/fleetChild.js"

/** A GET of the dependency at `url`, as the member `id`. */
export const callDependency = (url: string, id: string): Effect.Effect<string, DependencyError> =>
  Effect.tryPromise({
    try: (signal) => fetchDependency(url, id, signal),
    catch: (cause) => (cause instanceof DependencyError ? cause : new DependencyError(String(cause)))
  })
