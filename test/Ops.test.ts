/**
 * The operations examples in examples/ops/: the Prometheus alert rules (checked and unit-tested
 * by `promtool`, the real Prometheus tool) and the Grafana dashboard. Every metric name and label
 * they use must be one the library really exports: the exported names are read from the
 * Prometheus output of `CircuitBreakerHttp.toWebHandler` after breakers have run on a Redis store
 * (through the Upstash bridge, so store errors can be provoked), not from a list in this file.
 *
 * Needs `promtool` on PATH (Debian: `apt-get install prometheus`; `.ci/run` installs it).
 */
import { beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { execFile } from "node:child_process"
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parse as parseYaml, stringify as stringifyYaml } from "yaml"
import { CircuitBreaker } from "../src/index.js"
import { CircuitBreakerHttp } from "../src/http.js"
import { type RedisServer, redisServerScoped } from "./support/redisServer.js"
import { freshPrefix, upstashBridgeScoped, upstashStore } from "./support/stores.js"
import { beforeAllScoped } from "./support/suite.js"
import type { UpstashBridge } from "./shared/upstashBridge.js"

const ops = join(import.meta.dirname, "..", "examples", "ops")
const rulesFile = join(ops, "alerts.yml")
const rulesTestFile = join(ops, "alerts.test.yml")
const dashboardFile = join(ops, "grafana-dashboard.json")

const run = (command: string, args: ReadonlyArray<string>, cwd?: string) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(command, [...args], { cwd, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1
      resolve({ code, stdout: String(stdout), stderr: String(stderr) })
    })
  })

// ---------------------------------------------------------------------------
// What the library exports: the real Prometheus output after exercising breakers
// ---------------------------------------------------------------------------

/** Exported series name → the labels its samples carry (plus what a scrape adds). */
type Exported = ReadonlyMap<string, ReadonlySet<string>>

/** Labels every scraped series gets from Prometheus itself. */
const scrapeLabels = ["instance", "job"]

/**
 * Every series name in an exposition (format 0.0.4), with the label names its samples carry.
 * Read from the sample lines themselves, so a histogram gives its `_bucket`, `_sum` and
 * `_count` series, as Prometheus stores them.
 */
const exportedFrom = (text: string): Exported => {
  const names = new Map<string, Set<string>>()
  for (const line of text.split("\n")) {
    if (line.startsWith("#") || line.trim() === "") continue
    const sample = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+\S+$/.exec(line)
    if (sample === null) throw new Error(`not a sample line: ${line}`)
    const labels = names.get(sample[1]!) ?? new Set(scrapeLabels)
    for (const label of (sample[2] ?? "").matchAll(/([A-Za-z_]\w*)="(?:[^"\\]|\\.)*"/g)) labels.add(label[1]!)
    names.set(sample[1]!, labels)
  }
  return names
}

let redis: RedisServer
let bridge: UpstashBridge
let exported: Exported
let prometheusText = ""
const token = "ops-test-token-5d1e"

beforeAllScoped(Effect.gen(function*() {
  redis = yield* redisServerScoped()
  bridge = yield* upstashBridgeScoped(redis, token)
}))

beforeAll(async () => {
  const prefix = freshPrefix()
  const store = () => Layer.orDie(upstashStore(bridge, token, { prefix }))
  // one "instance" runs breakers: successes, failures until OPEN, a rejection, and a store error
  await Effect.runPromise(
    Effect.gen(function*() {
      const payments = yield* CircuitBreaker.make("ops-payments", { failureThreshold: 2, recoveryTimeout: "1 minute" })
      yield* payments.protect(Effect.succeed("ok"))
      for (let i = 0; i < 2; i++) yield* Effect.either(payments.protect(Effect.fail("declined")))
      const rejected = yield* Effect.either(payments.protect(Effect.succeed("not run")))
      expect(rejected._tag === "Left" && rejected.left).toMatchObject({ _tag: "CircuitOpen" })

      const inventory = yield* CircuitBreaker.make("ops-inventory", { failureThreshold: 5 })
      yield* inventory.protect(Effect.succeed("ok"))
      bridge.injectFault({ type: "http", status: 500, body: "{\"error\":\"ERR down\"}" })
      yield* Effect.either(inventory.protect(Effect.fail("timeout"))) // its record cannot reach the store
      bridge.clearFault()
      expect((yield* inventory.metrics).storeErrors).toBeGreaterThan(0)
    }).pipe(Effect.provide(store()))
  )
  // another answers the scrape: the fleet's series come from the store
  const web = CircuitBreakerHttp.toWebHandler(store())
  try {
    const response = await web.handler(new Request("http://ops.local/metrics?format=prometheus"))
    expect(response.status).toBe(200)
    prometheusText = await response.text()
  } finally {
    await web.dispose()
  }
  exported = exportedFrom(prometheusText)
}, 60_000)

