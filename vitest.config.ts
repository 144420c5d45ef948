import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // the consumer matrix has its own config: test/consumers/vitest.config.ts
    exclude: ["test/consumers/**", "node_modules/**"],
    setupFiles: ["./test/setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000
  }
})
