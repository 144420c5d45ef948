/**
 * The dashboard's script, served as `dashboard/app.js` beside the page
 * (page.html). scripts/embed-dashboard.ts compiles it to one classic script
 * (wrapped in a function, no module syntax), because it finds the routes
 * relative to its own URL through `document.currentScript`.
 *
 * It polls `circuits` (one read per section of the table, paged on the
 * server) and `alerts`, asks `dashboard/permissions` whether to show the admin
 * buttons, and sends their `POST`s. Every value from the server reaches the
 * page as a text node or an attribute, never as HTML.
 */

"use strict"

/** A circuit as `GET circuits` sends it (only the fields shown). */
interface Circuit {
  readonly name: unknown
  readonly service: unknown
  readonly state: unknown
  readonly status: unknown
  readonly storeUnavailable: unknown
  readonly windowFailures: number
  readonly windowCalls: number
  readonly openCount: number
  readonly retryAt: unknown
  readonly lastTransitionAt: unknown
  readonly fleet: { readonly calls: number; readonly failureRate: number | null }
}

/** The reply of `GET circuits`: one page of a section. */
interface CircuitsRead {
  readonly circuits: ReadonlyArray<Circuit>
  readonly total: number
  readonly nextCursor: string | null
  readonly complete?: boolean
  readonly unreadable: number
  readonly reason?: string
}

/** An alert as `GET alerts` sends it. */
interface Alert {
  readonly severity: unknown
  readonly kind: unknown
  readonly service: unknown
  readonly message: unknown
  readonly since: unknown
}

/** A reply of the server: its status and its body as JSON (`null` when there is none or it is not JSON). */
interface Reply {
  readonly status: number
  readonly ok: boolean
  readonly body: unknown
}

/** An admin action: a button on each row and the `POST circuits/<name>/<verb>` it sends. */
interface Action {
  readonly verb: string
  readonly label: string
  readonly danger?: boolean
  readonly question: (name: string) => string
}

/** One table of circuits (e.g. "Not closed"), read and paged on the server. */
interface Section {
  readonly key: string
  readonly title: string
  readonly states: ReadonlyArray<string>
  /** The cursors of the pages before this one, to go back. */
  cursors: Array<string | null>
  cursor: string | null
  page: number
  read: CircuitsRead | null
  readonly node: HTMLElement
  readonly count: HTMLSpanElement
  readonly body: HTMLTableSectionElement
  readonly prev: HTMLButtonElement
  readonly next: HTMLButtonElement
  readonly info: HTMLSpanElement
  readonly pager: HTMLDivElement
  readonly actionsHead: HTMLTableCellElement
}

/** A point of a circuit's failures over time: when it was read and the failures in its window. */
interface Point {
  readonly t: number
  v: number
}

type Settled<A> = { readonly ok: true; readonly value: A } | { readonly ok: false; readonly error: unknown }

const TOKEN_KEY = "effect-circuit-breaker-redis/dashboard/token"
const POLL_MS = 2000
const HISTORY_POINTS = 30
const HISTORY_CIRCUITS = 2000
const ALERTS_SHOWN = 50
const STATES = ["CLOSED", "OPEN", "HALF_OPEN", "FORCED_OPEN", "FORCED_CLOSED"]
const NOT_CLOSED = ["OPEN", "HALF_OPEN", "FORCED_OPEN", "FORCED_CLOSED"]
const ACTIONS: ReadonlyArray<Action> = [
  {
    verb: "reset",
    label: "Reset",
    question: (name) =>
      "Reset " + JSON.stringify(name) + " to CLOSED?\n\nEvery instance lets its calls through again " +
      "(from its next store round trip, within its stateCacheTtl), and its failure count starts from zero."
  },
  {
    verb: "force-open",
    label: "Force open",
    danger: true,
    question: (name) =>
      "Force " + JSON.stringify(name) + " OPEN?\n\nEvery instance rejects its calls with CircuitOpen " +
      "until the circuit is reset or forced closed."
  },
  {
    verb: "force-close",
    label: "Force close",
    question: (name) =>
      "Force " + JSON.stringify(name) + " CLOSED?\n\nEvery instance lets all its calls through, " +
      "whatever fails, until the circuit is reset or forced open."
  }
]

