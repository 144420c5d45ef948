/**
 * The dashboard's files (`dashboard/`) and their embedded copy
 * (`shared/http/dashboardAssets.ts`, written by scripts/embed-dashboard.ts).
 * test/Dashboard.test.ts serves them and drives the page in Chromium.
 */
import { describe, expect, it } from "@effect/vitest"
import { readFileSync } from "node:fs"
import { render, target } from "../scripts/embed-dashboard.js"
import * as assets from "../shared/http/dashboardAssets.js"

/** The ways a string can become HTML or code in a page. */
const htmlOrCodeSinks = /innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function/

describe("dashboard assets", () => {
  it("the embedded module is up to date with dashboard/ (run `npm run generate`)", () => {
    expect(readFileSync(target, "utf8")).toBe(render())
  })

  it("the script is one classic script that writes no HTML", () => {
    const source = readFileSync(new URL("../dashboard/dashboard.ts", import.meta.url), "utf8")
    expect(source).not.toMatch(htmlOrCodeSinks)
    expect(assets.script).not.toMatch(htmlOrCodeSinks)
    // a classic script parses as a function body: no import, export or top-level await
    expect(() => new Function(assets.script)).not.toThrow()
    expect(assets.script.startsWith(`"use strict";\n(() => {`)).toBe(true)
  })

  it("the page names its script and stylesheet where it is told, and holds no inline script or style", () => {
    const page = assets.html("dashboard/")
    expect(page).toContain(`<script src="dashboard/app.js" defer></script>`)
    expect(page).toContain(`<link rel="stylesheet" href="dashboard/app.css">`)
    expect(assets.html("")).toContain(`<script src="app.js" defer></script>`)
    expect(page).not.toMatch(/<script>|<script(?![^>]*\ssrc=)[^>]*>|<style|\sstyle=|\son[a-z]+=|javascript:/i)
  })
})
