/**
 * Support for the consumer matrix: fresh projects, outside this repository
 * (so nothing resolves from its node_modules), that install the packed
 * tarball with a lock-free `npm install` and run real programs against real
 * servers.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdir, readdir, stat, writeFile } from "node:fs/promises"
import { dirname, join } from "node:path"
import { inject } from "vitest"
import { freePort, type RedisServer, startRedis } from "../support/redisServer.js"
import { startUpstashBridge, type UpstashBridge } from "../shared/upstashBridge.js"

export { freePort }

/** The library's package name, as consumers import it. */
export const packageName = "effect-circuit-breaker-redis"

/** The environment a consumer's commands run in: this run's npm and vitest variables removed. */
export const cleanEnv = (extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith("npm_") || key.startsWith("VITEST") || key === "NODE_OPTIONS" || key === "NODE_ENV") continue
    if (key === "REDIS_URL" || key.startsWith("UPSTASH_")) continue
    env[key] = value
  }
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key]
    else env[key] = value
  }
  return env
}

/** The outcome of one command. */
export interface RunResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
  readonly ms: number
}

/** Options of {@link run}. */
export interface RunOptions {
  readonly cwd: string
  readonly env?: Record<string, string | undefined>
  /** Killed (SIGKILL) after this long; default 5 min. */
  readonly timeoutMs?: number
  /** Resolve with a non-zero exit instead of rejecting. */
  readonly allowFailure?: boolean
}