// the routes are next to the dashboard: <root>/circuits, <root>/alerts, <root>/dashboard/...
const current = document.currentScript
const root = current instanceof HTMLScriptElement && current.src
  ? new URL("../", current.src)
  : new URL(location.pathname.replace(/dashboard\/?$/, ""), location.href)

/** An element of the page the script needs: the page (page.html) holds it. */
function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const node = document.getElementById(id)
  if (node === null) throw new Error("the page has no #" + id)
  return node as T
}

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className?: string | null,
  text?: unknown
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag)
  if (className) node.className = className
  if (text !== undefined && text !== null) node.textContent = String(text)
  return node
}

function svg<K extends keyof SVGElementTagNameMap>(tag: K): SVGElementTagNameMap[K] {
  return document.createElementNS("http://www.w3.org/2000/svg", tag)
}

/** A field of a JSON body, `undefined` when the body is not an object. */
function field(body: unknown, key: string): unknown {
  return typeof body === "object" && body !== null ? (body as Record<string, unknown>)[key] : undefined
}

/** What a failure says: its message, or the value itself. */
function errorText(error: unknown): string {
  const message = field(error, "message")
  return message ? String(message) : String(error)
}

function readToken(): string {
  try {
    return sessionStorage.getItem(TOKEN_KEY) || ""
  } catch {
    return ""
  }
}

function writeToken(value: string): void {
  try {
    if (value) sessionStorage.setItem(TOKEN_KEY, value)
    else sessionStorage.removeItem(TOKEN_KEY)
  } catch {
    // storage refused: the token lives as long as the page
  }
}

let token = readToken()
let admin = false
let permissionsAsked = 0
let clockOffset = 0
let pageSize = 50
const filter = { state: "all", prefix: "" }
let sections: Array<Section> = []
const history = new Map<string, Array<Point>>()
let timer: ReturnType<typeof setTimeout> | undefined
let polls = 0
let inFlight: AbortController | null = null
let lastUpdate = 0
let statusTimer: ReturnType<typeof setTimeout> | undefined

function authorization(): string | null {
  if (!token) return null
  // "Basic …" or another scheme is sent as it is; a bare token as a bearer token
  return /\s/.test(token) ? token : "Bearer " + token
}

// the server's clock, from the Date header, when it is far from this browser's
function noteClock(response: Response): void {
  const date = Date.parse(response.headers.get("date") || "")
  if (isNaN(date)) return
  const offset = date + 500 - Date.now()
  clockOffset = Math.abs(offset) > 2000 ? offset : 0
}

function now(): number {
  return Date.now() + clockOffset
}

function call(method: string, path: string, signal?: AbortSignal): Promise<Reply> {
  const headers: Record<string, string> = { accept: "application/json" }
  const auth = authorization()
  if (auth) headers.authorization = auth
  const init: RequestInit = { method, headers, credentials: "same-origin", cache: "no-store" }
  if (signal) init.signal = signal
  return fetch(new URL(path, root).toString(), init).then((response) => {
    noteClock(response)
    return response.text().then((text): Reply => {
      let body: unknown
      try {
        body = text ? JSON.parse(text) : null
      } catch {
        body = null
      }
      return { status: response.status, ok: response.ok, body }
    })
  })
}

/** The body of a successful reply, as `A`; a failed one throws, naming the route. */
function expectOk<A>(path: string): (reply: Reply) => A {
  return (reply) => {
    if (!reply.ok || reply.body === null) {
      const message = field(reply.body, "message")
      const detail = typeof message === "string" ? ": " + message : ""
      throw new Error(path + " answered HTTP " + reply.status + detail)
    }
    return reply.body as A
  }
}

// ---------------------------------------------------------------------------
// formatting
// ---------------------------------------------------------------------------

function pad(n: number): string {
  return n < 10 ? "0" + n : String(n)
}

function duration(ms: number): string {
  const s = Math.max(0, Math.ceil(ms / 1000))
  if (s < 60) return s + "s"
  const m = Math.floor(s / 60)
  if (m < 60) return m + "m " + pad(s % 60) + "s"
  const h = Math.floor(m / 60)
  if (h < 48) return h + "h " + pad(m % 60) + "m"
  return Math.floor(h / 24) + "d " + (h % 24) + "h"
}

function ago(t: number): string {
  const ms = now() - t
  if (ms < 1500) return "just now"
  return duration(ms) + " ago"
}

