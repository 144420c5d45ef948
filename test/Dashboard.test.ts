/**
 * The dashboard of CircuitBreakerHttp (`GET /dashboard`) in a real browser:
 * Debian's Chromium, headless, driven by playwright-core, on the Web handler
 * served by a Node http server, over a real redis-server. Writers are
 * runtimes of their own (as other instances of a fleet would be) on the same
 * Redis prefix.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { mkdir } from "node:fs/promises"
import { join } from "node:path"
import type { Browser } from "playwright-core"
import { CircuitBreakers } from "../src/index.js"
import { CircuitBreakerHttp } from "../src/http.js"
import { script } from "../shared/http/dashboardAssets.js"
import { contentSecurityPolicy } from "../src/internal/http/dashboard.js"
import { keysOf, registryKeyOf } from "../shared/redis/keys.js"
import { type RedisServer, redisServerScoped, startRedis } from "./support/redisServer.js"
import { seedCircuits } from "./support/seed.js"
import { freshPrefix, tcpStore } from "./support/stores.js"
import { beforeAllScoped } from "./support/suite.js"
import { calls } from "./support/calls.js"
import { dashboardCsp, dashboardPaths } from "./shared/monitoringCases.js"
import { eventually, launchChromium, pixelStats, polls, row, serve, watchedPage } from "./shared/dashboardBrowser.js"

const artifacts = join(process.cwd(), "test-artifacts")
const adminToken = "s3cret-admin"

let server: RedisServer
let browser: Browser
beforeAllScoped(Effect.gen(function*() {
  server = yield* redisServerScoped()
  browser = yield* Effect.acquireRelease(
    Effect.promise(() => launchChromium()),
    (browser) => Effect.promise(() => browser.close())
  )
  yield* Effect.promise(() => mkdir(artifacts, { recursive: true }))
}))

// ---------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------

/** A runtime of its own (one instance of the fleet) on the shared Redis prefix. */
const instance = (prefix: string, options?: CircuitBreakers.Options, url = server.url) =>
  ManagedRuntime.make(
    CircuitBreakers.layer(options).pipe(
      Layer.provideMerge(tcpStore({ url }, { prefix }))
    )
  )

/** The Web handler of the routes under `/ops/cb`, on the Redis prefix, served over HTTP. */
const dashboardServer = async (prefix: string, options: Partial<CircuitBreakerHttp.Options> = {}, url = server.url) => {
  const store = tcpStore({ url }, { prefix })
  const web = CircuitBreakerHttp.toWebHandler(store, { basePath: "/ops/cb", ...options })
  const served = await serve(web.handler)
  let serving = true
  const stopServing = async () => {
    if (serving) await served.close()
    serving = false
  }
  return {
    base: `${served.origin}/ops/cb`,
    handler: web.handler,
    stopServing,
    close: async () => {
      await stopServing()
      await web.dispose()
    }
  }
}

const authorize: CircuitBreakerHttp.Options["authorize"] = (request) =>
  Effect.succeed(request.headers["authorization"] === `Bearer ${adminToken}`)

const stateInRedis = (prefix: string, name: string) => server.cli("HGET", keysOf(prefix, name)[0], "state")

// ---------------------------------------------------------------------------
// the routes, without a browser
// ---------------------------------------------------------------------------

