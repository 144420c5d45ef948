/**
 * Cloudflare Workers, for real: a Worker project of a user on the
 * Upstash-only setup (the packed library, `effect` and `@upstash/redis`;
 * neither ioredis nor `@effect/platform`), bundled the way wrangler bundles
 * it and run in the real `workerd` binary (the npm package `workerd`)
 * without `nodejs_compat`.
 *
 * wrangler 4 needs Node >= 22.12 (and miniflare 4 Node >= 22), so the bundle
 * is made with esbuild and wrangler's own settings (`bundleWorker` in
 * wrangler's `deployment-bundle/bundle.ts`: ESM, target es2022, the browser
 * platform with its main fields, conditions `workerd`, `worker`, `browser`,
 * the `.js` loader `jsx`, `process.env.NODE_ENV` defined, minified as on
 * deploy), with a plugin that refuses a Node built-in the way wrangler does
 * without `nodejs_compat`; and `workerd serve` runs it from a `config.capnp`.
 *
 * Two workerd processes serve the same bundle against one Redis (through an
 * Upstash-compatible REST bridge): two Worker isolates of one fleet. The
 * circuit opened by the failures seen by the first is open for the second,
 * which never failed.
 */
import { builtinModules } from "node:module"
import { readFile } from "node:fs/promises"
import { join } from "node:path"
import { gzipSync } from "node:zlib"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  background,
  type Background,
  type Consumer,
  diskBytes,
  freePort,
  makeConsumer,
  mb,
  packageName,
  type Servers,
  startServers
} from "./support.js"

/** The versions the repository tests with (see package.json), pinned so that a run is reproducible. */
const versions = { effect: "3.22.4", upstash: "1.39.0", esbuild: "0.28.2", workerd: "1.20261117.1" }

const prefix = `wd${Math.random().toString(36).slice(2, 8)}`

/**
 * The bundle step: wrangler's esbuild settings, and its check that a
 * Worker without `nodejs_compat` imports no Node built-in. Prints the
 * metafile and the build's warnings.
 */
const buildScript = `
import { build } from "esbuild"
import { builtinModules } from "node:module"
import { writeFileSync } from "node:fs"

const builtins = new Set(builtinModules)
// what wrangler does without nodejs_compat: a Node built-in is a build error
const noNodeBuiltins = {
  name: "no-nodejs-compat",
  setup(build) {
    build.onResolve({ filter: /.*/ }, (args) => {
      const bare = args.path.replace(/^node:/, "").split("/")[0]
      if (args.path.startsWith("node:") || builtins.has(bare) && !args.path.startsWith(".")) {
        return { errors: [{ text: \`Node built-in "\${args.path}" imported by \${args.importer}: needs nodejs_compat\` }] }
      }
      return undefined
    })
  }
}
const [entry = "src/worker.js", outfile = "dist/worker.js"] = process.argv.slice(2)
const started = Date.now()
const result = await build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  format: "esm",
  target: "es2022",
  platform: "browser",
  mainFields: ["browser", "module", "main"],
  conditions: ["workerd", "worker", "browser"],
  loader: { ".js": "jsx", ".mjs": "jsx", ".cjs": "jsx" },
  define: { "process.env.NODE_ENV": '"production"' },
  external: ["__STATIC_CONTENT_MANIFEST", "cloudflare:*"],
  minify: true,
  metafile: true,
  logLevel: "silent",
  plugins: [noNodeBuiltins]
})
writeFileSync(outfile.replace(/\\.js$/, ".meta.json"), JSON.stringify(result.metafile))
console.log(JSON.stringify({ ms: Date.now() - started, warnings: result.warnings.map((w) => w.text) }))
`

