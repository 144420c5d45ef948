/**
 * Test support: an HTTP server speaking the Upstash Redis REST protocol in front of a real Redis,
 * so the real `@upstash/redis` client can be exercised end to end.
 *
 * Protocol (as `@upstash/redis` 1.39 uses it):
 * - `POST /` with `["CMD", ...args]` (args are JSON strings or numbers), `POST /pipeline` and
 *   `POST /multi-exec` with `[[...], [...]]`. Path-style commands (`/set/foo/bar`, a POST body
 *   appended as the last argument, query parameters after it) are accepted too.
 * - `Authorization: Bearer <token>` (or `?_token=`); a missing or wrong token is a 401
 *   `{"error":"Unauthorized"}`.
 * - Replies: `{"result": ...}` (200) or `{"error": "..."}` (400, with Redis's own error text);
 *   `/pipeline` and `/multi-exec` answer 200 with an array of `{result}` / `{error}` entries.
 *   When Redis cannot be reached the bridge answers 500 `{"error":"ERR bridge: ..."}`.
 * - With `Upstash-Encoding: base64` every string in a result is base64 (nested arrays too);
 *   integers and null are left alone, errors are never encoded. ioredis cannot tell a status
 *   reply from a bulk string, so both are encoded, except that a top-level `"OK"` is sent as is
 *   (the client special-cases exactly that value; it decodes `"T0s="` to `"OK"` as well).
 * - Every reply carries an `upstash-sync-token` header (the client echoes it back).
 * - Scripts whose shebang sets `allow-key-locking` (`#!lua flags=allow-key-locking`): Upstash runs
 *   them under locks on their KEYS only instead of its database-wide lock
 *   (https://upstash.com/docs/redis/features/key-locking); Redis itself refuses the flag
 *   ("Unexpected flag in script shebang"). The bridge drops the flag (keeping the shebang, so the
 *   script runs in the same shebang mode) before `EVAL`, `EVAL_RO` and `SCRIPT LOAD`, answers with
 *   the SHA-1 of the source the client sent, and maps that SHA-1 for `EVALSHA`/`EVALSHA_RO`;
 *   {@link UpstashBridge.keyLockingScripts} counts the script calls that asked for the flag.
 *
 * Fault injection: {@link UpstashBridge.injectFault} makes the bridge answer with a given status
 * and raw body, reset the connection or never answer; {@link UpstashBridge.delayMs} delays every
 * request before it reaches Redis.
 */
import { createHash } from "node:crypto"
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { Redis } from "ioredis"

/** Options for {@link startUpstashBridge}. */
export interface UpstashBridgeOptions {
  /** The Redis behind the bridge, e.g. `server.url` from `startRedis`. */
  readonly redisUrl: string
  /** The bearer token clients must present. */
  readonly token: string
  /** Initial value of {@link UpstashBridge.delayMs}. */
  readonly delayMs?: number
  /**
   * `false`: pass scripts on as they come, as a plain REST proxy in front of
   * Redis does (Redis then refuses a script flagged `allow-key-locking`).
   * Default `true`: behave as Upstash.
   */
  readonly keyLocking?: boolean
}

/** What the bridge does instead of (or after) serving a request. */
export type BridgeFault =
  /** Answer with this status, raw body and headers (e.g. 500 with HTML, 200 with malformed JSON). */
  | {
    readonly type: "http"
    readonly status: number
    readonly body: string
    readonly headers?: Readonly<Record<string, string>>
  }
  /** Destroy the TCP connection without answering (the client sees a network error). */
  | { readonly type: "reset" }
  /** Never answer; the request stays open until the client gives up or the bridge closes. */
  | { readonly type: "hang" }

/** How a fault applies. */
export interface FaultOptions {
  /** Only the next `times` requests get the fault; default: every request until `clearFault()`. */
  readonly times?: number
  /**
   * Run the commands against Redis first and then answer with the fault: the write happened but
   * the client cannot know. Default false (the commands never reach Redis).
   */
  readonly afterRedis?: boolean
}

