/**
 * Test support: real `redis-server` processes on free ports.
 *
 * Each server gets its own temporary `--dir`, no persistence (`--save "" --appendonly no`) and is
 * bound to 127.0.0.1, so tests can kill, pause and restart it freely. Every child process is
 * registered in a process-wide table and killed when the test process exits, so none outlives
 * the run even when a test forgets to stop its server.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process"
import { writeFileSync } from "node:fs"
import { mkdir, mkdtemp, rm } from "node:fs/promises"
import * as net from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"

/** Options for {@link startRedis}. */
export interface RedisServerOptions {
  /** Sets `--requirepass`; the server's `url` and `cli` then carry it. */
  readonly password?: string
  /** Starts the node with `--cluster-enabled yes` and a cluster config file in its temp dir. */
  readonly cluster?: boolean
  /** Extra `redis-server` arguments, appended after the defaults (so they can override them). */
  readonly args?: ReadonlyArray<string>
  /** How long to wait for the server to answer PING. Default 10 s. */
  readonly startTimeoutMs?: number
  /**
   * Starts a Sentinel (`redis-server <conf> --sentinel`) watching this
   * master, instead of a data server.
   */
  readonly sentinel?: {
    readonly masterName: string
    readonly masterPort: number
    readonly quorum: number
    readonly downAfterMs: number
    readonly failoverTimeoutMs: number
  }
}

/** A running (or stopped, or paused) `redis-server` child process. */
export interface RedisServer {
  readonly host: "127.0.0.1"
  readonly port: number
  /** `redis://127.0.0.1:PORT`, or `redis://:PASSWORD@127.0.0.1:PORT` with a password. */
  readonly url: string
  readonly password: string | undefined
  /** The pid of the current process (changes on `restart`). */
  readonly pid: number
  /** The temporary `--dir` (removed by `stop`). */
  readonly dir: string
  /** The cluster bus port, for a cluster-enabled node. */
  readonly clusterPort: number | undefined
  /** True between a start and the observed exit of the process. */
  readonly running: boolean
  /** True between `pause()` and `resume()`. */
  readonly paused: boolean
  /** The last lines the server printed (for diagnostics). */
  readonly log: string
  /** SIGTERM, then SIGKILL after `graceMs` (default 2 s); waits for exit; removes the temp dir. */
  stop(graceMs?: number): Promise<void>
  /** SIGKILL and wait for the process to exit. Keeps the temp dir (for `restart`). */
  kill(): Promise<void>
  /** SIGSTOP: the server keeps its sockets open but answers nothing. */
  pause(): void
  /** SIGCONT. */
  resume(): void
  /** Starts a fresh, empty server on the same port with the same options (kills a live one first). */
  restart(): Promise<void>
  /** Runs `redis-cli -h 127.0.0.1 -p PORT [-a PASSWORD --no-auth-warning] ...args`; stdout, trimmed. */
  cli(...args: ReadonlyArray<string>): Promise<string>
}

/** A set of cluster-enabled servers joined into one cluster with all 16384 slots covered. */
export interface RedisCluster {
  readonly nodes: ReadonlyArray<RedisServer>
  /** `{ host, port }` of every node, in the shape ioredis's `Cluster` constructor takes. */
  readonly startupNodes: ReadonlyArray<{ readonly host: string; readonly port: number }>
  stop(): Promise<void>
}

const HOST = "127.0.0.1" as const
const LOG_LIMIT = 8_192

// ---------------------------------------------------------------------------
// Process-wide registry: kill leftovers on exit, once per process even though
// vitest re-evaluates this module for every test file.
// ---------------------------------------------------------------------------

interface Registry {
  readonly live: Set<ChildProcess>
}

const registryKey = Symbol.for("effect-circuit-breaker-redis/test/redisServer/registry")

const registry = (): Registry => {
  const holder = globalThis as unknown as Record<symbol, Registry | undefined>
  const existing = holder[registryKey]
  if (existing !== undefined) return existing
  const created: Registry = { live: new Set() }
  holder[registryKey] = created
  const killAll = () => {
    for (const child of created.live) {
      try {
        child.kill("SIGKILL")
      } catch {
        // already gone
      }
    }
    created.live.clear()
  }
  process.on("exit", killAll)
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      killAll()
      // Nobody else handles the signal: restore its default effect (terminate).
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal)
    })
  }
  return created
}

// ---------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Asks the OS for a free TCP port on 127.0.0.1 (bind port 0, read it, close). */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = net.createServer()
    server.unref()
    server.once("error", reject)
    server.listen(0, HOST, () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => (port > 0 ? resolve(port) : reject(new Error("no port assigned"))))
    })
  })

