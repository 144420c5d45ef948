import { describe, expect, it } from "@effect/vitest"
import { Redis as Upstash } from "@upstash/redis"
import { Cluster, Redis } from "ioredis"
import { execFile } from "node:child_process"
import { createHash } from "node:crypto"
import { existsSync } from "node:fs"
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { beforeAll } from "vitest"
import { CircuitBreaker } from "../src/index.js"
import { type RedisServer, redisServerScoped, startCluster, startRedis } from "./support/redisServer.js"
import { tcpStore, upstashBridgeScoped, upstashStore } from "./support/stores.js"
import { beforeAllScoped } from "./support/suite.js"
import { startUpstashBridge, type UpstashBridge } from "./shared/upstashBridge.js"

/** An ioredis client that gives up quickly, so failures show up as errors rather than hangs. */
const connect = (url: string, options: { commandTimeout?: number } = {}) => {
  const client = new Redis(url, {
    maxRetriesPerRequest: 0,
    retryStrategy: () => 50,
    ...options
  })
  client.on("error", () => {})
  return client
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

const sha1 = (text: string) => createHash("sha1").update(text).digest("hex")

describe("redisServer", () => {
  it("starts a server on a free port that answers PING, and stop() removes it", async () => {
    const server = await startRedis()
    const client = connect(server.url)
    try {
      expect(server.url).toBe(`redis://127.0.0.1:${server.port}`)
      expect(server.pid).toBeGreaterThan(0)
      expect(await client.ping()).toBe("PONG")
      expect(await server.cli("PING")).toBe("PONG")
      expect(await server.cli("CONFIG", "GET", "save")).toBe("save")
      expect(await server.cli("CONFIG", "GET", "appendonly")).toBe("appendonly\nno")
      expect(await server.cli("CONFIG", "GET", "dir")).toBe(`dir\n${server.dir}`)
    } finally {
      client.disconnect()
      await server.stop()
    }
    expect(server.running).toBe(false)
    expect(isAlive(server.pid)).toBe(false)
    expect(existsSync(server.dir)).toBe(false)
  })

  it("two servers get different ports", async () => {
    const [a, b] = await Promise.all([startRedis(), startRedis()])
    try {
      expect(a.port).not.toBe(b.port)
      await a.cli("SET", "k", "a")
      expect(await b.cli("GET", "k")).toBe("")
    } finally {
      await Promise.all([a.stop(), b.stop()])
    }
  })

  it("pause() makes commands time out until resume()", async () => {
    const server = await startRedis()
    const client = connect(server.url, { commandTimeout: 200 })
    try {
      await client.set("k", "v")
      server.pause()
      expect(server.paused).toBe(true)
      await expect(client.get("k")).rejects.toThrow(/timed out/i)
      server.resume()
      expect(await client.get("k")).toBe("v")
    } finally {
      client.disconnect()
      await server.stop()
    }
  })

  it("stop() also ends a paused server", async () => {
    const server = await startRedis()
    server.pause()
    await server.stop(5_000)
    expect(isAlive(server.pid)).toBe(false)
  })

  it("kill() then restart() gives an empty server on the same port", async () => {
    const server = await startRedis()
    const client = connect(server.url, { commandTimeout: 500 })
    try {
      await client.set("k", "v")
      const { pid, port } = server
      await server.kill()
      expect(server.running).toBe(false)
      expect(isAlive(pid)).toBe(false)
      await expect(client.get("k")).rejects.toThrow()

      await server.restart()
      expect(server.port).toBe(port)
      expect(server.pid).not.toBe(pid)
      expect(await server.cli("GET", "k")).toBe("")
      // The old client reconnects to the new process and sees no data.
      await expect.poll(() => client.get("k").catch(() => "error"), { timeout: 5_000 }).toBe(null)
    } finally {
      client.disconnect()
      await server.stop()
    }
  })

  it("requirepass: the right password works, a wrong or missing one is rejected", async () => {
    const server = await startRedis({ password: "s3cr3t" })
    const good = connect(server.url)
    const wrong = connect(`redis://:nope@127.0.0.1:${server.port}`)
    const none = connect(`redis://127.0.0.1:${server.port}`)
    try {
      expect(server.url).toBe(`redis://:s3cr3t@127.0.0.1:${server.port}`)
      expect(await good.ping()).toBe("PONG")
      expect(await server.cli("PING")).toBe("PONG")
      await expect(wrong.ping()).rejects.toThrow(/WRONGPASS|invalid password/)
      await expect(none.ping()).rejects.toThrow(/NOAUTH/)
    } finally {
      good.disconnect()
      wrong.disconnect()
      none.disconnect()
      await server.stop()
    }
  })

  it("kills servers left running when the process exits (normally or on SIGTERM)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "redis-exit-hook-"))
    const script = join(dir, "leak.mts")
    const module = pathToFileURL(join(import.meta.dirname, "support", "redisServer.ts")).href
    await writeFile(
      script,
      [
        `import { startRedis } from ${JSON.stringify(module)}`,
        `const server = await startRedis()`,
        `console.log(server.pid)`,
        `if (process.argv[2] === "exit") process.exit(0)`,
        `setInterval(() => {}, 1000)`,
        `process.kill(process.pid, "SIGTERM")`
      ].join("\n")
    )
    const leak = (mode: string) =>
      new Promise<number>((resolve, reject) => {
        execFile(
          process.execPath,
          ["--import", "tsx", script, mode],
          { cwd: process.cwd(), timeout: 15_000 },
          (error, stdout) => {
            const pid = Number.parseInt(stdout.trim(), 10)
            if (Number.isNaN(pid)) reject(error ?? new Error(`no pid printed: ${stdout}`))
            else resolve(pid)
          }
        )
      })
    try {
      const [exited, terminated] = await Promise.all([leak("exit"), leak("sigterm")])
      await expect.poll(() => isAlive(exited), { timeout: 2_000 }).toBe(false)
      await expect.poll(() => isAlive(terminated), { timeout: 2_000 }).toBe(false)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe("upstashBridge", () => {
  const token = "test-token"
  let server: RedisServer
  let bridge: UpstashBridge
  /** The brief's client: auto-pipelining is on by default, so it speaks `/pipeline`. */
  let raw: Upstash
  /** The same without auto-pipelining: one `POST /` per command. */
  let direct: Upstash
  /** All defaults: JSON deserialization, auto-pipelining, 5 retries. */
  let auto: Upstash

  beforeAllScoped(Effect.gen(function*() {
    server = yield* redisServerScoped()
    bridge = yield* upstashBridgeScoped(server, token)
  }))

  beforeAll(() => {
    raw = new Upstash({ url: bridge.url, token, automaticDeserialization: false, retry: { retries: 0 } })
    direct = new Upstash({
      url: bridge.url,
      token,
      automaticDeserialization: false,
      enableAutoPipelining: false,
      retry: { retries: 0 }
    })
    auto = new Upstash({ url: bridge.url, token })
  })

  /** A request straight to the bridge, to look at the wire format. */
  const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`${bridge.url}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...headers },
      body: JSON.stringify(body)
    })
    return { status: response.status, body: (await response.json()) as unknown }
  }

  it("set/get through the client, with and without automatic deserialization", async () => {
    expect(await raw.set("plain", "value")).toBe("OK")
    expect(await raw.get("plain")).toBe("value")
    expect(await direct.set("plain2", "value2")).toBe("OK")
    expect(await direct.get("plain2")).toBe("value2")
    expect(await auto.set("json", { a: 1, b: ["x"] })).toBe("OK")
    expect(await auto.get("json")).toEqual({ a: 1, b: ["x"] })
    expect(await raw.get("json")).toBe("{\"a\":1,\"b\":[\"x\"]}")
    expect(await raw.get("missing")).toBe(null)
    expect(await raw.incr("counter")).toBe(1)
    expect(await auto.incrby("counter", 41)).toBe(42)
    expect(await raw.ping()).toBe("PONG")
    expect(await direct.ping()).toBe("PONG")
    expect(await server.cli("GET", "plain")).toBe("value")
  })

  it("speaks the wire format: base64 strings, plain integers and nulls, unencoded errors", async () => {
    await server.cli("SET", "wire", "héllo ✓")
    const b64 = { "upstash-encoding": "base64" }
    expect(await post("/", ["GET", "wire"], b64)).toEqual({
      status: 200,
      body: { result: Buffer.from("héllo ✓").toString("base64") }
    })
    expect(await post("/", ["GET", "wire"])).toEqual({ status: 200, body: { result: "héllo ✓" } })
    expect(await post("/", ["SET", "n", 5], b64)).toEqual({ status: 200, body: { result: "OK" } })
    expect(await post("/", ["INCRBY", "n", 2], b64)).toEqual({ status: 200, body: { result: 7 } })
    expect(await post("/", ["GET", "nothing"], b64)).toEqual({ status: 200, body: { result: null } })
    expect(await post("/", ["EVAL", "return {1, 'a', {false, 'b'}}", 0], b64)).toEqual({
      status: 200,
      body: { result: [1, "YQ==", [null, "Yg=="]] }
    })
    expect(await post("/", ["INCR", "wire"], b64)).toEqual({
      status: 400,
      body: { error: "ERR value is not an integer or out of range" }
    })
    expect(await post("/pipeline", [["INCR", "n"], ["INCR", "wire"], ["GET", "n"]], b64)).toEqual({
      status: 200,
      body: [{ result: 8 }, { error: "ERR value is not an integer or out of range" }, { result: "OA==" }]
    })
    expect(await post("/multi-exec", [["SET", "m", "x"], ["GET", "m"]], b64)).toEqual({
      status: 200,
      body: [{ result: "OK" }, { result: "eA==" }]
    })
    expect(await post("/", ["GET", "n"], { authorization: "Bearer wrong" })).toEqual({
      status: 401,
      body: { error: "Unauthorized" }
    })
    expect(await post("/", ["GET", "n"], { authorization: "" })).toEqual({
      status: 401,
      body: { error: "Unauthorized" }
    })
    expect((await post("/", ["SUBSCRIBE", "chan"])).status).toBe(400)
    expect((await post("/", { not: "a command" })).status).toBe(400)
  })

  it("accepts path-style commands", async () => {
    const response = await fetch(`${bridge.url}/set/path-key/path%20value`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}` }
    })
    expect(await response.json()).toEqual({ result: "OK" })
    const get = await fetch(`${bridge.url}/get/path-key?_token=${token}`)
    expect(await get.json()).toEqual({ result: "path value" })
  })

  it("a failing command (wrong type) is an error from the client", async () => {
    await raw.set("a-string", "x")
    await expect(raw.lpush("a-string", "y")).rejects.toThrow(
      /WRONGTYPE Operation against a key holding the wrong kind of value/
    )
    await expect(direct.lpush("a-string", "y")).rejects.toThrow(
      /WRONGTYPE Operation against a key holding the wrong kind of value/
    )
    await expect(auto.lpush("a-string", "y")).rejects.toThrow(/WRONGTYPE/)
    // The auto-pipelined neighbour of the failing command is unaffected.
    const [failed, ok] = await Promise.allSettled([auto.incr("a-string"), auto.set("other", "1")])
    expect(failed.status).toBe("rejected")
    expect(ok).toEqual({ status: "fulfilled", value: "OK" })
  })

  const script = `
    local n = redis.call("INCR", KEYS[1])
    return { n, "a", { 2, ARGV[1], {} }, KEYS[1] }
  `

  it("eval returns nested arrays of strings and integers", async () => {
    expect(await raw.eval(script, ["{tag}:x"], ["héllo ✓"])).toEqual([1, "a", [2, "héllo ✓", []], "{tag}:x"])
    expect(await direct.eval(script, ["{tag}:x"], ["héllo ✓"])).toEqual([2, "a", [2, "héllo ✓", []], "{tag}:x"])
    // Automatic deserialization JSON-parses each string it can ("42" becomes 42).
    expect(await auto.eval(script, ["{tag}:x"], ["42"])).toEqual([3, "a", [2, 42, []], "{tag}:x"])
  })

  it("scriptLoad then evalsha; an unknown sha gives NOSCRIPT", async () => {
    const sha = await raw.scriptLoad(script)
    expect(sha).toBe(sha1(script))
    expect(await raw.evalsha(sha, ["{tag}:y"], ["z"])).toEqual([1, "a", [2, "z", []], "{tag}:y"])
    expect(await direct.evalsha(sha, ["{tag}:y"], ["z"])).toEqual([2, "a", [2, "z", []], "{tag}:y"])
    expect(await auto.evalsha(sha, ["{tag}:y"], ["z"])).toEqual([3, "a", [2, "z", []], "{tag}:y"])
    expect(await direct.scriptExists(sha, sha1("nope"))).toEqual([1, 0])

    const unknown = sha1("return 'never loaded'")
    await expect(raw.evalsha(unknown, [], [])).rejects.toThrow("NOSCRIPT No matching script. Please use EVAL.")
    await expect(direct.evalsha(unknown, [], [])).rejects.toThrow("NOSCRIPT No matching script. Please use EVAL.")
    await expect(auto.evalsha(unknown, [], [])).rejects.toThrow("NOSCRIPT No matching script. Please use EVAL.")
    // The client's own EVALSHA-then-EVAL fallback works against the bridge.
    const fresh = raw.createScript("return ARGV[1] .. ':' .. #KEYS")
    expect(await fresh.exec(["k"], ["fallback"])).toBe("fallback:1")
  })

  it("pipeline() and multi() work, with errors as entries", async () => {
    expect(await raw.pipeline().set("p", "1").incr("p").get("p").exec()).toEqual(["OK", 2, "2"])
    expect(await auto.pipeline().set("p", 5).incr("p").get("p").exec()).toEqual(["OK", 6, 6])
    await expect(raw.pipeline().set("ps", "x").lpush("ps", "y").exec()).rejects.toThrow(
      /Command 2 \[ lpush \] failed: WRONGTYPE/
    )
    expect(await raw.pipeline().incr("p").lpush("ps", "y").exec({ keepErrors: true })).toEqual([
      { result: 7, error: undefined },
      { result: undefined, error: "WRONGTYPE Operation against a key holding the wrong kind of value" }
    ])

    expect(await raw.multi().set("m", "1").incr("m").get("m").exec()).toEqual(["OK", 2, "2"])
    expect(await raw.multi().incr("m").lpush("ps", "y").exec({ keepErrors: true })).toEqual([
      { result: 3, error: undefined },
      { result: undefined, error: "WRONGTYPE Operation against a key holding the wrong kind of value" }
    ])
    // A command rejected while queueing (wrong arity) aborts the whole transaction.
    const aborted = await post("/multi-exec", [["INCR", "m"], ["GET"]])
    expect(aborted.status).toBe(400)
    expect(aborted.body).toEqual({
      error: expect.stringMatching(
        /^EXECABORT Transaction discarded because of previous errors\..*wrong number of arguments/
      )
    })
    expect(await raw.get("m")).toBe("3")
  })

  it("a wrong token is a 401 Unauthorized error", async () => {
    const intruder = new Upstash({ url: bridge.url, token: "wrong", retry: { retries: 0 } })
    await expect(intruder.get("plain")).rejects.toThrow(/Unauthorized/)
    const direct = new Upstash({ url: bridge.url, token: "wrong", enableAutoPipelining: false, retry: false })
    await expect(direct.set("plain", "hacked")).rejects.toThrow(/Unauthorized/)
    expect(await raw.get("plain")).toBe("value")
  })

  it("base64 encoding round-trips non-ASCII and awkward strings", async () => {
    const values = ["héllo ✓", "{tag}:x", "日本語 🎉", "OK", "", "a\u0000b", "==", "PONG", "1234"]
    const plain = new Upstash({ url: bridge.url, token, responseEncoding: false, automaticDeserialization: false })
    for (const [index, value] of values.entries()) {
      const key = `round-trip:${index}`
      await raw.set(key, value)
      expect(await raw.get(key)).toBe(value)
      expect(await plain.get(key)).toBe(value)
      expect(await raw.mget(key, "missing")).toEqual([value, null])
      expect(await raw.eval("return {ARGV[1], {ARGV[1]}}", [], [value])).toEqual([value, [value]])
    }
    expect(await raw.hset("hash", { "{tag}:x": "héllo ✓" })).toBe(1)
    // Without automatic deserialization the client hands over the flat reply array.
    expect(await raw.hgetall("hash")).toEqual(["{tag}:x", "héllo ✓"])
    expect(await auto.hgetall("hash")).toEqual({ "{tag}:x": "héllo ✓" })
  })

  it("counts requests and logs them", async () => {
    bridge.resetStats()
    await direct.set("counted", "1")
    await direct.pipeline().get("counted").get("counted").exec()
    // Same-tick commands of an auto-pipelining client share one request.
    await Promise.all([raw.incr("counted"), raw.incr("counted"), raw.get("counted")])
    expect(bridge.requests).toBe(4)
    expect(bridge.log.map((request) => [request.path, request.body])).toEqual([
      ["/", ["set", "counted", "1"]],
      ["/pipeline", [["get", "counted"], ["get", "counted"]]],
      ["/pipeline", [["incr", "counted"], ["incr", "counted"]]],
      ["/pipeline", [["get", "counted"]]]
    ])
    expect(bridge.log[0]!.headers.authorization).toBe(`Bearer ${token}`)
    expect(bridge.log[0]!.headers["upstash-encoding"]).toBe("base64")
  })

  it("fault injection: raw HTTP replies, resets, ambiguous failures and delays", async () => {
    try {
      bridge.injectFault({ type: "http", status: 500, body: "<html>Bad Gateway</html>" }, { times: 1 })
      await expect(direct.get("plain")).rejects.toThrow(/Unable to parse response body: <html>Bad Gateway/)
      expect(await direct.get("plain")).toBe("value")

      bridge.injectFault({ type: "http", status: 200, body: "{\"result\":" }, { times: 1 })
      await expect(direct.get("plain")).rejects.toThrow(/Unable to parse response body/)

      bridge.injectFault({ type: "http", status: 200, body: "" }, { times: 1 })
      await expect(direct.get("plain")).rejects.toThrow(/Unable to parse response body/)

      bridge.injectFault({ type: "http", status: 503, body: "{\"error\":\"busy\"}" })
      await expect(direct.get("plain")).rejects.toThrow(/busy/)
      await expect(direct.get("plain")).rejects.toThrow(/busy/)
      bridge.clearFault()

      bridge.injectFault({ type: "reset" }, { times: 1 })
      await expect(direct.get("plain")).rejects.toThrow()

      // The write happens, but the client only sees a failure.
      bridge.injectFault({ type: "http", status: 502, body: "bad gateway" }, { times: 1, afterRedis: true })
      await expect(direct.set("ambiguous", "written")).rejects.toThrow()
      expect(await server.cli("GET", "ambiguous")).toBe("written")

      const impatient = new Upstash({
        url: bridge.url,
        token,
        enableAutoPipelining: false,
        retry: { retries: 0 },
        signal: () => AbortSignal.timeout(50)
      })
      // A hanging bridge: the client's own timeout is all that ends the request.
      bridge.injectFault({ type: "hang" }, { times: 1 })
      await expect(impatient.get("plain")).rejects.toThrow()

      // A delayed request the client gave up on never reaches Redis.
      bridge.delayMs = 300
      const started = Date.now()
      await expect(impatient.set("late", "x")).rejects.toThrow()
      expect(Date.now() - started).toBeLessThan(250)
      await new Promise((resolve) => setTimeout(resolve, 400))
      expect(await server.cli("EXISTS", "late")).toBe("0")
      expect(await direct.get("plain")).toBe("value")
    } finally {
      bridge.delayMs = 0
      bridge.clearFault()
    }
  })

  it("close() also ends hanging requests", async () => {
    const own = await startUpstashBridge({ redisUrl: server.url, token })
    own.injectFault({ type: "hang" })
    const pending = fetch(own.url, {
      method: "POST",
      headers: { authorization: `Bearer ${token}` },
      body: JSON.stringify(["GET", "plain"])
    })
    await expect.poll(() => own.requests).toBe(1)
    await own.close()
    await expect(pending).rejects.toThrow()
  })

  it("reports Redis being down as an error, and recovers when it is back", async () => {
    const own = await startRedis()
    const ownBridge = await startUpstashBridge({ redisUrl: own.url, token })
    const client = new Upstash({ url: ownBridge.url, token, retry: { retries: 0 }, enableAutoPipelining: false })
    try {
      expect(await client.set("k", "v")).toBe("OK")
      await own.kill()
      await expect(client.get("k")).rejects.toThrow(/ERR bridge: /)
      await expect(client.pipeline().get("k").get("k").exec()).rejects.toThrow(/ERR bridge: /)
      await expect(client.multi().get("k").exec()).rejects.toThrow(/ERR bridge: /)
      await own.restart()
      await expect.poll(() => client.get("k").catch(() => "error"), { timeout: 5_000 }).toBe(null)
    } finally {
      await ownBridge.close()
      await own.stop()
    }
  })
})