describe("dashboard routes", () => {
  it("serve the page with its CSP, the script and stylesheet beside it, and permissions; dashboard: false leaves them out", async () => {
    const prefix = freshPrefix()
    const store = tcpStore(server, { prefix })
    const on = CircuitBreakerHttp.toWebHandler(store, { basePath: "/ops/cb", authorize })
    const off = CircuitBreakerHttp.toWebHandler(store, { basePath: "/ops/cb", dashboard: false })
    const get = (web: typeof on, path: string, headers: Record<string, string> = {}) =>
      web.handler(new Request(`http://localhost/ops/cb${path}`, { headers }))
    try {
      const page = await get(on, "/dashboard")
      expect(page.status).toBe(200)
      expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8")
      expect(page.headers.get("content-security-policy")).toBe(dashboardCsp)
      const html = await page.text()
      // no inline script or style: the only script and stylesheet are the sibling routes
      expect(html).toContain(`<script src="dashboard/app.js" defer></script>`)
      expect(html).toContain(`<link rel="stylesheet" href="dashboard/app.css">`)
      expect(html).not.toMatch(/<script>|<script(?![^>]*\ssrc=)[^>]*>|<style|\sstyle=|\son[a-z]+=|javascript:/i)
      // with a trailing slash, the same files relative to it
      expect(await (await get(on, "/dashboard/")).text()).toContain(`<script src="app.js" defer></script>`)

      const js = await get(on, "/dashboard/app.js")
      expect(js.headers.get("content-type")).toBe("text/javascript; charset=utf-8")
      expect(js.headers.get("x-content-type-options")).toBe("nosniff")
      expect(await js.text()).toBe(script)
      // data reaches the page as text only
      expect(script).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function/)
      expect(() => new Function(script)).not.toThrow()
      const css = await get(on, "/dashboard/app.css")
      expect(css.headers.get("content-type")).toBe("text/css; charset=utf-8")

      expect(await (await get(on, "/dashboard/permissions")).json()).toEqual({ admin: false })
      expect(await (await get(on, "/dashboard/permissions", { authorization: "Bearer nope" })).json()).toEqual({
        admin: false
      })
      const allowed = await get(on, "/dashboard/permissions", { authorization: `Bearer ${adminToken}` })
      expect(await allowed.json()).toEqual({ admin: true })
      expect(allowed.headers.get("cache-control")).toBe("no-store")

      for (const path of dashboardPaths) {
        expect((await get(off, path)).status).toBe(404)
      }
      expect((await get(off, "/health")).status).toBe(200)
      // without authorize the page never offers admin buttons
      const readOnly = CircuitBreakerHttp.toWebHandler(store)
      try {
        const answer = await readOnly.handler(
          new Request("http://localhost/dashboard/permissions", { headers: { authorization: `Bearer ${adminToken}` } })
        )
        expect(await answer.json()).toEqual({ admin: false })
      } finally {
        await readOnly.dispose()
      }
      expect(contentSecurityPolicy).toBe(page.headers.get("content-security-policy"))
    } finally {
      await on.dispose()
      await off.dispose()
    }
  })
})

// ---------------------------------------------------------------------------
// in the browser
// ---------------------------------------------------------------------------

