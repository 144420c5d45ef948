/**
 * The Promise API over one runtime: the `Breaker` handles, the preset
 * breakers, `withCircuitBreaker`, monitoring, and the runtime of a set of
 * options.
 *
 * @internal
 */
import type * as Cause from "effect/Cause"
import type * as Context from "effect/Context"
import * as Effect4 from "effect"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { CircuitBreaker } from "../../CircuitBreaker.js"
import * as Monitoring from "../../CircuitBreakerMonitoring.js"
import * as CircuitConfig from "../../CircuitConfig.js"
import type { CircuitStoreError } from "../../CircuitStore.js"
import type {
  Alert,
  CircuitBreakerHealth,
  CircuitBreakerMetrics,
  CircuitBreakerMonitoringApi,
  CircuitBreakerRuntimeOptions,
  CircuitBreakerState,
  CircuitMetrics,
  OverallHealth,
  PersistentCircuitBreaker,
  PersistentCircuitBreakerConfig,
  PresetCircuitBreakers,
  ResetResult,
  WithCircuitBreaker
} from "../../promise.js"
import * as RedisCircuitStore from "../../RedisCircuitStore.js"
import { fromClient, RedisClient } from "../../RedisClient.js"
import { internalOf } from "../breaker/circuitBreaker.js"
import * as promiseError from "./error.js"
import { execute } from "./execute.js"
import { PromiseRuntime, type Services, toPromise } from "./runtime.js"
import { presetBreakers, protectHandler } from "../../../../shared/promise/api.js"
import * as HandleCache from "../../../../shared/promise/handleCache.js"
import { adminRejection } from "../../../../shared/promise/rejections.js"

/** An admin action's rejection: a store error is a `SERVICE_UNAVAILABLE` (it still applied to this instance). */
const adminError = (cause: Cause.Cause<CircuitStoreError>, serviceName: string): unknown =>
  adminRejection(promiseError.rejectionOf(cause, false), serviceName)

/** A handle's breaker, and until when it uses it without asking the registry. */
type Cached = HandleCache.Cached<PromiseRuntime, CircuitBreaker>

/** @internal */
export class Breaker implements PersistentCircuitBreaker {
  readonly config: CircuitConfig.CircuitConfig
  private cached: Cached | undefined = undefined

  constructor(
    readonly serviceName: string,
    private readonly input: PersistentCircuitBreakerConfig | undefined,
    private readonly instanceOf: () => PromiseRuntime
  ) {
    const decoded = CircuitConfig.decodeEither(serviceName, input ?? {})
    if (Effect4.Result.isFailure(decoded)) throw decoded.failure
    this.config = decoded.success
  }

  private with<A>(f: (runtime: Context.Context<Services>, breaker: CircuitBreaker) => Promise<A>): Promise<A> {
    const instance = this.instanceOf()
    const cached = this.cached
    const rt = instance.rt
    if (rt !== undefined && HandleCache.fresh(cached, instance)) return f(rt, cached.breaker)
    return instance.breaker(this.serviceName, this.input, this.config).then((breaker) => {
      const internal = internalOf(breaker)
      const until = internal === undefined ? 0 : internal.clock.currentTimeMillisUnsafe() + HandleCache.recheckEvery
      this.cached = { instance, breaker, internal, until }
      return instance.runtime().then((runtime) => f(runtime, breaker))
    })
  }

  private admin(select: (breaker: CircuitBreaker) => Effect.Effect<void, CircuitStoreError>): Promise<void> {
    return this.with((runtime, breaker) =>
      toPromise(runtime, select(breaker), (cause) => adminError(cause, breaker.config.serviceName))
    )
  }

  private read<A>(select: (breaker: CircuitBreaker) => Effect.Effect<A>): Promise<A> {
    return this.with((runtime, breaker) =>
      toPromise(runtime, select(breaker), (cause) => promiseError.rejectionOf(cause, false))
    )
  }

