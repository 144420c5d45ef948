/**
 * Retained heap per breaker: 100,000 breakers of each library, kept
 * referenced, measured between two forced GCs.
 *
 *   node --expose-gc --import tsx bench/memory.bench.ts
 *   node --expose-gc --import ./bench/register.mjs bench/memory.bench.ts   # without esbuild keepNames
 *   BENCH_BREAKERS=50000 node --expose-gc --import tsx bench/memory.bench.ts
 *
 * See bench/README.md.
 */
import { circuitBreaker, ConsecutiveBreaker, handleAll } from "cockatiel"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { CircuitBreaker, CircuitConfig, CircuitStore } from "../src/index.js"
import { environment, envInt, fmt, keepNames, markdownTable, Opossum, type OpossumBreaker } from "./support.js"

const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) {
  console.error(
    "memory.bench needs a callable GC. Run it as:\n" +
      "  node --expose-gc --import tsx bench/memory.bench.ts\n" +
      "or, on sources compiled without esbuild keepNames:\n" +
      "  node --expose-gc --import ./bench/register.mjs bench/memory.bench.ts"
  )
  process.exit(2)
}
const forceGc: () => void = gc

const COUNT = envInt("BENCH_BREAKERS", 100_000)
const GOAL_BYTES = 1024

/**
 * Names made up front (and shared), so no subject is charged for its name
 * strings; internalized, so that V8 does not flatten them (a rope of two
 * parts becomes one string) on a subject's first use and charge it ~24 B each.
 */
const names: ReadonlyArray<string> = Array.from({ length: COUNT }, (_, i) => Object.keys({ [`service-${i}`]: 0 })[0]!)
/** One holder, allocated up front, so no subject is charged for the array that keeps its breakers alive. */
const holder: Array<unknown> = new Array<unknown>(COUNT).fill(null)

const settle = async (): Promise<number> => {
  for (let i = 0; i < 4; i++) {
    forceGc()
    await new Promise((resolve) => setImmediate(resolve))
  }
  return process.memoryUsage().heapUsed
}

interface Subject {
  readonly label: string
  /** Fills `holder` with COUNT breakers. */
  readonly create: () => void | Promise<void>
  /** Releases whatever else keeps them alive (timers), before the holder is cleared. */
  readonly dispose?: () => void
}

interface Measurement {
  readonly label: string
  readonly bytes: number
  readonly seconds: number
}

const measure = async (subject: Subject): Promise<Measurement> => {
  const before = await settle()
  const started = performance.now()
  await subject.create()
  const seconds = (performance.now() - started) / 1000
  const after = await settle()
  subject.dispose?.()
  holder.fill(null)
  await settle()
  return { label: subject.label, bytes: (after - before) / COUNT, seconds }
}

// ---------------------------------------------------------------------------
// subjects
// ---------------------------------------------------------------------------

/** The whole breaker, as a user makes it: `CircuitBreaker.make(name)` on one memory store. */
const ours = (): Subject => {
  let store: CircuitStore.CircuitStore["Type"] | undefined
  return {
    label: "this library: CircuitBreaker.make(name) (memory store, default config)",
    create: () => {
      // the store is made inside the measured region (it is one object, shared by all the breakers)
      store = Effect.runSync(CircuitStore.makeMemory)
      Effect.runSync(
        Effect.gen(function*() {
          for (let i = 0; i < COUNT; i++) holder[i] = yield* CircuitBreaker.make(names[i]!)
        }).pipe(Effect.provideService(CircuitStore.CircuitStore, store))
      )
    },
    dispose: () => {
      store = undefined
    }
  }
}

/** The same, after one success and one failure through each (the counts, the window, the latency histogram). */
const oursUsed = (): Subject => {
  let store: CircuitStore.CircuitStore["Type"] | undefined
  return {
    label: "this library, after one success and one failure each",
    create: () => {
      store = Effect.runSync(CircuitStore.makeMemory)
      Effect.runSync(
        Effect.gen(function*() {
          for (let i = 0; i < COUNT; i++) {
            const breaker = yield* CircuitBreaker.make(names[i]!)
            yield* breaker.protect(Effect.void)
            yield* Effect.either(breaker.protect(Effect.fail("down")))
            holder[i] = breaker
          }
        }).pipe(Effect.provideService(CircuitStore.CircuitStore, store))
      )
    },
    dispose: () => {
      store = undefined
    }
  }
}

const opossumUsed = (): Subject => {
  let fail = false
  const fn = async () => {
    if (fail) throw new Error("down")
    return 1
  }
  return {
    label: "opossum, after one success and one failure each",
    create: async () => {
      for (let i = 0; i < COUNT; i++) {
        const breaker = new Opossum(fn, { timeout: false })
        fail = false
        await breaker.fire()
        fail = true
        await breaker.fire().catch(() => undefined)
        holder[i] = breaker
      }
    },
    dispose: () => {
      for (let i = 0; i < COUNT; i++) (holder[i] as OpossumBreaker<number>).shutdown()
    }
  }
}

const cockatielUsed = (): Subject => ({
  label: "cockatiel, after one success and one failure each",
  create: async () => {
    for (let i = 0; i < COUNT; i++) {
      const breaker = circuitBreaker(handleAll, { halfOpenAfter: 10_000, breaker: new ConsecutiveBreaker(5) })
      await breaker.execute(async () => 1)
      await breaker.execute(async () => Promise.reject(new Error("down"))).catch(() => undefined)
      holder[i] = breaker
    }
  }
})

