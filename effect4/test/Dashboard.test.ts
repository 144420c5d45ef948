/**
 * The dashboard of CircuitBreakerHttp in a real browser: Debian's Chromium,
 * headless, driven by playwright-core, on the Effect 4 edition's Web handler
 * served by a Node http server, over a memory store shared with a writer
 * runtime (as other instances of a fleet share Redis). The browser support is
 * the root suite's (test/shared/dashboardBrowser.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Scope from "effect/Scope"
import type { Browser } from "playwright-core"
import * as CircuitBreakers from "../src/CircuitBreakers.js"
import * as CircuitStore from "../src/CircuitStore.js"
import { CircuitBreakerHttp } from "../src/http.js"
import { calls } from "./support/monitoring.js"
import { launchChromium, polls, row, serve, watchedPage } from "../../test/shared/dashboardBrowser.js"
import { dashboardCsp } from "../../test/shared/monitoringCases.js"

const adminToken = "s3cret-admin"

let browser: Browser
beforeAll(async () => {
  browser = await launchChromium()
}, 60_000)
afterAll(async () => {
  await browser?.close()
})

/**
 * The routes under `/ops/cb` on a memory store, served over HTTP, and a
 * writer runtime on the same store.
 */
const dashboardServer = async (options: Partial<CircuitBreakerHttp.Options> = {}) => {
  const scope = Scope.makeUnsafe()
  const store = await Effect.runPromise(
    Effect.map(Layer.buildWithScope(CircuitStore.layerMemory, scope), Context.get(CircuitStore.CircuitStore))
  )
  const storeLayer = Layer.succeed(CircuitStore.CircuitStore)(store)
  const web = CircuitBreakerHttp.toWebHandler(storeLayer, { basePath: "/ops/cb", ...options })
  const served = await serve(web.handler)
  const writer = ManagedRuntime.make(
    CircuitBreakers.layer({ defaults: { failureThreshold: 2, recoveryTimeout: "1 minute" } }).pipe(
      Layer.provideMerge(storeLayer)
    )
  )
  return {
    base: `${served.origin}/ops/cb`,
    writer,
    state: (name: string) =>
      writer.runPromise(
        Effect.flatMap(CircuitBreakers.CircuitBreakers, (registry) =>
          Effect.flatMap(registry.get(name), (breaker) => breaker.state))
      ),
    close: async () => {
      await served.close()
      await web.dispose()
      await writer.dispose()
      await Effect.runPromise(Scope.close(scope, Exit.void))
    }
  }
}

describe("dashboard in headless Chromium (Effect 4 edition)", () => {
  it("loads under its CSP with no console error; an OPEN circuit in red with its alert; names are text", async () => {
    const hostile = `<img src=x onerror="window.pwned=1"> & "quotes" {braces}`
    const dash = await dashboardServer()
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
    try {
      await dash.writer.runPromise(Effect.all([calls("payments", 0, 2), calls("search", 3, 0), calls(hostile, 0, 2)]))
      const { page, problems, requests, violations } = await watchedPage(context)
      const response = await page.goto(`${dash.base}/dashboard`)
      expect(response?.headers()["content-security-policy"]).toBe(dashboardCsp)

      const payments = row(page, "not-closed", "payments")
      await payments.waitFor({ timeout: 15_000 })
      const badge = payments.locator(".state")
      expect(await badge.textContent()).toBe("OPEN")
      expect(await badge.evaluate((node) => getComputedStyle(node).backgroundColor)).toBe("rgb(220, 38, 38)")
      const closedBadge = row(page, "closed", "search").locator(".state")
      expect(await closedBadge.textContent()).toBe("CLOSED")
      expect(await payments.locator(".countdown").textContent()).toMatch(/^in (\d{1,2}s|1m 0\ds)$/)
      expect(await row(page, "closed", "search").locator(".window").textContent()).toBe("0 / 3")
      const openAlerts = page.locator(`#alerts li[data-kind="open"]`)
      await openAlerts.nth(1).waitFor({ timeout: 5_000 })
      expect(await openAlerts.count()).toBe(2)
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
      expect(await page.locator("button[data-action]").count()).toBe(0)

      // polling goes on through relative URLs under the base path, and stays clean
      await polls(page, 2)
      const reads = requests.filter((r) => r.startsWith("GET /ops/cb/circuits?"))
      expect(reads).toContain(
        "GET /ops/cb/circuits?state=OPEN&state=HALF_OPEN&state=FORCED_OPEN&state=FORCED_CLOSED&limit=50"
      )
      expect(reads).toContain("GET /ops/cb/circuits?state=CLOSED&limit=50")
      expect(requests).toContain("GET /ops/cb/alerts")
      expect(requests).toContain("GET /ops/cb/dashboard/permissions")
      expect(requests.every((r) => r.includes(" /ops/cb/"))).toBe(true)
      expect(problems).toEqual([])
      expect(violations).toEqual([])

      // the page also works at …/dashboard/ (its files relative to the slash)
      const slash = await watchedPage(context)
      await slash.page.goto(`${dash.base}/dashboard/`)
      await row(slash.page, "not-closed", "payments").waitFor({ timeout: 15_000 })
      expect(slash.problems).toEqual([])
      expect(slash.violations).toEqual([])
    } finally {
      await context.close()
      await dash.close()
    }
  }, 60_000)

  it(
    "admin buttons: absent without authorization, shown with the token, confirmed, and the reset reaches the store",
    async () => {
      const dash = await dashboardServer({ authorize: CircuitBreakerHttp.bearer(adminToken) })
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
      try {
        await dash.writer.runPromise(calls("payments", 0, 2))
        expect(await dash.state("payments")).toBe("OPEN")
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
        expect(await dash.state("payments")).toBe("OPEN")

        // accepted: the POST carries the token, and the store holds CLOSED
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
        expect(await dash.state("payments")).toBe("CLOSED")
        await row(page, "closed", "payments").locator(".state", { hasText: /^CLOSED$/ }).waitFor({ timeout: 10_000 })
        await page.locator("#action-status", { hasText: `Reset "payments": now CLOSED` }).waitFor({ timeout: 5_000 })
        expect(posts()).toEqual(["POST /ops/cb/circuits/payments/reset"])
        expect(problems).toEqual([])
        expect(violations).toEqual([])
      } finally {
        await context.close()
        await dash.close()
      }
    },
    60_000
  )
})