/** One request the bridge received. */
export interface BridgeRequest {
  readonly method: string
  /** The URL path, e.g. `/`, `/pipeline`, `/multi-exec`. */
  readonly path: string
  /** The parsed JSON body, or the raw text when it is not JSON. */
  readonly body: unknown
  readonly headers: IncomingHttpHeaders
}

/** A running bridge. */
export interface UpstashBridge {
  /** `http://127.0.0.1:PORT`. */
  readonly url: string
  readonly token: string
  /** HTTP requests received so far (including rejected and faulted ones). */
  readonly requests: number
  /** The requests received so far, oldest first (the last 1000). */
  readonly log: ReadonlyArray<BridgeRequest>
  /**
   * Script calls (`EVAL`, `EVALSHA` and their `_RO` forms) run of a script flagged `allow-key-locking`
   * (an `EVALSHA` of a SHA-1 the bridge has not seen the source of is Redis's `NOSCRIPT`, not counted).
   */
  readonly keyLockingScripts: number
  /** Delay, in ms, before each request is served (0 = none). Settable at any time. */
  delayMs: number
  /** From now on, answer requests with `fault` (see {@link FaultOptions}). Replaces any earlier fault. */
  injectFault(fault: BridgeFault, options?: FaultOptions): void
  /** Back to normal service. */
  clearFault(): void
  /** Empties `log` and sets `requests` back to 0. */
  resetStats(): void
  /** Stops listening, drops open connections (also hanging ones) and closes the Redis connections. */
  close(): Promise<void>
}

type Json = string | number | boolean | null | ReadonlyArray<Json> | { readonly [key: string]: Json }

/** A reply from ioredis `callBuffer`: bulk and status strings are Buffers. */
type RedisReply = Buffer | string | number | null | Error | ReadonlyArray<RedisReply>

type Entry = { readonly result: Json } | { readonly error: string }

interface Reply {
  readonly status: number
  readonly body: Json
}

/** A client-side mistake that becomes a 400 without reaching Redis. */
class BadRequest extends Error {}

/** Redis could not be reached (connection lost, not yet reconnected): a 500 for the whole request. */
class RedisUnavailable extends Error {}

const LOG_LIMIT = 1_000

/** Commands that would change the state of the shared connection (or need their own). */
const FORBIDDEN = new Set([
  "MULTI",
  "EXEC",
  "DISCARD",
  "WATCH",
  "UNWATCH",
  "SUBSCRIBE",
  "PSUBSCRIBE",
  "SSUBSCRIBE",
  "UNSUBSCRIBE",
  "PUNSUBSCRIBE",
  "SUNSUBSCRIBE",
  "MONITOR",
  "QUIT",
  "RESET",
  "SELECT",
  "HELLO",
  "AUTH",
  "CLIENT",
  "SYNC",
  "PSYNC",
  "SHUTDOWN"
])

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

const OK = Buffer.from("OK")

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error))

/**
 * Like `Promise.allSettled` for one command: a Redis error reply (`ReplyError`) is a rejected
 * outcome; anything else (a lost connection) is thrown as {@link RedisUnavailable}.
 */
const settle = <A>(promise: Promise<A>): Promise<PromiseSettledResult<A>> =>
  promise.then(
    (value) => ({ status: "fulfilled", value }),
    (reason: unknown) => {
      if (reason instanceof Error && reason.name === "ReplyError") return { status: "rejected", reason }
      throw new RedisUnavailable(messageOf(reason))
    }
  )

/** Turns a Redis reply into its JSON form; strings become base64 when `base64` is set. */
const encodeValue = (reply: RedisReply, base64: boolean): Json => {
  if (reply === null || typeof reply === "number") return reply
  if (Buffer.isBuffer(reply)) return base64 ? reply.toString("base64") : reply.toString("utf8")
  if (typeof reply === "string") return base64 ? Buffer.from(reply, "utf8").toString("base64") : reply
  // An error nested deeper than an entry (a Lua table holding an `err` table): keep its text.
  if (reply instanceof Error) return encodeValue(reply.message, base64)
  return reply.map((element) => encodeValue(element, base64))
}

