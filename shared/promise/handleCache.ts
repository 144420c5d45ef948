/**
 * When a Promise-side breaker handle may use the breaker it got without
 * asking its runtime's registry again.
 *
 * @internal
 */

/**
 * How long (ms of the breaker's clock) a handle keeps using the breaker it
 * got before asking its runtime's registry again: a handle whose breaker was
 * let go idle takes the registry's new one, so that a name has one breaker
 * in a runtime (the one monitoring and the admin routes see).
 *
 * @internal
 */
export const recheckEvery = 1_000

/**
 * A handle's breaker, and until when (the last call's time) it uses it
 * without asking the registry.
 *
 * @internal
 */
export interface Cached<Instance, Breaker> {
  readonly instance: Instance
  readonly breaker: Breaker
  /** The breaker's internals (when it was last used), if it is this library's own. */
  readonly internal: { readonly usedAt: number } | undefined
  readonly until: number
}

/**
 * Whether a handle may use the breaker it has without asking the registry.
 *
 * @internal
 */
export const fresh = <Instance, Breaker>(
  cached: Cached<Instance, Breaker> | undefined,
  instance: Instance
): cached is Cached<Instance, Breaker> =>
  cached !== undefined && cached.instance === instance &&
  (cached.internal === undefined || cached.internal.usedAt < cached.until)
