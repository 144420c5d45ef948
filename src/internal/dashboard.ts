/**
 * The dashboard of `CircuitBreakerHttp` (`GET /dashboard`): one page, its
 * script and its stylesheet, served from sibling routes so that the page runs
 * under a strict Content-Security-Policy (no inline script, no style
 * attribute, no other origin), and `GET /dashboard/permissions`, which tells
 * the page whether to show the admin buttons.
 *
 * The page is plain HTML; the script polls the routes next to it (`circuits`,
 * `alerts`, the admin `POST`s) through URLs relative to its own, so it works
 * under any `basePath` or proxy prefix. Every value from the server reaches
 * the page through `textContent` or an attribute, never as HTML.
 *
 * @internal
 */
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"

/** @internal */
export const contentSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'"
].join("; ")

const assetHeaders = {
  "cache-control": "no-cache",
  "x-content-type-options": "nosniff",
  "cross-origin-resource-policy": "same-origin"
}

/**
 * The page. `assets` is where its script and stylesheet are, relative to the
 * page's own URL: `dashboard/` for `…/dashboard`, `` for `…/dashboard/`.
 *
 * @internal
 */
export const html = (assets: string): string =>
  `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Circuit breakers</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${assets}app.css">
<script src="${assets}app.js" defer></script>
</head>
<body>
<header class="top">
  <h1>Circuit breakers</h1>
  <p id="summary" class="summary"></p>
  <p id="updated" class="updated">Loading…</p>
</header>
<div id="banner-incomplete" class="banner banner-incomplete" role="alert" hidden></div>
<div id="banner-error" class="banner banner-error" role="alert" hidden></div>
<noscript><p class="banner banner-error">This dashboard needs JavaScript.</p></noscript>
<div class="controls">
  <label>State
    <select id="filter-state">
      <option value="all" selected>all (not closed first)</option>
      <option value="OPEN">OPEN</option>
      <option value="HALF_OPEN">HALF_OPEN</option>
      <option value="FORCED_OPEN">FORCED_OPEN</option>
      <option value="FORCED_CLOSED">FORCED_CLOSED</option>
      <option value="CLOSED">CLOSED</option>
    </select>
  </label>
  <label>Name starts with
    <input id="filter-prefix" type="search" autocomplete="off" spellcheck="false" maxlength="256">
  </label>
  <label>Per page
    <select id="page-size">
      <option value="25">25</option>
      <option value="50" selected>50</option>
      <option value="100">100</option>
    </select>
  </label>
  <form id="token-form" class="token" autocomplete="off">
    <label>Admin token
      <input id="token" type="password" autocomplete="off" spellcheck="false" placeholder="none">
    </label>
    <button type="submit" id="token-use">Use</button>
    <button type="button" id="token-forget">Forget</button>
    <span id="admin-status" class="admin-status">read-only</span>
  </form>
</div>
<main class="layout">
  <div id="sections" class="sections"></div>
  <aside class="alerts-panel">
    <h2>Alerts <span id="alert-count" class="count"></span></h2>
    <ul id="alerts" class="alerts"></ul>
  </aside>
</main>
<p id="action-status" class="action-status" role="status" aria-live="polite"></p>
</body>
</html>
`

