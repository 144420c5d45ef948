/**
 * A real fleet (ARCHITECTURE.md): five OS processes (the edition's fleet worker, run with
 * `node --import tsx`, see {@link FleetEdition}), each with its own breaker and
 * its own ioredis connection, share one circuit in one `redis-server` started here. They call a
 * dependency: a small HTTP server in this process whose health the test switches, and which
 * records every request that reached it (who sent it, when it arrived, when it ended).
 *
 * Real clock everywhere, so durations are short: recoveryTimeout 400 ms, no jitter, no backoff
 * growth (maxRecoveryTimeout = recoveryTimeout), stateCacheTtl 75 ms, probeLease 1.5 s.
 *
 * What is measured at the dependency (it cannot be fooled by what the workers believe):
 *
 * - Stragglers. The circuit opens at `T` (its `openedAt` in Redis) and may not be left before
 *   `retryAt` (also read from Redis). Between the two, only calls admitted before the open can
 *   reach the dependency: an instance that trusted a CLOSED cache younger than stateCacheTtl.
 *   Each failing call costs a round trip whose reply carries the state, so a worker (one call at a
 *   time) sends at most ONE such call. A fleet of per-instance breakers (or a shared breaker
 *   whose OPEN did not reach the others) would keep sending until each instance had seen
 *   failureThreshold failures of its own.
 * - Probes. From `retryAt` until the dependency heals, every request that reaches the dead
 *   dependency is a probe. Probes of one half-open episode are taken while the circuit is
 *   HALF_OPEN, i.e. before the first of them fails (within ~deadDelay); the next episode cannot
 *   start before recoveryTimeout has passed since that failure. So the arrivals fall into
 *   bursts separated by ≥ ~recoveryTimeout of silence: each burst is one episode, and its size is
 *   the number of probes the whole fleet sent in it: at most halfOpenMaxProbes. The number of
 *   bursts is held against the open count Redis kept (each failed episode re-opens with k + 1),
 *   and the number of requests in flight at once is held to halfOpenMaxProbes too.
 *
 * Effect-free, shared by both editions: each edition's driver gives its worker script (the same
 * JSON-lines protocol: {@link WorkerEvent}) and its `expect`, and registers the scenarios.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { Redis } from "ioredis"
import type { ExpectStatic } from "vitest"
import { keysOf } from "../../../shared/redis/keys.js"
import { type RedisServer, startRedis } from "../redisServer.js"

/** The breaker's config of a fleet worker (durations in ms). */
export interface FleetConfig {
  readonly failureThreshold: number
  readonly successThreshold: number
  readonly halfOpenMaxProbes: number
  readonly recoveryTimeout: number
  readonly maxRecoveryTimeout: number
  readonly backoffJitter: number
  readonly probeLease: number
  readonly stateCacheTtl: number
  readonly storeTimeout: number
}

/** What a fleet worker is started with (its one argument, as JSON). */
export interface WorkerOptions {
  readonly id: string
  readonly redisUrl: string
  readonly prefix: string
  readonly circuit: string
  readonly dependencyUrl: string
  readonly config: FleetConfig
  /** Pause between two calls of the loop. */
  readonly intervalMs: number
  /** Hard bound on the worker's life. */
  readonly maxRunMs: number
}

export interface WorkerCounts {
  /** Calls the breaker let through (they reached the dependency). */
  ran: number
  ok: number
  failed: number
  /** Calls failed with `CircuitOpen`. */
  rejected: number
  /** Any other failure of `protect` (e.g. `ServiceUnavailable`): should stay 0. */
  other: number
}

/**
 * What a worker prints, one JSON line each:
 * - `{ type: "ready", id, pid }` once the breaker exists and the transition stream is live;
 * - `{ type: "transition", id, from, to, at, version }` for every transition this instance sees;
 * - `{ type: "final", id, counts, metrics, lastState, lastOutcome }` when it stops.
 */
