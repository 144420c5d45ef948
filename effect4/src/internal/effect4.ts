/**
 * The first import of every entry point: fails at once, with a message
 * saying what to install, when the installed `effect` is not 4.x.
 *
 * ES modules resolve and link their whole import graph before any of them
 * runs, so this check only gets to run because every `effect` import of the
 * library resolves and links under effect 3 as well: the modules effect 3
 * does not have (`Result`, `Semaphore`, `SchemaIssue`, `Pull`, …) are read
 * as members of the barrel (`Effect4.Result.succeed(…)`), never imported by
 * path or by name. This module itself imports only the barrel.
 *
 * @internal
 */
import * as Effect4 from "effect"

const isEffect4 = (): boolean => {
  try {
    // effect 3 has no Result (it had Either)
    return typeof (Effect4 as { readonly Result?: { readonly isResult?: unknown } }).Result?.isResult === "function"
  } catch {
    return false
  }
}

if (!isEffect4()) {
  throw new Error(
    "effect-circuit-breaker-redis 2.x needs effect 4, but the installed effect is another major (effect 3?): " +
      "run `npm install effect@4`, or for effect 3 use the 0.x/1.x edition of this package " +
      "(`npm install effect-circuit-breaker-redis@\"<2\"`)."
  )
}