// ---------------------------------------------------------------------------
// PromQL: the metric names and labels an expression uses
// ---------------------------------------------------------------------------

const keywords = new Set([
  "and",
  "or",
  "unless",
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "bool",
  "offset",
  "inf",
  "nan"
])

/** Grafana's variables, replaced by values PromQL accepts. */
const substituteGrafana = (expr: string): string =>
  expr
    .replace(/\$__(rate_interval|interval|range)\b/g, "5m")
    .replace(/\$\{[^}]+\}|\$\w+/g, ".*")

interface Usage {
  readonly metrics: ReadonlySet<string>
  readonly labels: ReadonlySet<string>
}

/** Metric names and label names used by a PromQL expression (or a Grafana `label_values(…)`). */
const usage = (input: string): Usage => {
  const metrics = new Set<string>()
  const labels = new Set<string>()
  let expr = substituteGrafana(input)
  const labelValues = /^\s*label_values\(\s*(?:(.+),\s*)?([A-Za-z_]\w*)\s*\)\s*$/.exec(expr)
  if (labelValues !== null) {
    labels.add(labelValues[2]!)
    if (labelValues[1] === undefined) return { metrics, labels }
    expr = labelValues[1]
  }
  // label matchers: {name="v", other=~"…"}; the name before them is a metric
  expr = expr.replace(
    /([A-Za-z_:][\w:]*)?\s*\{((?:[^}"]|"(?:[^"\\]|\\.)*")*)\}/g,
    (_, metric: string | undefined, body: string) => {
      if (metric !== undefined && !keywords.has(metric)) metrics.add(metric)
      for (const matcher of body.matchAll(/([A-Za-z_]\w*)\s*(?:=~|!~|!=|=)/g)) labels.add(matcher[1]!)
      return " "
    }
  )
  // grouping: by (a, b), without (…), on (…), ignoring (…), group_left (…)
  expr = expr.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g, (_, _kw, body: string) => {
    for (const label of body.split(",").map((s) => s.trim()).filter((s) => s.length > 0)) labels.add(label)
    return " "
  })
  expr = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, " ") // strings
    .replace(/\[[^\]]*\]/g, " ") // ranges and subqueries
    .replace(/\boffset\s+\w+/g, " ")
  for (const match of expr.matchAll(/(?<![\w.:])([A-Za-z_:][\w:]*)(\s*\()?/g)) {
    const [, name, call] = match
    if (call !== undefined || keywords.has(name!.toLowerCase())) continue
    metrics.add(name!)
  }
  return { metrics, labels }
}

/** The problems of an expression against what is exported: unknown metrics, unknown labels. */
const problems = (expr: string, names: Exported): Array<string> => {
  const { labels, metrics } = usage(expr)
  const found: Array<string> = []
  const known = new Set<string>()
  for (const metric of metrics) {
    const metricLabels = names.get(metric)
    if (metricLabels === undefined) found.push(`metric ${metric} is not exported`)
    else for (const label of metricLabels) known.add(label)
  }
  for (const label of labels) {
    if (!known.has(label)) found.push(`label ${label} is on none of ${[...metrics].join(", ")}`)
  }
  if (metrics.size === 0) found.push(`no metric in ${JSON.stringify(expr)}`)
  return found
}

// ---------------------------------------------------------------------------
// The files
// ---------------------------------------------------------------------------

interface Rule {
  readonly alert?: string
  readonly record?: string
  readonly expr: string
  readonly labels?: Record<string, string>
  readonly annotations?: Record<string, string>
}