/** @internal */
export const css = `:root {
  color-scheme: light;
  --fg: #1f2937;
  --muted: #6b7280;
  --line: #e5e7eb;
  --bg: #f9fafb;
  --closed: #15803d;
  --open: #dc2626;
  --half-open: #d97706;
  --forced-open: #7c3aed;
  --forced-closed: #2563eb;
}
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body {
  margin: 0;
  padding: 1rem 1.5rem 3rem;
  font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--fg);
  background: var(--bg);
}
h1 { font-size: 1.4rem; margin: 0; }
h2 { font-size: 1.05rem; margin: 1.2rem 0 0.4rem; }
.top { display: flex; flex-wrap: wrap; align-items: baseline; gap: 0.4rem 1.5rem; }
.summary { margin: 0; font-weight: 600; }
.updated { margin: 0; color: var(--muted); }
.updated.stale { color: var(--open); font-weight: 600; }
.banner { margin: 0.8rem 0 0; padding: 0.6rem 0.9rem; border-radius: 6px; font-weight: 600; }
.banner-incomplete { background: #fef3c7; border: 1px solid #f59e0b; color: #78350f; }
.banner-error { background: #fee2e2; border: 1px solid #ef4444; color: #7f1d1d; }
.controls { display: flex; flex-wrap: wrap; align-items: end; gap: 0.6rem 1.2rem; margin: 1rem 0 0; }
.controls label { display: flex; flex-direction: column; gap: 0.15rem; color: var(--muted); font-size: 0.85rem; }
.controls input, .controls select { font: inherit; padding: 0.25rem 0.4rem; border: 1px solid #d1d5db; border-radius: 4px; background: #fff; color: var(--fg); }
.token { display: flex; flex-wrap: wrap; align-items: end; gap: 0.4rem; margin-left: auto; }
.admin-status { color: var(--muted); font-size: 0.85rem; align-self: center; }
button { font: inherit; padding: 0.2rem 0.6rem; border: 1px solid #9ca3af; border-radius: 4px; background: #fff; color: var(--fg); cursor: pointer; }
button:hover:not(:disabled) { background: #f3f4f6; }
button:disabled { opacity: 0.45; cursor: default; }
.layout { display: grid; grid-template-columns: minmax(0, 3fr) minmax(16rem, 1fr); gap: 0 1.5rem; align-items: start; }
@media (max-width: 60rem) { .layout { grid-template-columns: minmax(0, 1fr); } }
.count { color: var(--muted); font-weight: 400; }
table { width: 100%; border-collapse: collapse; background: #fff; border: 1px solid var(--line); }
th, td { padding: 0.35rem 0.55rem; border-bottom: 1px solid var(--line); text-align: left; vertical-align: middle; }
th { font-size: 0.8rem; color: var(--muted); font-weight: 600; background: #f3f4f6; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.circuit td:first-child { border-left: 4px solid transparent; }
tr.circuit.row-OPEN td:first-child { border-left-color: var(--open); }
tr.circuit.row-HALF_OPEN td:first-child { border-left-color: var(--half-open); }
tr.circuit.row-FORCED_OPEN td:first-child { border-left-color: var(--forced-open); }
tr.circuit.row-FORCED_CLOSED td:first-child { border-left-color: var(--forced-closed); }
td.name { min-width: 8rem; }
.name-text { display: inline-block; max-width: 22rem; overflow-wrap: break-word; }
.service { display: block; color: var(--muted); font-size: 0.8rem; }
.state { display: inline-block; min-width: 6.5rem; padding: 0.1rem 0.45rem; border-radius: 999px; color: #fff; font-size: 0.78rem; font-weight: 700; text-align: center; letter-spacing: 0.02em; }
.state-CLOSED { background: var(--closed); }
.state-OPEN { background: var(--open); }
.state-HALF_OPEN { background: var(--half-open); }
.state-FORCED_OPEN { background: var(--forced-open); }
.state-FORCED_CLOSED { background: var(--forced-closed); }
.state-unknown { background: var(--muted); }
.local { margin-left: 0.3rem; color: var(--open); font-size: 0.75rem; font-weight: 700; }
.failures { display: inline-flex; align-items: center; gap: 0.4rem; }
svg.spark { width: 84px; height: 24px; overflow: visible; flex: none; }
svg.spark polyline { fill: none; stroke: #374151; stroke-width: 2; stroke-linejoin: round; stroke-linecap: round; }
svg.spark polygon { fill: #374151; fill-opacity: 0.15; stroke: none; }
svg.spark circle { fill: #374151; }
svg.spark.rising polyline { stroke: var(--open); }
svg.spark.rising polygon, svg.spark.rising circle { fill: var(--open); }
svg.spark line.base { stroke: #d1d5db; stroke-width: 1; }
.window { white-space: nowrap; }
.countdown, .since { white-space: nowrap; }
.countdown.due { color: var(--half-open); font-weight: 600; }
.muted { color: var(--muted); }
td.actions { white-space: nowrap; }
td.actions button { padding: 0.1rem 0.45rem; font-size: 0.8rem; margin-right: 0.25rem; }
button.danger { border-color: var(--open); color: var(--open); }
tr.empty td { color: var(--muted); text-align: center; padding: 1rem; }
.pager { display: flex; align-items: center; gap: 0.8rem; margin: 0.4rem 0 0; color: var(--muted); }
.alerts { list-style: none; margin: 0; padding: 0; }
.alerts li { background: #fff; border: 1px solid var(--line); border-left: 4px solid #f59e0b; border-radius: 4px; padding: 0.4rem 0.6rem; margin: 0 0 0.4rem; word-break: break-word; }
.alerts li.severity-critical { border-left-color: var(--open); }
.alerts li.none, .alerts li.more { border-left-color: var(--line); color: var(--muted); }
.alerts .severity { font-weight: 700; text-transform: uppercase; font-size: 0.72rem; margin-right: 0.4rem; }
.alerts .severity-critical .severity { color: var(--open); }
.alerts .severity-warning .severity { color: #b45309; }
.alerts .kind { font-size: 0.75rem; color: var(--muted); }
.alerts .message { display: block; }
.alerts .since { display: block; font-size: 0.75rem; color: var(--muted); }
.action-status { position: fixed; bottom: 0.8rem; left: 1.5rem; margin: 0; padding: 0.4rem 0.8rem; border-radius: 4px; background: #111827; color: #fff; }
.action-status:empty { display: none; }
`