/** The `{result}` / `{error}` entry for one command's outcome. */
const toEntry = (outcome: PromiseSettledResult<unknown>, base64: boolean): Entry => {
  if (outcome.status === "rejected") return { error: messageOf(outcome.reason) }
  const reply = outcome.value as RedisReply
  // EXEC reports a failed command as an error inside its array.
  if (reply instanceof Error) return { error: reply.message }
  if (base64 && Buffer.isBuffer(reply) && reply.equals(OK)) return { result: "OK" }
  return { result: encodeValue(reply, base64) }
}

/**
 * Validates one command: a non-empty array of strings and numbers (booleans tolerated). The name
 * is upper-cased: Redis does not mind, and it keeps ioredis's by-name reply transformers (which
 * turn a lower-case `hgetall` reply into an object) out of the way.
 */
const toCommand = (value: unknown): Array<string> => {
  if (!Array.isArray(value) || value.length === 0) {
    throw new BadRequest("ERR failed to parse command: expected a non-empty JSON array")
  }
  const command = value.map((arg: unknown) => {
    if (typeof arg === "string") return arg
    if (typeof arg === "number" || typeof arg === "boolean") return String(arg)
    throw new BadRequest(`ERR failed to parse command: unsupported argument ${JSON.stringify(arg)}`)
  })
  command[0] = command[0]!.toUpperCase()
  return command
}

const toCommands = (value: unknown): Array<Array<string>> => {
  if (!Array.isArray(value) || value.length === 0) {
    throw new BadRequest("ERR failed to parse pipeline request: expected a non-empty JSON array of commands")
  }
  return value.map(toCommand)
}

const checkAllowed = (command: ReadonlyArray<string>) => {
  const name = command[0]!
  if (FORBIDDEN.has(name)) throw new BadRequest(`ERR Command is not allowed: ${name.toLowerCase()}`)
}

const KEY_LOCKING = /^#!lua([^\n]*?)\bflags=([^\s]*)/

const sha1 = (source: string) => createHash("sha1").update(source).digest("hex")

/**
 * The source Redis can run for a script that asks Upstash's `allow-key-locking` (the flag dropped,
 * the shebang kept), or undefined when the script does not ask for it.
 */
const withoutKeyLocking = (source: string): string | undefined => {
  const match = KEY_LOCKING.exec(source)
  if (match === null) return undefined
  const flags = match[2]!.split(",")
  if (!flags.includes("allow-key-locking")) return undefined
  const kept = flags.filter((flag) => flag !== "allow-key-locking")
  return source.replace(KEY_LOCKING, `#!lua${match[1]}${kept.length === 0 ? "" : `flags=${kept.join(",")}`}`)
    .replace(/^#!lua\s+\n/, "#!lua\n")
}

const readBody = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.once("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
    req.once("error", reject)
  })

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return text
  }
}

const tokenOf = (req: IncomingMessage, url: URL): string | undefined => {
  const header = req.headers.authorization
  if (header !== undefined) {
    const match = /^Bearer\s+(.+)$/i.exec(header.trim())
    return match?.[1]
  }
  return url.searchParams.get("_token") ?? undefined
}

const newConnection = (redisUrl: string): Redis => {
  const redis = new Redis(redisUrl, {
    lazyConnect: true,
    // Fail a command as soon as its connection is lost instead of replaying it later.
    maxRetriesPerRequest: 0,
    // Reconnect quickly once a restarted Redis is back.
    retryStrategy: (times) => Math.min(times * 20, 200)
  })
  redis.on("error", () => {
    // Connection errors surface as failed commands; nothing to log.
  })
  return redis
}