describe("scoped helpers", () => {
  it.live(
    "redisServerScoped, upstashBridgeScoped and tcpStore: a store that works, every process gone with the scope",
    () =>
      Effect.gen(function*() {
        const token = "scoped-token"
        const [server, bridge] = yield* Effect.scoped(Effect.gen(function*() {
          const server = yield* redisServerScoped()
          const bridge = yield* upstashBridgeScoped(server, token)
          for (
            const store of [tcpStore(server, { prefix: "scoped" }), upstashStore(bridge, token, { prefix: "scoped" })]
          ) {
            const breaker = yield* CircuitBreaker.make("svc").pipe(Effect.provide(Layer.orDie(store)))
            expect(yield* breaker.protect(Effect.succeed("ok"))).toBe("ok")
          }
          expect(yield* Effect.promise(() => server.cli("EXISTS", "scoped:circuits"))).toBe("1")
          return [server, bridge] as const
        }))
        expect(server.running).toBe(false)
        expect(existsSync(server.dir)).toBe(false)
        yield* Effect.promise(() => expect(fetch(bridge.url)).rejects.toThrow())
      }),
    30_000
  )
})

describe("startCluster", () => {
  it("starts a 3-master cluster that an ioredis Cluster client can use; stop() cleans up", async () => {
    const cluster = await startCluster(3)
    const client = new Cluster([...cluster.startupNodes], { redisOptions: { maxRetriesPerRequest: 1 } })
    client.on("error", () => {})
    try {
      expect(cluster.nodes).toHaveLength(3)
      for (const node of cluster.nodes) {
        expect(await node.cli("CLUSTER", "INFO")).toMatch(/cluster_state:ok/)
      }
      const keys = Array.from({ length: 30 }, (_, index) => `key:${index}`)
      await Promise.all(keys.map((key) => client.set(key, `value of ${key}`)))
      expect(await Promise.all(keys.map((key) => client.get(key)))).toEqual(keys.map((key) => `value of ${key}`))
      // The keys really are spread over the masters.
      const sizes = await Promise.all(cluster.nodes.map(async (node) => Number(await node.cli("DBSIZE"))))
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(keys.length)
      expect(sizes.filter((size) => size > 0).length).toBeGreaterThanOrEqual(2)
      // Hash tags keep keys together.
      const slots = await Promise.all(
        ["{tag}:a", "{tag}:b"].map((key) => cluster.nodes[0]!.cli("CLUSTER", "KEYSLOT", key))
      )
      expect(slots[0]).toBe(slots[1])
    } finally {
      client.disconnect()
      await cluster.stop()
    }
    for (const node of cluster.nodes) {
      expect(node.running).toBe(false)
      expect(isAlive(node.pid)).toBe(false)
      expect(existsSync(node.dir)).toBe(false)
    }
  })
})
