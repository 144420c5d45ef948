// Builds the Effect 4 edition's dist/: ES modules only (tsc: JavaScript, .d.ts, declaration and
// source maps). The compiler's rootDir is the repository, so the edition's modules land in
// dist/effect4/src and the Effect-free modules both editions share in dist/shared, where the
// edition's imports (../../shared/...) find them.
//
// The sources the maps name are copied into dist/sources (the repository's layout, under one
// folder of the package) and every map is rewritten to point there: the package ships its
// sources and its maps resolve inside it, although shared/ lives outside effect4/. The
// repository's LICENSE is copied next to package.json for `npm pack` (it is the same file).
import { execFileSync } from "node:child_process"
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { dirname, join, relative, resolve, sep } from "node:path"
import { fileURLToPath } from "node:url"

const edition = fileURLToPath(new URL("..", import.meta.url))
const repository = resolve(edition, "..")
const dist = join(edition, "dist")
const sources = join(dist, "sources")
rmSync(dist, { recursive: true, force: true })

execFileSync(
  process.execPath,
  [join(edition, "node_modules/typescript/bin/tsc"), "-p", join(edition, "tsconfig.build.json")],
  { stdio: "inherit" }
)

const files = (dir) =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? files(join(dir, entry.name)) : [join(dir, entry.name)]
  )

const toPosix = (path) => path.split(sep).join("/")

for (const map of files(dist).filter((path) => path.endsWith(".map"))) {
  const content = JSON.parse(readFileSync(map, "utf8"))
  content.sources = content.sources.map((source) => {
    const original = resolve(dirname(map), content.sourceRoot ?? "", source)
    const fromRepository = relative(repository, original)
    if (fromRepository.startsWith("..")) throw new Error(`${map}: a source outside the repository: ${original}`)
    const shipped = join(sources, fromRepository)
    mkdirSync(dirname(shipped), { recursive: true })
    copyFileSync(original, shipped)
    return toPosix(relative(dirname(map), shipped))
  })
  delete content.sourceRoot
  writeFileSync(map, JSON.stringify(content))
}

copyFileSync(join(repository, "LICENSE"), join(edition, "LICENSE"))
