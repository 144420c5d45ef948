/**
 * The Effect 3 side of a fleet member run as its own OS process
 * (`test/support/fleetWorker.ts`, `bench/fleetProcess.ts`): the Effect-free
 * plumbing is `test/shared/fleetChild.ts`; this adds the dependency call as an
 * Effect.
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
