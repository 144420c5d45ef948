/**
 * Redis traffic per call, and a simulated fleet through an outage, side by
 * side with independent in-memory cockatiel breakers.
 *
 *   node --import ./bench/register.mjs bench/fleet.bench.ts
 *   BENCH_FLEET_REPS=5 node --import ./bench/register.mjs bench/fleet.bench.ts
 *   BENCH_FLEET_PART=3 node --import ./bench/register.mjs bench/fleet.bench.ts   (part 3 only)
 *
 * Starts its own redis-server (and an Upstash REST bridge in front of it).
 * See bench/README.md for what is measured and how to read the output.
 */
import { BrokenCircuitError, circuitBreaker, CircuitState, ConsecutiveBreaker, handleAll } from "cockatiel"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { readFileSync } from "node:fs"
import * as os from "node:os"
import { fileURLToPath } from "node:url"
import { CircuitBreaker, RedisCircuitStore } from "../src/index.js"
import type { CircuitConfig, CircuitStore, RedisClient } from "../src/index.js"
import { type RedisServer, startRedis } from "../test/support/redisServer.js"
import { startUpstashBridge, type UpstashBridge } from "../test/shared/upstashBridge.js"
import { environment, envInt, fmt, markdownTable, median } from "./support.js"
import { UpstashClient } from "../src/upstash.js"
import { IORedisClient } from "../src/ioredis.js"
import type { ProcessEvent, ProcessOptions } from "./fleetProcess.js"
import { type Child, ProcessDependency, spawnChildren, stopChildren, waitFor } from "./shared/processes.js"

const repoRoot = fileURLToPath(new URL("..", import.meta.url))

// ---------------------------------------------------------------------------
// knobs
// ---------------------------------------------------------------------------

/** Calls per "spread" and "burst" case of part 1. */
const CALLS = envInt("BENCH_CALLS", 10_000)
/** How long a "spread" case of part 1 lasts (ms). */
const SPREAD_MS = envInt("BENCH_SPREAD_MS", 3_000)
/** Rejected calls of the back-to-back case of part 1 (a rejection costs tens of µs: kept well inside 1 s). */
const REJECT_BURST = envInt("BENCH_REJECT_BURST", 2_000)
/** Failing calls of part 1 (each one is a round trip). */
const FAILURES = envInt("BENCH_FAILURES", 1_000)
/** `BENCH_FLEET_PART=3`: only part 3 (the processes). */
const ONLY_PROCESSES = process.env.BENCH_FLEET_PART === "3"
/** Repetitions of every fleet scenario. */
const REPS = envInt("BENCH_FLEET_REPS", 3)
/** Simulated instances. */
const INSTANCES = envInt("BENCH_FLEET_INSTANCES", 8)
/** Start-to-start pause between two calls of one instance (ms). */
const INTERVAL_MS = envInt("BENCH_FLEET_INTERVAL_MS", 5)
/** How long the dependency is dead (ms). */
const DEAD_MS = envInt("BENCH_FLEET_DEAD_MS", 3_000)
/** How long a call to the dead dependency takes to fail (ms). */
const DEAD_LATENCY_MS = envInt("BENCH_FLEET_DEAD_LATENCY_MS", 10)
/** How long a call to the healthy dependency takes (ms). */
const OK_LATENCY_MS = envInt("BENCH_FLEET_OK_LATENCY_MS", 2)

/** Healthy calls before the dependency dies (every cache warm, every breaker closed). */
const WARM_MS = 300
/** A fleet run ends once no instance has rejected a call for this long… */
const QUIET_MS = 600
/** …or this long after recovery, whatever happens. */
const RUN_CAP_MS = 8_000
/** Longer than the store's flush interval (1 s): batched counts have been sent. */
const FLUSH_WAIT_MS = 1_300

const fleetConfig = {
  failureThreshold: 5,
  recoveryTimeout: 300,
  backoffJitter: 0.1,
  halfOpenMaxProbes: 1,
  successThreshold: 2,
  stateCacheTtl: 100
} as const satisfies CircuitConfig.Input

const log = (line: string) => process.stderr.write(line + "\n")
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)))

class Boom extends Error {
  readonly _tag = "Boom"
}

class DependencyDown extends Error {
  readonly _tag = "DependencyDown"
}

// ---------------------------------------------------------------------------
// counting what Redis executed
// ---------------------------------------------------------------------------

/**
 * The commands `lua/circuit.lua` runs (`redis.call`, `redis.pcall`, or a
 * local alias of either). Redis counts them in `INFO commandstats` like any
 * other command; they are reported apart, since they cost no round trip.
 */