/** workerd's configuration: no compatibility flags at all, so no `nodejs_compat`. */
const capnp = (bindings: { url: string; token: string }) => `
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    # the Worker's fetch() goes out through this one; the bridge is on 127.0.0.1
    (name = "internet", network = (allow = ["public", "private", "local"])),
  ],
  # the address is set per process with --socket-addr http=127.0.0.1:PORT
  sockets = [(name = "http", address = "127.0.0.1:0", http = (), service = "main")],
);

const worker :Workerd.Worker = (
  modules = [(name = "worker.js", esModule = embed "dist/worker.js")],
  compatibilityDate = "2025-01-01",
  bindings = [
    (name = "UPSTASH_URL", text = ${JSON.stringify(bindings.url)}),
    (name = "UPSTASH_TOKEN", text = ${JSON.stringify(bindings.token)}),
    (name = "PREFIX", text = ${JSON.stringify(prefix)}),
    (name = "INSTANCE", fromEnvironment = "WORKER_INSTANCE"),
  ],
  globalOutbound = "internet",
);
`

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`

const nodeBuiltins = new Set(builtinModules)
const isNodeBuiltin = (path: string) => path.startsWith("node:") || nodeBuiltins.has(path.split("/")[0]!)

interface Metafile {
  inputs: Record<string, { bytes: number; imports: Array<{ path: string; kind: string; external?: boolean }> }>
  outputs: Record<
    string,
    { bytes: number; imports: Array<{ path: string; kind: string }>; inputs: Record<string, { bytesInOutput: number }> }
  >
}

/** A workerd process serving the bundle on its own port. */
interface Instance {
  readonly name: string
  readonly url: string
  readonly process: Background
  startMs: number
}

const get = async (url: string): Promise<{ status: number; body: any }> => {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) })
  const text = await response.text()
  try {
    return { status: response.status, body: JSON.parse(text) }
  } catch {
    return { status: response.status, body: text }
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

describe("Cloudflare Workers (workerd, no nodejs_compat)", () => {
  let servers: Servers
  let consumer: Consumer
  let metafile: Metafile
  let bundle: Buffer
  const instances: Array<Instance> = []

  const startInstance = async (name: string, port: number): Promise<Instance> => {
    const started = Date.now()
    const proc = background(
      join(consumer.dir, "node_modules", ".bin", "workerd"),
      ["serve", "config.capnp", "--socket-addr", `http=127.0.0.1:${port}`],
      { cwd: consumer.dir, env: { WORKER_INSTANCE: name } }
    )
    const instance = { name, url: `http://127.0.0.1:${port}`, process: proc, startMs: 0 }
    instances.push(instance) // stopped in afterAll even if it never gets ready
    // ready when the Worker answers (workerd prints nothing when it listens)
    for (;;) {
      if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
        throw new Error(`workerd ${name} exited (${proc.child.exitCode ?? proc.child.signalCode}):\n${proc.output()}`)
      }
      if (Date.now() - started > 30_000) throw new Error(`workerd ${name} not ready after 30 s:\n${proc.output()}`)
      const health = await get(`${instance.url}/health`).catch(() => undefined)
      if (health?.status === 200) break
      await sleep(50)
    }
    instance.startMs = Date.now() - started
    return instance
  }

  beforeAll(async () => {
    servers = await startServers()
    consumer = await makeConsumer("workerd", {
      dependencies: { effect: versions.effect, "@upstash/redis": versions.upstash },
      // the tools: what wrangler would bring (esbuild) and the runtime it runs
      devDependencies: { esbuild: versions.esbuild, workerd: versions.workerd },
      files: {
        "src/worker.js": await readFile(new URL("./fixtures/workerd/worker.js", import.meta.url), "utf8"),
        "build.mjs": buildScript,
        "config.capnp": capnp({ url: servers.bridge.url, token: servers.token })
      }
    })
    // what the Worker itself depends on, without the build tools (hard links counted once:
    // workerd's postinstall links its ~160 MB binary into a second place)
    const parseable = (await consumer.run("npm", ["ls", "--omit=dev", "--all", "--parseable"])).stdout
    const dirs = parseable.trim().split("\n").filter((dir) => dir.includes("/node_modules/")).sort()
    const counted: Array<string> = []
    for (const dir of dirs) if (!counted.some((parent) => dir.startsWith(`${parent}/`))) counted.push(dir)
    const runtimeBytes = await diskBytes(counted)
    const total = await diskBytes([join(consumer.dir, "node_modules")])
    console.log(
      `[consumers] workerd: install footprint ${mb(total)} (the Worker's dependencies ${mb(runtimeBytes)}: ${
        counted.map((dir) => dir.slice(dir.lastIndexOf("node_modules/") + 13)).join(", ")
      }; the tools esbuild and workerd ${mb(total - runtimeBytes)})`
    )
    const { stdout } = await consumer.run("node", ["build.mjs"])
    const built = JSON.parse(stdout.trim().split("\n").pop()!)
    expect(built.warnings).toEqual([])
    metafile = JSON.parse(await readFile(join(consumer.dir, "dist", "worker.meta.json"), "utf8"))
    bundle = await readFile(join(consumer.dir, "dist", "worker.js"))
    console.log(
      `[consumers] workerd: bundle ${kb(bundle.length)} minified, ${
        kb(gzipSync(bundle).length)
      } gzipped (esbuild ${built.ms} ms)`
    )
  })

  afterAll(async () => {
    for (const instance of instances) await instance.process.stop()
    await servers?.stop()
  })

  it("the Upstash-only project installs neither ioredis nor @effect/platform", async () => {
    const { stdout } = await consumer.run("npm", ["ls", "--all", "--parseable"])
    expect(stdout).toContain(`node_modules/${packageName}`)
    expect(stdout).toContain("node_modules/@upstash/redis")
    expect(stdout).not.toMatch(/node_modules\/(ioredis|@effect\/platform)(\/|$)/m)
  })

  it("the bundle carries the library, effect and @upstash/redis, and no ioredis, @effect/platform or Node built-in", () => {
    const inputs = Object.keys(metafile.inputs)
    const output = Object.values(metafile.outputs).find((o) =>
      o.inputs !== undefined && Object.keys(o.inputs).length > 0
    )!
    const bundled = Object.keys(output.inputs)
    expect(bundled.some((path) => path.includes(`node_modules/${packageName}/dist/esm/`))).toBe(true)
    expect(bundled.some((path) => path.includes("node_modules/@upstash/redis/"))).toBe(true)
    expect(bundled.some((path) => path.includes("node_modules/effect/"))).toBe(true)
    expect(inputs.filter((path) => /node_modules\/(ioredis|@effect\/platform)\//.test(path))).toEqual([])
    const imports = Object.values(metafile.inputs).flatMap((input) => input.imports)
    expect(imports.filter((i) => /^(ioredis|@effect\/platform)(\/|$)/.test(i.path))).toEqual([])
    expect(imports.filter((i) => isNodeBuiltin(i.path))).toEqual([])
    // the bundle is one module: it imports nothing at all
    expect(output.imports).toEqual([])
    const text = bundle.toString("utf8")
    expect(text).not.toMatch(/\bfrom\s*["'](node:|ioredis|@effect\/platform)/)
    expect(text).not.toMatch(/\bimport\s*\(\s*["'](node:|ioredis|@effect\/platform)/)
    // the Workers limit is 3 MB gzipped on the free plan
    expect(gzipSync(bundle).length).toBeLessThan(3 * 1024 * 1024)
  })

  it("the checks can fail: the build refuses a Node built-in, and this workerd has no Node modules", async () => {
    await consumer.write(
      "probe/net.js",
      `import { connect } from "node:net"\nexport default { fetch: () => new Response(typeof connect) }\n`
    )
    const refused = await consumer.run("node", ["build.mjs", "probe/net.js", "dist/probe-net.js"], {
      allowFailure: true
    })
    expect(refused.code).not.toBe(0)
    expect(refused.stderr).toContain(`Node built-in "node:net" imported by`)
    // unbundled, as a Worker module: without nodejs_compat workerd has no node:* module
    await consumer.write(
      "probe/buffer.js",
      `import { Buffer } from "node:buffer"\nexport default { fetch: () => new Response(String(Buffer.from("a").length)) }\n`
    )
    await consumer.write(
      "probe.capnp",
      (await readFile(join(consumer.dir, "config.capnp"), "utf8")).replace(
        "embed \"dist/worker.js\"",
        "embed \"probe/buffer.js\""
      )
    )
    const port = await freePort()
    const started = await consumer.run(
      join(consumer.dir, "node_modules", ".bin", "workerd"),
      ["serve", "probe.capnp", "--socket-addr", `http=127.0.0.1:${port}`],
      { allowFailure: true, timeoutMs: 30_000, env: { WORKER_INSTANCE: "probe" } }
    )
    expect(started.code).not.toBe(0)
    expect(started.stdout + started.stderr).toContain("No such module \"node:buffer\"")
  })

  it("two workerd processes share the circuit through Redis: opened by one, open for the other", async () => {
    const config = await readFile(join(consumer.dir, "config.capnp"), "utf8")
    expect(config).not.toMatch(/compatibilityFlags|nodejs_compat/)
    const port1 = await freePort()
    let port2 = await freePort()
    while (port2 === port1) port2 = await freePort()
    const [one, two] = await Promise.all([startInstance("one", port1), startInstance("two", port2)])
    const requestsBefore = servers.bridge.requests

    // both isolates start on a closed circuit: the protected effect runs and succeeds
    const timed = async (url: string) => {
      const started = Date.now()
      const result = await get(url)
      return { ...result, ms: Date.now() - started }
    }
    const first1 = await timed(`${one.url}/call`)
    expect(first1, JSON.stringify(first1.body)).toMatchObject({
      status: 200,
      body: { instance: "one", status: "ok", state: "CLOSED", calls: 1 }
    })
    const first2 = await timed(`${two.url}/call`)
    const first2At = Date.now()
    expect(first2, JSON.stringify(first2.body)).toMatchObject({
      status: 200,
      body: { instance: "two", status: "ok", state: "CLOSED", calls: 1 }
    })

    // failures on instance one open the circuit (failureThreshold 2)
    const failures = [await timed(`${one.url}/call?fail=1`), await timed(`${one.url}/call?fail=1`)]
    expect(failures.map((f) => f.status)).toEqual([502, 502])
    expect(failures.map((f) => f.body.state)).toEqual(["CLOSED", "OPEN"])
    const rejected1 = await get(`${one.url}/call`)
    expect(rejected1).toMatchObject({ status: 503, body: { instance: "one", error: "CircuitOpen", calls: 3 } })

    // Redis holds the OPEN
    const keys = (await servers.redis.cli("KEYS", `${prefix}:*`)).split("\n").filter((key) => key.endsWith(":state"))
    expect(keys).toHaveLength(1)
    expect(await servers.redis.cli("HGET", keys[0]!, "state")).toBe("OPEN")

    // instance two trusts its cached CLOSED for stateCacheTtl (200 ms in the Worker); after it,
    // its next call reads the OPEN written by instance one and rejects without running the effect
    await sleep(Math.max(0, first2At + 300 - Date.now()))
    const rejected2 = await timed(`${two.url}/call`)
    expect(rejected2, JSON.stringify(rejected2.body)).toMatchObject({
      status: 503,
      body: { instance: "two", error: "CircuitOpen", state: "OPEN", calls: 1 }
    })
    expect(rejected2.body.retryAfterMs).toBeGreaterThan(0)
    expect(rejected2.body.retryAfterMs).toBeLessThanOrEqual(66_000)
    expect(await get(`${two.url}/state`)).toMatchObject({ status: 200, body: { instance: "two", state: "OPEN" } })

    // every store round trip went through the bridge, authenticated
    const requests = servers.bridge.requests - requestsBefore
    expect(requests).toBeGreaterThan(0)
    expect(servers.bridge.log.slice(-requests).every((r) => r.headers.authorization === `Bearer ${servers.token}`))
      .toBe(true)

    // nothing went wrong inside workerd
    for (const instance of instances) expect(instance.process.output(), instance.name).not.toMatch(/uncaught|error/i)
    console.log(
      `[consumers] workerd: started in ${one.startMs} / ${two.startMs} ms; first call ${first1.ms} / ${first2.ms} ms, ` +
        `failures ${failures.map((f) => f.ms).join(" / ")} ms, rejection on the other instance ${rejected2.ms} ms, ` +
        `${requests} bridge requests`
    )
  })
})