function clock(t: number): string {
  const d = new Date(t)
  return pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds())
}

function plural(n: number, one: string, many: string): string {
  return n + " " + (n === 1 ? one : many)
}

function say(message: string): void {
  const status = byId("action-status")
  status.textContent = message
  clearTimeout(statusTimer)
  statusTimer = setTimeout(() => {
    status.textContent = ""
  }, 8000)
}

// ---------------------------------------------------------------------------
// failures over time: kept here, from successive polls
// ---------------------------------------------------------------------------

function remember(name: string, failures: number, at: number): Array<Point> {
  let points = history.get(name)
  if (points === undefined) points = []
  else history.delete(name) // re-inserted: the map's order is the order of last use
  const last = points[points.length - 1]
  if (last === undefined || at - last.t >= 1000) points.push({ t: at, v: failures })
  else last.v = failures
  if (points.length > HISTORY_POINTS) points.splice(0, points.length - HISTORY_POINTS)
  history.set(name, points)
  while (history.size > HISTORY_CIRCUITS) {
    const oldest = history.keys().next()
    if (oldest.done) break
    history.delete(oldest.value)
  }
  return points
}

// the last polls' failures across the chart's width, oldest left, the newest at the right edge
// with a dot; the area under the line shaded; a zero lies on the base line, a value above it
// scales to the highest shown
function sparkline(points: ReadonlyArray<Point>): SVGSVGElement {
  const width = 84, height = 24, top = 3, bottom = height - 2
  const chart = svg("svg")
  chart.setAttribute(
    "class",
    "spark" + (points.length > 1 && points[points.length - 1]!.v > points[0]!.v ? " rising" : "")
  )
  chart.setAttribute("viewBox", "0 0 " + width + " " + height)
  chart.setAttribute("role", "img")
  let max = 1
  points.forEach((p) => {
    if (p.v > max) max = p.v
  })
  const right = width - 3
  const step = (right - 3) / Math.max(1, points.length - 1)
  const xy = points.map((p, i): readonly [number, number] => [
    right - (points.length - 1 - i) * step,
    bottom - (p.v / max) * (bottom - top)
  ])
  const coords = xy.map((c) => c[0].toFixed(1) + "," + c[1].toFixed(1))
  const base = svg("line")
  base.setAttribute("class", "base")
  base.setAttribute("x1", "0")
  base.setAttribute("x2", String(width))
  base.setAttribute("y1", String(bottom))
  base.setAttribute("y2", String(bottom))
  chart.appendChild(base)
  if (xy.length > 1) {
    const area = svg("polygon")
    area.setAttribute(
      "points",
      xy[0]![0].toFixed(1) + "," + bottom + " " + coords.join(" ") + " " + xy[xy.length - 1]![0].toFixed(1) + "," +
        bottom
    )
    chart.appendChild(area)
    const line = svg("polyline")
    line.setAttribute("points", coords.join(" "))
    chart.appendChild(line)
  }
  const last = xy[xy.length - 1]!
  const dot = svg("circle")
  dot.setAttribute("cx", last[0].toFixed(1))
  dot.setAttribute("cy", last[1].toFixed(1))
  dot.setAttribute("r", "2.5")
  chart.appendChild(dot)
  const title = svg("title")
  title.textContent = "failures in the window at each poll: " + points.map((p) => p.v).join(", ")
  chart.appendChild(title)
  return chart
}

// a name as text, with places to wrap after its separators (- _ . / : @ =) rather than inside a
// word; a part longer than the column still wraps (overflow-wrap), and the title holds it whole
function nameText(name: string): HTMLSpanElement {
  const span = el("span", "name-text")
  span.title = name
  let start = 0
  for (let i = 0; i < name.length; i++) {
    if ("-_./:@=".indexOf(name.charAt(i)) >= 0 && i + 1 < name.length) {
      span.appendChild(document.createTextNode(name.slice(start, i + 1)))
      span.appendChild(document.createElement("wbr"))
      start = i + 1
    }
  }
  span.appendChild(document.createTextNode(name.slice(start)))
  return span
}

// ---------------------------------------------------------------------------
// sections of the table, each read and paged on the server
// ---------------------------------------------------------------------------

