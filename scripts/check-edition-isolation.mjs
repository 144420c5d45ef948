// The Effect 4 edition compiles against its own effect: no file of `tsc -p effect4 --listFilesOnly`
// (the edition's sources, tests and bench, and everything they pull in) may come from the
// repository root's node_modules/effect or node_modules/@effect/* (the Effect 3 edition's effect
// 3 and its platform packages), which an import resolved from a file outside effect4/ (shared/,
// test/shared/) would reach. Other packages found in the root's node_modules are listed: they
// are Effect-free, but the edition's package.json does not install them.
import { execFileSync } from "node:child_process"
import { relative, sep } from "node:path"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))
const rootModules = `${root}node_modules${sep}`
const listed = execFileSync(
  process.execPath,
  [`${root}effect4/node_modules/typescript/bin/tsc`, "-p", `${root}effect4`, "--listFilesOnly"],
  { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 }
).trim().split("\n")

/** The package a file under the root's node_modules belongs to, the outermost one. */
const packageOf = (file) => {
  const [first, second] = file.slice(rootModules.length).split(/[\\/]/)
  return first.startsWith("@") ? `${first}/${second}` : first
}
const fromRoot = listed.filter((file) => file.startsWith(rootModules))
const packages = new Map()
for (const file of fromRoot) packages.set(packageOf(file), (packages.get(packageOf(file)) ?? 0) + 1)
const forbidden = [...packages.keys()].filter((name) => name === "effect" || name.startsWith("@effect/"))

console.log(
  `[isolation] tsc -p effect4: ${listed.length} files, ${fromRoot.length} from the root's node_modules${
    packages.size === 0 ? "" : ` (${[...packages].map(([name, count]) => `${name}: ${count}`).join(", ")})`
  }`
)
if (forbidden.length > 0) {
  for (const file of fromRoot.filter((file) => forbidden.includes(packageOf(file))).slice(0, 20)) {
    console.error(`  ${relative(root, file)}`)
  }
  console.error(
    `[isolation] the Effect 4 edition compiles against the root's ${forbidden.join(", ")} (the Effect 3 edition's): ` +
      "`tsc -p effect4 --explainFiles` says which import pulls them in"
  )
  process.exit(1)
}