/**
 * The page's script, a classic script (it finds the routes relative to its
 * own URL through `document.currentScript`). No template literal inside: it
 * is embedded as `String.raw`.
 *
 * @internal
 */
export const script = String.raw`(function () {
  "use strict";

  var TOKEN_KEY = "effect-circuit-breaker-redis/dashboard/token";
  var POLL_MS = 2000;
  var HISTORY_POINTS = 30;
  var HISTORY_CIRCUITS = 2000;
  var ALERTS_SHOWN = 50;
  var STATES = ["CLOSED", "OPEN", "HALF_OPEN", "FORCED_OPEN", "FORCED_CLOSED"];
  var NOT_CLOSED = ["OPEN", "HALF_OPEN", "FORCED_OPEN", "FORCED_CLOSED"];
  var ACTIONS = [
    {
      verb: "reset",
      label: "Reset",
      question: function (name) {
        return "Reset " + JSON.stringify(name) + " to CLOSED?\n\nEvery instance lets its calls through again " +
          "(from its next store round trip, within its stateCacheTtl), and its failure count starts from zero.";
      }
    },
    {
      verb: "force-open",
      label: "Force open",
      danger: true,
      question: function (name) {
        return "Force " + JSON.stringify(name) + " OPEN?\n\nEvery instance rejects its calls with CircuitOpen " +
          "until the circuit is reset or forced closed.";
      }
    },
    {
      verb: "force-close",
      label: "Force close",
      question: function (name) {
        return "Force " + JSON.stringify(name) + " CLOSED?\n\nEvery instance lets all its calls through, " +
          "whatever fails, until the circuit is reset or forced open.";
      }
    }
  ];

  // the routes are next to the dashboard: <root>/circuits, <root>/alerts, <root>/dashboard/...
  var current = document.currentScript;
  var root = current && current.src
    ? new URL("../", current.src)
    : new URL(location.pathname.replace(/dashboard\/?$/, ""), location.href);

  function byId(id) { return document.getElementById(id); }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function svg(tag) { return document.createElementNS("http://www.w3.org/2000/svg", tag); }

  function readToken() {
    try { return sessionStorage.getItem(TOKEN_KEY) || ""; } catch (e) { return ""; }
  }

  function writeToken(value) {
    try {
      if (value) sessionStorage.setItem(TOKEN_KEY, value); else sessionStorage.removeItem(TOKEN_KEY);
    } catch (e) { /* storage refused: the token lives as long as the page */ }
  }

  var token = readToken();
  var admin = false;
  var permissionsAsked = 0;
  var clockOffset = 0;
  var pageSize = 50;
  var filter = { state: "all", prefix: "" };
  var sections = [];
  var history = new Map();
  var timer = null;
  var polls = 0;
  var inFlight = null;
  var lastUpdate = 0;
  var statusTimer = null;

  function authorization() {
    if (!token) return null;
    // "Basic …" or another scheme is sent as it is; a bare token as a bearer token
    return /\s/.test(token) ? token : "Bearer " + token;
  }

  // the server's clock, from the Date header, when it is far from this browser's
  function noteClock(response) {
    var date = Date.parse(response.headers.get("date") || "");
    if (isNaN(date)) return;
    var offset = date + 500 - Date.now();
    clockOffset = Math.abs(offset) > 2000 ? offset : 0;
  }

  function now() { return Date.now() + clockOffset; }

  function call(method, path, signal) {
    var headers = { accept: "application/json" };
    var auth = authorization();
    if (auth) headers.authorization = auth;
    var init = { method: method, headers: headers, credentials: "same-origin", cache: "no-store" };
    if (signal) init.signal = signal;
    return fetch(new URL(path, root).toString(), init).then(function (response) {
      noteClock(response);
      return response.text().then(function (text) {
        var body = null;
        try { body = text ? JSON.parse(text) : null; } catch (e) { body = null; }
        return { status: response.status, ok: response.ok, body: body };
      });
    });
  }

  function expectOk(path) {
    return function (reply) {
      if (!reply.ok || reply.body === null) {
        var detail = reply.body && typeof reply.body.message === "string" ? ": " + reply.body.message : "";
        throw new Error(path + " answered HTTP " + reply.status + detail);
      }
      return reply.body;
    };
  }

  // ---------------------------------------------------------------------------
  // formatting
  // ---------------------------------------------------------------------------

  function pad(n) { return n < 10 ? "0" + n : String(n); }

  function duration(ms) {
    var s = Math.max(0, Math.ceil(ms / 1000));
    if (s < 60) return s + "s";
    var m = Math.floor(s / 60);
    if (m < 60) return m + "m " + pad(s % 60) + "s";
    var h = Math.floor(m / 60);
    if (h < 48) return h + "h " + pad(m % 60) + "m";
    return Math.floor(h / 24) + "d " + (h % 24) + "h";
  }

  function ago(t) {
    var ms = now() - t;
    if (ms < 1500) return "just now";
    return duration(ms) + " ago";
  }

  function clock(t) {
    var d = new Date(t);
    return pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
  }

  function plural(n, one, many) { return n + " " + (n === 1 ? one : many); }

  function say(message) {
    var status = byId("action-status");
    status.textContent = message;
    clearTimeout(statusTimer);
    statusTimer = setTimeout(function () { status.textContent = ""; }, 8000);
  }

  // ---------------------------------------------------------------------------
  // failures over time: kept here, from successive polls
  // ---------------------------------------------------------------------------

  function remember(name, failures, at) {
    var points = history.get(name);
    if (points === undefined) points = [];
    else history.delete(name); // re-inserted: the map's order is the order of last use
    var last = points[points.length - 1];
    if (last === undefined || at - last.t >= 1000) points.push({ t: at, v: failures });
    else last.v = failures;
    if (points.length > HISTORY_POINTS) points.splice(0, points.length - HISTORY_POINTS);
    history.set(name, points);
    while (history.size > HISTORY_CIRCUITS) history.delete(history.keys().next().value);
    return points;
  }

  // the last polls' failures across the chart's width, oldest left, the newest at the right edge
  // with a dot; the area under the line shaded; a zero lies on the base line, a value above it
  // scales to the highest shown
  function sparkline(points) {
    var width = 84, height = 24, top = 3, bottom = height - 2;
    var chart = svg("svg");
    chart.setAttribute("class", "spark" + (points.length > 1 && points[points.length - 1].v > points[0].v ? " rising" : ""));
    chart.setAttribute("viewBox", "0 0 " + width + " " + height);
    chart.setAttribute("role", "img");
    var max = 1;
    points.forEach(function (p) { if (p.v > max) max = p.v; });
    var right = width - 3;
    var step = (right - 3) / Math.max(1, points.length - 1);
    var xy = points.map(function (p, i) {
      return [right - (points.length - 1 - i) * step, bottom - (p.v / max) * (bottom - top)];
    });
    var coords = xy.map(function (c) { return c[0].toFixed(1) + "," + c[1].toFixed(1); });
    var base = svg("line");
    base.setAttribute("class", "base");
    base.setAttribute("x1", "0");
    base.setAttribute("x2", String(width));
    base.setAttribute("y1", String(bottom));
    base.setAttribute("y2", String(bottom));
    chart.appendChild(base);
    if (xy.length > 1) {
      var area = svg("polygon");
      area.setAttribute("points", xy[0][0].toFixed(1) + "," + bottom + " " + coords.join(" ") + " " +
        xy[xy.length - 1][0].toFixed(1) + "," + bottom);
      chart.appendChild(area);
      var line = svg("polyline");
      line.setAttribute("points", coords.join(" "));
      chart.appendChild(line);
    }
    var last = xy[xy.length - 1];
    var dot = svg("circle");
    dot.setAttribute("cx", last[0].toFixed(1));
    dot.setAttribute("cy", last[1].toFixed(1));
    dot.setAttribute("r", "2.5");
    chart.appendChild(dot);
    var title = svg("title");
    title.textContent = "failures in the window at each poll: " + points.map(function (p) { return p.v; }).join(", ");
    chart.appendChild(title);
    return chart;
  }

  // a name as text, with places to wrap after its separators (- _ . / : @ =) rather than inside a
  // word; a part longer than the column still wraps (overflow-wrap), and the title holds it whole
  function nameText(name) {
    var span = el("span", "name-text");
    span.title = name;
    var start = 0;
    for (var i = 0; i < name.length; i++) {
      if ("-_./:@=".indexOf(name.charAt(i)) >= 0 && i + 1 < name.length) {
        span.appendChild(document.createTextNode(name.slice(start, i + 1)));
        span.appendChild(document.createElement("wbr"));
        start = i + 1;
      }
    }
    span.appendChild(document.createTextNode(name.slice(start)));
    return span;
  }

  // ---------------------------------------------------------------------------
  // sections of the table, each read and paged on the server
  // ---------------------------------------------------------------------------

  function makeSection(key, title, states) {
    var section = {
      key: key, title: title, states: states, cursors: [], cursor: null, page: 0, read: null,
      node: el("section", "circuits"), count: el("span", "count"), body: el("tbody"),
      prev: el("button", "prev", "\u2190 Previous"), next: el("button", "next", "Next \u2192"),
      info: el("span", "page-info"), pager: el("div", "pager")
    };
    section.node.id = "section-" + key;
    var heading = el("h2", null, title + " ");
    heading.appendChild(section.count);
    var table = el("table");
    var head = el("thead");
    var row = el("tr");
    [["Circuit", ""], ["State", ""], ["Window failures / calls", ""], ["Opens", "num"], ["Next probe", ""],
      ["Fleet calls", "num"], ["Failure rate", "num"], ["Last change", ""]].forEach(function (c) {
      var th = el("th", c[1], c[0]);
      th.setAttribute("scope", "col");
      if (c[0] === "Opens") th.title = "times opened in a row without closing, the current open included";
      row.appendChild(th);
    });
    section.actionsHead = el("th", "actions-head", "Actions");
    section.actionsHead.setAttribute("scope", "col");
    row.appendChild(section.actionsHead);
    head.appendChild(row);
    table.appendChild(head);
    table.appendChild(section.body);
    section.prev.type = "button";
    section.next.type = "button";
    section.prev.addEventListener("click", function () {
      if (section.page === 0) return;
      section.page--;
      section.cursor = section.cursors.pop();
      if (section.cursor === undefined) section.cursor = null;
      poll();
    });
    section.next.addEventListener("click", function () {
      if (!section.read || section.read.nextCursor === null) return;
      section.cursors.push(section.cursor);
      section.cursor = section.read.nextCursor;
      section.page++;
      poll();
    });
    section.pager.appendChild(section.prev);
    section.pager.appendChild(section.info);
    section.pager.appendChild(section.next);
    section.node.appendChild(heading);
    section.node.appendChild(table);
    section.node.appendChild(section.pager);
    section.body.appendChild(emptyRow("Loading…"));
    section.pager.hidden = true;
    return section;
  }

  function configure() {
    sections = filter.state === "all"
      ? [makeSection("not-closed", "Not closed", NOT_CLOSED), makeSection("closed", "Closed", ["CLOSED"])]
      : [makeSection(filter.state, filter.state, [filter.state])];
    var holder = byId("sections");
    holder.replaceChildren.apply(holder, sections.map(function (s) { return s.node; }));
  }

  function firstPages() {
    sections.forEach(function (s) { s.cursors = []; s.cursor = null; s.page = 0; });
  }

  function query(section) {
    var q = new URLSearchParams();
    section.states.forEach(function (state) { q.append("state", state); });
    if (filter.prefix) q.set("prefix", filter.prefix);
    q.set("limit", String(pageSize));
    if (section.cursor !== null) q.set("cursor", section.cursor);
    return "circuits?" + q.toString();
  }

  function emptyRow(text) {
    var tr = el("tr", "empty");
    var td = el("td", null, text);
    td.colSpan = 9;
    tr.appendChild(td);
    return tr;
  }

  // fresh: a row of a new poll, whose failures join the circuit's history
  function circuitRow(c, at, fresh) {
    var state = STATES.indexOf(c.state) >= 0 ? c.state : "unknown";
    var tr = el("tr", "circuit row-" + state);
    tr.setAttribute("data-name", String(c.name));

    var name = el("td", "name");
    name.appendChild(nameText(String(c.name)));
    if (c.service !== c.name) name.appendChild(el("span", "service", c.service));
    tr.appendChild(name);

    var stateCell = el("td");
    var badge = el("span", "state state-" + state, c.state);
    badge.title = c.status + (c.storeUnavailable ? " (this server runs it on its local fallback: the store is unavailable)" : "");
    stateCell.appendChild(badge);
    if (c.storeUnavailable) stateCell.appendChild(el("span", "local", "local"));
    tr.appendChild(stateCell);

    var failures = el("td");
    var box = el("span", "failures");
    // only CLOSED and FORCED_CLOSED count calls in a window: it is emptied when the circuit opens
    var counting = c.state === "CLOSED" || c.state === "FORCED_CLOSED";
    if (counting) {
      box.appendChild(el("span", "window", c.windowFailures + " / " + c.windowCalls));
    } else {
      var none = el("span", "window muted", "–");
      none.title = "no window while " + c.state + ": it is emptied when the circuit opens and counts again once it " +
        "closes; the fleet's calls and failure rate are in their columns";
      box.appendChild(none);
    }
    // the failures that led here stay on the chart: no point is added while the window does not count
    var points = fresh && counting ? remember(c.name, c.windowFailures, at) : history.get(c.name);
    if (points && points.length > 0) box.appendChild(sparkline(points));
    failures.appendChild(box);
    tr.appendChild(failures);

    // opens in a row: the current open (OPEN, or probing in HALF_OPEN) and the re-opens before it
    var inRow = c.state === "OPEN" || c.state === "HALF_OPEN" ? c.openCount + 1 : c.openCount;
    var opens = el("td", "num opens", inRow);
    opens.title = c.state === "OPEN" || c.state === "HALF_OPEN"
      ? "opened " + plural(inRow, "time", "times") + " in a row without closing (" + plural(c.openCount, "re-open", "re-opens") + ")"
      : "not open";
    tr.appendChild(opens);

    var probe = el("td");
    if (typeof c.retryAt === "number") {
      var countdown = el("span", "countdown");
      countdown.setAttribute("data-retry-at", String(c.retryAt));
      probe.appendChild(countdown);
    } else {
      probe.appendChild(el("span", "muted", "\u2013"));
    }
    tr.appendChild(probe);

    tr.appendChild(el("td", "num", c.fleet.calls));
    tr.appendChild(el("td", "num", c.fleet.failureRate === null ? "\u2013" : (c.fleet.failureRate * 100).toFixed(1) + "%"));

    var changed = el("td", "changed");
    if (typeof c.lastTransitionAt === "number") {
      var since = el("span", "since");
      since.setAttribute("data-since", String(c.lastTransitionAt));
      since.title = new Date(c.lastTransitionAt).toISOString();
      changed.appendChild(since);
    } else {
      changed.appendChild(el("span", "muted", "\u2013"));
    }
    tr.appendChild(changed);

    if (admin) {
      var actions = el("td", "actions");
      ACTIONS.forEach(function (action) {
        var button = el("button", "action" + (action.danger ? " danger" : ""), action.label);
        button.type = "button";
        button.setAttribute("data-action", action.verb);
        button.addEventListener("click", function () { act(action, String(c.name), button); });
        actions.appendChild(button);
      });
      tr.appendChild(actions);
    }
    return tr;
  }

  function renderSection(section, read, at, fresh) {
    section.read = read;
    var before = section.page * pageSize;
    // with a state filter the total counts the matching circuits from the cursor on
    var total = before + read.total;
    section.count.textContent = "(" + total + ")";
    var rows = read.circuits.map(function (c) { return circuitRow(c, at, fresh); });
    if (rows.length === 0) {
      rows.push(emptyRow(read.complete === false
        ? "No circuits could be read"
        : section.page === 0 ? "No circuits" : "No circuits on this page"));
    }
    section.body.replaceChildren.apply(section.body, rows);
    section.actionsHead.hidden = !admin;
    section.prev.disabled = section.page === 0;
    section.next.disabled = read.nextCursor === null;
    section.pager.hidden = section.page === 0 && read.nextCursor === null;
    section.info.textContent = read.circuits.length === 0
      ? "page " + (section.page + 1)
      : "page " + (section.page + 1) + " \u00b7 " + (before + 1) + "\u2013" + (before + read.circuits.length) + " of " + total;
  }

  function rerender() {
    var at = now();
    sections.forEach(function (s) { if (s.read) renderSection(s, s.read, at, false); });
  }

  function renderAlerts(alerts) {
    var list = byId("alerts");
    var critical = 0;
    alerts.forEach(function (a) { if (a.severity === "critical") critical++; });
    var items = alerts.slice(0, ALERTS_SHOWN).map(function (a) {
      var li = el("li", "alert severity-" + (a.severity === "critical" ? "critical" : "warning"));
      li.setAttribute("data-kind", String(a.kind));
      li.setAttribute("data-service", String(a.service));
      li.appendChild(el("span", "severity", a.severity));
      li.appendChild(el("span", "kind", a.kind));
      li.appendChild(el("span", "message", a.message));
      var since = el("span", "since");
      since.setAttribute("data-since", String(a.since));
      li.appendChild(since);
      return li;
    });
    if (alerts.length > ALERTS_SHOWN) items.push(el("li", "more", "and " + (alerts.length - ALERTS_SHOWN) + " more"));
    if (alerts.length === 0) items.push(el("li", "none", "No alerts"));
    list.replaceChildren.apply(list, items);
    byId("alert-count").textContent = alerts.length === 0
      ? ""
      : "(" + plural(critical, "critical", "critical") + ", " + (alerts.length - critical) + " warning)";
    return { count: alerts.length, critical: critical };
  }

  function showBanner(id, text) {
    var banner = byId(id);
    banner.textContent = text || "";
    banner.hidden = !text;
  }

  function renderSummary(alertSummary, incomplete) {
    var parts = sections.map(function (s) {
      return s.read ? s.title.toLowerCase() + ": " + (s.page * pageSize + s.read.total) : null;
    }).filter(function (p) { return p !== null; });
    if (alertSummary) parts.push(plural(alertSummary.count, "alert", "alerts"));
    if (incomplete) parts.push("read incomplete");
    byId("summary").textContent = parts.join(" \u00b7 ");
  }

  // ---------------------------------------------------------------------------
  // polling
  // ---------------------------------------------------------------------------

  function schedule(id) {
    clearTimeout(timer);
    timer = setTimeout(function () { if (id === polls) poll(); }, POLL_MS);
  }

  function poll() {
    clearTimeout(timer);
    var id = ++polls;
    if (inFlight) inFlight.abort();
    if (document.hidden) { inFlight = null; schedule(id); return; }
    var controller = typeof AbortController === "function" ? new AbortController() : null;
    inFlight = controller;
    var signal = controller ? controller.signal : undefined;
    var started = Date.now();
    var settle = function (promise) {
      return promise.then(function (value) { return { value: value }; }, function (error) { return { error: error }; });
    };
    var reads = sections.map(function (s) {
      var path = query(s);
      return settle(call("GET", path, signal).then(expectOk("circuits")));
    });
    var alerts = settle(call("GET", "alerts", signal).then(expectOk("alerts")));
    Promise.all([Promise.all(reads), alerts]).then(function (results) {
      if (id !== polls) return;
      inFlight = null;
      try {
        render(results, started);
      } catch (error) {
        showBanner("banner-error", "The dashboard failed to show what it read: " + (error && error.message ? error.message : String(error)));
      }
      schedule(id);
    });
  }

  function render(results, started) {
    var at = now();
    var errors = [];
    var incomplete = null;
    results[0].forEach(function (result, i) {
      if (result.error) { errors.push(result.error.message || String(result.error)); return; }
      renderSection(sections[i], result.value, at, true);
      var read = result.value;
      if (read.complete === false && (incomplete === null || read.unreadable > incomplete.unreadable)) incomplete = read;
    });
    var alertSummary = null;
    if (results[1].error) errors.push(results[1].error.message || String(results[1].error));
    else alertSummary = renderAlerts(Array.isArray(results[1].value.alerts) ? results[1].value.alerts : []);
    renderSummary(alertSummary, incomplete !== null);
    showBanner("banner-incomplete", incomplete === null
      ? ""
      : plural(incomplete.unreadable, "circuit", "circuits") + " could not be read: " + (incomplete.reason || "unknown reason"));
    if (errors.length === 0) {
      lastUpdate = Date.now();
      showBanner("banner-error", "");
      byId("updated").setAttribute("data-took", String(lastUpdate - started));
    } else {
      showBanner("banner-error", "The dashboard could not read the server (" + errors.join("; ") + ")" +
        (lastUpdate > 0 ? "; what is shown is from " + clock(lastUpdate) : ""));
    }
    tick();
  }

  // countdowns, relative times and the age of what is shown, every second
  function tick() {
    var t = now();
    var countdowns = document.querySelectorAll("[data-retry-at]");
    for (var i = 0; i < countdowns.length; i++) {
      var left = Number(countdowns[i].getAttribute("data-retry-at")) - t;
      countdowns[i].textContent = left > 0 ? "in " + duration(left) : "probe due";
      countdowns[i].classList.toggle("due", left <= 0);
    }
    var times = document.querySelectorAll("[data-since]");
    for (var j = 0; j < times.length; j++) times[j].textContent = ago(Number(times[j].getAttribute("data-since")));
    var updated = byId("updated");
    if (lastUpdate > 0) {
      var age = Date.now() - lastUpdate;
      var took = updated.getAttribute("data-took");
      updated.textContent = "updated " + clock(lastUpdate) + (took ? " (read in " + took + " ms)" : "") +
        (age > 3 * POLL_MS + 5000 ? ", " + duration(age) + " ago" : "");
      updated.classList.toggle("stale", age > 3 * POLL_MS + 5000);
    }
  }

  // ---------------------------------------------------------------------------
  // admin
  // ---------------------------------------------------------------------------

  function checkPermissions() {
    var asked = ++permissionsAsked;
    return call("GET", "dashboard/permissions").then(function (reply) {
      if (asked !== permissionsAsked) return;
      var allowed = reply.ok && reply.body !== null && reply.body.admin === true;
      var changed = allowed !== admin;
      admin = allowed;
      document.body.classList.toggle("admin", admin);
      byId("admin-status").textContent = admin
        ? "admin actions enabled"
        : token ? "this token may not act: read-only" : "read-only";
      byId("token").placeholder = token ? "token set (this tab)" : "none";
      if (changed) rerender();
    }, function () {
      if (asked === permissionsAsked) byId("admin-status").textContent = "could not ask for permissions: read-only";
    });
  }

  function act(action, name, button) {
    if (!window.confirm(action.question(name))) return;
    button.disabled = true;
    call("POST", "circuits/" + encodeURIComponent(name) + "/" + action.verb).then(function (reply) {
      if (reply.ok) {
        say(action.label + " " + JSON.stringify(name) + ": now " + (reply.body && reply.body.state ? reply.body.state : "done"));
      } else if (reply.status === 403 || reply.status === 404) {
        say(action.label + " " + JSON.stringify(name) + " was refused (HTTP " + reply.status + ")");
        checkPermissions();
      } else {
        say(action.label + " " + JSON.stringify(name) + " failed: " +
          (reply.body && reply.body.message ? reply.body.message : "HTTP " + reply.status));
      }
    }, function (error) {
      say(action.label + " " + JSON.stringify(name) + " failed: " + (error && error.message ? error.message : String(error)));
    }).then(function () {
      button.disabled = false;
      poll();
    });
  }

  // ---------------------------------------------------------------------------
  // controls
  // ---------------------------------------------------------------------------

  function start() {
    byId("filter-state").addEventListener("change", function (event) {
      filter.state = event.target.value;
      configure();
      poll();
    });
    var debounce = null;
    byId("filter-prefix").addEventListener("input", function (event) {
      clearTimeout(debounce);
      debounce = setTimeout(function () {
        filter.prefix = event.target.value;
        firstPages();
        poll();
      }, 300);
    });
    byId("page-size").addEventListener("change", function (event) {
      pageSize = Number(event.target.value) || 50;
      firstPages();
      poll();
    });
    byId("token-form").addEventListener("submit", function (event) {
      event.preventDefault();
      var input = byId("token");
      token = input.value.trim();
      input.value = "";
      writeToken(token);
      checkPermissions();
    });
    byId("token-forget").addEventListener("click", function () {
      token = "";
      byId("token").value = "";
      writeToken("");
      checkPermissions();
    });
    document.addEventListener("visibilitychange", function () { if (!document.hidden) poll(); });
    configure();
    checkPermissions();
    poll();
    setInterval(tick, 1000);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
`