function makeSection(key: string, title: string, states: ReadonlyArray<string>): Section {
  const actionsHead = el("th", "actions-head", "Actions")
  const section: Section = {
    key,
    title,
    states,
    cursors: [],
    cursor: null,
    page: 0,
    read: null,
    node: el("section", "circuits"),
    count: el("span", "count"),
    body: el("tbody"),
    prev: el("button", "prev", "\u2190 Previous"),
    next: el("button", "next", "Next \u2192"),
    info: el("span", "page-info"),
    pager: el("div", "pager"),
    actionsHead
  }
  section.node.id = "section-" + key
  const heading = el("h2", null, title + " ")
  heading.appendChild(section.count)
  const table = el("table")
  const head = el("thead")
  const row = el("tr")
  const columns: ReadonlyArray<readonly [string, string]> = [
    ["Circuit", ""],
    ["State", ""],
    ["Window failures / calls", ""],
    ["Opens", "num"],
    ["Next probe", ""],
    ["Fleet calls", "num"],
    ["Failure rate", "num"],
    ["Last change", ""]
  ]
  columns.forEach((c) => {
    const th = el("th", c[1], c[0])
    th.setAttribute("scope", "col")
    if (c[0] === "Opens") th.title = "times opened in a row without closing, the current open included"
    row.appendChild(th)
  })
  actionsHead.setAttribute("scope", "col")
  row.appendChild(actionsHead)
  head.appendChild(row)
  table.appendChild(head)
  table.appendChild(section.body)
  section.prev.type = "button"
  section.next.type = "button"
  section.prev.addEventListener("click", () => {
    if (section.page === 0) return
    section.page--
    const cursor = section.cursors.pop()
    section.cursor = cursor === undefined ? null : cursor
    poll()
  })
  section.next.addEventListener("click", () => {
    if (!section.read || section.read.nextCursor === null) return
    section.cursors.push(section.cursor)
    section.cursor = section.read.nextCursor
    section.page++
    poll()
  })
  section.pager.appendChild(section.prev)
  section.pager.appendChild(section.info)
  section.pager.appendChild(section.next)
  section.node.appendChild(heading)
  section.node.appendChild(table)
  section.node.appendChild(section.pager)
  section.body.appendChild(emptyRow("Loading…"))
  section.pager.hidden = true
  return section
}

function configure(): void {
  sections = filter.state === "all"
    ? [makeSection("not-closed", "Not closed", NOT_CLOSED), makeSection("closed", "Closed", ["CLOSED"])]
    : [makeSection(filter.state, filter.state, [filter.state])]
  byId("sections").replaceChildren(...sections.map((s) => s.node))
}

function firstPages(): void {
  sections.forEach((s) => {
    s.cursors = []
    s.cursor = null
    s.page = 0
  })
}

function query(section: Section): string {
  const q = new URLSearchParams()
  section.states.forEach((state) => q.append("state", state))
  if (filter.prefix) q.set("prefix", filter.prefix)
  q.set("limit", String(pageSize))
  if (section.cursor !== null) q.set("cursor", section.cursor)
  return "circuits?" + q.toString()
}

function emptyRow(text: string): HTMLTableRowElement {
  const tr = el("tr", "empty")
  const td = el("td", null, text)
  td.colSpan = 9
  tr.appendChild(td)
  return tr
}

