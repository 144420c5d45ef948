/**
 * Effect-free plumbing of the benches that run a fleet as OS processes
 * (`bench/fleet.bench.ts` part 3, `effect4/bench/fleet.bench.ts`): the HTTP
 * dependency whose health the bench switches, the child processes that speak
 * JSON lines (`test/shared/fleetChild.ts`), and polling.
 */
import { spawn } from "node:child_process"
import * as http from "node:http"
import type { AddressInfo } from "node:net"

/** One request the dependency received. */
export interface Arrival {
  /** The caller's `x-worker` header. */
  readonly worker: string
  /** `Date.now()` when the request arrived. */
  readonly at: number
  /** `Date.now()` when the answer was sent (0 until then). */
  end: number
  /** Whether it was answered 200 (healthy) or 503 (dead, after 5 ms). */
  readonly ok: boolean
}

/** The dependency: an HTTP server whose health the bench switches, recording every request. */
export class ProcessDependency {
  mode: "healthy" | "dead" = "healthy"
  readonly arrivals: Array<Arrival> = []
  readonly server = http.createServer((req, res) => {
    const arrival: Arrival = {
      worker: String(req.headers["x-worker"] ?? "?"),
      at: Date.now(),
      end: 0,
      ok: this.mode === "healthy"
    }
    this.arrivals.push(arrival)
    res.on("finish", () => (arrival.end = Date.now()))
    req.resume()
    if (arrival.ok) res.end("ok")
    else {
      setTimeout(() => {
        res.statusCode = 503
        res.end("dead")
      }, 5)
    }
  })
  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve))
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`
  }
  async close(): Promise<void> {
    this.server.closeAllConnections()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }
}

/** A child process speaking JSON lines: its events so far, a line to its stdin, its exit. */
export interface Child<Event> {
  readonly id: string
  readonly events: Array<Event>
  readonly send: (line: string) => void
  readonly exited: Promise<void>
}

/**
 * Spawns `count` children `node [...execArgv] script '<json options(i)>'` in
 * `cwd`, collects the JSON lines each prints, and waits until every one has
 * printed an event of type `ready`.
 */
export const spawnChildren = async <Event extends { readonly type: string }>(options: {
  readonly count: number
  readonly cwd: string
  readonly execArgv: ReadonlyArray<string>
  readonly script: string
  readonly options: (i: number, id: string) => unknown
  readonly readyTimeoutMs?: number
}): Promise<Array<Child<Event>>> => {
  const children = Array.from({ length: options.count }, (_, i): Child<Event> => {
    const id = `p${i}`
    const child = spawn(
      process.execPath,
      [...options.execArgv, options.script, JSON.stringify(options.options(i, id))],
      { cwd: options.cwd, stdio: ["pipe", "pipe", "inherit"] }
    )
    const events: Array<Event> = []
    let buffer = ""
    child.stdout!.setEncoding("utf8")
    child.stdout!.on("data", (chunk: string) => {
      buffer += chunk
      let newline = buffer.indexOf("\n")
      while (newline >= 0) {
        events.push(JSON.parse(buffer.slice(0, newline)) as Event)
        buffer = buffer.slice(newline + 1)
        newline = buffer.indexOf("\n")
      }
    })
    return {
      id,
      events,
      send: (line) => child.stdin!.write(line + "\n"),
      exited: new Promise<void>((resolve) => child.on("exit", () => resolve()))
    }
  })
  const ready = await waitFor(
    options.readyTimeoutMs ?? 30_000,
    () => children.every((c) => c.events.some((e) => e.type === "ready"))
  )
  if (!ready) {
    await stopChildren(children)
    throw new Error(`${options.script}: not every child got ready`)
  }
  return children
}

/** Sends `stop` to every child and waits for all of them to exit. */
export const stopChildren = async (children: ReadonlyArray<Child<unknown>>): Promise<void> => {
  for (const c of children) c.send("stop")
  await Promise.all(children.map((c) => c.exited))
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)))

/** Polls `check` every 2 ms until it holds or `timeoutMs` passed; whether it held. */
export const waitFor = async (timeoutMs: number, check: () => boolean): Promise<boolean> => {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) return false
    await sleep(2)
  }
  return true
}
