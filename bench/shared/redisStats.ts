/**
 * What a redis-server executed, read from `INFO commandstats` and `INFO cpu`
 * (Effect-free): snapshots, and the difference between two of them split into
 * commands clients sent (round trips) and commands Lua scripts ran inside
 * those.
 */

/** One `INFO` snapshot: per command, calls and µs spent; the server's CPU seconds. */
export interface RedisSnapshot {
  readonly commands: ReadonlyMap<string, { readonly calls: number; readonly usec: number }>
  /** `used_cpu_sys + used_cpu_user`, seconds. */
  readonly cpu: number
}

/** Anything that runs `redis-cli ... args` against the server (the test servers' `cli`). */
export interface RedisCli {
  cli(...args: ReadonlyArray<string>): Promise<string>
}

export const snapshot = async (server: RedisCli): Promise<RedisSnapshot> => {
  const commands = new Map<string, { calls: number; usec: number }>()
  let cpu = 0
  for (const line of (await server.cli("INFO", "all")).split(/\r?\n/)) {
    const m = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line)
    if (m !== null) commands.set(m[1]!, { calls: Number(m[2]), usec: Number(m[3]) })
    const c = /^used_cpu_(?:sys|user):([\d.]+)/.exec(line)
    if (c !== null) cpu += Number(c[1])
  }
  return { commands, cpu }
}

/** The commands a Lua source runs (`redis.call("X"`, `redis.pcall("X"`, or an alias of either). */
export const luaCommands = (...sources: ReadonlyArray<string>): ReadonlySet<string> =>
  new Set(sources.flatMap((lua) => [...lua.matchAll(/\bp?call\(\s*"([A-Za-z]+)"/g)].map((m) => m[1]!.toLowerCase())))

/** Commands never counted: the bench's own INFO, and connection set-up. */
const ignored: ReadonlySet<string> = new Set(["info", "hello", "client|setinfo", "client|setname", "select", "auth"])

/** What ran between two snapshots. */
export interface RedisTraffic {
  /** Commands clients sent (round trips). */
  readonly sent: number
  /** Commands run inside scripts (no round trip). */
  readonly inScript: number
  /** µs Redis spent in the sent commands (a script's µs include the commands it ran). */
  readonly usec: number
  /** CPU seconds of the server process (`INFO cpu`). */
  readonly cpu: number
  /** The sent commands by name, e.g. `evalsha 3`. */
  readonly detail: string
}

export const traffic = (
  before: RedisSnapshot,
  after: RedisSnapshot,
  inScript: ReadonlySet<string>
): RedisTraffic => {
  let sent = 0
  let scripted = 0
  let usec = 0
  const detail: Array<string> = []
  for (const [name, now] of after.commands) {
    const was = before.commands.get(name) ?? { calls: 0, usec: 0 }
    const n = now.calls - was.calls
    if (n === 0 || ignored.has(name)) continue
    if (inScript.has(name)) scripted += n
    else {
      sent += n
      usec += now.usec - was.usec
      detail.push(`${name} ${n}`)
    }
  }
  return { sent, inScript: scripted, usec, cpu: after.cpu - before.cpu, detail: detail.join(", ") }
}