/** Runs a command to completion; rejects with its output on a non-zero exit unless `allowFailure`. */
export const run = (command: string, args: ReadonlyArray<string>, options: RunOptions): Promise<RunResult> =>
  new Promise((resolve, reject) => {
    const started = Date.now()
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: cleanEnv(options.env),
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 300_000)
    child.on("error", (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.on("close", (code) => {
      clearTimeout(timer)
      const result = { code, stdout, stderr, ms: Date.now() - started }
      if (code === 0 || options.allowFailure === true) resolve(result)
      else {
        reject(
          new Error(
            `${command} ${args.join(" ")} exited with ${code} in ${options.cwd}\n--- stdout\n${
              stdout.slice(-4_000)
            }\n--- stderr\n${stderr.slice(-4_000)}`
          )
        )
      }
    })
  })

/** A long-running process of a consumer (a server): its output so far, and how to stop it. */
export interface Background {
  readonly child: ChildProcess
  output(): string
  /** Resolves with the first output line matching `pattern`, or rejects after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>
  stop(): Promise<void>
}

/** Starts a command in the background (killed with its process group on `stop`). */
export const background = (
  command: string,
  args: ReadonlyArray<string>,
  options: Omit<RunOptions, "timeoutMs" | "allowFailure">
): Background => {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: cleanEnv(options.env),
    stdio: ["ignore", "pipe", "pipe"],
    detached: true
  })
  let output = ""
  const waiters: Array<() => void> = []
  const onData = (chunk: Buffer) => {
    output += chunk.toString()
    for (const waiter of waiters.splice(0)) waiter()
  }
  child.stdout!.on("data", onData)
  child.stderr!.on("data", onData)
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()))
  const kill = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal)
    } catch {
      // already gone
    }
  }
  process.once("exit", () => kill("SIGKILL"))
  return {
    child,
    output: () => output,
    waitFor: (pattern, timeoutMs = 60_000) =>
      new Promise((resolve, reject) => {
        const deadline = setTimeout(() => {
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${pattern} in:\n${output.slice(-4_000)}`))
        }, timeoutMs)
        const check = () => {
          const match = pattern.exec(output)
          if (match !== null) {
            clearTimeout(deadline)
            resolve(match[0])
          } else if (child.exitCode !== null || child.signalCode !== null) {
            clearTimeout(deadline)
            reject(
              new Error(
                `${command} exited (${child.exitCode ?? child.signalCode}) before ${pattern}:\n${output.slice(-4_000)}`
              )
            )
          } else {
            waiters.push(check)
          }
        }
        child.once("exit", () => {
          for (const waiter of waiters.splice(0)) waiter()
        })
        check()
      }),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return
      kill("SIGTERM")
      const timer = setTimeout(() => kill("SIGKILL"), 5_000)
      await exited
      clearTimeout(timer)
    }
  }
}

/**
 * The size of the files under some folders in bytes, each file counted once
 * however many hard links it has (workerd's install links its binary into a
 * second place).
 */
export const diskBytes = async (dirs: ReadonlyArray<string>): Promise<number> => {
  const seen = new Set<string>()
  let total = 0
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) await walk(path)
      else if (entry.isFile()) {
        const info = await stat(path)
        const id = `${info.dev}:${info.ino}`
        if (seen.has(id)) continue
        seen.add(id)
        total += info.size
      }
    }
  }
  for (const dir of dirs) await walk(dir)
  return total
}

/** Megabytes with one decimal. */
export const mb = (bytes: number): string => `${(bytes / 1_048_576).toFixed(1)} MB`

/** A fresh project that installed a packed tarball. */
export interface Consumer {
  readonly dir: string
  /** Runs a command in the project folder. */
  run(command: string, args: ReadonlyArray<string>, options?: Omit<RunOptions, "cwd">): Promise<RunResult>
  /** Writes a file (folders made as needed). */
  write(path: string, content: string): Promise<void>
  /** Bytes under node_modules. */
  footprint(): Promise<number>
}

/** Options of {@link makeConsumer}. */
export interface ConsumerOptions {
  /** The library's tarball: the Effect 3 edition's (`inject("tarball")`) unless given. */
  readonly tarball?: string
  /** Dependencies besides the library (which is always installed from the tarball). */
  readonly dependencies?: Record<string, string>
  readonly devDependencies?: Record<string, string>
  /** `"module"` (default) or `"commonjs"`. */
  readonly type?: "module" | "commonjs"
  /** Files to write before installing, by path relative to the project. */
  readonly files?: Record<string, string>
  /** Extra package.json fields. */
  readonly packageJson?: Record<string, unknown>
}

/**
 * Makes a project in a fresh folder outside the repository and runs a
 * lock-free `npm install` there. Prints the install footprint.
 */
export const makeConsumer = async (name: string, options: ConsumerOptions = {}): Promise<Consumer> => {
  const dir = join(inject("workDir"), `${name}-${Math.random().toString(36).slice(2, 8)}`)
  await mkdir(dir, { recursive: true })
  const write = async (path: string, content: string) => {
    const target = join(dir, path)
    await mkdir(dirname(target), { recursive: true })
    await writeFile(target, content)
  }
  await write(
    "package.json",
    JSON.stringify(
      {
        name,
        private: true,
        type: options.type ?? "module",
        dependencies: { [packageName]: `file:${options.tarball ?? inject("tarball")}`, ...options.dependencies },
        ...(options.devDependencies !== undefined ? { devDependencies: options.devDependencies } : {}),
        ...options.packageJson
      },
      null,
      2
    )
  )
  for (const [path, content] of Object.entries(options.files ?? {})) await write(path, content)
  const install = await run(
    "npm",
    ["install", "--no-audit", "--no-fund", "--no-package-lock", "--prefer-offline", "--loglevel=error"],
    { cwd: dir, timeoutMs: 600_000 }
  )
  const consumer: Consumer = {
    dir,
    run: (command, args, runOptions) => run(command, args, { ...runOptions, cwd: dir }),
    write,
    footprint: () => diskBytes([join(dir, "node_modules")])
  }
  console.log(`[consumers] ${name}: npm install ${install.ms} ms, install footprint ${mb(await consumer.footprint())}`)
  return consumer
}

/**
 * A fresh, empty project outside the repository (a `package.json` such as
 * `npm init -y` writes, nothing installed): for commands run as a user types
 * them. No package.json at all with `bare`.
 */
export const makeProject = async (name: string, options: { readonly bare?: boolean } = {}): Promise<Consumer> => {
  const dir = join(inject("workDir"), `${name}-${Math.random().toString(36).slice(2, 8)}`)
  await mkdir(dir, { recursive: true })
  const write = async (path: string, content: string) => {
    const target = join(dir, path)
    await mkdir(dirname(target), { recursive: true })
    await writeFile(target, content)
  }
  if (options.bare !== true) {
    await write("package.json", JSON.stringify({ name, version: "1.0.0", private: true, type: "module" }, null, 2))
  }
  return {
    dir,
    run: (command, args, runOptions) => run(command, args, { ...runOptions, cwd: dir }),
    write,
    footprint: () => diskBytes([join(dir, "node_modules")])
  }
}

/**
 * What a pasted `npm`/`npx` line runs with: npm's cache preferred over the
 * registry (one cache for the whole run), no audit or funding requests, and
 * npx's "Ok to proceed?" answered yes (as a user at a terminal does). The
 * line itself is run as written.
 */
export const npmLineEnv = {
  npm_config_prefer_offline: "true",
  npm_config_audit: "false",
  npm_config_fund: "false",
  npm_config_yes: "true"
}

/** A redis-server on a free port and the Upstash REST bridge in front of it. */
export interface Servers {
  readonly redis: RedisServer
  readonly bridge: UpstashBridge
  /** The bridge's token (a fresh random one). */
  readonly token: string
  stop(): Promise<void>
}

/** Starts a redis-server of this run and an Upstash bridge in front of it. */
export const startServers = async (): Promise<Servers> => {
  const redis = await startRedis()
  const token = `tok-${Math.random().toString(36).slice(2)}`
  const bridge = await startUpstashBridge({ redisUrl: redis.url, token })
  return {
    redis,
    bridge,
    token,
    stop: async () => {
      await bridge.close()
      await redis.stop()
    }
  }
}