export type WorkerEvent =
  | { readonly type: "ready"; readonly id: string; readonly pid: number }
  | {
    readonly type: "transition"
    readonly id: string
    readonly from: string
    readonly to: string
    readonly at: number
    readonly version: number
  }
  | {
    readonly type: "final"
    readonly id: string
    readonly counts: WorkerCounts
    readonly probes: number
    readonly rejections: number
    readonly storeErrors: number
    readonly lastState: string
    readonly lastOutcome: "ok" | "failed" | "rejected" | "other" | "none"
    readonly lastOkAt: number
  }

/** The edition under test: its worker script (run as `node --import tsx <script> <json>` in `cwd`). */
export interface FleetEdition {
  readonly workerScript: string
  /** Where `tsx` resolves from. */
  readonly cwd: string
  readonly expect: ExpectStatic
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Polls `check` every 5 ms until it holds, or fails with `what` after `timeoutMs`. */
const waitUntil = async (what: string, timeoutMs: number, check: () => boolean | Promise<boolean>) => {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`)
    await sleep(5)
  }
}

// ---------------------------------------------------------------------------
// The dependency: an HTTP server whose health the test controls
// ---------------------------------------------------------------------------

interface Arrival {
  readonly worker: string
  readonly at: number
  /** When the response was finished or the connection closed. */
  end: number | undefined
  readonly answer: "ok" | "fail" | "hang"
}

class Dependency {
  /** `dead`: every request fails with 503 after `deadDelay` ms (decided on arrival). */
  mode: "healthy" | "dead" = "healthy"
  deadDelay = 100
  /** While dead: the first request arriving at or after this time is never answered. */
  hangFrom = Infinity
  onHang: ((arrival: Arrival) => void) | undefined = undefined
  readonly arrivals: Array<Arrival> = []
  private readonly hanging: Array<http.ServerResponse> = []
  private readonly timers = new Set<NodeJS.Timeout>()
  readonly server: http.Server

  constructor() {
    this.server = http.createServer((req, res) => {
      const at = Date.now()
      const worker = String(req.headers["x-worker"] ?? "?")
      const answer = this.mode === "healthy" ? "ok" : at >= this.hangFrom ? "hang" : "fail"
      const arrival: Arrival = { worker, at, end: undefined, answer }
      this.arrivals.push(arrival)
      res.on("close", () => {
        if (arrival.end === undefined) arrival.end = Date.now()
      })
      req.resume()
      if (answer === "ok") {
        res.end("ok")
      } else if (answer === "hang") {
        this.hangFrom = Infinity
        this.hanging.push(res)
        this.onHang?.(arrival)
      } else {
        const timer = setTimeout(() => {
          this.timers.delete(timer)
          res.statusCode = 503
          res.end("dead")
        }, this.deadDelay)
        this.timers.add(timer)
      }
    })
    this.server.keepAliveTimeout = 30_000
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve))
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`
  }

  between(from: number, to: number): Array<Arrival> {
    return this.arrivals.filter((a) => a.at >= from && a.at < to)
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer)
    for (const res of this.hanging) res.destroy()
    this.server.closeAllConnections()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }
}

/** The largest number of these requests in flight at the same moment. */
const maxInFlight = (arrivals: ReadonlyArray<Arrival>): number => {
  const edges: Array<readonly [number, number]> = []
  for (const a of arrivals) {
    edges.push([a.at, 1], [a.end ?? Infinity, -1])
  }
  // at equal times, ends before starts: a request answered at t does not overlap one arriving at t
  edges.sort((x, y) => x[0] - y[0] || x[1] - y[1])
  let now = 0
  let max = 0
  for (const [, delta] of edges) {
    now += delta
    max = Math.max(max, now)
  }
  return max
}

/** Splits arrivals (sorted by time) into bursts separated by more than `gap` ms of silence. */
const bursts = (arrivals: ReadonlyArray<Arrival>, gap: number): Array<Array<Arrival>> => {
  const out: Array<Array<Arrival>> = []
  let last = -Infinity
  for (const a of [...arrivals].sort((x, y) => x.at - y.at)) {
    if (a.at - last > gap || out.length === 0) out.push([])
    out[out.length - 1]!.push(a)
    last = a.at
  }
  return out
}

