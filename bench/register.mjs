/**
 * `node --import ./bench/register.mjs bench/<name>.bench.ts` runs a bench on
 * sources compiled by TypeScript itself (no esbuild `keepNames`): the cost a
 * user of a tsc / type-stripping / default-bundler build pays.
 */
import { register } from "node:module"

register("./ts-hooks.mjs", import.meta.url)
