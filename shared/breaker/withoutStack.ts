/**
 * Errors made without capturing a stack trace: a rejection is the hot path
 * during an outage, and its stack would only show the breaker's own frames.
 * The same in every edition.
 *
 * @internal
 */

/**
 * `make()` with `Error.stackTraceLimit` at 0: the error's `stack` is its
 * first line alone (`Name: message`), and no frames are captured.
 *
 * @internal
 */
export const withoutStack = <A>(make: () => A): A => {
  // V8's (Node, workerd, Edge): elsewhere the property is only set and restored
  const errors = Error as { stackTraceLimit?: number | undefined }
  const limit = errors.stackTraceLimit
  errors.stackTraceLimit = 0
  try {
    return make()
  } finally {
    errors.stackTraceLimit = limit
  }
}

/**
 * A native `Error` whose prototype is `target`'s, made without running
 * `target`'s constructor (its validation) and without a stack trace: the
 * caller sets the fields the constructor would (without a closure per error,
 * as `withoutStack` takes).
 *
 * @internal
 */
export const bareError = <T>(target: abstract new(...args: Array<any>) => unknown): T => {
  const errors = Error as { stackTraceLimit?: number | undefined }
  const limit = errors.stackTraceLimit
  errors.stackTraceLimit = 0
  try {
    return Reflect.construct(Error, [], target) as T
  } finally {
    errors.stackTraceLimit = limit
  }
}
