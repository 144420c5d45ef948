/**
 * Test data (Effect-free), shared by both editions' HostileData suites: a
 * circuit's hashes as the script writes them, and every way the suites
 * spoil them (large whole numbers in every numeric word, garbage, junk
 * fields); the seeding and reading of keys over ioredis.
 */
import type { Redis } from "ioredis"
import { keysOf } from "../../shared/redis/keys.js"
import { circuitFields } from "../../shared/redis/scriptArgs.js"

/** Large whole numbers: past 2^24 (a slow loop), at the edge of what Lua writes as digits (1e14 - 1), near 2^53. */
export const HUGE = ["20000000", "99999999999999", "9007199254740990"] as const

/** The circuit config of the hostile cases, with backoff `multiplier` (an input of `CircuitConfig`). */
export const configFor = (multiplier: number) =>
  ({
    failureThreshold: 2,
    successThreshold: 1,
    recoveryTimeout: 1_000,
    maxRecoveryTimeout: 60_000,
    backoffMultiplier: multiplier,
    backoffJitter: 0,
    probeLease: 1_000,
    stateCacheTtl: 0,
    // a loaded test machine is not what is measured (SLOWLOG is): only a BUSY or an error fails a call
    storeTimeout: 5_000
  }) as const

/** The states a case seeds. */
export type Seeded = "CLOSED" | "OPEN" | "HALF_OPEN"

/** The script arguments of {@link configFor}`(multiplier)`, as the edition decodes them. */
export type ArgsFor = (multiplier: number) => ReadonlyArray<string>

/**
 * The hash fields of a circuit in `state` at `now`, as the script writes
 * them: OPEN with its open period over (the next call probes), HALF_OPEN
 * with one live lease, CLOSED with a window of one failure.
 */
export const fieldsOf = (args: ReadonlyArray<string>, state: Seeded, now: number): Record<string, string> => {
  const fields = circuitFields(args, {
    state,
    version: 3,
    openCount: state === "CLOSED" ? 0 : 2,
    openedAt: state === "CLOSED" ? 0 : now - 5_000,
    retryAt: state === "CLOSED" ? 0 : now - 1,
    changedAt: now - 5_000,
    writtenAt: now - 1_000,
    halfOpenSuccesses: 0
  })
  const bucket = Math.floor(now / 30_000)
  const words = fields.s!.split(" ")
  words.splice(8, 5, String(bucket), "1", "1", "0", "0")
  fields.s = words.join(" ")
  if (state === "HALF_OPEN") fields.probes = `other:x:1 ${now + 500}`
  return fields
}

/** One hostile case: a seeded state, under a backoff multiplier, spoilt. */
export interface Case {
  readonly label: string
  readonly state: Seeded
  readonly multiplier: number
  /** Changes the seeded fields (state hash) and metrics hash in place. */
  readonly spoil: (fields: Record<string, string>, metrics: Record<string, string>) => void
}

/** Every numeric word of every field of both hashes, replaced by each large number, in each state, under multipliers 1 and 2. */
export const hostileCases = (now: number, argsFor: ArgsFor): ReadonlyArray<Case> => {
  const cases: Array<Case> = []
  for (const state of ["OPEN", "HALF_OPEN", "CLOSED"] as const) {
    for (const multiplier of [1, 2]) {
      const seeded = fieldsOf(argsFor(multiplier), state, now)
      for (const field of Object.keys(seeded)) {
        const words = seeded[field]!.split(" ")
        words.forEach((word, i) => {
          if (!/^\d+$/.test(word)) return
          for (const huge of HUGE) {
            cases.push({
              label: `${state} ×${multiplier} ${field}[${i}] = ${huge}`,
              state,
              multiplier,
              spoil: (fields) => {
                const spoilt = fields[field]!.split(" ")
                spoilt[i] = huge
                fields[field] = spoilt.join(" ")
              }
            })
          }
        })
      }
      for (const huge of HUGE) {
        const bucket = Math.floor(now / 3_600_000)
        cases.push({
          label: `${state} ×${multiplier} metrics count = ${huge}`,
          state,
          multiplier,
          spoil: (_, metrics) => {
            metrics[`${bucket}:f`] = huge
            metrics.bucket = String(bucket)
          }
        })
        cases.push({
          label: `${state} ×${multiplier} metrics bucket = ${huge}`,
          state,
          multiplier,
          spoil: (_, metrics) => {
            metrics[`${huge}:s`] = "1"
            metrics.bucket = huge
          }
        })
      }
    }
  }
  return cases
}

/** The cases a monitoring read (a peek) must leave as they are, beyond {@link hostileCases}: garbage and junk. */
export const peekCases = (now: number): ReadonlyArray<Case> =>
  (["OPEN", "HALF_OPEN", "CLOSED"] as const).flatMap((state): Array<Case> => [
    { label: `${state} s garbage`, state, multiplier: 2, spoil: (f) => (f.s = "OPEN x y") },
    {
      label: `${state} retryAt far ahead`,
      state,
      multiplier: 2,
      spoil: (f) => (f.s = f.s!.replace(/^(\S+ \S+ \S+ \S+) \S+/, `$1 ${now + 86_400_000}`))
    },
    {
      label: `${state} changedAt far ahead`,
      state,
      multiplier: 2,
      spoil: (f) => (f.s = f.s!.replace(/^(\S+ \S+ \S+ \S+ \S+) \S+/, `$1 ${now + 86_400_000}`))
    },
    {
      label: `${state} config stateTtl 1`,
      state,
      multiplier: 2,
      spoil: (f) => (f.config = f.config!.replace(/^(\S+) \S+/, "$1 1"))
    },
    { label: `${state} config garbage`, state, multiplier: 2, spoil: (f) => (f.config = "x ".repeat(400)) },
    { label: `${state} probes garbage`, state, multiplier: 2, spoil: (f) => (f.probes = "a b c") },
    {
      label: `${state} metrics junk`,
      state,
      multiplier: 2,
      spoil: (_, m) => {
        for (let i = 0; i < 300; i++) m[`junk-${i}`] = "x"
      }
    }
  ])

/** Writes a case's hashes under `prefix` and `name` (no TTL: any a script sets shows). */
export const seedCase = async (
  redis: Redis,
  prefix: string,
  name: string,
  c: Case,
  now: number,
  argsFor: ArgsFor
): Promise<void> => {
  const [key, metricsKey] = keysOf(prefix, name)
  const fields = fieldsOf(argsFor(c.multiplier), c.state, now)
  const metrics: Record<string, string> = {}
  c.spoil(fields, metrics)
  await redis.del(key, metricsKey)
  await redis.hset(key, fields)
  if (Object.keys(metrics).length > 0) await redis.hset(metricsKey, metrics)
}

/**
 * What a key holds: its type, `PTTL`, and its `DUMP` (a hash's fields sorted
 * instead: a read may move a large hash's incremental rehashing on, which
 * reorders its `DUMP` without changing a field).
 */
export const contents = async (redis: Redis, key: string) => {
  const type = await redis.type(key)
  const pttl = await redis.pttl(key)
  if (type === "hash") return { type, pttl, fields: Object.entries(await redis.hgetall(key)).sort() }
  return { type, pttl, dump: (await redis.dumpBuffer(key))?.toString("hex") ?? null }
}

/** Redis's clock, in epoch milliseconds (`TIME` through `cli`). */
export const redisTime = async (server: { cli: (...args: ReadonlyArray<string>) => Promise<string> }) => {
  const [seconds, micros] = (await server.cli("TIME")).split("\n").map(Number)
  return Math.floor(seconds! * 1000 + micros! / 1000)
}
