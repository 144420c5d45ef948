/**
 * Failover on a real distributed Redis: a primary, a replica and three
 * Sentinels (all `redis-server` processes started by the test), with ioredis
 * in Sentinel mode. The primary is killed under load:
 *
 * - no call waits longer than `storeTimeout` (+ a margin for a loaded machine);
 * - protection goes on locally during the promotion (a failing dependency is
 *   cut off by the local breaker), and an admin hold keeps holding;
 * - once Sentinel has promoted the replica, the fleet runs on the new primary
 *   again, and the admin hold is there for an instance that never saw it.
 *
 * Real time: the failover is Sentinel's, and takes what it takes. (The Effect 4 edition.)
 */
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import { CircuitBreaker, RedisCircuitStore } from "../src/index.js"
import { sentinelGroupScoped } from "./support/redisServer.js"
import { freshPrefix, sentinelStore } from "./support/redisStores.js"

const STORE_TIMEOUT = 300
/** Room for a GC pause or a late timer on a loaded two-core machine. */
const MARGIN = 150

interface Call {
  readonly circuit: string
  readonly outcome: string
  readonly ms: number
  readonly at: number
}

const outcomeOf = (exit: Exit.Exit<unknown, unknown>): string => {
  if (Exit.isSuccess(exit)) return "ok"
  const failure = Cause.findErrorOption(exit.cause)
  if (failure._tag === "None") return "defect"
  return (failure.value as { readonly _tag?: string })._tag ?? "failed"
}

describe("Redis Sentinel failover", () => {
  it.live(
    "the primary killed under load: bounded calls, local protection, admin hold kept, the fleet resumes on the new primary",
    () =>
      Effect.gen(function*() {
        const group = yield* sentinelGroupScoped({ replicas: 1, sentinels: 3, downAfterMs: 500 })
        const prefix = freshPrefix()
        const store = () => Layer.orDie(sentinelStore(group, { prefix, cooldown: 300 }, { commandTimeout: 2_000 }))
        const context = yield* Layer.build(store())
        const config = {
          storeTimeout: STORE_TIMEOUT,
          stateCacheTtl: 50,
          failureThreshold: 3,
          recoveryTimeout: "30 seconds" as const,
          onStoreUnavailable: "local" as const
        }
        const make = (name: string) => Effect.provide(Effect.orDie(CircuitBreaker.make(name, config)), context)
        const held = yield* make("held")
        const healthy = yield* make("healthy")
        const failing = yield* make("failing")
        yield* held.forceOpen
        // the hold is on the replica before the primary dies
        yield* Effect.promise(() => group.primary.cli("WAIT", "1", "2000"))

        const calls: Array<Call> = []
        let dependencyFails = false
        let reachedFailing = 0
        let running = true
        const caller = (
          name: string,
          breaker: CircuitBreaker.CircuitBreaker,
          effect: Effect.Effect<unknown, unknown>
        ) =>
          Effect.gen(function*() {
            while (running) {
              const start = performance.now()
              const exit = yield* Effect.exit(breaker.protect(effect))
              calls.push({ circuit: name, outcome: outcomeOf(exit), ms: performance.now() - start, at: Date.now() })
              yield* Effect.sleep("15 millis")
            }
          })
        const fibers = yield* Effect.all(
          [
            Effect.forkChild(caller("held", held, Effect.void)),
            Effect.forkChild(caller("healthy", healthy, Effect.void)),
            Effect.forkChild(caller("healthy", healthy, Effect.void)),
            Effect.forkChild(caller(
              "failing",
              failing,
              Effect.suspend(() => {
                if (!dependencyFails) return Effect.void
                reachedFailing++
                return Effect.fail({ _tag: "DependencyError" as const })
              })
            ))
          ]
        )
        yield* Effect.sleep("300 millis")

        const oldPort = group.primary.port
        const killedAt = Date.now()
        dependencyFails = true
        yield* Effect.promise(() => group.primary.kill())
        // Sentinel promotes the replica
        let promotedAt = 0
        while (Date.now() - killedAt < 20_000) {
          const port = yield* Effect.promise(() => group.masterPort().catch(() => oldPort))
          if (port !== oldPort) {
            promotedAt = Date.now()
            break
          }
          yield* Effect.sleep("50 millis")
        }
        expect(promotedAt, "Sentinel promoted the replica").toBeGreaterThan(0)
        // the fleet runs on the new primary again: a healthy circuit answers from Redis, not degraded
        let resumedAt = 0
        while (Date.now() - killedAt < 30_000) {
          const health = yield* healthy.health
          if (health.status === "healthy" && calls.some((c) => c.circuit === "healthy" && c.at > promotedAt)) {
            resumedAt = Date.now()
            break
          }
          yield* Effect.sleep("50 millis")
        }
        running = false
        yield* Fiber.joinAll(fibers)
        expect(resumedAt, "the fleet resumed on the new primary").toBeGreaterThan(0)

        const during = calls.filter((c) => c.at >= killedAt && c.at <= resumedAt)
        const maxMs = Math.max(...calls.map((c) => c.ms))
        const newPrimary = group.replicas[0]!
        const heldKey = RedisCircuitStore.stateKey("held", { prefix })
        const heldOnNewPrimary = yield* Effect.promise(() => newPrimary.cli("HGET", heldKey, "state"))
        // an instance that never saw the hold finds it on the new primary
        const stranger = yield* Effect.provide(
          Effect.orDie(CircuitBreaker.make("held", config)),
          yield* Layer.build(store())
        )
        const strangerCall = outcomeOf(yield* Effect.exit(stranger.protect(Effect.void)))
        console.info(
          `[sentinel] primary killed; promoted after ${promotedAt - killedAt} ms, fleet back on Redis after ` +
            `${resumedAt - killedAt} ms; ${during.length} calls meanwhile, max latency ${Math.round(maxMs)} ms ` +
            `(storeTimeout ${STORE_TIMEOUT} ms); the failing dependency was reached ${reachedFailing} times ` +
            `(threshold 3); held on the new primary: ${heldOnNewPrimary}; a new instance got ${strangerCall}`
        )
        expect(maxMs).toBeLessThanOrEqual(STORE_TIMEOUT + MARGIN)
        expect(calls.filter((c) => c.outcome === "defect")).toEqual([])
        expect(calls.filter((c) => c.circuit === "held").every((c) => c.outcome === "CircuitOpen")).toBe(true)
        expect(calls.filter((c) => c.circuit === "healthy").every((c) => c.outcome === "ok")).toBe(true)
        // the local breaker cuts the failing dependency off after failureThreshold calls; back on Redis
        // (whose window never heard of them) it takes failureThreshold more, and one may be in flight
        expect(reachedFailing).toBeGreaterThanOrEqual(1)
        expect(reachedFailing).toBeLessThanOrEqual(2 * config.failureThreshold + 1)
        expect(heldOnNewPrimary).toBe("FORCED_OPEN")
        expect(strangerCall).toBe("CircuitOpen")
        // the subscription to transitions follows the new primary, and what it publishes arrives
        let notified = false
        while (Date.now() - resumedAt < 10_000 && !notified) {
          notified = (yield* healthy.health).notifications === "connected"
          if (!notified) yield* Effect.sleep("50 millis")
        }
        expect(notified, "notifications connected to the new primary").toBe(true)
        const subscribers = yield* Effect.promise(() => newPrimary.cli("PUBSUB", "NUMSUB", `${prefix}:transitions`))
        // (this instance's store, and the stranger's once it is live)
        expect(Number(subscribers.split("\n")[1])).toBeGreaterThanOrEqual(1)
      }),
    60_000
  )
})