/** Sends `PING\r\n` on a raw socket; resolves with the first reply line, or undefined. */
const rawPing = (port: number, timeoutMs: number): Promise<string | undefined> =>
  new Promise((resolve) => {
    let settled = false
    let received = ""
    const socket = net.connect({ host: HOST, port })
    const finish = (value: string | undefined) => {
      if (settled) return
      settled = true
      socket.destroy()
      resolve(value)
    }
    socket.setTimeout(timeoutMs, () => finish(undefined))
    socket.once("error", () => finish(undefined))
    socket.once("connect", () => socket.write("PING\r\n"))
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString("utf8")
      const end = received.indexOf("\r\n")
      if (end >= 0) finish(received.slice(0, end))
    })
    socket.once("close", () => finish(undefined))
  })

/** `+PONG`, or `-NOAUTH` from a server with a password: either way it is serving. */
const isServing = (line: string | undefined) => line !== undefined && (line === "+PONG" || line.startsWith("-NOAUTH"))

const run = (file: string, args: ReadonlyArray<string>, timeoutMs = 15_000): Promise<string> =>
  new Promise((resolve, reject) => {
    execFile(file, [...args], { timeout: timeoutMs, encoding: "utf8" }, (error, stdout, stderr) => {
      if (error) {
        reject(new Error(`${file} ${args.join(" ")} failed: ${error.message}\n${stdout}\n${stderr}`.trim()))
      } else {
        resolve(stdout.trim())
      }
    })
  })

class AddressInUse extends Error {}

// ---------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------

class RedisServerImpl implements RedisServer {
  readonly host = HOST
  private child: ChildProcess | undefined
  private exited: Promise<void> = Promise.resolve()
  private output = ""
  private isPaused = false

  constructor(
    readonly port: number,
    readonly clusterPort: number | undefined,
    readonly dir: string,
    private readonly options: RedisServerOptions
  ) {}

  get password(): string | undefined {
    return this.options.password
  }

  get url(): string {
    const auth = this.options.password === undefined ? "" : `:${encodeURIComponent(this.options.password)}@`
    return `redis://${auth}${HOST}:${this.port}`
  }

  get pid(): number {
    return this.child?.pid ?? -1
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null
  }

  get paused(): boolean {
    return this.isPaused
  }

  get log(): string {
    return this.output
  }

  private serverArgs(): Array<string> {
    const sentinel = this.options.sentinel
    if (sentinel !== undefined) {
      const name = sentinel.masterName
      const conf = join(this.dir, "sentinel.conf")
      writeFileSync(
        conf,
        [
          `sentinel monitor ${name} ${HOST} ${sentinel.masterPort} ${sentinel.quorum}`,
          `sentinel down-after-milliseconds ${name} ${sentinel.downAfterMs}`,
          `sentinel failover-timeout ${name} ${sentinel.failoverTimeoutMs}`,
          `sentinel parallel-syncs ${name} 1`
        ].join("\n") + "\n"
      )
      return [
        conf,
        "--sentinel",
        "--port",
        String(this.port),
        "--bind",
        HOST,
        "--dir",
        this.dir,
        "--daemonize",
        "no",
        "--protected-mode",
        "no",
        "--logfile",
        ""
      ]
    }
    const args = [
      "--port",
      String(this.port),
      "--bind",
      HOST,
      "--save",
      "",
      "--appendonly",
      "no",
      "--dir",
      this.dir,
      "--daemonize",
      "no",
      "--protected-mode",
      "no",
      "--logfile",
      ""
    ]
    if (this.options.password !== undefined) args.push("--requirepass", this.options.password)
    if (this.options.cluster === true) {
      args.push(
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        join(this.dir, "nodes.conf"),
        "--cluster-port",
        String(this.clusterPort)
      )
    }
    for (const arg of this.options.args ?? []) args.push(arg)
    return args
  }

