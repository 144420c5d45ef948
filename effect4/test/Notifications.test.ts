/**
 * Transitions reach the fleet at once (ARCHITECTURE.md, "Transitions reach the fleet"): two
 * Redis stores on one prefix, each with its own ioredis connections (two instances of a
 * fleet), on a real redis-server. Every breaker trusts its cached state for a minute
 * (`stateCacheTtl`), so only a notification can explain that one instance obeys a transition
 * made through the other within the test's bound. Real clock: the notifications travel
 * through Redis. Also over Effect 4's own Redis service (`NodeRedis`), whose
 * `subscribe` carries them.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Semaphore from "effect/Semaphore"
import * as TestClock from "effect/testing/TestClock"
import { Redis } from "ioredis"
import {
  CircuitBreaker,
  CircuitBreakerMonitoring,
  CircuitBreakers,
  type CircuitConfig,
  type CircuitStore,
  RedisCircuitStore
} from "../src/index.js"
import { Entry } from "../src/internal/redis/circuitCache.js"
import { maxMessageLength, Notifications, parseMessage } from "../src/internal/redis/notifications.js"
import type { RedisClient, SubscriptionListener } from "../src/RedisClient.js"
import { type RedisServer, startRedis } from "./support/redisServer.js"
import { effectRedisStore, freshPrefix, tcpStore, upstashBridgeScoped, upstashStore } from "./support/redisStores.js"

let server: RedisServer
beforeAll(async () => {
  server = await startRedis()
}, 60_000)
afterAll(() => server?.stop())

/** How an instance reaches Redis: ioredis, or Effect 4's Redis service (NodeRedis). */
type Transport = "ioredis" | "effect/persistence/Redis"

/** Two instances of a fleet: a store each (own connections), one prefix. */
const twoInstances = (options: RedisCircuitStore.Options = {}, transport: Transport = "ioredis") =>
  Effect.gen(function*() {
    const prefix = freshPrefix()
    const store = () => {
      const layer: Layer.Layer<CircuitStore.CircuitStore, unknown> = transport === "ioredis"
        ? tcpStore(server, { prefix, ...options })
        : effectRedisStore(server, { prefix, ...options })
      return Layer.orDie(layer)
    }
    const a = yield* Layer.build(store())
    const b = yield* Layer.build(store())
    return { prefix, a, b }
  })

type StoreContext = Context.Context<CircuitStore.CircuitStore>

const breakerOn = (store: StoreContext, name: string, config: CircuitConfig.Input) =>
  Effect.provide(CircuitBreaker.make(name, config), store)

/** 2 ms of real time, whatever the test's clock. */
const pause = Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, 2)))

/** Polls `check` every 2 ms (real time) until it holds; the milliseconds it took, or a failure after `timeoutMs`. */
const within = <E>(timeoutMs: number, what: string, check: Effect.Effect<boolean, E>) =>
  Effect.gen(function*() {
    const start = Date.now()
    while (!(yield* check)) {
      if (Date.now() - start > timeoutMs) return yield* Effect.die(new Error(`not within ${timeoutMs} ms: ${what}`))
      yield* pause
    }
    return Date.now() - start
  })

const rejects = (breaker: CircuitBreaker.CircuitBreaker) =>
  breaker.protect(Effect.void).pipe(
    Effect.match({ onFailure: (error) => error._tag === "CircuitOpen", onSuccess: () => false })
  )

const runs = (breaker: CircuitBreaker.CircuitBreaker) =>
  breaker.protect(Effect.void).pipe(Effect.match({ onFailure: () => false, onSuccess: () => true }))

const connected = (breaker: CircuitBreaker.CircuitBreaker) =>
  within(5_000, "notifications connected", Effect.map(breaker.health, (h) => h.notifications === "connected"))

/** A minute: no cached state expires during a test. */
const stateCacheTtl = 60_000

