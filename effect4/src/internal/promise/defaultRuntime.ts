/**
 * The runtimes of the module-level Promise API: the default one (from the
 * environment, or `configureCircuitBreakers`), and one per Redis client given
 * to `getCircuitBreaker`.
 *
 * @internal
 */
import type {
  CircuitBreakerRuntime,
  CircuitBreakerRuntimeOptions,
  PersistentCircuitBreaker,
  PersistentCircuitBreakerConfig,
  RedisInstance
} from "../../promise.js"
import { Breaker, makeApi, makeInstance } from "./api.js"
import type { PromiseRuntime } from "./runtime.js"

/** @internal */
export const makeCircuitBreakerRuntime = (options: CircuitBreakerRuntimeOptions = {}): CircuitBreakerRuntime => {
  const instance = makeInstance(options)
  return { ...makeApi(() => instance), dispose: () => instance.dispose() }
}

let defaultInstance: PromiseRuntime | undefined = undefined

/** The runtime (per Redis instance) of `getCircuitBreaker`. */
const byRedis = new WeakMap<object, PromiseRuntime>()
/**
 * The runtimes `getCircuitBreaker` made, for `disposeCircuitBreakers`: held
 * weakly, or strongly where the runtime has no `WeakRef` (Cloudflare Workers
 * without `enable_weak_ref`; one runtime per Redis client there).
 */
const redisInstances = new Set<{ deref(): PromiseRuntime | undefined }>()
const refTo = (instance: PromiseRuntime): { deref(): PromiseRuntime | undefined } =>
  typeof WeakRef === "function" ? new WeakRef(instance) : { deref: () => instance }

const currentInstance = (): PromiseRuntime => (defaultInstance ??= makeInstance({}))

/** @internal */
export const configureCircuitBreakers = (options: CircuitBreakerRuntimeOptions = {}): Promise<void> => {
  const next = makeInstance(options)
  const previous = defaultInstance
  defaultInstance = next
  if (options.redis !== undefined) byRedis.set(options.redis, next)
  return previous === undefined ? Promise.resolve() : previous.dispose()
}

/** @internal */
export const disposeCircuitBreakers = async (): Promise<void> => {
  const instances: Array<PromiseRuntime> = []
  if (defaultInstance !== undefined) instances.push(defaultInstance)
  defaultInstance = undefined
  for (const ref of redisInstances) {
    const instance = ref.deref()
    if (instance !== undefined) instances.push(instance)
  }
  redisInstances.clear()
  await Promise.all(instances.map((instance) => instance.dispose()))
}

const instanceForRedis = (redis: RedisInstance): PromiseRuntime => {
  let instance = byRedis.get(redis)
  if (instance === undefined || instance.disposed) {
    instance = makeInstance({ redis })
    byRedis.set(redis, instance)
    redisInstances.add(refTo(instance))
  }
  return instance
}

/** @internal */
export const getCircuitBreaker = (
  serviceName: string,
  redis: RedisInstance,
  config?: PersistentCircuitBreakerConfig
): PersistentCircuitBreaker => {
  instanceForRedis(redis) // a client we cannot use fails here, not at the first call
  return new Breaker(serviceName, config, () => instanceForRedis(redis))
}

/**
 * The Promise API on the default runtime.
 *
 * @internal
 */
export const defaultApi = makeApi(currentInstance)