// ---------------------------------------------------------------------------
// The fleet: worker processes
// ---------------------------------------------------------------------------

/** Every worker process alive, so none outlives the test even when it fails. */
const live = new Set<ChildProcess>()
const killAll = () => {
  for (const child of live) child.kill("SIGKILL")
}
process.on("exit", killAll)

interface Worker {
  readonly id: string
  readonly child: ChildProcess
  readonly events: Array<WorkerEvent>
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  stderr: string
  readonly ready: () => boolean
  readonly final: () => Extract<WorkerEvent, { type: "final" }> | undefined
  readonly transitions: () => Array<Extract<WorkerEvent, { type: "transition" }>>
}

const spawnWorker = (edition: FleetEdition, options: WorkerOptions): Worker => {
  const child = spawn(process.execPath, ["--import", "tsx", edition.workerScript, JSON.stringify(options)], {
    cwd: edition.cwd,
    stdio: ["pipe", "pipe", "pipe"]
  })
  live.add(child)
  const events: Array<WorkerEvent> = []
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("exit", (code, signal) => {
      live.delete(child)
      resolve({ code, signal })
    })
  })
  let buffered = ""
  child.stdout!.setEncoding("utf8")
  child.stdout!.on("data", (chunk: string) => {
    buffered += chunk
    let newline: number
    while ((newline = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, newline)
      buffered = buffered.slice(newline + 1)
      if (line.trim() !== "") events.push(JSON.parse(line) as WorkerEvent)
    }
  })
  const worker: Worker = {
    id: options.id,
    child,
    events,
    exited,
    stderr: "",
    ready: () => events.some((e) => e.type === "ready"),
    final: () => events.find((e): e is Extract<WorkerEvent, { type: "final" }> => e.type === "final"),
    transitions: () => events.filter((e): e is Extract<WorkerEvent, { type: "transition" }> => e.type === "transition")
  }
  child.stderr!.setEncoding("utf8")
  child.stderr!.on("data", (chunk: string) => {
    worker.stderr = (worker.stderr + chunk).slice(-4_000)
  })
  child.stdin!.on("error", () => {})
  return worker
}

/** Asks every live worker to stop, waits for its `final` report, SIGKILLs any that lingers. */
const stopFleet = async (workers: ReadonlyArray<Worker>) => {
  await Promise.all(workers.map(async (w) => {
    if (w.child.exitCode !== null || w.child.signalCode !== null) return
    w.child.stdin!.end("stop\n")
    const timer = setTimeout(() => w.child.kill("SIGKILL"), 5_000)
    await w.exited
    clearTimeout(timer)
  }))
}

// ---------------------------------------------------------------------------
// The circuit as Redis holds it, sampled by the test
// ---------------------------------------------------------------------------

interface StateSample {
  readonly at: number
  readonly state: string
  readonly version: number
  readonly openCount: number
  readonly openedAt: number
  readonly retryAt: number
}

const readState = async (redis: Redis, key: string): Promise<StateSample> => {
  const h = await redis.hgetall(key)
  return {
    at: Date.now(),
    state: h.state ?? "CLOSED",
    version: Number(h.version ?? 0),
    openCount: Number(h.openCount ?? 0),
    openedAt: Number(h.openedAt ?? 0),
    retryAt: Number(h.retryAt ?? 0)
  }
}

// ---------------------------------------------------------------------------

const N = 5
const circuit = "payments-api"

interface Fleet {
  readonly workers: Array<Worker>
  readonly dep: Dependency
  readonly stateKey: string
}

/** One fleet scenario: registered by the driver as `it(name, run, timeout)`. */
export interface FleetScenario {
  readonly name: string
  readonly timeout: number
  readonly run: () => Promise<void>
}