  /** Spawns the process and waits until it answers PING. */
  async launch(): Promise<void> {
    const child = spawn("redis-server", this.serverArgs(), { stdio: ["ignore", "pipe", "pipe"] })
    this.child = child
    this.isPaused = false
    this.output = ""
    const live = registry().live
    live.add(child)
    this.exited = new Promise((resolve) => {
      child.once("exit", () => {
        live.delete(child)
        resolve()
      })
    })
    const append = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString("utf8")).slice(-LOG_LIMIT)
    }
    child.stdout?.on("data", append)
    child.stderr?.on("data", append)
    let spawnError: Error | undefined
    child.once("error", (error) => {
      spawnError = error
      live.delete(child)
    })

    const deadline = Date.now() + (this.options.startTimeoutMs ?? 10_000)
    while (Date.now() < deadline) {
      if (spawnError !== undefined) throw new Error(`cannot start redis-server: ${spawnError.message}`)
      if (!this.running) {
        await this.exited
        if (/address already in use/i.test(this.output)) throw new AddressInUse(this.output)
        throw new Error(`redis-server on port ${this.port} exited during start-up:\n${this.output}`)
      }
      if (isServing(await rawPing(this.port, 500))) return
      await sleep(20)
    }
    child.kill("SIGKILL")
    await this.exited
    throw new Error(`redis-server on port ${this.port} did not answer PING in time:\n${this.output}`)
  }

  async stop(graceMs = 2_000): Promise<void> {
    const child = this.child
    if (child !== undefined && this.running) {
      child.kill("SIGTERM")
      if (this.isPaused) child.kill("SIGCONT")
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs)
      await this.exited
      clearTimeout(timer)
    }
    this.isPaused = false
    await rm(this.dir, { recursive: true, force: true })
  }

  async kill(): Promise<void> {
    const child = this.child
    if (child !== undefined && this.running) {
      child.kill("SIGKILL")
      await this.exited
    }
    this.isPaused = false
  }

  pause(): void {
    if (this.child === undefined || !this.running) throw new Error(`redis-server on port ${this.port} is not running`)
    this.child.kill("SIGSTOP")
    this.isPaused = true
  }

  resume(): void {
    if (this.child === undefined || !this.running) throw new Error(`redis-server on port ${this.port} is not running`)
    this.child.kill("SIGCONT")
    this.isPaused = false
  }

  async restart(): Promise<void> {
    await this.kill()
    // A fresh, empty server: drop whatever the old one left (e.g. a cluster's nodes.conf).
    await rm(this.dir, { recursive: true, force: true })
    await mkdir(this.dir, { recursive: true })
    // The port was ours a moment ago; if something grabbed it meanwhile, give it a moment.
    for (let attempt = 0;; attempt++) {
      try {
        return await this.launch()
      } catch (error) {
        if (!(error instanceof AddressInUse) || attempt >= 20) throw error
        await sleep(100)
      }
    }
  }

  cli(...args: ReadonlyArray<string>): Promise<string> {
    const auth = this.options.password === undefined ? [] : ["-a", this.options.password, "--no-auth-warning"]
    return run("redis-cli", ["-h", HOST, "-p", String(this.port), ...auth, ...args])
  }
}

/** A free port, plus a second one for the cluster bus (`--cluster-port`) of a cluster node. */
const pickPorts = async (cluster: boolean): Promise<{ port: number; clusterPort: number | undefined }> => {
  const port = await freePort()
  if (!cluster) return { port, clusterPort: undefined }
  let clusterPort = await freePort()
  while (clusterPort === port) clusterPort = await freePort()
  return { port, clusterPort }
}

/**
 * Starts a `redis-server` on a free port and waits until it answers PING. Retries with a new
 * port when the chosen one was taken between probing and binding.
 */
export const startRedis = async (options: RedisServerOptions = {}): Promise<RedisServer> => {
  const dir = await mkdtemp(join(tmpdir(), "redis-test-"))
  let lastError: unknown
  for (let attempt = 0; attempt < 5; attempt++) {
    const { clusterPort, port } = await pickPorts(options.cluster === true)
    const server = new RedisServerImpl(port, clusterPort, dir, options)
    try {
      await server.launch()
      return server
    } catch (error) {
      lastError = error
      if (!(error instanceof AddressInUse)) break
    }
  }
  await rm(dir, { recursive: true, force: true })
  throw lastError
}

/** Polls `CLUSTER INFO` on every node until all report `cluster_state:ok`. */
const waitForClusterOk = async (nodes: ReadonlyArray<RedisServer>, timeoutMs: number): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  let states: Array<string> = []
  while (Date.now() < deadline) {
    states = await Promise.all(
      nodes.map(async (node) => /cluster_state:(\w+)/.exec(await node.cli("CLUSTER", "INFO"))?.[1] ?? "?")
    )
    if (states.every((state) => state === "ok")) return
    await sleep(50)
  }
  throw new Error(`cluster did not reach cluster_state:ok in ${timeoutMs} ms (states: ${states.join(", ")})`)
}

/**
 * Starts `masters` (at least 3) cluster-enabled servers and `replicas` replicas of each, joins
 * them with `redis-cli --cluster create ... --cluster-replicas <replicas> --cluster-yes`, and
 * waits until every node reports `cluster_state:ok` and every replica has synced.
 */
