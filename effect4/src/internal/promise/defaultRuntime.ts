/**
 * The runtimes of the module-level Promise API (the default one, and one per
 * Redis client given to `getCircuitBreaker`): shared/promise/defaultRuntime.ts
 * over this edition's runtime, API and breaker handle.
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
import { makeDefaultRuntimes } from "../../../../shared/promise/defaultRuntime.js"

const runtimes = makeDefaultRuntimes({
  makeInstance: (options: CircuitBreakerRuntimeOptions) => makeInstance(options),
  makeApi,
  makeHandle: (serviceName: string, config: PersistentCircuitBreakerConfig | undefined, instanceOf) =>
    new Breaker(serviceName, config, instanceOf)
})

/** @internal */
export const makeCircuitBreakerRuntime: (options?: CircuitBreakerRuntimeOptions) => CircuitBreakerRuntime =
  runtimes.makeCircuitBreakerRuntime

/** @internal */
export const configureCircuitBreakers: (options?: CircuitBreakerRuntimeOptions) => Promise<void> =
  runtimes.configureCircuitBreakers

/** @internal */
export const disposeCircuitBreakers: () => Promise<void> = runtimes.disposeCircuitBreakers

/** @internal */
export const getCircuitBreaker: (
  serviceName: string,
  redis: RedisInstance,
  config?: PersistentCircuitBreakerConfig
) => PersistentCircuitBreaker = runtimes.getCircuitBreaker

/**
 * The Promise API on the default runtime.
 *
 * @internal
 */
export const defaultApi = runtimes.defaultApi