// fresh: a row of a new poll, whose failures join the circuit's history
function circuitRow(c: Circuit, at: number, fresh: boolean): HTMLTableRowElement {
  const state = typeof c.state === "string" && STATES.indexOf(c.state) >= 0 ? c.state : "unknown"
  const tr = el("tr", "circuit row-" + state)
  tr.setAttribute("data-name", String(c.name))

  const name = el("td", "name")
  name.appendChild(nameText(String(c.name)))
  if (c.service !== c.name) name.appendChild(el("span", "service", c.service))
  tr.appendChild(name)

  const stateCell = el("td")
  const badge = el("span", "state state-" + state, c.state)
  badge.title = String(c.status) +
    (c.storeUnavailable ? " (this server runs it on its local fallback: the store is unavailable)" : "")
  stateCell.appendChild(badge)
  if (c.storeUnavailable) stateCell.appendChild(el("span", "local", "local"))
  tr.appendChild(stateCell)

  const failures = el("td")
  const box = el("span", "failures")
  // only CLOSED and FORCED_CLOSED count calls in a window: it is emptied when the circuit opens
  const counting = c.state === "CLOSED" || c.state === "FORCED_CLOSED"
  if (counting) {
    box.appendChild(el("span", "window", c.windowFailures + " / " + c.windowCalls))
  } else {
    const none = el("span", "window muted", "–")
    none.title = "no window while " + String(c.state) +
      ": it is emptied when the circuit opens and counts again once it " +
      "closes; the fleet's calls and failure rate are in their columns"
    box.appendChild(none)
  }
  // the failures that led here stay on the chart: no point is added while the window does not count
  const points = fresh && counting ? remember(String(c.name), c.windowFailures, at) : history.get(String(c.name))
  if (points && points.length > 0) box.appendChild(sparkline(points))
  failures.appendChild(box)
  tr.appendChild(failures)

  // opens in a row: the current open (OPEN, or probing in HALF_OPEN) and the re-opens before it
  const inRow = c.state === "OPEN" || c.state === "HALF_OPEN" ? c.openCount + 1 : c.openCount
  const opens = el("td", "num opens", inRow)
  opens.title = c.state === "OPEN" || c.state === "HALF_OPEN"
    ? "opened " + plural(inRow, "time", "times") + " in a row without closing (" +
      plural(c.openCount, "re-open", "re-opens") + ")"
    : "not open"
  tr.appendChild(opens)

  const probe = el("td")
  if (typeof c.retryAt === "number") {
    const countdown = el("span", "countdown")
    countdown.setAttribute("data-retry-at", String(c.retryAt))
    probe.appendChild(countdown)
  } else {
    probe.appendChild(el("span", "muted", "\u2013"))
  }
  tr.appendChild(probe)

  tr.appendChild(el("td", "num", c.fleet.calls))
  tr.appendChild(
    el("td", "num", c.fleet.failureRate === null ? "\u2013" : (c.fleet.failureRate * 100).toFixed(1) + "%")
  )

  const changed = el("td", "changed")
  if (typeof c.lastTransitionAt === "number") {
    const since = el("span", "since")
    since.setAttribute("data-since", String(c.lastTransitionAt))
    since.title = new Date(c.lastTransitionAt).toISOString()
    changed.appendChild(since)
  } else {
    changed.appendChild(el("span", "muted", "\u2013"))
  }
  tr.appendChild(changed)

  if (admin) {
    const actions = el("td", "actions")
    ACTIONS.forEach((action) => {
      const button = el("button", "action" + (action.danger ? " danger" : ""), action.label)
      button.type = "button"
      button.setAttribute("data-action", action.verb)
      button.addEventListener("click", () => act(action, String(c.name), button))
      actions.appendChild(button)
    })
    tr.appendChild(actions)
  }
  return tr
}

function renderSection(section: Section, read: CircuitsRead, at: number, fresh: boolean): void {
  section.read = read
  const before = section.page * pageSize
  // with a state filter the total counts the matching circuits from the cursor on
  const total = before + read.total
  section.count.textContent = "(" + total + ")"
  const rows = read.circuits.map((c) => circuitRow(c, at, fresh))
  if (rows.length === 0) {
    rows.push(emptyRow(
      read.complete === false
        ? "No circuits could be read"
        : section.page === 0
        ? "No circuits"
        : "No circuits on this page"
    ))
  }
  section.body.replaceChildren(...rows)
  section.actionsHead.hidden = !admin
  section.prev.disabled = section.page === 0
  section.next.disabled = read.nextCursor === null
  section.pager.hidden = section.page === 0 && read.nextCursor === null
  section.info.textContent = read.circuits.length === 0
    ? "page " + (section.page + 1)
    : "page " + (section.page + 1) + " \u00b7 " + (before + 1) + "\u2013" + (before + read.circuits.length) + " of " +
      total
}

function rerender(): void {
  const at = now()
  sections.forEach((s) => {
    if (s.read) renderSection(s, s.read, at, false)
  })
}