export const startCluster = async (
  masters = 3,
  options: Omit<RedisServerOptions, "cluster"> & { readonly replicas?: number } = {}
): Promise<RedisCluster> => {
  if (masters < 3) throw new Error(`a Redis cluster needs at least 3 masters, got ${masters}`)
  const { replicas = 0, ...serverOptions } = options
  const started = await Promise.allSettled(
    Array.from({ length: masters * (1 + replicas) }, () => startRedis({ ...serverOptions, cluster: true }))
  )
  const nodes = started.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []))
  const stop = async () => {
    await Promise.all(nodes.map((node) => node.stop()))
  }
  try {
    const failed = started.find((result): result is PromiseRejectedResult => result.status === "rejected")
    if (failed !== undefined) throw failed.reason
    const first = nodes[0]!
    await first.cli(
      "--cluster",
      "create",
      ...nodes.map((node) => `${HOST}:${node.port}`),
      "--cluster-replicas",
      String(replicas),
      "--cluster-yes"
    )
    await waitForClusterOk(nodes, 20_000)
    const deadline = Date.now() + 20_000
    for (;;) {
      const roles = await Promise.all(nodes.map((node) => node.cli("INFO", "replication")))
      const replicaRoles = roles.filter((info) => /role:slave/.test(info))
      if (
        replicaRoles.length === masters * replicas && replicaRoles.every((info) => /master_link_status:up/.test(info))
      ) break
      if (Date.now() > deadline) throw new Error("the cluster's replicas did not sync in 20 s")
      await sleep(50)
    }
  } catch (error) {
    await stop()
    throw error
  }
  return {
    nodes,
    startupNodes: nodes.map((node) => ({ host: node.host, port: node.port })),
    stop
  }
}

/** A primary, its replicas and the Sentinels watching them. */
export interface SentinelGroup {
  readonly masterName: string
  readonly primary: RedisServer
  readonly replicas: ReadonlyArray<RedisServer>
  readonly sentinels: ReadonlyArray<RedisServer>
  /** `{ host, port }` of every Sentinel, in the shape ioredis takes. */
  readonly sentinelNodes: ReadonlyArray<{ readonly host: string; readonly port: number }>
  /** The port Sentinel currently names as the master's. */
  masterPort(): Promise<number>
  stop(): Promise<void>
}

/**
 * Starts a primary, `replicas` replicas of it and `sentinels` Sentinels
 * (quorum 2), and waits until every Sentinel knows the master and every
 * replica has synced.
 */
export const startSentinelGroup = async (
  options: { readonly replicas?: number; readonly sentinels?: number; readonly downAfterMs?: number } = {}
): Promise<SentinelGroup> => {
  const masterName = "cbmaster"
  const started: Array<RedisServer> = []
  const stop = async () => {
    await Promise.all(started.map((server) => server.stop()))
  }
  try {
    const primary = await startRedis()
    started.push(primary)
    const replicas: Array<RedisServer> = []
    for (let i = 0; i < (options.replicas ?? 1); i++) {
      const replica = await startRedis({ args: ["--replicaof", HOST, String(primary.port)] })
      started.push(replica)
      replicas.push(replica)
    }
    const sentinels: Array<RedisServer> = []
    for (let i = 0; i < (options.sentinels ?? 3); i++) {
      const sentinel = await startRedis({
        sentinel: {
          masterName,
          masterPort: primary.port,
          quorum: 2,
          downAfterMs: options.downAfterMs ?? 500,
          failoverTimeoutMs: 2_000
        }
      })
      started.push(sentinel)
      sentinels.push(sentinel)
    }
    const deadline = Date.now() + 20_000
    for (;;) {
      const synced = await Promise.all(
        replicas.map(async (replica) => /master_link_status:up/.test(await replica.cli("INFO", "replication")))
      )
      const known = await Promise.all(
        sentinels.map(async (sentinel) => {
          const info = await sentinel.cli("INFO", "sentinel")
          return new RegExp(`name=${masterName},status=ok,.*slaves=${replicas.length},sentinels=${sentinels.length}`)
            .test(info)
        })
      )
      if (synced.every(Boolean) && known.every(Boolean)) break
      if (Date.now() > deadline) throw new Error("the Sentinel group did not settle in 20 s")
      await sleep(100)
    }
    return {
      masterName,
      primary,
      replicas,
      sentinels,
      sentinelNodes: sentinels.map((sentinel) => ({ host: sentinel.host, port: sentinel.port })),
      masterPort: async () => {
        for (const sentinel of sentinels) {
          if (!sentinel.running) continue
          const reply = await sentinel.cli("SENTINEL", "get-master-addr-by-name", masterName)
          const port = Number(reply.split("\n")[1])
          if (Number.isInteger(port)) return port
        }
        throw new Error("no Sentinel names a master")
      },
      stop
    }
  } catch (error) {
    await stop()
    throw error
  }
}
