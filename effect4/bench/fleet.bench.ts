/**
 * A fleet of OS processes through an outage, for this library (Effect 4
 * edition) and for Effect 4's own `effect/persistence/CircuitBreaker`, side by
 * side in one run: calls that reached the dead dependency, probes, and the time
 * until every instance lets calls through again; plus the Redis commands the
 * fleet sent per call.
 *
 *   node --import ../bench/register.mjs bench/fleet.bench.ts           (in effect4/)
 *   BENCH_FLEET_REPS=5 BENCH_FLEET_PROCESSES=4 node --import ../bench/register.mjs bench/fleet.bench.ts
 *
 * Every run spawns BENCH_FLEET_PROCESSES processes (`bench/fleetProcess.ts`), each
 * a breaker on one redis-server (the bench's own, test/shared/redisServer.ts)
 * under a fresh key prefix, calling an HTTP dependency (bench/shared/processes.ts)
 * every BENCH_FLEET_INTERVAL_MS. The dependency is healthy, then dead (503 after
 * 5 ms) for BENCH_FLEET_DEAD_MS, then healthy again. Runs alternate between the
 * two libraries (the order flips every repetition).
 */
import * as os from "node:os"
import { execFileSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import { startRedis } from "../../test/shared/redisServer.js"
import { environment, envInt, fmt, markdownTable, median } from "../../bench/support.js"
import {
  type Child,
  ProcessDependency,
  sleep,
  spawnChildren,
  stopChildren,
  waitFor
} from "../../bench/shared/processes.js"
import { luaCommands, snapshot, traffic } from "../../bench/shared/redisStats.js"
import { readFileSync } from "node:fs"
import type { Outcome, ProcessEvent, ProcessOptions } from "./fleetProcess.js"

const editionRoot = fileURLToPath(new URL("..", import.meta.url))

/** Repetitions per library. */
const REPS = envInt("BENCH_FLEET_REPS", 3)
/** Processes per fleet. */
const PROCESSES = envInt("BENCH_FLEET_PROCESSES", 4)
/** Start-to-start pause between two calls of one process (ms). */
const INTERVAL_MS = envInt("BENCH_FLEET_INTERVAL_MS", 5)
/** How long the dependency is dead (ms). */
const DEAD_MS = envInt("BENCH_FLEET_DEAD_MS", 2_000)
/** Healthy calls before it dies (ms). */
const WARM_MS = 500
/** Consecutive failures that open a circuit, and its (fixed) open period. */
const FAILURES = 3
const OPEN_MS = 300
/** Dead arrivals further apart than this start a new burst (a new half-open episode). */
const BURST_GAP_MS = OPEN_MS / 2
/** A run ends this long after every process let a call through again, or RUN_CAP_MS after the recovery. */
const SETTLE_MS = 300
const RUN_CAP_MS = 8_000

const log = (line: string) => process.stderr.write(line + "\n")
const uptime = () => {
  try {
    return execFileSync("uptime", { encoding: "utf8" }).trim()
  } catch {
    return `load average: ${os.loadavg().map((x) => x.toFixed(2)).join(", ")}`
  }
}

type Library = ProcessOptions["library"]
const LIBRARIES: ReadonlyArray<Library> = process.env.BENCH_ONLY === "effect"
  ? ["effect"]
  : process.env.BENCH_ONLY === "ours"
  ? ["ours"]
  : ["ours", "effect"]
const labels: Record<Library, string> = {
  ours: "this library (RedisCircuitStore, IORedisClient)",
  effect: "Effect 4 CircuitBreaker (layerStoreRedis, NodeRedis)"
}

const scriptCommands = luaCommands(
  readFileSync(new URL("../../lua/circuit.lua", import.meta.url), "utf8"),
  readFileSync(new URL("../../lua/manyCircuits.lua", import.meta.url), "utf8"),
  readFileSync(new URL("../node_modules/effect/src/persistence/CircuitBreaker.ts", import.meta.url), "utf8")
)

interface RunResult {
  /** Calls that reached the dead dependency. */
  readonly deadHits: number
  /** …before the first rejection anywhere in the fleet (the calls that opened the circuit). */
  readonly beforeOpen: number
  /** …after it: probes, and calls already admitted when the circuit opened. */
  readonly afterOpen: number
  /** Bursts of dead hits after the first rejection (half-open episodes), and hits in each. */
  readonly episodes: ReadonlyArray<number>
  /** From the recovery until the first / the last process had a call answered 200 (ms). */
  readonly firstRecovered: number
  readonly allRecovered: number
  /** From the answer to the first call answered 200 after the recovery (the closing probe) until every other process had one (ms). */
  readonly probeToAll: number
  /** Calls the processes made (all outcomes), and of them rejected. */
  readonly calls: number
  readonly rejected: number
  readonly other: number
  /** Commands sent to Redis per call (round trips), over the whole run. */
  readonly sentPerCall: number
  /** Redis µs (commandstats) per call, over the whole run. */
  readonly usecPerCall: number
}

const run = async (
  library: Library,
  server: Awaited<ReturnType<typeof startRedis>>,
  dependency: ProcessDependency,
  url: string,
  index: number
): Promise<RunResult> => {
  dependency.mode = "healthy"
  const before = await snapshot(server)
  const prefix = `fleet-${library}-${index}-${Date.now().toString(36)}${library === "effect" ? ":" : ""}`
  const children: Array<Child<ProcessEvent>> = await spawnChildren<ProcessEvent>({
    count: PROCESSES,
    cwd: editionRoot,
    execArgv: ["--import", "../bench/register.mjs"],
    script: "bench/fleetProcess.ts",
    options: (_, id): ProcessOptions => ({
      id,
      library,
      redisUrl: server.url,
      prefix,
      circuit: "dependency",
      dependencyUrl: url,
      intervalMs: INTERVAL_MS,
      failures: FAILURES,
      openMs: OPEN_MS
    })
  })
  let deadFrom = 0
  let healedAt = 0
  try {
    if (process.env.BENCH_FLEET_DEBUG === "1") {
      await sleep(200)
      const channels = (await server.cli("PUBSUB", "CHANNELS")).split("\n").filter((c) => c !== "")
      log(
        `${library}: channels ${channels.join(", ")}; subscribers ${
          channels.length === 0 ? "none" : (await server.cli("PUBSUB", "NUMSUB", ...channels)).replaceAll("\n", " ")
        }`
      )
    }
    await sleep(WARM_MS)
    deadFrom = Date.now()
    dependency.mode = "dead"
    await sleep(DEAD_MS)
    healedAt = Date.now()
    dependency.mode = "healthy"
    const okAfter = (worker: string) => dependency.arrivals.find((a) => a.ok && a.worker === worker && a.at >= healedAt)
    await waitFor(RUN_CAP_MS, () => children.every((c) => okAfter(c.id) !== undefined))
    await sleep(SETTLE_MS)
  } finally {
    await stopChildren(children)
  }
  const after = await snapshot(server)
  const mine = dependency.arrivals.filter((a) => a.at >= deadFrom - WARM_MS && children.some((c) => c.id === a.worker))
  const dead = mine.filter((a) => !a.ok).sort((a, b) => a.at - b.at)
  const rejections = children.flatMap((c) =>
    c.events.filter((e): e is Extract<ProcessEvent, { type: "outcome" }> =>
      e.type === "outcome" && e.outcome === "rejected" && e.at >= deadFrom
    ).map((e) => e.at)
  )
  const firstRejection = rejections.length === 0 ? Number.POSITIVE_INFINITY : Math.min(...rejections)
  const afterOpen = dead.filter((a) => a.at >= firstRejection)
  if (process.env.BENCH_FLEET_DEBUG === "1") {
    log(`${library}: dead ${deadFrom}, first rejection +${firstRejection - deadFrom}`)
    for (const a of dead) log(`  +${a.at - deadFrom} ${a.worker}`)
  }
  const episodes: Array<number> = []
  let lastAt = Number.NEGATIVE_INFINITY
  for (const a of afterOpen) {
    if (a.at - lastAt >= BURST_GAP_MS || episodes.length === 0) episodes.push(1)
    else episodes[episodes.length - 1]!++
    lastAt = a.at
  }
  const recovered = children.map((c) => {
    const ok = mine.find((a) => a.ok && a.worker === c.id && a.at >= healedAt)
    return ok === undefined ? Number.NaN : ok.end - healedAt
  })
  const probe = mine.find((a) => a.ok && a.at >= healedAt)
  const probeToAll = probe === undefined ? Number.NaN : Math.max(
    ...children.filter((c) => c.id !== probe.worker).map((c) =>
      (mine.find((a) => a.ok && a.worker === c.id && a.at >= probe.end)?.at ?? Number.NaN) - probe.end
    )
  )
  const summaries = children.flatMap((c) =>
    c.events.filter((e): e is Extract<ProcessEvent, { type: "summary" }> => e.type === "summary")
  )
  if (summaries.length !== children.length) throw new Error(`${library}: not every process sent its summary`)
  const total = (o: Outcome) => summaries.reduce((sum, s) => sum + s.calls[o], 0)
  const calls = total("ok") + total("failed") + total("rejected") + total("other")
  const t = traffic(before, after, scriptCommands)
  return {
    deadHits: dead.length,
    beforeOpen: dead.length - afterOpen.length,
    afterOpen: afterOpen.length,
    episodes,
    firstRecovered: Math.min(...recovered),
    allRecovered: recovered.some(Number.isNaN) ? Number.NaN : Math.max(...recovered),
    probeToAll,
    calls,
    rejected: total("rejected"),
    other: total("other"),
    sentPerCall: t.sent / calls,
    usecPerCall: t.usec / calls
  }
}

log(environment())
const loadBefore = uptime()
log(loadBefore)
const started = Date.now()
const server = await startRedis()
const dependency = new ProcessDependency()
const url = await dependency.listen()
const results: Record<Library, Array<RunResult>> = { ours: [], effect: [] }
try {
  for (let rep = 0; rep < REPS; rep++) {
    for (let k = 0; k < LIBRARIES.length; k++) {
      const library = LIBRARIES[(k + rep) % LIBRARIES.length]!
      log(`rep ${rep + 1}/${REPS}: ${labels[library]} (load ${os.loadavg()[0]!.toFixed(2)})`)
      results[library].push(await run(library, server, dependency, url, rep))
    }
  }
} finally {
  await dependency.close()
  await server.stop()
}

const libraries = LIBRARIES.filter((l) => results[l].length > 0)
const med = (l: Library, f: (r: RunResult) => number, digits = 0) => {
  const xs = results[l].map(f)
  return `${fmt(median(xs), digits)} (${fmt(Math.min(...xs), digits)}–${fmt(Math.max(...xs), digits)})`
}
const out: Array<string> = []
out.push(`## A fleet of ${PROCESSES} processes through an outage: this library vs Effect 4's CircuitBreaker`)
out.push("")
out.push(`${environment()}; whole run ${fmt((Date.now() - started) / 1000, 0)} s.  `)
out.push(`Before: \`${loadBefore}\`  `)
out.push(`After: \`${uptime()}\``)
out.push("")
out.push(
  `${PROCESSES} OS processes per run, each one breaker on one shared redis-server, call an HTTP dependency every ` +
    `${INTERVAL_MS} ms, one call at a time. Healthy for ${WARM_MS} ms, dead for ${
      fmt(DEAD_MS / 1000, 1)
    } s (503 after ` +
    `5 ms), then healthy. Both open after ${FAILURES} failures (this library: in its window; Effect 4: in a row), stay open a fixed ${OPEN_MS} ms, admit one ` +
    `probe, close on its success: this library \`failureThreshold: ${FAILURES}, recoveryTimeout: ${OPEN_MS}, ` +
    `maxRecoveryTimeout: ${OPEN_MS}, backoffMultiplier: 1, backoffJitter: 0, halfOpenMaxProbes: 1, successThreshold: 1\` ` +
    `(store defaults: state cache 1 s, notifications on); Effect 4 \`tripPolicy: consecutive(${FAILURES}), ` +
    `openDuration: ${OPEN_MS}\` (no cache: every call asks Redis). ${REPS} runs each, alternating; median (min–max).`
)
out.push("")
const rows: Array<[string, (l: Library) => string]> = [
  ["calls that reached the dead dependency", (l) => med(l, (r) => r.deadHits)],
  ["… before the first rejection (opening the circuit)", (l) => med(l, (r) => r.beforeOpen)],
  ["… after it (probes, and calls admitted before the open)", (l) => med(l, (r) => r.afterOpen)],
  ["half-open episodes while dead (bursts of those)", (l) => med(l, (r) => r.episodes.length)],
  ["calls per episode, median / max (all runs)", (l) => {
    const xs = results[l].flatMap((r) => r.episodes)
    return xs.length === 0 ? "none" : `${fmt(median(xs), 0)} / ${fmt(Math.max(...xs), 0)}`
  }],
  ["recovery → first process answered 200 (ms)", (l) => med(l, (r) => r.firstRecovered)],
  ["recovery → every process answered 200 (ms)", (l) => med(l, (r) => r.allRecovered)],
  ["closing probe answered → every other process answered 200 (ms)", (l) => med(l, (r) => r.probeToAll)],
  ["calls made by the fleet (whole run)", (l) => med(l, (r) => r.calls)],
  ["… of them rejected", (l) => med(l, (r) => r.rejected)],
  ["… other errors (store, timeouts)", (l) => med(l, (r) => r.other)],
  ["Redis commands sent per call (whole run)", (l) => med(l, (r) => r.sentPerCall, 3)],
  ["Redis µs per call (commandstats, whole run)", (l) => med(l, (r) => r.usecPerCall, 2)]
]
out.push(markdownTable(
  ["median (min–max) over runs", ...libraries.map((l) => labels[l])],
  rows.map(([label, f]) => [label, ...libraries.map(f)])
))
out.push("")
out.push("Per run (dead hits: before open / after open; episodes: calls each; all recovered ms):")
out.push("")
for (const l of libraries) {
  results[l].forEach((r, i) =>
    out.push(
      `- ${labels[l]} #${i + 1}: ${r.beforeOpen} / ${r.afterOpen}; episodes ${r.episodes.join(" ") || "—"}; ` +
        `${fmt(r.allRecovered, 0)} ms; ${r.calls} calls, ${r.rejected} rejected`
    )
  )
}
console.log(out.join("\n"))
