import { defineConfig } from "vitest/config"

// The consumer matrix: the packed tarball installed into fresh projects outside this
// repository (plain Node ESM and CJS, TypeScript, the Effect range, Next.js, workerd,
// publint and attw). `npm run test:consumers`; see test/consumers/support.ts.
export default defineConfig({
  test: {
    include: ["test/consumers/*.test.ts"],
    globalSetup: ["test/consumers/globalSetup.ts"],
    testTimeout: 600_000,
    hookTimeout: 600_000,
    // each file installs packages and starts servers of its own; two at a time on two cores
    pool: "forks",
    poolOptions: { forks: { maxForks: 2, minForks: 1 } }
  }
})
