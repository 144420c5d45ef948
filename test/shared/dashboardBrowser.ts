/**
 * Effect-free support of the dashboard suites of both editions: Chromium
 * through playwright-core, a Web handler served by a Node http server, a page
 * that records its problems, and the readings the suites take of it.
 */
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core"

/** Debian's Chromium (apt-get install chromium). */
export const chromiumPath = "/usr/bin/chromium"

/** Starts headless Chromium, or says what to install. */
export const launchChromium = (): Promise<Browser> =>
  chromium.launch({
    executablePath: chromiumPath,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync"
    ],
    timeout: 30_000
  }).catch((error: unknown) => {
    throw new Error(
      `cannot start Chromium at ${chromiumPath} (Debian's chromium package: apt-get install chromium; .ci/run does): ${
        String(error)
      }`
    )
  })

/** Serves a Web handler on a Node http server on a free port of 127.0.0.1. */
export const serve = async (handler: (request: Request) => Promise<Response>) => {
  const listener = http.createServer((req, res) => {
    const respond = async () => {
      const chunks: Array<Buffer> = []
      for await (const chunk of req) chunks.push(chunk as Buffer)
      const headers = new Headers()
      for (const [key, value] of Object.entries(req.headers)) {
        if (value === undefined) continue
        for (const one of Array.isArray(value) ? value : [value]) headers.append(key, one)
      }
      const aborted = new AbortController()
      res.once("close", () => {
        if (!res.writableFinished) aborted.abort()
      })
      const method = req.method ?? "GET"
      const response = await handler(
        new Request(`http://${req.headers.host ?? "127.0.0.1"}${req.url ?? "/"}`, {
          method,
          headers,
          signal: aborted.signal,
          ...(method === "GET" || method === "HEAD" || chunks.length === 0 ? {} : { body: Buffer.concat(chunks) })
        })
      )
      res.statusCode = response.status
      response.headers.forEach((value, key) => res.appendHeader(key, value))
      res.end(Buffer.from(await response.arrayBuffer()))
    }
    respond().catch((error: unknown) => {
      if (!res.headersSent) res.statusCode = 500
      res.end(String(error))
    })
  })
  await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve))
  const { port } = listener.address() as AddressInfo
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        listener.closeAllConnections()
        listener.close(() => resolve())
      })
  }
}

/** What `read` gives once it gives `want`, or at the end of `timeout` ms what it gave last. */
export const eventually = async <A>(read: () => Promise<A>, want: A, timeout = 10_000): Promise<A> => {
  const end = Date.now() + timeout
  let got = await read()
  while (got !== want && Date.now() < end) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    got = await read()
  }
  return got
}

/** What a watched page recorded. */
export interface Watched {
  readonly page: Page
  /** console errors and uncaught exceptions */
  readonly problems: Array<string>
  /** securitypolicyviolation events, as "directive blockedURI" */
  readonly violations: Array<string>
  /** every request the page made, as "METHOD path?query" */
  readonly requests: Array<string>
}

/** A page that records console errors, uncaught errors and CSP violations. */
export const watchedPage = async (context: BrowserContext): Promise<Watched> => {
  const page = await context.newPage()
  const problems: Array<string> = []
  const violations: Array<string> = []
  const requests: Array<string> = []
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console.error: ${message.text()}`)
  })
  page.on("pageerror", (error) => problems.push(`pageerror: ${error.message}`))
  page.on("request", (request) => {
    const url = new URL(request.url())
    requests.push(`${request.method()} ${url.pathname}${url.search}`)
  })
  await page.exposeFunction("reportCspViolation", (violation: string) => {
    violations.push(violation)
  })
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (event) => {
      const report = (window as unknown as { reportCspViolation: (v: string) => void }).reportCspViolation
      report(`${event.violatedDirective} ${event.blockedURI}`)
    })
  })
  return { page, problems, violations, requests }
}

/** The row of circuit `name` in a section of the page. */
export const row = (page: Page, section: string, name: string) =>
  page.locator(`#section-${section} tr[data-name="${name}"]`)

/** Waits until the page has read the circuits `n` more times. */
export const polls = async (page: Page, n: number, timeout = 15_000) => {
  for (let i = 0; i < n; i++) {
    await page.waitForResponse((response) => new URL(response.url()).pathname.endsWith("/circuits"), { timeout })
  }
}

/**
 * The pixels of a PNG, decoded by the browser in a page of its own (no CSP
 * there): how many are not near-white, and how many are the OPEN red.
 */
export const pixelStats = async (browser: Browser, png: Buffer) => {
  const page = await browser.newPage()
  try {
    return await page.evaluate(async (dataUrl) => {
      const image = new Image()
      image.src = dataUrl
      await image.decode()
      const canvas = document.createElement("canvas")
      canvas.width = image.width
      canvas.height = image.height
      const context = canvas.getContext("2d")!
      context.drawImage(image, 0, 0)
      const { data } = context.getImageData(0, 0, image.width, image.height)
      let inked = 0
      let red = 0
      const colours = new Set<number>()
      for (let i = 0; i < data.length; i += 4) {
        const [r, g, b] = [data[i]!, data[i + 1]!, data[i + 2]!]
        colours.add((r << 16) | (g << 8) | b)
        if (r < 235 || g < 235 || b < 235) inked++
        if (Math.abs(r - 220) < 12 && Math.abs(g - 38) < 12 && Math.abs(b - 38) < 12) red++
      }
      return { width: image.width, height: image.height, inked, red, colours: colours.size }
    }, `data:image/png;base64,${png.toString("base64")}`)
  } finally {
    await page.close()
  }
}