const scriptCommands: ReadonlySet<string> = new Set(
  [...readFileSync(new URL("../lua/circuit.lua", import.meta.url), "utf8").matchAll(/\bp?call\("([A-Za-z]+)"/g)]
    .map((m) => m[1]!.toLowerCase())
)

type CommandStats = ReadonlyMap<string, number>

const commandStats = async (server: RedisServer): Promise<CommandStats> => {
  const stats = new Map<string, number>()
  for (const line of (await server.cli("INFO", "commandstats")).split(/\r?\n/)) {
    const m = /^cmdstat_([^:]+):calls=(\d+)/.exec(line)
    if (m !== null) stats.set(m[1]!, Number(m[2]))
  }
  return stats
}

interface Traffic {
  /** Commands sent by clients (round trips): everything but INFO and the script's own commands. */
  readonly sent: number
  /** Commands run inside the script (`redis.call`). */
  readonly inScript: number
  /** HTTP requests the Upstash bridge received (undefined over TCP). */
  readonly http: number | undefined
  /** The client-sent commands by name, e.g. `evalsha 3`. */
  readonly detail: string
}

interface Probe {
  readonly stats: CommandStats
  readonly http: number | undefined
}

const probe = async (server: RedisServer, bridge: UpstashBridge | undefined): Promise<Probe> => ({
  stats: await commandStats(server),
  http: bridge?.requests
})

const traffic = (before: Probe, after: Probe): Traffic => {
  let sent = 0
  let inScript = 0
  const detail: Array<string> = []
  for (const [name, calls] of after.stats) {
    const n = calls - (before.stats.get(name) ?? 0)
    if (n === 0 || name === "info") continue
    if (scriptCommands.has(name)) inScript += n
    else {
      sent += n
      detail.push(`${name} ${n}`)
    }
  }
  return {
    sent,
    inScript,
    http: before.http === undefined || after.http === undefined ? undefined : after.http - before.http,
    detail: detail.join(", ")
  }
}

// ---------------------------------------------------------------------------
// part 1: Redis commands per call
// ---------------------------------------------------------------------------

type Outcome = "ok" | "failed" | "rejected" | "other"

const outcomeOf = <A>(
  result: { readonly _tag: "Right"; readonly right: A } | {
    readonly _tag: "Left"
    readonly left: { readonly _tag: string }
  }
): Outcome =>
  result._tag === "Right"
    ? "ok"
    : result.left._tag === "Boom" || result.left._tag === "DependencyDown"
    ? "failed"
    : result.left._tag === "CircuitOpen"
    ? "rejected"
    : "other"

type Tally = Record<Outcome, number>

const emptyTally = (): Tally => ({ ok: 0, failed: 0, rejected: 0, other: 0 })

/** `total` calls of `call`, in `ticks` back-to-back batches spread evenly over `spanMs`. */
const calls = <E extends { readonly _tag: string }>(
  call: Effect.Effect<number, E>,
  total: number,
  spanMs: number,
  ticks: number
): Effect.Effect<Tally> =>
  Effect.gen(function*() {
    const tally = emptyTally()
    const start = Date.now()
    let done = 0
    for (let t = 0; t < ticks; t++) {
      const until = Math.round((total * (t + 1)) / ticks)
      for (; done < until; done++) tally[outcomeOf(yield* Effect.either(call))]++
      if (spanMs > 0) {
        const wait = start + (spanMs * (t + 1)) / ticks - Date.now()
        if (wait > 0) yield* Effect.sleep(wait)
      }
    }
    return tally
  })

const expectAll = (what: string, tally: Tally, outcome: Outcome, n: number) => {
  if (tally[outcome] !== n) throw new Error(`${what}: expected ${n} × ${outcome}, got ${JSON.stringify(tally)}`)
}

/**
 * How a back-to-back case went: its duration and µs per call, and whether the
 * counted window (from the cache refresh to the last INFO) stayed shorter than
 * both stateCacheTtl and the store's 1 s flush interval (else a refresh or a
 * flush may be in the count).
 */
const burstNote = (start: number, end: number, windowEnd: number, refreshedAt: number, n: number, ttl: number) => {
  const window = windowEnd - refreshedAt
  const clean = window < Math.min(ttl, 1_000)
  return `${end - start} ms (${fmt(((end - start) * 1000) / n, 1)} µs/call); refresh to last INFO ${window} ms: ` +
    (clean ? "within one stateCacheTtl, before any flush" : "LONGER than stateCacheTtl or the flush interval")
}

interface CaseResult {
  readonly label: string
  readonly calls: number
  readonly traffic: Traffic
  readonly note: string
}

interface TransportResult {
  readonly label: string
  readonly cases: ReadonlyArray<CaseResult>
}

type StoreRuntime = ManagedRuntime.ManagedRuntime<CircuitStore.CircuitStore, unknown>

const storeRuntime = (
  prefix: string,
  client: Layer.Layer<RedisClient.RedisClient, unknown>
): StoreRuntime => ManagedRuntime.make(RedisCircuitStore.layer({ prefix }).pipe(Layer.provide(client)))

const perCallCases = async (
  label: string,
  server: RedisServer,
  bridge: UpstashBridge | undefined,
  client: Layer.Layer<RedisClient.RedisClient, unknown>
): Promise<TransportResult> => {
  const rt = storeRuntime(`bench-${bridge === undefined ? "tcp" : "upstash"}`, client)
  const cases: Array<CaseResult> = []
  const snap = () => probe(server, bridge)
  try {
    const ok = await rt.runPromise(CircuitBreaker.make("ok"))
    const succeed = ok.protect(Effect.succeed(1))
    const ttl = ok.config.stateCacheTtl
    // warm-up: creates the state, loads the script (a first EVALSHA is answered NOSCRIPT), JIT
    await rt.runPromise(calls(succeed, 1_000, 0, 1))
    await sleep(FLUSH_WAIT_MS)

    // -- success on a CLOSED circuit, spread over SPREAD_MS ---------------------
    log(`${label}: ${CALLS} successful calls over ${SPREAD_MS} ms`)
    let s0 = await snap()
    let tally = await rt.runPromise(calls(succeed, CALLS, SPREAD_MS, 100))
    await sleep(FLUSH_WAIT_MS)
    let s1 = await snap()
    expectAll("success, spread", tally, "ok", CALLS)
    cases.push({
      label: `success, CLOSED: ${CALLS.toLocaleString("en-US")} calls over ${
        fmt(SPREAD_MS / 1000, 0)
      } s, incl. the deferred flush`,
      calls: CALLS,
      traffic: traffic(s0, s1),
      note: "realistic run: one cache refresh per stateCacheTtl + one flush per second"
    })

    // -- success within one stateCacheTtl ----------------------------------------
    log(`${label}: ${CALLS} successful calls within one stateCacheTtl`)
    s0 = await snap()
    const primedAt = Date.now()
    await rt.runPromise(Effect.either(succeed)) // the cache is stale (FLUSH_WAIT_MS > ttl): one refresh
    s1 = await snap()
    const burstStart = Date.now()
    tally = await rt.runPromise(calls(succeed, CALLS, 0, 1))
    const burstEnd = Date.now()
    const s2 = await snap()
    const windowEnd = Date.now()
    await sleep(FLUSH_WAIT_MS)
    const s3 = await snap()
    expectAll("success, burst", tally, "ok", CALLS)
    cases.push({
      label: `success, CLOSED: ${CALLS.toLocaleString("en-US")} calls back to back, cache fresh`,
      calls: CALLS,
      traffic: traffic(s1, s2),
      note: burstNote(burstStart, burstEnd, windowEnd, primedAt, CALLS, ttl)
    })
    cases.push({
      label: `… the same plus its cache refresh and the deferred flush`,
      calls: CALLS + 1,
      traffic: traffic(s0, s3),
      note: "one refresh before, one flush ≤ 1 s after"
    })

    // -- failures on a CLOSED circuit ----------------------------------------------
    log(`${label}: ${FAILURES} failing calls on a CLOSED circuit`)
    const failing = await rt.runPromise(CircuitBreaker.make("failing", { failureThreshold: 1_000_000 }))
    const fail = failing.protect(Effect.fail(new Boom()))
    await rt.runPromise(calls(fail, 10, 0, 1)) // creates the state; the cache is now fresh
    s0 = await snap()
    tally = await rt.runPromise(calls(fail, FAILURES, 0, 1))
    s1 = await snap()
    expectAll("failure", tally, "failed", FAILURES)
    const failingState = await rt.runPromise(failing.state)
    if (failingState !== "CLOSED") throw new Error(`the failing circuit left CLOSED (${failingState})`)
    cases.push({
      label: `failure, CLOSED: ${FAILURES.toLocaleString("en-US")} calls back to back`,
      calls: FAILURES,
      traffic: traffic(s0, s1),
      note: "failureThreshold 1,000,000: the circuit stays CLOSED"
    })

    // -- rejections on an OPEN circuit -----------------------------------------------
    const open = await rt.runPromise(
      CircuitBreaker.make("open", { failureThreshold: 5, recoveryTimeout: 60_000, maxRecoveryTimeout: 60_000 })
    )
    const failOpen = open.protect(Effect.fail(new Boom()))
    await rt.runPromise(calls(failOpen, 5, 0, 1))
    const openState = await rt.runPromise(open.state)
    if (openState !== "OPEN") throw new Error(`the circuit did not open (${openState})`)
    const rejected = open.protect(Effect.succeed(1))
    log(`${label}: ${CALLS} rejected calls over ${SPREAD_MS} ms`)
    s0 = await snap()
    tally = await rt.runPromise(calls(rejected, CALLS, SPREAD_MS, 100))
    await sleep(FLUSH_WAIT_MS)
    s1 = await snap()
    expectAll("rejected, spread", tally, "rejected", CALLS)
    cases.push({
      label: `rejected, OPEN: ${CALLS.toLocaleString("en-US")} calls over ${
        fmt(SPREAD_MS / 1000, 0)
      } s, incl. the deferred flush`,
      calls: CALLS,
      traffic: traffic(s0, s1),
      note: "recoveryTimeout 60 s; one cache refresh per stateCacheTtl + one flush per second"
    })

    log(`${label}: ${REJECT_BURST} rejected calls within one stateCacheTtl`)
    const rejectPrimedAt = Date.now()
    await rt.runPromise(Effect.either(rejected)) // stale cache: one refresh
    s0 = await snap()
    const rejectStart = Date.now()
    tally = await rt.runPromise(calls(rejected, REJECT_BURST, 0, 1))
    const rejectEnd = Date.now()
    s1 = await snap()
    const rejectWindowEnd = Date.now()
    expectAll("rejected, burst", tally, "rejected", REJECT_BURST)
    cases.push({
      label: `rejected, OPEN: ${REJECT_BURST.toLocaleString("en-US")} calls back to back, cache fresh`,
      calls: REJECT_BURST,
      traffic: traffic(s0, s1),
      note: burstNote(rejectStart, rejectEnd, rejectWindowEnd, rejectPrimedAt, REJECT_BURST, ttl)
    })
  } finally {
    await rt.dispose()
  }
  return { label, cases }
}

// ---------------------------------------------------------------------------
// part 2: the fleet
// ---------------------------------------------------------------------------

interface Arrival {
  readonly instance: number
  readonly at: number
  readonly dead: boolean
}

/** The protected dependency, shared by every instance: dead in [deadFrom, deadUntil). */
class Dependency {
  readonly arrivals: Array<Arrival> = []
  constructor(readonly deadFrom: number, readonly deadUntil: number) {}

  call(instance: number): Promise<number> {
    const at = Date.now()
    const dead = at >= this.deadFrom && at < this.deadUntil
    this.arrivals.push({ instance, at, dead })
    return new Promise((resolve, reject) =>
      setTimeout(() => (dead ? reject(new DependencyDown("dead")) : resolve(1)), dead ? DEAD_LATENCY_MS : OK_LATENCY_MS)
    )
  }
}

interface CallEvent {
  readonly at: number
  readonly outcome: Outcome
}

interface Instance {
  readonly events: Array<CallEvent>
  /** When this instance saw the circuit go OPEN (cockatiel: its own breaker opened). */
  readonly opens: Array<number>
  call(): Promise<Outcome>
  /** Half-open probes this instance ran (the breaker's own count). */
  probes(): Promise<number>
  close(): Promise<void>
}

interface Variant {
  readonly label: string
  readonly make: (dependency: Dependency, run: string) => Promise<ReadonlyArray<Instance>>
  readonly recoveryTimeout: number
}

const redisVariant = (label: string, server: RedisServer, extra: CircuitConfig.Input): Variant => ({
  label,
  recoveryTimeout: fleetConfig.recoveryTimeout,
  make: async (dependency, run) => {
    const instances: Array<Instance> = []
    for (let i = 0; i < INSTANCES; i++) {
      // one runtime per instance: its own store (cache, flusher, store guard) and its own connection
      const rt = storeRuntime(run, IORedisClient.layer({ url: server.url }))
      const breaker = await rt.runPromise(
        CircuitBreaker.make("dependency", { ...fleetConfig, ...extra, instanceId: `i${i}` })
      )
      const opens: Array<number> = []
      const watcher = rt.runFork(
        breaker.stateChanges.pipe(
          Stream.runForEach((t) => Effect.sync(() => (t.to === "OPEN" ? opens.push(t.at) : undefined)))
        )
      )
      const protectedCall = Effect.either(
        breaker.protect(
          Effect.tryPromise({ try: () => dependency.call(i), catch: () => new DependencyDown("dead") })
        )
      )
      instances.push({
        events: [],
        opens,
        call: () => rt.runPromise(Effect.map(protectedCall, outcomeOf)),
        probes: () => rt.runPromise(Effect.map(breaker.metrics, (m) => m.probes)),
        close: async () => {
          await rt.runPromise(Fiber.interrupt(watcher))
          await rt.dispose()
        }
      })
    }
    await sleep(20) // let the watchers subscribe
    return instances
  }
})

const cockatielVariant: Variant = {
  label: `cockatiel ×${INSTANCES}, in memory`,
  recoveryTimeout: fleetConfig.recoveryTimeout,
  make: async (dependency) =>
    Array.from({ length: INSTANCES }, (_, i): Instance => {
      const policy = circuitBreaker(handleAll, {
        halfOpenAfter: fleetConfig.recoveryTimeout,
        breaker: new ConsecutiveBreaker(fleetConfig.failureThreshold)
      })
      const opens: Array<number> = []
      const listener = policy.onBreak(() => opens.push(Date.now()))
      let probes = 0
      const fn = () => {
        if (policy.state === CircuitState.HalfOpen) probes++
        return dependency.call(i)
      }
      return {
        events: [],
        opens,
        call: () =>
          policy.execute(fn).then(
            (): Outcome => "ok",
            (error: unknown): Outcome =>
              error instanceof DependencyDown ? "failed" : error instanceof BrokenCircuitError ? "rejected" : "other"
          ),
        probes: async () => probes,
        close: async () => listener.dispose()
      }
    })
}

interface RunResult {
  /** First open anywhere, after the dependency died (ms). */
  readonly openedAfter: number
  /** Calls that reached the dead dependency at or after the first open. */
  readonly afterOpen: number
  /** …of which in the burst that opened the circuit (not half-open probes). */
  readonly stragglers: number
  /** Calls per half-open episode while dead (bursts of arrivals after quiet periods). */
  readonly episodes: ReadonlyArray<number>
  /** Every call that reached the dead dependency. */
  readonly deadTotal: number
  /** Half-open probes, as the breakers count them (whole run, closing probes included). */
  readonly probes: number
  /** From recovery until the first / the last instance let every call through (ms). */
  readonly firstClosed: number
  readonly fleetClosed: number
  readonly rejected: number
  readonly other: number
}

/** From `from` on: the start of the first admitted call after the instance's last rejection. */
const closedAt = (events: ReadonlyArray<CallEvent>, from: number): number => {
  let last = -1
  for (let i = 0; i < events.length; i++) {
    if (events[i]!.at >= from && events[i]!.outcome === "rejected") last = i
  }
  for (let i = last + 1; i < events.length; i++) {
    const e = events[i]!
    if (e.at >= from && (e.outcome === "ok" || e.outcome === "failed")) return e.at
  }
  return Number.NaN
}

const runFleet = async (variant: Variant, run: string): Promise<RunResult> => {
  const start = Date.now() + 50
  const dependency = new Dependency(start + WARM_MS, start + WARM_MS + DEAD_MS)
  const instances = await variant.make(dependency, run)
  let stopped = false
  const loops = instances.map(async (instance) => {
    await sleep(start - Date.now() + Math.random() * INTERVAL_MS)
    let next = Date.now()
    while (!stopped) {
      const at = Date.now()
      instance.events.push({ at, outcome: await instance.call() })
      next += INTERVAL_MS
      const wait = next - Date.now()
      if (wait > 0) await sleep(wait)
      else next = Date.now()
    }
  })
  // run until every instance has let calls through for QUIET_MS after recovery
  await sleep(dependency.deadUntil + 300 - Date.now())
  const lastRejection = () =>
    Math.max(...instances.map((inst) => {
      for (let i = inst.events.length - 1; i >= 0; i--)
        if (inst.events[i]!.outcome === "rejected") return inst.events[i]!.at
      return 0
    }))
  while (Date.now() - lastRejection() < QUIET_MS && Date.now() < dependency.deadUntil + RUN_CAP_MS) await sleep(50)
  stopped = true
  await Promise.all(loops)
  const probes = (await Promise.all(instances.map((inst) => inst.probes()))).reduce((a, b) => a + b, 0)
  await Promise.all(instances.map((inst) => inst.close()))

  const { deadFrom, deadUntil } = dependency
  const firstOpen = Math.min(...instances.flatMap((inst) => inst.opens.filter((t) => t >= deadFrom)))
  const dead = dependency.arrivals.filter((a) => a.dead).sort((a, b) => a.at - b.at)
  // bursts of arrivals separated by quiet periods: the first one opened the circuit, every
  // later one is a half-open episode (the next cannot start before ~recoveryTimeout of quiet)
  const gap = Math.max(50, (variant.recoveryTimeout * (1 - fleetConfig.backoffJitter)) / 2)
  const bursts: Array<Array<Arrival>> = []
  for (const a of dead) {
    const current = bursts[bursts.length - 1]
    if (current !== undefined && a.at - current[current.length - 1]!.at < gap) current.push(a)
    else bursts.push([a])
  }
  const closed = instances.map((inst) => closedAt(inst.events, deadUntil) - deadUntil)
  const all = instances.flatMap((inst) => inst.events)
  return {
    openedAfter: firstOpen - deadFrom,
    afterOpen: dead.filter((a) => a.at >= firstOpen).length,
    stragglers: (bursts[0] ?? []).filter((a) => a.at >= firstOpen).length,
    episodes: bursts.slice(1).map((b) => b.length),
    deadTotal: dead.length,
    probes,
    firstClosed: Math.min(...closed),
    fleetClosed: closed.some(Number.isNaN) ? Number.NaN : Math.max(...closed),
    rejected: all.filter((e) => e.outcome === "rejected").length,
    other: all.filter((e) => e.outcome === "other").length
  }
}

// ---------------------------------------------------------------------------
// part 3: four processes, how soon a transition reaches the fleet
// ---------------------------------------------------------------------------

/** Runs of the close-after-the-probe case, and tries of the force-open case. */
const PROCESS_RUNS = envInt("BENCH_FLEET_PROCESS_RUNS", 6)
const FORCE_TRIES = envInt("BENCH_FLEET_FORCE_TRIES", 10)
const PROCESSES = 4
/** `BENCH_FLEET_NOTIFICATIONS=0`: the stores of part 3 without transition notifications (as over Upstash). */
const NOTIFICATIONS = process.env.BENCH_FLEET_NOTIFICATIONS !== "0"
/** Start-to-start pause between two calls of one process (ms). */
const PROCESS_INTERVAL_MS = 2

const processConfig = {
  failureThreshold: 3,
  recoveryTimeout: 300,
  maxRecoveryTimeout: 300,
  backoffMultiplier: 1,
  backoffJitter: 0,
  halfOpenMaxProbes: 1,
  successThreshold: 1
} as const satisfies CircuitConfig.Input

type Process = Child<ProcessEvent>

const spawnProcesses = (redis: RedisServer, dependencyUrl: string, prefix: string): Promise<Array<Process>> =>
  spawnChildren<ProcessEvent>({
    count: PROCESSES,
    cwd: repoRoot,
    execArgv: ["--import", "./bench/register.mjs"],
    script: "bench/fleetProcess.ts",
    options: (_, id): ProcessOptions => ({
      id,
      redisUrl: redis.url,
      prefix,
      circuit: "dependency",
      dependencyUrl,
      config: processConfig,
      intervalMs: PROCESS_INTERVAL_MS,
      notifications: NOTIFICATIONS
    })
  })

const stopProcesses = stopChildren

/**
 * One run of the outage: healthy, dead until the circuit opened and at least one probe failed,
 * healthy again. The first request that succeeds after the recovery is the probe (one permit);
 * the time from its answer until every other process's first success after it.
 */
const closeRun = async (redis: RedisServer, dependency: ProcessDependency, url: string, run: number) => {
  const processes = await spawnProcesses(redis, url, `close-${run}-${Date.now().toString(36)}`)
  try {
    dependency.mode = "healthy"
    await sleep(300)
    dependency.mode = "dead"
    await sleep(700 + Math.random() * 300)
    const healedAt = Date.now()
    dependency.mode = "healthy"
    const okAfter = (worker: string, from: number) =>
      dependency.arrivals.find((a) => a.ok && a.worker === worker && a.at >= from)
    await waitFor(5_000, () => processes.every((p) => okAfter(p.id, healedAt) !== undefined))
    const probe = dependency.arrivals.find((a) => a.ok && a.at >= healedAt)!
    const others = processes.filter((p) => p.id !== probe.worker).map((p) => okAfter(p.id, probe.end)?.at ?? NaN)
    return Math.max(...others) - probe.end
  } finally {
    await stopProcesses(processes)
  }
}

/**
 * `FORCE_TRIES` force-opens, each through another process, while every process calls: from the
 * operator's command until each other process's first rejection (the slowest of them), then a
 * reset and a pause.
 */
const forceRuns = async (redis: RedisServer, dependency: ProcessDependency, url: string) => {
  dependency.mode = "healthy"
  const processes = await spawnProcesses(redis, url, `force-${Date.now().toString(36)}`)
  const latencies: Array<number> = []
  try {
    await sleep(500)
    for (let i = 0; i < FORCE_TRIES; i++) {
      const operator = processes[i % PROCESSES]!
      const others = processes.filter((p) => p !== operator)
      const from = operator.events.length
      operator.send("force-open")
      const admin = () =>
        operator.events.slice(from).find((e): e is Extract<ProcessEvent, { type: "admin" }> => e.type === "admin")
      await waitFor(5_000, () => admin() !== undefined)
      const started = admin()!.started
      const rejectedAt = (p: Process) =>
        p.events.find((e) => e.type === "outcome" && e.outcome === "rejected" && e.at >= started)
      await waitFor(5_000, () => others.every((p) => rejectedAt(p) !== undefined))
      latencies.push(Math.max(...others.map((p) => {
        const e = rejectedAt(p)
        return e?.type === "outcome" ? e.at - started : NaN
      })))
      const resetFrom = operator.events.length
      operator.send("reset")
      await waitFor(5_000, () => operator.events.slice(resetFrom).some((e) => e.type === "admin"))
      const resetAt = Date.now()
      await waitFor(
        5_000,
        () =>
          processes.every((p) => p.events.some((e) => e.type === "outcome" && e.outcome === "ok" && e.at >= resetAt))
      )
      await sleep(100 + Math.random() * 200)
    }
  } finally {
    await stopProcesses(processes)
  }
  return latencies
}

// ---------------------------------------------------------------------------
// main
// ---------------------------------------------------------------------------

log(environment())
const started = Date.now()
const server = await startRedis()
const TOKEN = "bench-token-5c1e"
const bridge = await startUpstashBridge({ redisUrl: server.url, token: TOKEN })

const out: Array<string> = []
try {
  if (!ONLY_PROCESSES) await partsOneAndTwo()
  // -- part 3 -----------------------------------------------------------------
  const dependency = new ProcessDependency()
  const url = await dependency.listen()
  try {
    const closes: Array<number> = []
    for (let run = 0; run < PROCESS_RUNS; run++) {
      log(`processes: close after the probe, run ${run + 1}/${PROCESS_RUNS}`)
      closes.push(await closeRun(server, dependency, url, run))
    }
    log(`processes: force-open, ${FORCE_TRIES} tries`)
    const forced = await forceRuns(server, dependency, url)
    const summary = (xs: ReadonlyArray<number>) =>
      `median ${fmt(median(xs), 0)}, max ${fmt(Math.max(...xs), 0)} (${xs.map((x) => fmt(x, 0)).join(", ")})`
    out.push("")
    out.push(`### 3. ${PROCESSES} processes: how soon a transition reaches the fleet`)
    out.push("")
    out.push(
      `${PROCESSES} OS processes (\`bench/fleetProcess.ts\`), each a breaker on its own Redis store (ioredis, default ` +
        `store options${
          NOTIFICATIONS ? "" : " but notifications: false"
        }, stateCacheTtl 1 s), call an HTTP dependency every ${PROCESS_INTERVAL_MS} ms, one call at a time; ` +
        `failureThreshold ${processConfig.failureThreshold}, a fixed ${processConfig.recoveryTimeout} ms open period, ` +
        `one probe (halfOpenMaxProbes 1, successThreshold 1).`
    )
    out.push("")
    out.push(markdownTable(["ms", "runs"], [
      [
        `from the closing probe's answer until every other process succeeds (${PROCESS_RUNS} runs)`,
        summary(closes)
      ],
      [
        `from an operator's force-open through one process until every other one rejects (${FORCE_TRIES} tries)`,
        summary(forced)
      ]
    ]))
    out.push("")
    out.push(
      `Load average while it ran: ${os.loadavg().map((x) => x.toFixed(1)).join(", ")} (${os.cpus().length} CPUs).`
    )
  } finally {
    await dependency.close()
  }
} finally {
  await bridge.close()
  await server.stop()
}

console.log(out.join("\n"))

async function partsOneAndTwo() {
  // -- part 1 -----------------------------------------------------------------
  const tcp = await perCallCases("TCP", server, undefined, IORedisClient.layer({ url: server.url }))
  const upstash = await perCallCases(
    "Upstash",
    server,
    bridge,
    UpstashClient.layer({ url: bridge.url, token: Redacted.make(TOKEN) })
  )

  // -- part 2 -----------------------------------------------------------------
  const variants: ReadonlyArray<Variant> = [
    redisVariant(`Redis store ×${INSTANCES} (backoff ×2, default)`, server, {}),
    redisVariant(`Redis store ×${INSTANCES} (backoffMultiplier 1)`, server, { backoffMultiplier: 1 }),
    cockatielVariant
  ]
  const results: Array<Array<RunResult>> = variants.map(() => [])
  for (let rep = 0; rep < REPS; rep++) {
    // rotate the order, so no variant always runs first
    for (let k = 0; k < variants.length; k++) {
      const vi = (k + rep) % variants.length
      log(`fleet ${rep + 1}/${REPS}: ${variants[vi]!.label}`)
      results[vi]!.push(await runFleet(variants[vi]!, `fleet-r${rep}-v${vi}-${Date.now().toString(36)}`))
    }
  }
  const seconds = (Date.now() - started) / 1000

  // -- report -----------------------------------------------------------------
  const perCall = (n: number, calls: number) => `${fmt(n / calls, 4)} (${n.toLocaleString("en-US")})`
  out.push("## fleet: Redis traffic per call, and a fleet through an outage")
  out.push("")
  out.push(`${environment()}  `)
  out.push(
    `redis-server ${(await server.cli("INFO", "server")).match(/redis_version:(\S+)/)?.[1] ?? "?"}, ` +
      `whole run ${fmt(seconds, 0)} s.`
  )
  out.push("")
  out.push("### 1. Redis commands per call (counted by Redis: `INFO commandstats`, INFO excluded)")
  out.push("")
  out.push(
    "Default config (stateCacheTtl 1 s). \"sent\": commands clients sent (round trips; EVALSHA and the like); " +
      "\"in script\": commands `lua/circuit.lua` ran inside those (no round trip). Per call, with the raw count in " +
      "parentheses."
  )
  out.push("")
  const rows = tcp.cases.map((c, i) => {
    const u = upstash.cases[i]!
    return [
      c.label,
      perCall(c.traffic.sent, c.calls),
      perCall(c.traffic.inScript, c.calls),
      perCall(u.traffic.sent, u.calls),
      perCall(u.traffic.http ?? Number.NaN, u.calls)
    ]
  })
  out.push(markdownTable(["case", "TCP: sent", "TCP: in script", "Upstash: sent", "Upstash: HTTP requests"], rows))
  out.push("")
  for (const t of [tcp, upstash]) {
    for (const c of t.cases) {
      out.push(`- ${t.label}, ${c.label}: ${c.note}; sent: ${c.traffic.detail || "nothing"}`)
    }
  }

  out.push("")
  out.push(`### 2. A fleet of ${INSTANCES} through an outage (${REPS} runs, medians)`)
  out.push("")
  out.push(
    `Each instance calls every ${INTERVAL_MS} ms, one call at a time. The dependency is healthy for ${WARM_MS} ms ` +
      `(answers in ${OK_LATENCY_MS} ms), dead for ${fmt(DEAD_MS / 1000, 1)} s (fails in ${DEAD_LATENCY_MS} ms), then ` +
      `healthy again. Redis store: one ManagedRuntime per instance (own store, cache and connection), one key prefix, ` +
      `failureThreshold ${fleetConfig.failureThreshold}, recoveryTimeout ${fleetConfig.recoveryTimeout} ms, ` +
      `backoffJitter ${fleetConfig.backoffJitter}, halfOpenMaxProbes ${fleetConfig.halfOpenMaxProbes}, ` +
      `successThreshold ${fleetConfig.successThreshold}, stateCacheTtl ${fleetConfig.stateCacheTtl} ms. cockatiel: ` +
      `\`circuitBreaker(handleAll, { halfOpenAfter: ${fleetConfig.recoveryTimeout}, breaker: new ConsecutiveBreaker(${fleetConfig.failureThreshold}) })\` per instance.`
  )
  out.push("")
  const med = (vi: number, f: (r: RunResult) => number, digits = 0) => {
    const xs = results[vi]!.map(f)
    return `${fmt(median(xs), digits)} (${fmt(Math.min(...xs), digits)}–${fmt(Math.max(...xs), digits)})`
  }
  const episodes = (vi: number) => {
    const xs = results[vi]!.flatMap((r) => r.episodes)
    return xs.length === 0 ? "none" : `${fmt(median(xs), 0)} / ${fmt(Math.max(...xs), 0)}`
  }
  const fleetRows: Array<[string, (vi: number) => string]> = [
    ["first open, after the dependency died (ms)", (vi) => med(vi, (r) => r.openedAfter)],
    ["calls to the dead dependency after the first open", (vi) => med(vi, (r) => r.afterOpen)],
    ["… of them in the burst that opened it (not probes)", (vi) => med(vi, (r) => r.stragglers)],
    ["half-open episodes while dead (bursts)", (vi) => med(vi, (r) => r.episodes.length)],
    ["probes per half-open episode, median / max (all runs)", episodes],
    ["total calls that reached the dead dependency", (vi) => med(vi, (r) => r.deadTotal)],
    ["half-open probes counted by the breakers (whole run)", (vi) => med(vi, (r) => r.probes)],
    ["recovery → first instance closed (ms)", (vi) => med(vi, (r) => r.firstClosed)],
    ["recovery → whole fleet closed (ms)", (vi) => med(vi, (r) => r.fleetClosed)],
    ["rejected calls (whole run)", (vi) => med(vi, (r) => r.rejected)],
    ["other errors (e.g. ServiceUnavailable)", (vi) => med(vi, (r) => r.other)]
  ]
  out.push(markdownTable(
    ["median (min–max) over runs", ...variants.map((v) => v.label)],
    fleetRows.map(([label, f]) => [label, ...variants.map((_, vi) => f(vi))])
  ))
  out.push("")
  out.push("Per run:")
  out.push("")
  out.push(markdownTable(
    ["variant, run", "after open", "stragglers", "episodes: probes each", "dead total", "fleet closed (ms)"],
    variants.flatMap((v, vi) =>
      results[vi]!.map((r, i) => [
        `${v.label}, #${i + 1}`,
        String(r.afterOpen),
        String(r.stragglers),
        r.episodes.join(" ") || "—",
        String(r.deadTotal),
        fmt(r.fleetClosed, 0)
      ])
    )
  ))
}
