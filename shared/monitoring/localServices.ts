/**
 * The services whose metrics are counted on their breakers (not in a metric
 * registry), each held while a breaker of it is alive.
 *
 * @internal
 */

/**
 * Where the runtime has no `WeakRef` (Cloudflare Workers without the
 * `enable_weak_ref` flag), locally counted services are held strongly, at
 * most this many (the oldest leaves the export first; its breakers go on
 * counting).
 */
const maxHeldWithoutWeakRef = 1_000
const weakRefs = typeof WeakRef === "function"

/**
 * The locally counted services, by name: each one's `Hooks` (what its
 * breakers update and hold), held weakly where the runtime can.
 *
 * @internal
 */
export class LocalServices<Hooks extends object> {
  private readonly held = new Map<string, { deref(): Hooks | undefined }>()
  private readonly collected: FinalizationRegistry<string> | undefined = typeof FinalizationRegistry === "function"
    ? new FinalizationRegistry<string>((service) => {
      if (this.held.get(service)?.deref() === undefined) this.held.delete(service)
    })
    : undefined

  /** How many services are held (some may have been collected since). */
  get size(): number {
    return this.held.size
  }

  /** The live hooks of `service`, if any. */
  get(service: string): Hooks | undefined {
    return this.held.get(service)?.deref()
  }

  /** Holds `hooks` as `service`'s. */
  add(service: string, hooks: Hooks): void {
    const held = this.held
    held.set(service, weakRefs ? new WeakRef(hooks) : { deref: () => hooks })
    this.collected?.register(hooks, service)
    if (!weakRefs && held.size > maxHeldWithoutWeakRef) held.delete(held.keys().next().value!)
  }

  /** `f` of each live service, in the order they were added; the collected ones are let go. */
  forEachLive(f: (service: string, hooks: Hooks) => void): void {
    const held = this.held
    for (const [service, ref] of held) {
      const hooks = ref.deref()
      if (hooks === undefined) held.delete(service)
      else f(service, hooks)
    }
  }
}
