/**
 * Node module hooks that run the TypeScript sources through TypeScript's own
 * `transpileModule` (types erased, nothing else changed) — unlike tsx, whose
 * esbuild transform always sets `keepNames`, wrapping every function created
 * at run time in `__name(fn, "name")` (an `Object.defineProperty` per closure).
 * Registered by `bench/register.mjs`; see bench/README.md.
 */
import { existsSync } from "node:fs"
import { readFile } from "node:fs/promises"
import { fileURLToPath } from "node:url"
import ts from "typescript"

const compilerOptions = {
  module: ts.ModuleKind.ESNext,
  target: ts.ScriptTarget.ES2022,
  sourceMap: false,
  inlineSourceMap: true,
  isolatedModules: true,
  useDefineForClassFields: true,
  verbatimModuleSyntax: false
}

/** `./x.js` written in a `.ts` file means `./x.ts` when only that exists (TypeScript's NodeNext convention). */
export async function resolve(specifier, context, nextResolve) {
  if (
    context.parentURL?.endsWith(".ts") && (specifier.startsWith("./") || specifier.startsWith("../")) &&
    specifier.endsWith(".js")
  ) {
    const url = new URL(specifier, context.parentURL)
    const tsUrl = new URL(url.href.slice(0, -3) + ".ts")
    if (!existsSync(fileURLToPath(url)) && existsSync(fileURLToPath(tsUrl))) {
      return nextResolve(tsUrl.href, context)
    }
  }
  return nextResolve(specifier, context)
}

export async function load(url, context, nextLoad) {
  if (!url.startsWith("file:") || !url.endsWith(".ts")) return nextLoad(url, context)
  const path = fileURLToPath(url)
  const source = await readFile(path, "utf8")
  const { outputText } = ts.transpileModule(source, { compilerOptions, fileName: path })
  return { format: "module", source: outputText, shortCircuit: true }
}