describe("dashboard in headless Chromium", () => {
  it(
    "loads under its CSP with no console error; an OPEN circuit in red with its countdown and alert; names are text",
    async () => {
      const prefix = freshPrefix()
      const hostile = `<img src=x onerror="window.pwned=1"> & "quotes" {braces}`
      const writer = instance(prefix, { defaults: { failureThreshold: 2, recoveryTimeout: "1 minute" } })
      const dash = await dashboardServer(prefix)
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
      try {
        await writer.runPromise(Effect.all([calls("payments", 0, 2), calls("search", 3, 0), calls(hostile, 0, 2)]))
        const { page, problems, requests, violations } = await watchedPage(context)
        const started = Date.now()
        const response = await page.goto(`${dash.base}/dashboard`)
        expect(response?.headers()["content-security-policy"]).toBe(contentSecurityPolicy)

        const payments = row(page, "not-closed", "payments")
        await payments.waitFor({ timeout: 15_000 })
        const shownAfter = Date.now() - started
        const badge = payments.locator(".state")
        expect(await badge.textContent()).toBe("OPEN")
        expect(await badge.evaluate((node) => getComputedStyle(node).backgroundColor)).toBe("rgb(220, 38, 38)")
        const closedBadge = row(page, "closed", "search").locator(".state")
        expect(await closedBadge.textContent()).toBe("CLOSED")
        expect(await closedBadge.evaluate((node) => getComputedStyle(node).backgroundColor)).toBe("rgb(21, 128, 61)")
        // the next probe, counted down from retryAt (1 minute ± 10 % jitter)
        expect(await payments.locator(".countdown").textContent()).toMatch(/^in (\d{1,2}s|1m 0\ds)$/)
        // opened once: this open counts; the window was emptied when it opened, so none is shown
        expect(await payments.locator(".opens").textContent()).toBe("1")
        expect(await payments.locator(".opens").getAttribute("title")).toBe(
          "opened 1 time in a row without closing (0 re-opens)"
        )
        expect(await payments.locator(".window").textContent()).toBe("\u2013")
        expect(await payments.locator(".window").getAttribute("title")).toMatch(
          /^no window while OPEN: it is emptied when the circuit opens/
        )
        expect(await row(page, "closed", "search").locator(".opens").textContent()).toBe("0")
        // (a success in CLOSED costs no round trip: the writer's batch reaches Redis within a second, and
        // the page within its next poll)
        expect(await eventually(() => row(page, "closed", "search").locator(".window").textContent(), "0 / 3")).toBe(
          "0 / 3"
        )
        // the alerts of both OPEN circuits
        const openAlerts = page.locator(`#alerts li[data-kind="open"]`)
        await openAlerts.nth(1).waitFor({ timeout: 5_000 })
        expect(await openAlerts.count()).toBe(2)
        expect(await page.locator(`#alerts li[data-service="payments"] .message`).textContent()).toContain(
          `"payments" is OPEN`
        )
        expect(await page.locator("#summary").textContent()).toBe("not closed: 2 · closed: 1 · 2 alerts")
        // the hostile name is shown as text: no element made of it, nothing run
        const hostileShown = await page.evaluate((name) => {
          const rows = Array.from(document.querySelectorAll("tr.circuit"))
          const match = rows.find((tr) => tr.getAttribute("data-name") === name)
          return {
            text: match?.querySelector(".name-text")?.textContent,
            images: document.querySelectorAll("main img").length,
            pwned: (window as unknown as { pwned?: number }).pwned
          }
        }, hostile)
        expect(hostileShown).toEqual({ text: hostile, images: 0, pwned: undefined })
        // a name wraps between words and after separators, never inside a word; its title holds it whole
        const hostileName = page.locator("tr.circuit .name-text").filter({ hasText: "onerror" })
        expect(await hostileName.getAttribute("title")).toBe(hostile)
        const lines = await hostileName.evaluate((span) => {
          // the text of each line the browser laid out, from the rectangle of each character
          const range = document.createRange()
          const byLine = new Map<number, string>()
          for (const node of Array.from(span.childNodes)) {
            if (node.nodeType !== Node.TEXT_NODE) continue
            const value = node.nodeValue ?? ""
            for (let i = 0; i < value.length; i++) {
              range.setStart(node, i)
              range.setEnd(node, i + 1)
              const top = Math.round(range.getBoundingClientRect().top)
              byLine.set(top, (byLine.get(top) ?? "") + value[i])
            }
          }
          return [...byLine.entries()].sort(([a], [b]) => a - b).map(([, line]) => line)
        })
        expect(lines.join("")).toBe(hostile)
        expect(lines.length).toBeGreaterThan(1)
        for (const line of lines.slice(0, -1)) expect(line, JSON.stringify(lines)).toMatch(/[\s\-_./:@=]$/)
        expect(await page.locator("#banner-incomplete").isHidden()).toBe(true)
        expect(await page.locator("#banner-error").isHidden()).toBe(true)
        // no admin buttons: no authorize
        expect(await page.locator("button[data-action]").count()).toBe(0)

        // polling goes on through relative URLs under the base path, and stays clean
        await polls(page, 2)
        const reads = requests.filter((r) => r.startsWith("GET /ops/cb/circuits?"))
        expect(reads.length).toBeGreaterThanOrEqual(4)
        expect(reads).toContain(
          "GET /ops/cb/circuits?state=OPEN&state=HALF_OPEN&state=FORCED_OPEN&state=FORCED_CLOSED&limit=50"
        )
        expect(reads).toContain("GET /ops/cb/circuits?state=CLOSED&limit=50")
        expect(requests).toContain("GET /ops/cb/alerts")
        expect(requests).toContain("GET /ops/cb/dashboard/permissions")
        expect(requests.every((r) => r.includes(" /ops/cb/"))).toBe(true)
        expect(problems).toEqual([])
        expect(violations).toEqual([])

        const png = await page.screenshot({ path: join(artifacts, "dashboard.png"), fullPage: true })
        const pixels = await pixelStats(browser, png)
        console.info(
          `[dashboard] first rows shown ${shownAfter} ms after navigation; screenshot ${png.length} bytes, ` +
            `${pixels.width}x${pixels.height}, ${pixels.colours} colours, ${pixels.inked} inked pixels, ${pixels.red} OPEN-red`
        )
        expect(png.length).toBeGreaterThan(10_000)
        expect(pixels.colours).toBeGreaterThan(50)
        expect(pixels.inked).toBeGreaterThan(10_000)
        expect(pixels.red).toBeGreaterThan(200) // the two OPEN badges, and their rows' edge

        // the listener does see violations: an inline script is refused by the policy
        await page.evaluate(() => {
          const inline = document.createElement("script")
          inline.textContent = "window.inlineRan = true"
          document.body.append(inline)
        })
        await expect.poll(() => violations.length, { timeout: 5_000 }).toBeGreaterThan(0)
        expect(violations[0]).toMatch(/^script-src/)
        expect(await page.evaluate(() => (window as unknown as { inlineRan?: boolean }).inlineRan)).toBeUndefined()

        // the page also works at …/dashboard/ (its files relative to the slash)
        const slash = await watchedPage(context)
        await slash.page.goto(`${dash.base}/dashboard/`)
        await row(slash.page, "not-closed", "payments").waitFor({ timeout: 15_000 })
        expect(slash.problems).toEqual([])
        expect(slash.violations).toEqual([])
      } finally {
        await context.close()
        await dash.close()
        await writer.dispose()
      }
    },
    60_000
  )

  it("updates live when another runtime opens a circuit: failures over time, then OPEN, then its alert", async () => {
    const prefix = freshPrefix()
    const writer = instance(prefix, { defaults: { failureThreshold: 5, recoveryTimeout: "1 minute" } })
    const other = instance(prefix, { defaults: { failureThreshold: 5, recoveryTimeout: "1 minute" } })
    const dash = await dashboardServer(prefix)
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
    try {
      await writer.runPromise(calls("inventory", 2, 0))
      const { page, problems, violations } = await watchedPage(context)
      await page.goto(`${dash.base}/dashboard`)
      await row(page, "closed", "inventory").waitFor({ timeout: 15_000 })

      // another instance records failures: the window's count moves, and the sparkline keeps it
      await other.runPromise(calls("inventory", 0, 2))
      let t0 = Date.now()
      await row(page, "closed", "inventory").locator(".window", { hasText: /^2 \// }).waitFor({ timeout: 10_000 })
      const failuresShownAfter = Date.now() - t0

      await other.runPromise(calls("inventory", 0, 3)) // the fifth failure opens it
      t0 = Date.now()
      const opened = row(page, "not-closed", "inventory")
      await opened.locator(".state", { hasText: /^OPEN$/ }).waitFor({ timeout: 10_000 })
      const openShownAfter = Date.now() - t0
      expect(await row(page, "closed", "inventory").count()).toBe(0)
      expect(await opened.locator(".state").evaluate((node) => getComputedStyle(node).backgroundColor)).toBe(
        "rgb(220, 38, 38)"
      )
      await page.locator(`#alerts li[data-kind="open"][data-service="inventory"]`).waitFor({ timeout: 10_000 })

      // failures over time, from successive polls: 0 while closed and healthy, then 2, kept across the move
      const title = await opened.locator("svg.spark title").textContent()
      const values = (title ?? "").replace(/^.*: /, "").split(", ").map(Number)
      console.info(
        `[dashboard] live: 2 failures shown ${failuresShownAfter} ms after they were recorded, ` +
          `OPEN shown ${openShownAfter} ms after it opened; sparkline ${JSON.stringify(values)}`
      )
      expect(values.length).toBeGreaterThanOrEqual(2)
      expect(values[0]).toBe(0)
      expect(values).toContain(2)
      expect(values.indexOf(2)).toBeGreaterThan(values.indexOf(0))
      // the window emptied when it opened: the chart keeps the failures that led there, no drop to 0
      expect(values[values.length - 1]).toBe(2)
      expect(await opened.locator(".window").textContent()).toBe("\u2013")
      expect(await opened.locator("svg.spark polyline").getAttribute("points")).toMatch(
        /^[\d.]+,[\d.]+( [\d.]+,[\d.]+)+$/
      )
      // drawn to be seen: a line of 2 px, 84 × 24, in a dark grey or red
      const drawn = await opened.locator("svg.spark").evaluate((chart) => {
        const line = chart.querySelector("polyline")!
        const box = chart.getBoundingClientRect()
        return {
          width: box.width,
          height: box.height,
          stroke: getComputedStyle(line).stroke,
          strokeWidth: getComputedStyle(line).strokeWidth
        }
      })
      expect(drawn).toMatchObject({ width: 84, height: 24, strokeWidth: "2px" })
      expect(["rgb(55, 65, 81)", "rgb(220, 38, 38)"]).toContain(drawn.stroke)
      await page.screenshot({ path: join(artifacts, "dashboard-live.png"), fullPage: true })
      expect(problems).toEqual([])
      expect(violations).toEqual([])
    } finally {
      await context.close()
      await dash.close()
      await writer.dispose()
      await other.dispose()
    }
  }, 60_000)

  it(
    "admin buttons: absent without authorization, shown with the token, confirmed, and the reset reaches Redis",
    async () => {
      const prefix = freshPrefix()
      const writer = instance(prefix, { defaults: { failureThreshold: 2, recoveryTimeout: "1 minute" } })
      const dash = await dashboardServer(prefix, { authorize })
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
      try {
        await writer.runPromise(calls("payments", 0, 2))
        expect(await stateInRedis(prefix, "payments")).toBe("OPEN")
        const { page, problems, requests, violations } = await watchedPage(context)
        const posts = () => requests.filter((r) => r.startsWith("POST "))
        await page.goto(`${dash.base}/dashboard`)
        await row(page, "not-closed", "payments").waitFor({ timeout: 15_000 })
        await page.locator("#admin-status", { hasText: /^read-only$/ }).waitFor({ timeout: 5_000 })
        expect(await page.locator("button[data-action]").count()).toBe(0)

        // a token the server refuses: still no buttons
        await page.locator("#token").fill("not-the-token")
        await page.locator("#token-use").click()
        await page.locator("#admin-status", { hasText: "this token may not act" }).waitFor({ timeout: 5_000 })
        await polls(page, 1)
        expect(await page.locator("button[data-action]").count()).toBe(0)

        // the right one: buttons on every row
        await page.locator("#token").fill(adminToken)
        await page.locator("#token-use").click()
        const reset = row(page, "not-closed", "payments").locator(`button[data-action="reset"]`)
        await reset.waitFor({ timeout: 5_000 })
        expect(await row(page, "not-closed", "payments").locator("button[data-action]").allTextContents()).toEqual([
          "Reset",
          "Force open",
          "Force close"
        ])
        expect(await page.locator("#token").inputValue()).toBe("") // not shown again
        expect(await page.evaluate(() => sessionStorage.getItem("effect-circuit-breaker-redis/dashboard/token"))).toBe(
          adminToken
        )

        // declined: nothing is sent
        const declined = new Promise<string>((resolve) =>
          page.once("dialog", (dialog) => {
            resolve(`${dialog.type()}: ${dialog.message()}`)
            void dialog.dismiss()
          })
        )
        await row(page, "not-closed", "payments").locator(`button[data-action="force-close"]`).click()
        expect(await declined).toMatch(/^confirm: Force "payments" CLOSED\?/)
        await polls(page, 1)
        expect(posts()).toEqual([])
        expect(await stateInRedis(prefix, "payments")).toBe("OPEN")

        // accepted: the POST carries the token, and Redis holds CLOSED
        const asked = new Promise<string>((resolve) =>
          page.once("dialog", (dialog) => {
            resolve(`${dialog.type()}: ${dialog.message()}`)
            void dialog.accept()
          })
        )
        const posted = page.waitForResponse((response) => response.request().method() === "POST", { timeout: 10_000 })
        await reset.click()
        expect(await asked).toMatch(/^confirm: Reset "payments" to CLOSED\?/)
        const answer = await posted
        expect(answer.status()).toBe(200)
        expect(new URL(answer.url()).pathname).toBe("/ops/cb/circuits/payments/reset")
        expect(await answer.request().headerValue("authorization")).toBe(`Bearer ${adminToken}`)
        expect(await stateInRedis(prefix, "payments")).toBe("CLOSED")
        await row(page, "closed", "payments").locator(".state", { hasText: /^CLOSED$/ }).waitFor({ timeout: 10_000 })
        await page.locator("#action-status", { hasText: `Reset "payments": now CLOSED` }).waitFor({ timeout: 5_000 })

        // the token stays for this tab (a reload), and Forget drops it
        await page.reload()
        await row(page, "closed", "payments").locator(`button[data-action="force-open"]`).waitFor({ timeout: 15_000 })
        await page.locator("#token-forget").click()
        await page.locator("#admin-status", { hasText: /^read-only$/ }).waitFor({ timeout: 5_000 })
        expect(await page.locator("button[data-action]").count()).toBe(0)
        expect(posts()).toEqual(["POST /ops/cb/circuits/payments/reset"])
        expect(problems).toEqual([])
        expect(violations).toEqual([])
      } finally {
        await context.close()
        await dash.close()
        await writer.dispose()
      }
    },
    60_000
  )

  it(
    "a read that is not complete shows a banner with the count and the reason; a server out of reach shows another",
    async () => {
      const own = await startRedis() // paused below: a server of its own
      const prefix = freshPrefix()
      const writer = instance(prefix, { defaults: { failureThreshold: 2, recoveryTimeout: "1 minute" } }, own.url)
      const dash = await dashboardServer(prefix, {}, own.url)
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
      try {
        await writer.runPromise(calls("payments", 0, 2))
        const { page, problems, violations } = await watchedPage(context)
        await page.goto(`${dash.base}/dashboard`)
        await row(page, "not-closed", "payments").waitFor({ timeout: 15_000 })
        expect(await page.locator("#banner-incomplete").isHidden()).toBe(true)

        // Redis answers nothing: the registry cannot be read, and the page says so
        own.pause()
        const t0 = Date.now()
        const banner = page.locator("#banner-incomplete")
        await banner.waitFor({ state: "visible", timeout: 20_000 })
        const bannerAfter = Date.now() - t0
        const text = await banner.textContent()
        expect(text).toMatch(/^1 circuit could not be read: .+/)
        await page.locator(`#alerts li[data-kind="store-unreadable"]`).waitFor({ timeout: 20_000 })
        await page.screenshot({ path: join(artifacts, "dashboard-incomplete.png"), fullPage: true })
        own.resume()
        await banner.waitFor({ state: "hidden", timeout: 20_000 })
        await row(page, "not-closed", "payments").waitFor({ timeout: 15_000 })
        expect(problems).toEqual([])
        expect(violations).toEqual([])

        // the server itself goes away: the page keeps what it showed, and says since when
        await dash.stopServing()
        const unreachable = page.locator("#banner-error")
        await unreachable.waitFor({ state: "visible", timeout: 15_000 })
        expect(await unreachable.textContent()).toMatch(
          /^The dashboard could not read the server \(.+\); what is shown is from \d\d:\d\d:\d\d$/
        )
        expect(await row(page, "not-closed", "payments").count()).toBe(1)
        console.info(
          `[dashboard] banner shown ${bannerAfter} ms after Redis stopped answering: ${JSON.stringify(text)}`
        )
        // the only errors: the browser's own reports of the refused connections
        expect(problems.every((p) => /ERR_CONNECTION_REFUSED/.test(p))).toBe(true)
        expect(violations).toEqual([])
      } finally {
        if (own.paused) own.resume()
        await context.close()
        await dash.close()
        await writer.dispose()
        await own.stop()
      }
    },
    90_000
  )

  it(
    "10,000 circuits: the OPEN ones first, CLOSED ones paged on the server, a prefix filter; never more than a page of rows",
    async () => {
      const prefix = freshPrefix()
      const count = 10_000
      const names = Array.from({ length: count }, (_, i) => `tenant-${String(i).padStart(5, "0")}`)
      const open = ["tenant-00042", "tenant-01337", "tenant-04242", "tenant-06000", "tenant-08088", "tenant-09999"]
      const dash = await dashboardServer(prefix)
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
      try {
        // the registry and a state hash per circuit, as the store and lua/circuit.lua write them
        const registry = registryKeyOf(prefix)
        let t0 = Date.now()
        const seededNames = await seedCircuits(server.url, prefix, count, { name: "tenant", width: 5, open })
        expect(seededNames).toEqual(names)
        const seeded = Date.now() - t0
        expect(Number(await server.cli("ZCARD", registry))).toBe(count)

        const { page, problems, violations } = await watchedPage(context)
        t0 = Date.now()
        await page.goto(`${dash.base}/dashboard`)
        const firstClosed = row(page, "closed", "tenant-00000")
        await firstClosed.waitFor({ timeout: 30_000 })
        await row(page, "not-closed", "tenant-09999").waitFor({ timeout: 30_000 })
        const shown = Date.now() - t0

        // the OPEN circuits first, in name order, then the first page of CLOSED ones
        const order = await page.locator("tr.circuit").evaluateAll((rows) =>
          rows.map((r) => r.getAttribute("data-name"))
        )
        expect(order.slice(0, open.length)).toEqual(open)
        expect(order[open.length]).toBe("tenant-00000")
        expect(order.length).toBe(open.length + 50)
        expect(order.length).toBeLessThan(200)
        expect(await page.locator("#section-not-closed tr.circuit .state").allTextContents()).toEqual(
          open.map(() => "OPEN")
        )
        const pager = page.locator("#section-closed .pager")
        expect(await pager.isVisible()).toBe(true)
        expect(await pager.locator(".page-info").textContent()).toBe(`page 1 · 1–50 of ${count - open.length}`)
        expect(await pager.locator(".next").isEnabled()).toBe(true)
        expect(await pager.locator(".prev").isDisabled()).toBe(true)
        expect(await page.locator("#section-not-closed .pager").isHidden()).toBe(true)
        expect(await page.locator("#summary").textContent()).toBe(
          `not closed: ${open.length} · closed: ${count - open.length} · 6 alerts`
        )

        // the next page, read on the server from the cursor
        t0 = Date.now()
        await pager.locator(".next").click()
        await pager.locator(".page-info", { hasText: `page 2 · 51–100 of ${count - open.length}` }).waitFor({
          timeout: 30_000
        })
        const paged = Date.now() - t0
        const page2 = await page.locator("#section-closed tr.circuit").evaluateAll((rows) =>
          rows.map((r) => r.getAttribute("data-name"))
        )
        expect(page2).toHaveLength(50)
        expect(page2[0]).toBe("tenant-00051") // tenant-00042 is OPEN: not on a CLOSED page
        expect(await page.locator("tr.circuit").count()).toBeLessThan(200)

        // a name prefix: back to the first pages, filtered on the server
        t0 = Date.now()
        await page.locator("#filter-prefix").fill("tenant-0999")
        await page.locator("#section-closed .count", { hasText: "(9)" }).waitFor({ timeout: 30_000 })
        const filtered = Date.now() - t0
        expect(await page.locator("tr.circuit").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-name"))))
          .toEqual([
            "tenant-09999",
            ...Array.from({ length: 9 }, (_, i) => `tenant-0999${i}`)
          ])
        expect(await pager.isHidden()).toBe(true)

        await page.screenshot({ path: join(artifacts, "dashboard-10k.png"), fullPage: true })
        const took = await page.locator("#updated").getAttribute("data-took")
        console.info(
          `[dashboard] 10,000 circuits: seeded in ${seeded} ms; first page shown ${shown} ms after navigation; ` +
            `next page ${paged} ms; prefix filter ${filtered} ms; last poll read in ${took} ms`
        )
        expect(problems).toEqual([])
        expect(violations).toEqual([])
      } finally {
        await context.close()
        await dash.close()
      }
    },
    120_000
  )
})