function renderAlerts(alerts: ReadonlyArray<Alert>): { readonly count: number; readonly critical: number } {
  const list = byId("alerts")
  let critical = 0
  alerts.forEach((a) => {
    if (a.severity === "critical") critical++
  })
  const items = alerts.slice(0, ALERTS_SHOWN).map((a) => {
    const li = el("li", "alert severity-" + (a.severity === "critical" ? "critical" : "warning"))
    li.setAttribute("data-kind", String(a.kind))
    li.setAttribute("data-service", String(a.service))
    li.appendChild(el("span", "severity", a.severity))
    li.appendChild(el("span", "kind", a.kind))
    li.appendChild(el("span", "message", a.message))
    const since = el("span", "since")
    since.setAttribute("data-since", String(a.since))
    li.appendChild(since)
    return li
  })
  if (alerts.length > ALERTS_SHOWN) items.push(el("li", "more", "and " + (alerts.length - ALERTS_SHOWN) + " more"))
  if (alerts.length === 0) items.push(el("li", "none", "No alerts"))
  list.replaceChildren(...items)
  byId("alert-count").textContent = alerts.length === 0
    ? ""
    : "(" + plural(critical, "critical", "critical") + ", " + (alerts.length - critical) + " warning)"
  return { count: alerts.length, critical }
}

function showBanner(id: string, text: string): void {
  const banner = byId(id)
  banner.textContent = text || ""
  banner.hidden = !text
}

function renderSummary(alertSummary: { readonly count: number } | null, incomplete: boolean): void {
  const parts: Array<string> = []
  sections.forEach((s) => {
    if (s.read) parts.push(s.title.toLowerCase() + ": " + (s.page * pageSize + s.read.total))
  })
  if (alertSummary) parts.push(plural(alertSummary.count, "alert", "alerts"))
  if (incomplete) parts.push("read incomplete")
  byId("summary").textContent = parts.join(" \u00b7 ")
}

// ---------------------------------------------------------------------------
// polling
// ---------------------------------------------------------------------------

function schedule(id: number): void {
  clearTimeout(timer)
  timer = setTimeout(() => {
    if (id === polls) poll()
  }, POLL_MS)
}

function settle<A>(promise: Promise<A>): Promise<Settled<A>> {
  return promise.then(
    (value): Settled<A> => ({ ok: true, value }),
    (error: unknown): Settled<A> => ({ ok: false, error })
  )
}

function poll(): void {
  clearTimeout(timer)
  const id = ++polls
  if (inFlight) inFlight.abort()
  if (document.hidden) {
    inFlight = null
    schedule(id)
    return
  }
  const controller = typeof AbortController === "function" ? new AbortController() : null
  inFlight = controller
  const signal = controller ? controller.signal : undefined
  const started = Date.now()
  const reads = sections.map((s) => settle(call("GET", query(s), signal).then(expectOk<CircuitsRead>("circuits"))))
  const alerts = settle(call("GET", "alerts", signal).then(expectOk<{ readonly alerts?: unknown }>("alerts")))
  Promise.all([Promise.all(reads), alerts]).then(([circuits, alertsRead]) => {
    if (id !== polls) return
    inFlight = null
    try {
      render(circuits, alertsRead, started)
    } catch (error) {
      showBanner("banner-error", "The dashboard failed to show what it read: " + errorText(error))
    }
    schedule(id)
  })
}

function render(
  circuits: ReadonlyArray<Settled<CircuitsRead>>,
  alertsRead: Settled<{ readonly alerts?: unknown }>,
  started: number
): void {
  const at = now()
  const errors: Array<string> = []
  let incomplete: CircuitsRead | null = null
  for (let i = 0; i < circuits.length; i++) {
    const result = circuits[i]!
    if (!result.ok) {
      errors.push(errorText(result.error))
      continue
    }
    const read = result.value
    renderSection(sections[i]!, read, at, true)
    if (read.complete === false && (incomplete === null || read.unreadable > incomplete.unreadable)) incomplete = read
  }
  let alertSummary: { readonly count: number } | null = null
  if (!alertsRead.ok) errors.push(errorText(alertsRead.error))
  else {
    const alerts = alertsRead.value.alerts
    alertSummary = renderAlerts(Array.isArray(alerts) ? alerts : [])
  }
  renderSummary(alertSummary, incomplete !== null)
  showBanner(
    "banner-incomplete",
    incomplete === null
      ? ""
      : plural(incomplete.unreadable, "circuit", "circuits") + " could not be read: " +
        (incomplete.reason || "unknown reason")
  )
  if (errors.length === 0) {
    lastUpdate = Date.now()
    showBanner("banner-error", "")
    byId("updated").setAttribute("data-took", String(lastUpdate - started))
  } else {
    showBanner(
      "banner-error",
      "The dashboard could not read the server (" + errors.join("; ") + ")" +
        (lastUpdate > 0 ? "; what is shown is from " + clock(lastUpdate) : "")
    )
  }
  tick()
}

