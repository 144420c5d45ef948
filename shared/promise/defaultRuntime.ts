/**
 * The runtimes of the module-level Promise API, the same for every edition:
 * the default one (from the environment, or `configureCircuitBreakers`), and
 * one per Redis client given to `getCircuitBreaker`. An edition hands in how
 * it makes a runtime, the API over one, and a breaker handle.
 *
 * @internal
 */

/**
 * What the module-level API needs of an edition's runtime.
 *
 * @internal
 */
export interface Instance {
  readonly disposed: boolean
  dispose(): Promise<void>
}

/**
 * The module-level Promise API of an edition.
 *
 * @internal
 */
export const makeDefaultRuntimes = <
  I extends Instance,
  Api extends object,
  Options extends { readonly redis?: object | undefined },
  Config,
  Handle
>(edition: {
  readonly makeInstance: (options: Options) => I
  readonly makeApi: (instanceOf: () => I) => Api
  readonly makeHandle: (serviceName: string, config: Config | undefined, instanceOf: () => I) => Handle
}) => {
  const { makeApi, makeHandle, makeInstance } = edition

  const makeCircuitBreakerRuntime = (options: Options = {} as Options): Api & { dispose(): Promise<void> } => {
    const instance = makeInstance(options)
    return { ...makeApi(() => instance), dispose: () => instance.dispose() }
  }

  let defaultInstance: I | undefined = undefined

  /** The runtime (per Redis instance) of `getCircuitBreaker`. */
  const byRedis = new WeakMap<object, I>()
  /**
   * The runtimes `getCircuitBreaker` made, for `disposeCircuitBreakers`: held
   * weakly, or strongly where the runtime has no `WeakRef` (Cloudflare Workers
   * without `enable_weak_ref`; one runtime per Redis client there).
   */
  const redisInstances = new Set<{ deref(): I | undefined }>()
  const refTo = (instance: I): { deref(): I | undefined } =>
    typeof WeakRef === "function" ? new WeakRef(instance) : { deref: () => instance }

  const currentInstance = (): I => (defaultInstance ??= makeInstance({} as Options))

  const configureCircuitBreakers = (options: Options = {} as Options): Promise<void> => {
    const next = makeInstance(options)
    const previous = defaultInstance
    defaultInstance = next
    if (options.redis !== undefined) byRedis.set(options.redis, next)
    return previous === undefined ? Promise.resolve() : previous.dispose()
  }

  const disposeCircuitBreakers = async (): Promise<void> => {
    const instances: Array<I> = []
    if (defaultInstance !== undefined) instances.push(defaultInstance)
    defaultInstance = undefined
    for (const ref of redisInstances) {
      const instance = ref.deref()
      if (instance !== undefined) instances.push(instance)
    }
    redisInstances.clear()
    await Promise.all(instances.map((instance) => instance.dispose()))
  }

  const instanceForRedis = (redis: NonNullable<Options["redis"]>): I => {
    let instance = byRedis.get(redis)
    if (instance === undefined || instance.disposed) {
      instance = makeInstance({ redis } as Options)
      byRedis.set(redis, instance)
      redisInstances.add(refTo(instance))
    }
    return instance
  }

  const getCircuitBreaker = (
    serviceName: string,
    redis: NonNullable<Options["redis"]>,
    config?: Config
  ): Handle => {
    instanceForRedis(redis) // a client we cannot use fails here, not at the first call
    return makeHandle(serviceName, config, () => instanceForRedis(redis))
  }

  return {
    makeCircuitBreakerRuntime,
    configureCircuitBreakers,
    disposeCircuitBreakers,
    getCircuitBreaker,
    /** The Promise API on the default runtime. */
    defaultApi: makeApi(currentInstance)
  }
}