describe("transition notifications (ioredis)", () => {
  for (const transport of ["ioredis", "effect/persistence/Redis"] as const) {
    it.live(`a force-open and a reset through one instance are obeyed by the other at once (${transport})`, () =>
      Effect.gen(function*() {
        const { a, b } = yield* twoInstances({}, transport)
        const operator = yield* breakerOn(a, "payments", { stateCacheTtl })
        const other = yield* breakerOn(b, "payments", { stateCacheTtl })
        yield* connected(other)
        expect(yield* runs(other)).toBe(true)
        yield* operator.forceOpen
        yield* within(250, "the other instance rejects after the force-open", rejects(other))
        yield* operator.reset
        yield* within(250, "the other instance runs calls after the reset", runs(other))
        yield* operator.forceClose
        expect((yield* other.health).notifications).toBe("connected")
      }))
  }

  it.live("an open made by one instance reaches the other, which made no call since", () =>
    Effect.gen(function*() {
      const { a, b } = yield* twoInstances()
      const config = { stateCacheTtl, failureThreshold: 1, recoveryTimeout: 60_000 }
      const failing = yield* breakerOn(a, "search", config)
      const other = yield* breakerOn(b, "search", config)
      yield* connected(other)
      expect(yield* runs(other)).toBe(true)
      yield* Effect.result(failing.protect(Effect.fail("boom")))
      expect(yield* failing.state).toBe("OPEN")
      yield* within(250, "the other instance rejects after the open", rejects(other))
    }))

  it.live("the close after the probe reaches an instance that was told to wait", () =>
    Effect.gen(function*() {
      const { a, b, prefix } = yield* twoInstances()
      const config = {
        stateCacheTtl,
        failureThreshold: 1,
        recoveryTimeout: 100,
        maxRecoveryTimeout: 100,
        backoffJitter: 0,
        halfOpenMaxProbes: 1,
        successThreshold: 1
      }
      const prober = yield* breakerOn(a, "inventory", config)
      const other = yield* breakerOn(b, "inventory", config)
      yield* connected(other)
      yield* Effect.result(other.protect(Effect.fail("boom")))
      expect(yield* other.state).toBe("OPEN")
      yield* Effect.sleep("150 millis")
      // the probe: taken, held until the gate opens
      const gate = yield* Deferred.make<void>()
      const probe = yield* Effect.forkChild(prober.protect(Deferred.await(gate)))
      const key = RedisCircuitStore.stateKey("inventory", { prefix })
      yield* within(
        2_000,
        "the probe is taken",
        Effect.promise(async () => (await server.cli("HGET", key, "state")) === "HALF_OPEN")
      )
      // the other instance asks, and is told to wait (HALF_OPEN, no permit left): it keeps that answer
      expect(yield* rejects(other)).toBe(true)
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(probe)
      expect(yield* prober.state).toBe("CLOSED")
      yield* within(250, "the other instance runs calls after the close", runs(other))
    }))

  it.live("a lost subscription shows in health, is logged once, and comes back", () =>
    Effect.gen(function*() {
      const { a, b } = yield* twoInstances()
      const logged: Array<string> = []
      const collect = Logger.layer([
        Logger.make(({ message }) => logged.push(String(Array.isArray(message) ? message.join(" ") : message)))
      ])
      const operator = yield* breakerOn(a, "ledger", { stateCacheTtl })
      const other = yield* breakerOn(b, "ledger", { stateCacheTtl }).pipe(Effect.provide(collect))
      yield* connected(other)
      expect(yield* runs(other)).toBe(true)
      yield* Effect.promise(() => server.cli("CLIENT", "KILL", "TYPE", "pubsub"))
      const monitoring = yield* Layer.build(
        CircuitBreakerMonitoring.layer().pipe(
          Layer.provideMerge(CircuitBreakers.layer()),
          Layer.provide(Layer.succeedContext(b))
        )
      )
      const fleetHealth = CircuitBreakerMonitoring.CircuitBreakerMonitoring.use((m) => m.health).pipe(
        Effect.provide(monitoring)
      )
      yield* within(2_000, "health says lost", Effect.map(other.health, (h) => h.notifications === "lost"))
      expect((yield* fleetHealth).notifications).toBe("lost")
      yield* connected(other)
      expect((yield* fleetHealth).notifications).toBe("connected")
      expect(logged.filter((line) => line.includes("lost the transition notifications"))).toHaveLength(1)
      expect(logged.filter((line) => line.startsWith("circuit breaker: transition notifications"))).toHaveLength(1)
      // after it came back, transitions reach the instance at once again
      yield* operator.forceOpen
      yield* within(250, "the other instance rejects after the force-open", rejects(other))
    }))

  it.live("a message on the channel from anyone else changes no state", () =>
    Effect.gen(function*() {
      const { b, prefix } = yield* twoInstances()
      const other = yield* breakerOn(b, "billing", { stateCacheTtl })
      yield* connected(other)
      expect(yield* runs(other)).toBe(true)
      const key = RedisCircuitStore.stateKey("billing", { prefix })
      const channel = `${prefix}:transitions`
      const publisher = new Redis(server.url)
      yield* Effect.addFinalizer(() => Effect.promise(() => publisher.quit()))
      const hostile = [
        `999 FORCED_OPEN ${key}`,
        `1 OPEN ${key}`,
        `7 FORCED_OPEN ${key.replace("billing", "%E0%A4%A")}`,
        "garbage",
        `${"9".repeat(40)} FORCED_OPEN ${key}`,
        `2 FORCED_OPEN ${key}${" ".repeat(maxMessageLength)}`
      ]
      for (const message of hostile) {
        yield* Effect.promise(() => publisher.publish(channel, message))
        yield* Effect.sleep("20 millis")
        for (let i = 0; i < 5; i++) expect(yield* runs(other)).toBe(true)
      }
      expect(yield* other.state).toBe("CLOSED")
      expect(yield* Effect.promise(() => server.cli("HGET", key, "state"))).toBe("CLOSED")
    }))

  it.live("notifications: false leaves the store on its refresh, and health without the field", () =>
    Effect.gen(function*() {
      const { a, b } = yield* twoInstances({ notifications: false })
      const operator = yield* breakerOn(a, "quiet", { stateCacheTtl })
      const other = yield* breakerOn(b, "quiet", { stateCacheTtl })
      expect(yield* runs(other)).toBe(true)
      yield* operator.forceOpen
      yield* Effect.sleep("100 millis")
      expect(yield* runs(other)).toBe(true)
      expect((yield* other.health).notifications).toBeUndefined()
    }))
})

