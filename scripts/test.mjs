// `npm test`: both editions' suites, then the consumer matrix on both packed editions.
//   1. the Effect 3 edition's suites (vitest, the repository's root);
//   2. the Effect 4 edition's suites (effect4/, vitest 5 on Node 24 from scripts/node24.sh) and,
//      at the same time, the consumer matrix (`npm run test:consumers`, test/consumers/), both
//      after effect4's packages (`npm ci --prefix effect4` when they are missing: the consumer
//      matrix packs the edition with them) and Node 24 are installed.
// The consumer matrix streams its output; the Effect 4 edition's output is held and printed
// whole when it ends, so neither interleaves. Every part runs even when one fails; the exit
// status is non-zero when any failed, and a summary lists each part's status and time.
//   node scripts/test.mjs [effect3|effect4|consumers ...]   only those parts
//   TEST_SERIAL=1 npm test                                   the parts one after another
import { spawn } from "node:child_process"
import { existsSync } from "node:fs"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))

/** Each part: a shell command run from the repository's root. */
const parts = {
  effect3: "npx vitest run",
  // what the Effect 4 edition's suites and its packing need, installed before the parts that use
  // them start side by side: its packages (when missing) and Node 24
  prepare: [
    "if [ ! -f effect4/node_modules/.package-lock.json ]; then npm ci --prefix effect4 --no-audit --no-fund; fi",
    "scripts/node24.sh >/dev/null"
  ].join(" && "),
  effect4: "PATH=\"$(scripts/node24.sh):$PATH\" npm --prefix effect4 test",
  consumers: "npm run test:consumers"
}

const asked = process.argv.slice(2)
for (const name of asked) {
  if (!(name in parts) || name === "prepare") {
    console.error(`unknown part ${name}: one of effect3, effect4, consumers`)
    process.exit(2)
  }
}
const wanted = (name) => asked.length === 0 || asked.includes(name)

/** Runs a part; `held` keeps its output and prints it when the part ends. */
const runPart = (name, held) =>
  new Promise((resolve) => {
    const started = Date.now()
    console.log(`\n[test] ${name}: ${parts[name]}${held ? " (output held until it ends)" : ""}`)
    const child = spawn("bash", ["-c", parts[name]], {
      cwd: root,
      stdio: held ? ["ignore", "pipe", "pipe"] : "inherit",
      env: { ...process.env, ...(held ? { FORCE_COLOR: process.stdout.isTTY ? "1" : "0" } : {}) }
    })
    let output = ""
    if (held) {
      child.stdout.on("data", (chunk) => (output += chunk))
      child.stderr.on("data", (chunk) => (output += chunk))
    }
    child.on("close", (code, signal) => {
      const seconds = Math.round((Date.now() - started) / 1000)
      if (held) {
        console.log(`\n[test] ---- ${name}: output ----\n${output.trimEnd()}\n[test] ---- ${name}: end ----`)
      }
      console.log(`[test] ${name}: ${code === 0 ? "passed" : `FAILED (${signal ?? `exit ${code}`})`} in ${seconds} s`)
      resolve({ name, ok: code === 0, seconds })
    })
  })

const serial = process.env.TEST_SERIAL !== undefined && process.env.TEST_SERIAL !== ""
const results = []
if (wanted("effect3")) results.push(await runPart("effect3", false))
if (!existsSync(`${root}effect4/package.json`)) throw new Error("effect4/package.json is missing")
if (wanted("effect4") || wanted("consumers")) {
  const prepared = await runPart("prepare", false)
  if (!prepared.ok) results.push(prepared)
}
if (serial) {
  for (const name of ["effect4", "consumers"]) if (wanted(name)) results.push(await runPart(name, false))
} else {
  const both = wanted("effect4") && wanted("consumers")
  const parallel = await Promise.all([
    ...(wanted("effect4") ? [runPart("effect4", both)] : []),
    ...(wanted("consumers") ? [runPart("consumers", false)] : [])
  ])
  for (const result of parallel) results.push(result)
}

console.log(`\n[test] ${results.map((r) => `${r.name} ${r.ok ? "passed" : "FAILED"} (${r.seconds} s)`).join(", ")}`)
process.exit(results.every((r) => r.ok) ? 0 : 1)