const opossum = (): Subject => {
  const fn = async () => 1
  return {
    label: "opossum: new CircuitBreaker(fn, { timeout: false }) (defaults otherwise)",
    create: () => {
      for (let i = 0; i < COUNT; i++) holder[i] = new Opossum(fn, { timeout: false })
    },
    // each one holds two unref'd intervals (bucket rotation, snapshots) that keep it alive
    dispose: () => {
      for (let i = 0; i < COUNT; i++) (holder[i] as OpossumBreaker<number>).shutdown()
    }
  }
}

const cockatiel = (): Subject => ({
  label: "cockatiel: circuitBreaker(handleAll, { halfOpenAfter, breaker: new ConsecutiveBreaker(5) })",
  create: () => {
    for (let i = 0; i < COUNT; i++) {
      holder[i] = circuitBreaker(handleAll, { halfOpenAfter: 10_000, breaker: new ConsecutiveBreaker(5) })
    }
  }
})

// Where ours goes, by public layer: each measured alone, the remainder is the breaker object itself.

const oursConfigOnly = (): Subject => ({
  label: "  of which: the decoded config, `CircuitConfig.decodeEither(name)`",
  create: () => {
    for (let i = 0; i < COUNT; i++) holder[i] = Either.getOrThrow(CircuitConfig.decodeEither(names[i]!))
  }
})

const oursCircuitOnly = (): Subject => {
  let store: CircuitStore.CircuitStore["Type"] | undefined
  return {
    label: "  of which: the store's circuit, `store.circuit(name, sharedConfig)`",
    create: () => {
      store = Effect.runSync(CircuitStore.makeMemory)
      const config = Either.getOrThrow(CircuitConfig.decodeEither("shared"))
      const s = store
      Effect.runSync(Effect.gen(function*() {
        for (let i = 0; i < COUNT; i++) holder[i] = yield* s.circuit(names[i]!, config)
      }))
    },
    dispose: () => {
      store = undefined
    }
  }
}

// ---------------------------------------------------------------------------
// run
// ---------------------------------------------------------------------------

const log = (line: string) => process.stderr.write(line + "\n")
log(environment())
log(`${COUNT.toLocaleString("en-US")} breakers per subject`)

// warm up every code path once (module-level caches, JIT, Schema memo), so it is not charged to the first subject
{
  const warm = Effect.runSync(CircuitStore.makeMemory)
  Effect.runSync(CircuitBreaker.make("warm-up").pipe(Effect.provideService(CircuitStore.CircuitStore, warm)))
  new Opossum(async () => 1, { timeout: false }).shutdown()
  circuitBreaker(handleAll, { halfOpenAfter: 10_000, breaker: new ConsecutiveBreaker(5) })
}

const results: Array<Measurement> = []
for (
  const subject of [
    ours(),
    oursConfigOnly(),
    oursCircuitOnly(),
    opossum(),
    cockatiel(),
    oursUsed(),
    opossumUsed(),
    cockatielUsed()
  ]
) {
  const m = await measure(subject)
  log(`${m.label}: ${fmt(m.bytes, 0)} B`)
  results.push(m)
}

const [whole, config, circuit, , , used] = results as [
  Measurement,
  Measurement,
  Measurement,
  Measurement,
  Measurement,
  Measurement,
  ...Array<Measurement>
]
const rows = results.map((m) => [m.label, fmt(m.bytes, 0), fmt((m.bytes * COUNT) / 1024 / 1024, 1), fmt(m.seconds, 2)])
rows.splice(3, 0, [
  "  of which: the breaker itself (remainder: CircuitBreakerImpl, counts, instanceId, protect closure)",
  fmt(whole.bytes - config.bytes - circuit.bytes, 0),
  fmt(((whole.bytes - config.bytes - circuit.bytes) * COUNT) / 1024 / 1024, 1),
  ""
])

const out: Array<string> = []
out.push("## memory: retained heap per breaker")
out.push("")
out.push(`${environment()}  `)
out.push(
  `transform: ${keepNames ? "esbuild with keepNames (tsx)" : "no keepNames (TypeScript transpile or another loader)"}  `
)
out.push(
  `${COUNT.toLocaleString("en-US")} breakers per subject, each with its own name, kept referenced; ` +
    "heapUsed after forced GCs, after minus before, divided by the count. Each subject is measured alone " +
    "(GC, measure, create, GC, measure, drop, GC). Names and the holding array are allocated beforehand and not charged."
)
out.push("")
out.push(markdownTable(["subject", "bytes / breaker", "MB total", "create s"], rows))
out.push("")
out.push(
  `this library: ${fmt(whole.bytes, 0)} B per breaker — ${
    whole.bytes <= GOAL_BYTES ? "meets" : "MISSES"
  } the ≤ ${GOAL_BYTES} B goal (opossum's authors quote about 3 KB for theirs); ${
    fmt(used.bytes, 0)
  } B after one success and one failure (breakers made with \`CircuitBreaker.make\` beyond the first 100 services count their metrics on the breaker).`
)
console.log(out.join("\n"))
