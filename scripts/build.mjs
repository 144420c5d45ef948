// Builds dist/: ESM (tsc: JavaScript, .d.ts, declaration and source maps) in dist/esm,
// and the same modules as CommonJS (esbuild, file by file, no bundling) in dist/cjs
// with their own copies of the .d.ts, so that `require` and `import` each get types of
// their own format. See ARCHITECTURE.md, "Entry points and the build".
import { execFileSync } from "node:child_process"
import { cpSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { build } from "esbuild"

const root = new URL("..", import.meta.url).pathname
const dist = join(root, "dist")
rmSync(dist, { recursive: true, force: true })

execFileSync(
  process.execPath,
  [join(root, "node_modules/typescript/bin/tsc"), "-p", join(root, "tsconfig.build.json")],
  {
    stdio: "inherit"
  }
)

const sources = (dir) =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sources(join(dir, entry.name)) : entry.name.endsWith(".ts") ? [join(dir, entry.name)] : []
  )

await build({
  entryPoints: [...sources(join(root, "src")), ...sources(join(root, "shared"))],
  outdir: join(dist, "cjs"),
  outbase: root,
  format: "cjs",
  platform: "neutral",
  target: "es2022",
  bundle: false,
  sourcemap: true,
  logLevel: "warning"
})

cpSync(join(dist, "esm"), join(dist, "cjs"), {
  recursive: true,
  filter: (path) => !path.endsWith(".js") && !path.endsWith(".js.map")
})
mkdirSync(join(dist, "cjs"), { recursive: true })
writeFileSync(join(dist, "esm", "package.json"), JSON.stringify({ type: "module", sideEffects: false }) + "\n")
writeFileSync(join(dist, "cjs", "package.json"), JSON.stringify({ type: "commonjs", sideEffects: false }) + "\n")