  readonly execute = <T>(operation: () => PromiseLike<T> | T, operationName?: string): Promise<T> => {
    if (typeof operation !== "function") {
      return Promise.reject(new TypeError(`execute expects a function (got ${typeof operation})`))
    }
    const instance = this.instanceOf()
    const cached = this.cached
    const rt = instance.rt
    if (rt !== undefined && HandleCache.fresh(cached, instance))
      return execute(instance, rt, cached.breaker, operation, operationName)
    return this.with((runtime, breaker) => execute(instance, runtime, breaker, operation, operationName))
  }

  readonly getCurrentState = (): Promise<CircuitBreakerState> => this.read((b) => b.state)
  readonly getMetrics = (): Promise<CircuitBreakerMetrics> => this.read((b) => b.metrics)
  readonly getHealth = (): Promise<CircuitBreakerHealth> => this.read((b) => b.health)
  readonly isAvailable = (): Promise<boolean> => this.read((b) => b.isAvailable)
  readonly reset = (): Promise<void> => this.admin((b) => b.reset)
  readonly forceOpen = (): Promise<void> => this.admin((b) => b.forceOpen)
  readonly forceClose = (): Promise<void> => this.admin((b) => b.forceClose)
}

/**
 * The whole Promise API over one way of finding the runtime.
 *
 * @internal
 */
export const makeApi = (instanceOf: () => PromiseRuntime) => {
  const createCircuitBreaker = (
    serviceName: string,
    config?: PersistentCircuitBreakerConfig
  ): PersistentCircuitBreaker => new Breaker(serviceName, config, instanceOf)

  const CircuitBreakers: PresetCircuitBreakers = presetBreakers((name) =>
    createCircuitBreaker(name, CircuitConfig.presets[name])
  )

  const withCircuitBreaker: WithCircuitBreaker = (handler, serviceName, config) =>
    protectHandler(createCircuitBreaker(serviceName, config), handler)

  const monitoring = <A>(select: (service: Monitoring.CircuitBreakerMonitoring["Service"]) => Effect.Effect<A>) =>
    instanceOf().run(Monitoring.CircuitBreakerMonitoring.use(select))

  const getCircuitBreakerHealth = (): Promise<OverallHealth> => monitoring((m) => m.health)

  const CircuitBreakerMonitoring: CircuitBreakerMonitoringApi = {
    getAllMetrics: () => monitoring((m) => m.getAllMetrics) as Promise<Record<string, CircuitMetrics>>,
    getAlerts: () => monitoring((m) => m.getAlerts) as Promise<Array<Alert>>,
    resetAll: () => monitoring((m) => m.resetAll) as Promise<Array<ResetResult>>
  }

  return {
    createCircuitBreaker,
    CircuitBreakers,
    withCircuitBreaker,
    getCircuitBreakerHealth,
    CircuitBreakerMonitoring
  }
}

/**
 * A runtime for `options`, built on first use.
 *
 * @internal
 */
export const makeInstance = (options: CircuitBreakerRuntimeOptions): PromiseRuntime => {
  if (options.store !== undefined && options.redis !== undefined) {
    throw new TypeError("circuit breaker runtime: give either `store` or `redis`, not both")
  }
  const storeOptions = options.prefix === undefined ? undefined : { prefix: options.prefix }
  const store = options.store ?? (options.redis !== undefined
    ? RedisCircuitStore.layer(storeOptions).pipe(Layer.provide(Layer.succeed(RedisClient, fromClient(options.redis))))
    : RedisCircuitStore.layerFromEnv(storeOptions).pipe(
      // the environment as it is when the runtime is built: Effect's default provider reads
      // `process.env` once per process, and a runtime made later (`configureCircuitBreakers`) must see it now
      Layer.provide(ConfigProvider.layer(Effect.sync(() => ConfigProvider.fromEnv())))
    ))
  const label = options.store !== undefined
    ? "custom store"
    : options.redis !== undefined
    ? "your Redis client"
    : "store from the environment"
  return new PromiseRuntime({ store, monitoring: options.monitoring, logLevel: options.logLevel, label })
}