describe("without notifications (Upstash REST)", () => {
  const token = "notifications-token-4b7e"
  it.effect("a circuit that is changing is refreshed within a fifth of stateCacheTtl", () =>
    Effect.gen(function*() {
      const bridge = yield* upstashBridgeScoped(server, token)
      const prefix = freshPrefix()
      const instance = () => Layer.build(Layer.orDie(upstashStore(bridge, token, { prefix, timeSource: "client" })))
      const a = yield* instance()
      const b = yield* instance()
      const config = {
        stateCacheTtl: 1_000,
        failureThreshold: 1,
        recoveryTimeout: 100,
        maxRecoveryTimeout: 100,
        backoffJitter: 0,
        halfOpenMaxProbes: 1,
        successThreshold: 1
      }
      const prober = yield* breakerOn(a, "rest", config)
      const other = yield* breakerOn(b, "rest", config)
      expect((yield* other.health).notifications).toBeUndefined()
      yield* Effect.result(other.protect(Effect.fail("boom")))
      yield* TestClock.adjust("100 millis")
      const gate = yield* Deferred.make<void>()
      const probe = yield* Effect.forkChild(prober.protect(Deferred.await(gate)))
      yield* within(2_000, "the probe is taken", Effect.map(prober.state, (state) => state === "HALF_OPEN"))
      // told to wait (HALF_OPEN, no permit left)
      expect(yield* rejects(other)).toBe(true)
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(probe)
      expect(yield* prober.state).toBe("CLOSED")
      yield* TestClock.adjust("150 millis")
      expect(yield* rejects(other)).toBe(true)
      // a fifth of stateCacheTtl after it was told to wait, it asks again
      yield* TestClock.adjust("50 millis")
      expect(yield* runs(other)).toBe(true)
    }))
})

describe("transition messages (untrusted)", () => {
  const prefix = "cb"
  it("are parsed strictly", () => {
    expect(parseMessage(prefix, "3 OPEN cb:{a%20b}:state")).toEqual({ name: "a b", version: 3, state: "OPEN" })
    for (
      const bad of [
        "",
        "3 OPEN",
        "3 SHUT cb:{a}:state",
        "-3 OPEN cb:{a}:state",
        "3 OPEN other:{a}:state",
        "3 OPEN cb:{a}:metrics",
        "3 OPEN cb:{%E0%A4%A}:state",
        "3 OPEN cb:{a}:state extra",
        `3 OPEN cb:{${"a".repeat(maxMessageLength)}}:state`
      ]
    ) expect(parseMessage(prefix, bad)).toBeUndefined()
  })

  it("cost at most one refresh of the circuit they name, and never a state", () => {
    let listener: SubscriptionListener | undefined
    const client: RedisClient["Service"] = {
      description: "fake",
      send: () => Effect.die("unused"),
      subscribe: (_channel, l) => Effect.sync(() => (listener = l))
    }
    const entry = new Entry(Semaphore.makeUnsafe(1))
    entry.snapshot = {
      state: "CLOSED",
      version: 4,
      openCount: 0,
      openedAt: 0,
      retryAt: 0,
      changedAt: 1,
      failures: 0,
      calls: 0,
      halfOpenSuccesses: 0,
      probes: 0
    }
    entry.fetchedAt = 1_000
    const notifications = new Notifications(client, prefix, new Map([["a", entry]]), true)
    let fiber: Fiber.Fiber<void> | undefined
    Effect.runSync(notifications.start((effect) => Effect.sync(() => void (fiber = Effect.runFork(effect)))))
    expect(listener).toBeDefined()
    listener!.status(true)
    entry.fetchedAt = 1_000
    // the state this instance holds, other circuits, garbage: nothing
    for (const message of ["4 CLOSED cb:{a}:state", "9 OPEN cb:{b}:state", "garbage", "9 OPEN x:{a}:state"]) {
      listener!.message(message)
      expect(entry.fetchedAt).toBe(1_000)
    }
    // a state it does not hold: the cached one is dropped (the next call asks Redis), and only that
    listener!.message("9 FORCED_OPEN cb:{a}:state")
    expect(entry.fetchedAt).toBe(-Infinity)
    expect(entry.snapshot.state).toBe("CLOSED")
    Effect.runFork(Fiber.interrupt(fiber!))
  })
})