const loadRules = async (): Promise<Array<Rule>> => {
  const doc = parseYaml(await readFile(rulesFile, "utf8")) as { groups: Array<{ rules: Array<Rule> }> }
  return doc.groups.flatMap((group) => group.rules)
}

/** Every `expr` of the dashboard's targets, and the queries of its template variables. */
const dashboardQueries = (dashboard: any): Array<{ readonly where: string; readonly expr: string }> => {
  const queries: Array<{ where: string; expr: string }> = []
  const walk = (panels: ReadonlyArray<any>) => {
    for (const panel of panels) {
      for (const target of panel.targets ?? []) {
        if (typeof target.expr === "string")
          queries.push({ where: `panel "${panel.title}" ${target.refId}`, expr: target.expr })
      }
      walk(panel.panels ?? [])
    }
  }
  walk(dashboard.panels ?? [])
  for (const variable of dashboard.templating?.list ?? []) {
    if (variable.type !== "query") continue
    const query = typeof variable.query === "string" ? variable.query : variable.query?.query
    if (typeof query === "string") queries.push({ where: `variable $${variable.name}`, expr: query })
  }
  return queries
}

describe("the library's Prometheus output", () => {
  it("holds the fleet's series, this instance's counters and histogram, and store errors", () => {
    // the output the checks below are made against is not trivially small
    expect([...exported.keys()].filter((name) => name.startsWith("circuit_breaker_fleet_")).length)
      .toBeGreaterThanOrEqual(5)
    expect([...exported.keys()].some((name) => name.endsWith("_bucket"))).toBe(true)
    expect(prometheusText).toMatch(/^circuit_breaker_store_errors_total\{service="ops-inventory"\} [1-9]/m)
    expect(prometheusText).toMatch(/^circuit_breaker_fleet_state\{circuit="ops-payments",service="ops-payments"\} 2$/m)
  })

  it("the name check can fail: unknown metrics and labels are reported", () => {
    expect(problems("sum by (service) (rate(circuit_breaker_calls_total[5m]))", exported)).toEqual([])
    expect(problems("sum(rate(circuit_breaker_callz_total[5m])) / up", exported)).toEqual([
      "metric circuit_breaker_callz_total is not exported",
      "metric up is not exported"
    ])
    expect(problems("max by (tenant) (circuit_breaker_fleet_state{region=\"eu\"})", exported)).toEqual([
      "label region is on none of circuit_breaker_fleet_state",
      "label tenant is on none of circuit_breaker_fleet_state"
    ])
    // the histogram's base name is no series of its own
    expect(problems("circuit_breaker_call_duration_ms", exported)).toEqual([
      "metric circuit_breaker_call_duration_ms is not exported"
    ])
    expect(usage("label_values(circuit_breaker_fleet_state, service)")).toEqual({
      metrics: new Set(["circuit_breaker_fleet_state"]),
      labels: new Set(["service"])
    })
    expect(usage("histogram_quantile(0.99, sum by (le) (rate(x_bucket{service=~\"$service\"}[$__rate_interval])))"))
      .toEqual({ metrics: new Set(["x_bucket"]), labels: new Set(["le", "service"]) })
  })
})