// countdowns, relative times and the age of what is shown, every second
function tick(): void {
  const t = now()
  document.querySelectorAll("[data-retry-at]").forEach((countdown) => {
    const left = Number(countdown.getAttribute("data-retry-at")) - t
    countdown.textContent = left > 0 ? "in " + duration(left) : "probe due"
    countdown.classList.toggle("due", left <= 0)
  })
  document.querySelectorAll("[data-since]").forEach((time) => {
    time.textContent = ago(Number(time.getAttribute("data-since")))
  })
  const updated = byId("updated")
  if (lastUpdate > 0) {
    const age = Date.now() - lastUpdate
    const took = updated.getAttribute("data-took")
    updated.textContent = "updated " + clock(lastUpdate) + (took ? " (read in " + took + " ms)" : "") +
      (age > 3 * POLL_MS + 5000 ? ", " + duration(age) + " ago" : "")
    updated.classList.toggle("stale", age > 3 * POLL_MS + 5000)
  }
}

// ---------------------------------------------------------------------------
// admin
// ---------------------------------------------------------------------------

function checkPermissions(): Promise<void> {
  const asked = ++permissionsAsked
  return call("GET", "dashboard/permissions").then((reply) => {
    if (asked !== permissionsAsked) return
    const allowed = reply.ok && reply.body !== null && field(reply.body, "admin") === true
    const changed = allowed !== admin
    admin = allowed
    document.body.classList.toggle("admin", admin)
    byId("admin-status").textContent = admin
      ? "admin actions enabled"
      : token
      ? "this token may not act: read-only"
      : "read-only"
    byId<HTMLInputElement>("token").placeholder = token ? "token set (this tab)" : "none"
    if (changed) rerender()
  }, () => {
    if (asked === permissionsAsked) byId("admin-status").textContent = "could not ask for permissions: read-only"
  })
}

function act(action: Action, name: string, button: HTMLButtonElement): void {
  if (!window.confirm(action.question(name))) return
  button.disabled = true
  const what = action.label + " " + JSON.stringify(name)
  call("POST", "circuits/" + encodeURIComponent(name) + "/" + action.verb).then((reply) => {
    if (reply.ok) {
      const state = field(reply.body, "state")
      say(what + ": now " + (state ? String(state) : "done"))
    } else if (reply.status === 403 || reply.status === 404) {
      say(what + " was refused (HTTP " + reply.status + ")")
      checkPermissions()
    } else {
      const message = field(reply.body, "message")
      say(what + " failed: " + (message ? String(message) : "HTTP " + reply.status))
    }
  }, (error: unknown) => {
    say(what + " failed: " + errorText(error))
  }).then(() => {
    button.disabled = false
    poll()
  })
}

// ---------------------------------------------------------------------------
// controls
// ---------------------------------------------------------------------------

function start(): void {
  const stateSelect = byId<HTMLSelectElement>("filter-state")
  stateSelect.addEventListener("change", () => {
    filter.state = stateSelect.value
    configure()
    poll()
  })
  let debounce: ReturnType<typeof setTimeout> | undefined
  const prefixInput = byId<HTMLInputElement>("filter-prefix")
  prefixInput.addEventListener("input", () => {
    clearTimeout(debounce)
    debounce = setTimeout(() => {
      filter.prefix = prefixInput.value
      firstPages()
      poll()
    }, 300)
  })
  const sizeSelect = byId<HTMLSelectElement>("page-size")
  sizeSelect.addEventListener("change", () => {
    pageSize = Number(sizeSelect.value) || 50
    firstPages()
    poll()
  })
  byId("token-form").addEventListener("submit", (event) => {
    event.preventDefault()
    const input = byId<HTMLInputElement>("token")
    token = input.value.trim()
    input.value = ""
    writeToken(token)
    checkPermissions()
  })
  byId("token-forget").addEventListener("click", () => {
    token = ""
    byId<HTMLInputElement>("token").value = ""
    writeToken("")
    checkPermissions()
  })
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) poll()
  })
  configure()
  checkPermissions()
  poll()
  setInterval(tick, 1000)
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start)
else start()
