/**
 * The V8 heap of this process, split into compiled code, the table of
 * Effect's scheduler, and everything else, from a heap snapshot
 * (`v8.getHeapSnapshot()`, which collects garbage first). `heapUsed` moves by
 * a few hundred KB either way as V8 compiles, optimizes and flushes code, and
 * as Effect's scheduler table grows and shrinks; the objects a program keeps
 * do not: comparing `objects` before and after tells what it retained.
 */
import { getHeapSnapshot } from "node:v8"

/** Bytes of the V8 heap, by kind. */
export interface HeapSplit {
  /** Bytecode, machine code and their metadata, and the lists of code depending on a shape. */
  readonly code: number
  /**
   * The hash table of the `WeakMap` from fiber to runner in Effect's default
   * scheduler (effect ≥ 3.20): sized by the fibers scheduled since V8 last
   * cleared it, whatever they ran; V8 shrinks it only when it next rehashes.
   */
  readonly scheduler: number
  /** Everything else on the V8 heap: JS objects, strings, arrays, closures, contexts, shapes. */
  readonly objects: number
}

interface RawSnapshot {
  readonly snapshot: {
    readonly meta: {
      readonly node_fields: ReadonlyArray<string>
      readonly node_types: readonly [ReadonlyArray<string>, ...Array<unknown>]
      readonly edge_fields: ReadonlyArray<string>
      readonly edge_types: readonly [ReadonlyArray<string>, ...Array<unknown>]
    }
  }
  readonly nodes: ReadonlyArray<number>
  readonly edges: ReadonlyArray<number>
  readonly strings: ReadonlyArray<string>
}

/** Splits a parsed `.heapsnapshot` into code and objects (native, off-heap entries are left out). */
export const splitSnapshot = (raw: RawSnapshot): HeapSplit => {
  const { edge_fields, edge_types, node_fields, node_types } = raw.snapshot.meta
  const nodeFields = node_fields.length
  const edgeFields = edge_fields.length
  const typeAt = node_fields.indexOf("type")
  const sizeAt = node_fields.indexOf("self_size")
  const edgeCountAt = node_fields.indexOf("edge_count")
  const edgeTypeAt = edge_fields.indexOf("type")
  const edgeNameAt = edge_fields.indexOf("name_or_index")
  // element and hidden edges have an index where the others name a string
  const internal = edge_types[0].indexOf("internal")
  const edgeToAt = edge_fields.indexOf("to_node")
  const types = node_types[0]
  const context = edge_types[0].indexOf("context")
  const nameOf = (edge: number) => raw.strings[raw.edges[edge + edgeNameAt]]
  const firstEdge = new Map<number, number>()
  // a shape's list of the optimized code that depends on it is code too, though V8 files it as "hidden"
  const dependentCode = new Set<number>()
  const runners: Array<number> = []
  for (let node = 0, edge = 0; node < raw.nodes.length; node += nodeFields) {
    firstEdge.set(node, edge)
    const end = edge + raw.nodes[node + edgeCountAt] * edgeFields
    for (; edge < end; edge += edgeFields) {
      const type = raw.edges[edge + edgeTypeAt]
      if (type === internal && nameOf(edge) === "dependent_code") dependentCode.add(raw.edges[edge + edgeToAt])
      // `const runners = new WeakMap()` in `SchedulerRunner.cached` (effect/Scheduler)
      if (type === context && nameOf(edge) === "runners") runners.push(raw.edges[edge + edgeToAt])
    }
  }
  const schedulerTables = new Set<number>()
  for (const weakMap of runners) {
    const from = firstEdge.get(weakMap)!
    for (let edge = from; edge < from + raw.nodes[weakMap + edgeCountAt] * edgeFields; edge += edgeFields) {
      if (raw.edges[edge + edgeTypeAt] === internal && nameOf(edge) === "table") {
        schedulerTables.add(raw.edges[edge + edgeToAt])
      }
    }
  }
  let code = 0
  let scheduler = 0
  let objects = 0
  for (let node = 0; node < raw.nodes.length; node += nodeFields) {
    const type = types[raw.nodes[node + typeAt]]
    const size = raw.nodes[node + sizeAt]
    if (type === "code" || dependentCode.has(node)) code += size
    else if (schedulerTables.has(node)) scheduler += size
    else if (type !== "native" && type !== "synthetic") objects += size
  }
  return { code, scheduler, objects }
}

/** Takes a heap snapshot of this process and splits it (a few seconds for a heap of tens of MB). */
export const heapSplit = async (): Promise<HeapSplit> => {
  const chunks: Array<string> = []
  const stream = getHeapSnapshot().setEncoding("utf8")
  for await (const chunk of stream) chunks.push(chunk as string)
  return splitSnapshot(JSON.parse(chunks.join("")) as RawSnapshot)
}

/**
 * Collects garbage (node `--expose-gc`), letting the event loop turn in
 * between, then splits the heap: what was made in the last job stays alive
 * until it ends (a `WeakRef`'s target does), and `FinalizationRegistry`
 * callbacks run as tasks of their own.
 */
export const settledHeapSplit = async (): Promise<HeapSplit> => {
  const gc = (globalThis as { gc?: () => void }).gc!
  for (let i = 0; i < 4; i++) {
    gc()
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  return heapSplit()
}