/**
 * The suite for a driver: hooks to register and the scenarios. The hooks start one
 * `redis-server` for the suite, and kill every worker and close the dependency after each test.
 */
export const fleetSuite = (edition: FleetEdition) => {
  const { expect } = edition
  let server: RedisServer
  let redis: Redis
  let dependency: Dependency | undefined
  let prefixes = 0

  const startFleet = async (config: WorkerOptions["config"]): Promise<Fleet> => {
    const dep = new Dependency()
    dependency = dep
    const dependencyUrl = await dep.listen()
    const prefix = `fleet${process.pid}-${++prefixes}`
    const stateKey = keysOf(prefix, circuit)[0]
    const workers = Array.from({ length: N }, (_, i) =>
      spawnWorker(edition, {
        id: `w${i}`,
        redisUrl: server.url,
        prefix,
        circuit,
        dependencyUrl,
        config,
        intervalMs: 5,
        maxRunMs: 30_000
      }))
    try {
      await waitUntil("every worker ready", 20_000, () => {
        const dead = workers.find((w) => w.child.exitCode !== null)
        if (dead !== undefined) throw new Error(`worker ${dead.id} exited during start-up: ${dead.stderr}`)
        return workers.every((w) => w.ready())
      })
    } catch (error) {
      killAll()
      throw error
    }
    return { workers, dep, stateKey }
  }

  /** Polls Redis until the circuit has opened from CLOSED; returns that first OPEN (k = 0). */
  const waitForFirstOpen = async (fleet: Fleet): Promise<StateSample> => {
    let sample: StateSample | undefined
    const since = Date.now()
    try {
      await waitUntil("the fleet to open", 10_000, async () => {
        sample = await readState(redis, fleet.stateKey)
        return sample.state !== "CLOSED"
      })
    } catch (error) {
      const arrivals = fleet.dep.between(since, Infinity)
      throw new Error(
        `${String(error)}\nstate (window included): ${JSON.stringify(await redis.hgetall(fleet.stateKey))}` +
          `\ncalls that reached the dead dependency: ${arrivals.length} (${
            JSON.stringify(arrivals.slice(0, 20).map((a) => [a.worker, a.at - since, a.answer]))
          })`,
        { cause: error }
      )
    }
    expect(sample!.state, "the first state after CLOSED, sampled every few ms").toBe("OPEN")
    expect(sample!.openCount).toBe(0)
    return sample!
  }

  /** Starts the fleet, lets it run healthy for a while and checks nothing moved. */
  const startHealthyFleet = async (config: WorkerOptions["config"]): Promise<Fleet> => {
    const fleet = await startFleet(config)
    // a loaded 2-core machine may take a while to get a fresh process going: wait for its calls
    await waitUntil(
      "every worker to reach the healthy dependency 10 times",
      10_000,
      () => fleet.workers.every((w) => fleet.dep.arrivals.filter((a) => a.worker === w.id).length >= 10)
    )
    await sleep(200)
    const s = await readState(redis, fleet.stateKey)
    expect(s.state).toBe("CLOSED")
    expect(s.openCount).toBe(0)
    for (const w of fleet.workers) {
      expect(w.transitions(), `worker ${w.id} saw no transition while healthy`).toEqual([])
    }
    return fleet
  }

  const finalsOf = (workers: ReadonlyArray<Worker>) =>
    workers.map((w) => {
      const final = w.final()
      if (final === undefined) throw new Error(`worker ${w.id} sent no final report; stderr: ${w.stderr}`)
      return final
    })

  const scenarios: ReadonlyArray<FleetScenario> = [
    {
      name: "opens together, probes at most halfOpenMaxProbes per half-open episode fleet-wide, and closes together",
      timeout: 60_000,
      run: async () => {
        const config = {
          failureThreshold: 5,
          successThreshold: 2,
          halfOpenMaxProbes: 2,
          recoveryTimeout: 400,
          maxRecoveryTimeout: 400,
          backoffJitter: 0,
          probeLease: 1_500,
          stateCacheTtl: 75,
          storeTimeout: 2_000
        }
        const fleet = await startHealthyFleet(config)
        const { dep, workers } = fleet

        // --- the dependency dies --------------------------------------------------------------
        dep.deadDelay = 100
        const deadAt = Date.now()
        dep.mode = "dead"
        const opened = await waitForFirstOpen(fleet)
        const T = opened.openedAt
        const retryAt = opened.retryAt
        expect(retryAt - T).toBeGreaterThanOrEqual(config.recoveryTimeout - 1) // no jitter (floor may take 1 ms)
        expect(retryAt - T).toBeLessThanOrEqual(config.recoveryTimeout)

        // stay dead long enough for several half-open episodes (each ~ deadDelay + recoveryTimeout)
        await sleep(T + 2_400 - Date.now())
        const beforeHeal = await readState(redis, fleet.stateKey)
        const healAt = Date.now()
        dep.mode = "healthy"

        // --- the dependency heals: the fleet closes ---------------------------------------------
        let closedAt = 0
        await waitUntil("Redis to say CLOSED", 10_000, async () => {
          const s = await readState(redis, fleet.stateKey)
          if (s.state === "CLOSED") closedAt = s.at
          return s.state === "CLOSED"
        })
        await waitUntil("every worker to see CLOSED again", 10_000, () =>
          workers.every((w) => {
            const last = w.transitions().at(-1)
            return last !== undefined && last.to === "CLOSED" && last.at >= healAt
          }))
        const allClosedAt = Math.max(...workers.map((w) => w.transitions().at(-1)!.at))
        await sleep(200)
        await stopFleet(workers)
        const finals = finalsOf(workers)

        // --- what reached the dead dependency --------------------------------------------------
        // a call arriving in the very millisecond of the open counts as before it
        const beforeOpen = dep.between(deadAt, T + 1)
        const stragglers = dep.between(T + 1, retryAt)
        const probes = dep.between(retryAt, healAt)
        const afterOpen = dep.between(T + 1, healAt)
        // probes of one episode arrive within ~deadDelay of each other; episodes are ≥ ~recoveryTimeout
        // apart: split half-way, which tolerates ~150 ms of lag between a permit and its request
        const episodes = bursts(probes, (config.recoveryTimeout + dep.deadDelay) / 2)
        // when each worker first saw the circuit not CLOSED (on its next round trip after T)
        const seenOpenAfterMs = workers.map((w) => w.transitions()[0]!.at - T)
        const report = {
          workers: N,
          callsToDeadDependencyBeforeOpen: beforeOpen.length,
          callsToDeadDependencyAfterOpen: afterOpen.length,
          stragglers: stragglers.length,
          probesWhileDead: probes.length,
          probesPerEpisode: episodes.map((e) => e.length),
          probeWorkersPerEpisode: episodes.map((e) => e.map((a) => a.worker).join(",")),
          openCountAtHeal: beforeHeal.openCount,
          stateAtHeal: beforeHeal.state,
          maxProbesInFlight: maxInFlight(probes),
          openSeenByEachWorkerAfterMs: seenOpenAfterMs,
          healToRedisClosedMs: closedAt - healAt,
          healToAllWorkersClosedMs: allClosedAt - healAt,
          probesCountedByWorkers: finals.reduce((n, f) => n + f.probes, 0),
          perWorker: finals.map((f) => ({ id: f.id, ...f.counts, probes: f.probes }))
        }
        console.log("fleet test 1:", JSON.stringify(report, null, 1))

        // the fleet opened after about failureThreshold failures, not N × failureThreshold
        expect(beforeOpen.length).toBeGreaterThanOrEqual(config.failureThreshold)
        expect(beforeOpen.length).toBeLessThan(config.failureThreshold + N)
        // after the open, each worker sends at most one call admitted on its cached CLOSED state
        for (const w of workers) {
          expect(stragglers.filter((a) => a.worker === w.id).length, `stragglers of ${w.id}`).toBeLessThanOrEqual(1)
        }
        // the OPEN reached every instance within its cache TTL (plus the call it had in flight)
        for (const ms of seenOpenAfterMs) expect(ms).toBeLessThan(config.stateCacheTtl + dep.deadDelay + 200)
        // several half-open episodes happened, each with at most halfOpenMaxProbes probes in total
        expect(episodes.length).toBeGreaterThanOrEqual(3)
        for (const episode of episodes) {
          expect(episode.length, `probes in one episode: ${JSON.stringify(episode)}`).toBeLessThanOrEqual(
            config.halfOpenMaxProbes
          )
        }
        expect(maxInFlight(probes)).toBeLessThanOrEqual(config.halfOpenMaxProbes)
        // the bursts are the store's episodes: each failed one re-opened the circuit with k + 1
        // (the last may still be in flight at the heal)
        expect(episodes.length).toBeGreaterThanOrEqual(beforeHeal.openCount)
        expect(episodes.length).toBeLessThanOrEqual(beforeHeal.openCount + 1)
        // every request that reached the dependency after retryAt while dead was a probe
        expect(report.probesCountedByWorkers).toBeGreaterThanOrEqual(probes.length)
        // a fleet of per-instance breakers sends ≥ (N - 1) × failureThreshold after the first open
        expect(afterOpen.length).toBeLessThan(N * config.failureThreshold)
        expect(afterOpen.length).toBeLessThanOrEqual(N + config.halfOpenMaxProbes * episodes.length)

        // closed soon after the heal: at most one open period, the probes, and the half-open
        // rejection others cached (≤ 1 s)
        expect(closedAt - healAt).toBeLessThan(config.recoveryTimeout + 1_000)
        expect(allClosedAt - healAt).toBeLessThan(config.recoveryTimeout + 2_500)
        for (const f of finals) {
          expect(f.lastState, `worker ${f.id}`).toBe("CLOSED")
          expect(f.lastOutcome, `worker ${f.id}`).toBe("ok")
          expect(f.counts.other, `worker ${f.id}: failures other than the dependency's or CircuitOpen`).toBe(0)
          expect(f.storeErrors, `worker ${f.id}`).toBe(0)
          expect(f.counts.rejected, `worker ${f.id} was rejected while open`).toBeGreaterThan(0)
        }
        expect((await readState(redis, fleet.stateKey)).state).toBe("CLOSED")
      }
    },

    {
      name: "a probe holder killed mid-probe frees its permit when its lease expires, not before",
      timeout: 60_000,
      run: async () => {
        const config = {
          failureThreshold: 3,
          successThreshold: 1,
          halfOpenMaxProbes: 1,
          recoveryTimeout: 400,
          maxRecoveryTimeout: 400,
          backoffJitter: 0,
          probeLease: 1_500,
          stateCacheTtl: 75,
          storeTimeout: 2_000
        }
        const fleet = await startHealthyFleet(config)
        const { dep, workers } = fleet

        // the dependency dies; once the fleet is open, the first call to reach it after retryAt
        // (necessarily a probe) hangs, and its sender is SIGKILLed at once: it dies holding the permit
        dep.deadDelay = 50
        dep.mode = "dead"
        let victim: { worker: Worker; arrival: Arrival } | undefined
        dep.onHang = (arrival) => {
          const worker = workers.find((w) => w.id === arrival.worker)!
          worker.child.kill("SIGKILL")
          dep.mode = "healthy"
          victim = { worker, arrival }
        }
        const opened = await waitForFirstOpen(fleet)
        dep.hangFrom = opened.retryAt
        await waitUntil("a probe to reach the dependency", 5_000, () => victim !== undefined)
        const P = victim!.arrival.at
        const atKill = await readState(redis, fleet.stateKey)
        // the probe leases: "<probe id> <expiry>" pairs in the circuit's hash (lua/circuit.lua)
        const leases = ((await redis.hget(fleet.stateKey, "probes")) ?? "").split(" ").filter((word) => word !== "")
        await victim!.worker.exited

        // the victim held the only permit of a half-open circuit
        expect(atKill.state).toBe("HALF_OPEN")
        expect(leases.length, `leases: ${JSON.stringify(leases)}`).toBe(2) // [member, score]
        const leaseExpiry = Number(leases[1])
        expect(Math.abs(leaseExpiry - (P + config.probeLease))).toBeLessThan(250)

        let closedAt = 0
        await waitUntil("Redis to say CLOSED", config.probeLease + 5_000, async () => {
          const s = await readState(redis, fleet.stateKey)
          if (s.state === "CLOSED") closedAt = s.at
          return s.state === "CLOSED"
        })
        const survivors = workers.filter((w) => w !== victim!.worker)
        await waitUntil("every surviving worker to see CLOSED again", 10_000, () =>
          survivors.every((w) => {
            const last = w.transitions().at(-1)
            return last !== undefined && last.to === "CLOSED" && last.at > P
          }))
        const allClosedAt = Math.max(...survivors.map((w) => w.transitions().at(-1)!.at))
        await sleep(200)
        await stopFleet(survivors)
        const finals = finalsOf(survivors)

        const next = dep.arrivals.filter((a) => a.at > P || (a.at === P && a !== victim!.arrival))
        const Q = next[0]?.at
        const report = {
          victim: victim!.worker.id,
          victimExit: await victim!.worker.exited,
          probeArrivedAfterRetryAtMs: P - opened.retryAt,
          leaseExpiresAfterProbeMs: leaseExpiry - P,
          nextCallAfterProbeMs: Q === undefined ? null : Q - P,
          nextCallAfterLeaseExpiryMs: Q === undefined ? null : Q - leaseExpiry,
          nextCallFrom: next[0]?.worker,
          leaseExpiryToRedisClosedMs: closedAt - leaseExpiry,
          leaseExpiryToAllSurvivorsClosedMs: allClosedAt - leaseExpiry,
          perWorker: finals.map((f) => ({ id: f.id, ...f.counts, probes: f.probes }))
        }
        console.log("fleet test 2:", JSON.stringify(report, null, 1))

        expect(report.victimExit.signal).toBe("SIGKILL")
        expect(victim!.worker.final()).toBeUndefined()
        // nobody reached the dependency while the dead holder's lease ran...
        expect(Q).toBeDefined()
        // (each worker runs on Redis's clock as it measured it, within half a round trip: a few ms under load)
        expect(Q!).toBeGreaterThanOrEqual(leaseExpiry - 50)
        expect(Q! - P).toBeGreaterThanOrEqual(0.8 * config.probeLease)
        // ...and someone probed soon after it expired (others retry at the lease expiry at the latest)
        expect(Q! - leaseExpiry).toBeLessThan(1_000)
        expect(next[0]!.worker).not.toBe(victim!.worker.id)
        // the probe succeeded (successThreshold 1): the fleet closed
        expect(closedAt - leaseExpiry).toBeLessThan(1_500)
        for (const f of finals) {
          expect(f.lastState, `worker ${f.id}`).toBe("CLOSED")
          expect(f.lastOutcome, `worker ${f.id}`).toBe("ok")
          expect(f.counts.other, `worker ${f.id}`).toBe(0)
          expect(f.storeErrors, `worker ${f.id}`).toBe(0)
        }
        // exactly one of the survivors took the probe that closed the circuit
        // (the fleet probed once per half-open episode: the victim's, then this one)
        expect(finals.reduce((n, f) => n + f.probes, 0)).toBe(1)
      }
    }
  ]

  return {
    scenarios,
    beforeAll: async () => {
      server = await startRedis()
      redis = new Redis(server.url, { maxRetriesPerRequest: 1 })
    },
    afterEach: async () => {
      killAll()
      await dependency?.close()
      dependency = undefined
    },
    afterAll: async () => {
      killAll()
      redis?.disconnect()
      await server?.stop()
    }
  }
}