/** Starts the bridge on a free port of 127.0.0.1 and connects it to Redis. */
export const startUpstashBridge = async (options: UpstashBridgeOptions): Promise<UpstashBridge> => {
  const shared = newConnection(options.redisUrl)
  try {
    await shared.connect()
  } catch (error) {
    shared.disconnect()
    throw error
  }

  let requests = 0
  let syncToken = 0
  let closed = false
  const log: Array<BridgeRequest> = []
  let fault: { readonly fault: BridgeFault; remaining: number; readonly afterRedis: boolean } | undefined
  const transactions = new Set<Redis>()
  let keyLockingScripts = 0
  // SHA-1 of a script flagged allow-key-locking, as the client knows it -> SHA-1 of what Redis runs
  const flagged = new Map<string, string>()

  /** `command` as Redis can run it (see the header: `allow-key-locking`), and what to answer instead of Redis's reply. */
  const translate = (
    command: ReadonlyArray<string>
  ): { readonly command: ReadonlyArray<string>; readonly reply?: string } => {
    if (options.keyLocking === false) return { command }
    const [name, ...args] = command
    if (name === "EVAL" || name === "EVAL_RO" || (name === "SCRIPT" && args[0]?.toUpperCase() === "LOAD")) {
      const at = name === "SCRIPT" ? 1 : 0
      const source = args[at]
      const runnable = source === undefined ? undefined : withoutKeyLocking(source)
      if (runnable === undefined) return { command }
      const sha = sha1(source!)
      flagged.set(sha, sha1(runnable))
      if (name !== "SCRIPT") keyLockingScripts++
      const rewritten = [...command]
      rewritten[at + 1] = runnable
      return name === "SCRIPT" ? { command: rewritten, reply: sha } : { command: rewritten }
    }
    if (name === "EVALSHA" || name === "EVALSHA_RO") {
      const runnable = flagged.get(args[0]?.toLowerCase() ?? "")
      if (runnable === undefined) return { command }
      keyLockingScripts++
      return { command: [name, runnable, ...args.slice(1)] }
    }
    return { command }
  }

  /** One command through the shared connection, as an outcome. */
  const call = async (command: ReadonlyArray<string>): Promise<PromiseSettledResult<unknown>> => {
    const translated = translate(command)
    const [name, ...args] = translated.command
    const outcome = await settle(shared.callBuffer(name!, ...args))
    return outcome.status === "fulfilled" && translated.reply !== undefined
      ? { status: "fulfilled", value: Buffer.from(translated.reply) }
      : outcome
  }

  const runOne = async (command: ReadonlyArray<string>, base64: boolean): Promise<Reply> => {
    checkAllowed(command)
    const entry = toEntry(await call(command), base64)
    return { status: "error" in entry ? 400 : 200, body: entry }
  }

  const runPipeline = async (commands: ReadonlyArray<ReadonlyArray<string>>, base64: boolean): Promise<Reply> => {
    commands.forEach(checkAllowed)
    // Written back to back on one connection: executed in order, not atomically.
    const outcomes = await Promise.all(commands.map(call))
    return { status: 200, body: outcomes.map((outcome) => toEntry(outcome, base64)) }
  }

  const runTransaction = async (commands: ReadonlyArray<ReadonlyArray<string>>, base64: boolean): Promise<Reply> => {
    commands.forEach(checkAllowed)
    const connection = newConnection(options.redisUrl)
    transactions.add(connection)
    try {
      await connection.connect().catch((error: unknown) => {
        throw new RedisUnavailable(messageOf(error))
      })
      await settle(connection.callBuffer("MULTI"))
      // (a script in a transaction runs under Upstash's global lock whatever its flags; the flag is dropped all the same)
      const queued = await Promise.all(commands.map((command) => {
        const [name, ...args] = translate(command).command
        return settle(connection.callBuffer(name!, ...args))
      }))
      const exec = await settle(connection.callBuffer("EXEC"))
      if (exec.status === "rejected") {
        // EXECABORT: some command was rejected while queueing; report that one too.
        const rejected = queued.find((outcome) => outcome.status === "rejected")
        const detail = rejected === undefined ? "" : ` (${messageOf(rejected.reason)})`
        return { status: 400, body: { error: `${messageOf(exec.reason)}${detail}` } }
      }
      const results = exec.value as ReadonlyArray<RedisReply> | null
      if (results === null) return { status: 400, body: { error: "EXECABORT Transaction aborted" } }
      return {
        status: 200,
        body: results.map((reply) => toEntry({ status: "fulfilled", value: reply }, base64))
      }
    } finally {
      transactions.delete(connection)
      connection.disconnect()
    }
  }

  const execute = async (path: string, url: URL, rawBody: string, base64: boolean): Promise<Reply> => {
    const body = parseJson(rawBody)
    if (path === "/") return runOne(toCommand(body), base64)
    if (path === "/pipeline") return runPipeline(toCommands(body), base64)
    if (path === "/multi-exec") return runTransaction(toCommands(body), base64)
    // Path style: /cmd/arg1/arg2, a POST body as the last argument, query parameters after it.
    const command = path.split("/").slice(1).map((segment) => decodeURIComponent(segment))
    if (rawBody.length > 0) command.push(rawBody)
    for (const [key, value] of url.searchParams) {
      if (key !== "_token") command.push(key, value)
    }
    return runOne(toCommand(command), base64)
  }

  const send = (res: ServerResponse, status: number, body: string, headers: Readonly<Record<string, string>>) => {
    if (res.destroyed || res.writableEnded) return
    res.writeHead(status, { "upstash-sync-token": String(++syncToken), ...headers })
    res.end(body)
  }

  const sendJson = (res: ServerResponse, reply: Reply) =>
    send(res, reply.status, JSON.stringify(reply.body), { "content-type": "application/json" })

  /** Applies the current fault if it matches this stage; true when the request has been dealt with. */
  const applyFault = (res: ServerResponse, stage: "before" | "after"): boolean => {
    if (fault === undefined || fault.afterRedis !== (stage === "after")) return false
    const current = fault.fault
    if (--fault.remaining <= 0) fault = undefined
    switch (current.type) {
      case "http":
        send(res, current.status, current.body, current.headers ?? {})
        return true
      case "reset":
        res.socket?.destroy()
        return true
      case "hang":
        return true
    }
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    requests++
    let gone = false
    res.once("close", () => {
      gone = !res.writableFinished
    })
    const url = new URL(req.url ?? "/", "http://bridge")
    const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, "") : "/"
    const rawBody = await readBody(req)
    log.push({ method: req.method ?? "GET", path, body: parseJson(rawBody), headers: req.headers })
    if (log.length > LOG_LIMIT) log.shift()

    if (bridge.delayMs > 0) await sleep(bridge.delayMs)
    // The client gave up while we waited: the request never reaches Redis.
    if (closed || gone) return
    if (applyFault(res, "before")) return

    if (tokenOf(req, url) !== options.token) {
      return sendJson(res, { status: 401, body: { error: "Unauthorized" } })
    }
    const base64 = String(req.headers["upstash-encoding"] ?? "").toLowerCase() === "base64"
    let reply: Reply
    try {
      reply = await execute(path, url, rawBody, base64)
    } catch (error) {
      reply = error instanceof BadRequest
        ? { status: 400, body: { error: error.message } }
        : { status: 500, body: { error: `ERR bridge: ${messageOf(error)}` } }
    }
    if (applyFault(res, "after")) return
    sendJson(res, reply)
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      sendJson(res, { status: 500, body: { error: `ERR bridge: ${messageOf(error)}` } })
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => resolve())
  })
  const { port } = server.address() as AddressInfo

  const bridge: UpstashBridge = {
    url: `http://127.0.0.1:${port}`,
    token: options.token,
    get requests() {
      return requests
    },
    get log() {
      return log
    },
    get keyLockingScripts() {
      return keyLockingScripts
    },
    delayMs: options.delayMs ?? 0,
    injectFault(next, faultOptions = {}) {
      fault = { fault: next, remaining: faultOptions.times ?? Infinity, afterRedis: faultOptions.afterRedis ?? false }
    },
    clearFault() {
      fault = undefined
    },
    resetStats() {
      requests = 0
      keyLockingScripts = 0
      log.length = 0
    },
    async close() {
      if (closed) return
      closed = true
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeAllConnections()
      await stopped
      for (const connection of transactions) connection.disconnect()
      shared.disconnect()
    }
  }
  return bridge
}