/**
 * The page: `assets` relative to the page's URL, with or without its trailing slash.
 *
 * @internal
 */
export const page: Effect.Effect<HttpServerResponse.HttpServerResponse, never, HttpServerRequest.HttpServerRequest> =
  Effect.map(HttpServerRequest.HttpServerRequest, (request) => {
    const path = request.url.split("?")[0] ?? ""
    return HttpServerResponse.text(html(path.endsWith("/") ? "" : "dashboard/"), {
      contentType: "text/html; charset=utf-8",
      headers: {
        "content-security-policy": contentSecurityPolicy,
        "cache-control": "no-cache",
        "x-content-type-options": "nosniff",
        "x-frame-options": "DENY",
        "referrer-policy": "no-referrer"
      }
    })
  })

/** @internal */
export const scriptResponse: Effect.Effect<HttpServerResponse.HttpServerResponse> = Effect.sync(() =>
  HttpServerResponse.text(script, { contentType: "text/javascript; charset=utf-8", headers: assetHeaders })
)

/** @internal */
export const stylesheetResponse: Effect.Effect<HttpServerResponse.HttpServerResponse> = Effect.sync(() =>
  HttpServerResponse.text(css, { contentType: "text/css; charset=utf-8", headers: assetHeaders })
)

/**
 * `{ admin }`: whether `authorize` lets this request through (false without
 * one, or when it fails), so that the page shows the admin buttons only then.
 *
 * @internal
 */
export const permissions = (
  authorize: ((request: HttpServerRequest.HttpServerRequest) => Effect.Effect<boolean>) | undefined
): Effect.Effect<HttpServerResponse.HttpServerResponse, never, HttpServerRequest.HttpServerRequest> =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const admin = authorize === undefined
      ? false
      : yield* authorize(request).pipe(Effect.catchAllCause(() => Effect.succeed(false)))
    return HttpServerResponse.unsafeJson({ admin }, { headers: { "cache-control": "no-store", vary: "authorization, cookie" } })
  })
