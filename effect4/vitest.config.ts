import { defineConfig } from "vitest/config"

// The Effect 4 edition's suites: run on Node >= 22.12 (vitest 5), see ../scripts/node24.sh
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000
  }
})