describe("examples/ops/alerts.yml", () => {
  it("promtool check rules: valid rules", async () => {
    const result = await run("promtool", ["check", "rules", rulesFile])
    expect(result.stderr + result.stdout).toContain("SUCCESS")
    expect(result.code).toBe(0)
    const rules = await loadRules()
    expect(result.stdout).toContain(`SUCCESS: ${rules.length} rules found`)
  })

  it("promtool test rules: every alert fires on its unit-test series, and not on the near misses", async () => {
    const result = await run("promtool", ["test", "rules", rulesTestFile], ops)
    expect(result.stdout + result.stderr).toContain("SUCCESS")
    expect(result.code).toBe(0)
    // every alert has a test where it fires
    const tests = parseYaml(await readFile(rulesTestFile, "utf8")) as {
      tests: Array<{ alert_rule_test?: Array<{ alertname: string; exp_alerts: Array<unknown> }> }>
    }
    const firing = new Set(
      tests.tests.flatMap((t) =>
        (t.alert_rule_test ?? []).filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname)
      )
    )
    const alerts = (await loadRules()).flatMap((rule) => rule.alert === undefined ? [] : [rule.alert])
    expect(alerts.length).toBeGreaterThanOrEqual(6)
    expect(alerts.filter((alert) => !firing.has(alert))).toEqual([])
  })

  it("the unit tests can fail: a rule with a changed threshold fails them", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ops-rules-"))
    try {
      const rules = await readFile(rulesFile, "utf8")
      const mutated = rules.replace(
        "(circuit_breaker_fleet_open_count) >= 3",
        "(circuit_breaker_fleet_open_count) >= 4"
      )
      expect(mutated).not.toBe(rules)
      await writeFile(join(dir, "alerts.yml"), mutated)
      await writeFile(join(dir, "alerts.test.yml"), await readFile(rulesTestFile, "utf8"))
      const result = await run("promtool", ["test", "rules", "alerts.test.yml"], dir)
      expect(result.code).not.toBe(0)
      expect(result.stdout + result.stderr).toContain("alertname: CircuitBreakerReopening")
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it("uses only metric names and labels the library exports", async () => {
    const rules = await loadRules()
    const found = rules.flatMap((rule) =>
      problems(rule.expr, exported).map((p) => `${rule.alert ?? rule.record}: ${p}`)
    )
    expect(found).toEqual([])
    for (const rule of rules) {
      expect(rule.labels?.severity, `${rule.alert}: severity`).toMatch(/^(critical|warning|info)$/)
      expect(rule.annotations?.summary, `${rule.alert}: summary`).toBeTruthy()
    }
  })
})

describe("examples/ops/grafana-dashboard.json", () => {
  it("uses only metric names and labels the library exports", async () => {
    const dashboard = JSON.parse(await readFile(dashboardFile, "utf8"))
    const queries = dashboardQueries(dashboard)
    expect(queries.length).toBeGreaterThanOrEqual(15)
    const found = queries.flatMap(({ expr, where }) => problems(expr, exported).map((p) => `${where}: ${p}`))
    expect(found).toEqual([])
    // and it shows every series the library exports, apart from histogram parts it derives
    const used = new Set(queries.flatMap(({ expr }) => [...usage(expr).metrics]))
    expect([...exported.keys()].filter((name) => !used.has(name) && !/_(bucket|sum|count)$/.test(name))).toEqual([])
  })

  it("every query is valid PromQL (promtool), and every variable it uses is defined", async () => {
    const dashboard = JSON.parse(await readFile(dashboardFile, "utf8"))
    const queries = dashboardQueries(dashboard).filter(({ expr }) => !expr.startsWith("label_values("))
    const dir = await mkdtemp(join(tmpdir(), "ops-dashboard-"))
    try {
      const file = join(dir, "queries.yml")
      await writeFile(
        file,
        stringifyYaml({
          groups: [{
            name: "dashboard",
            rules: queries.map(({ expr }, i) => ({ record: `dashboard:query_${i}`, expr: substituteGrafana(expr) }))
          }]
        })
      )
      const result = await run("promtool", ["check", "rules", file])
      expect(result.stdout + result.stderr).toContain(`SUCCESS: ${queries.length} rules found`)
      expect(result.code).toBe(0)
      // the check can fail
      await writeFile(
        file,
        stringifyYaml({ groups: [{ name: "bad", rules: [{ record: "bad", expr: "sum by (service (x)" }] }] })
      )
      expect((await run("promtool", ["check", "rules", file])).code).not.toBe(0)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
    const defined = new Set((dashboard.templating?.list ?? []).map((v: any) => v.name))
    const variables = new Set(
      JSON.stringify(dashboard).match(/\$(?:\{(\w+)\}|(\w+))/g)?.map((v) => v.replace(/[${}]/g, "")) ?? []
    )
    expect([...variables].filter((v) => !v.startsWith("__") && !defined.has(v))).toEqual([])
    const ids = (dashboard.panels as Array<{ id: number }>).map((p) => p.id)
    expect(new Set(ids).size).toBe(ids.length)
  })
})
