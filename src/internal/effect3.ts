/**
 * The first import of every entry point: fails at once, with a message
 * saying what to install, when the installed `effect` is not 3.x.
 *
 * ES modules resolve and link their whole import graph before any of them
 * runs, so this check only gets to run because every `effect` import of the
 * library resolves and links under effect 4 as well: the modules effect 4
 * does not have (`Either`, `ScheduleDecision`, `MetricKey`, `FiberRef`, …)
 * are read as members of the barrel (`Effect3.Either.right(…)`), never
 * imported by path or by name.
 *
 * @internal
 */
import * as Effect3 from "effect"

const isEffect3 = (): boolean => {
  try {
    // effect 4 has no Either (it became Result)
    return typeof Effect3.Either.isEither === "function"
  } catch {
    return false
  }
}

if (!isEffect3()) {
  throw new Error(
    "effect-circuit-breaker-redis needs effect 3, but the installed effect is another major (effect 4?): " +
      "run `npm install effect@3`, or for effect 4 install the Effect 4 edition: " +
      "`npm install effect-circuit-breaker-redis@2`"
  )
}
