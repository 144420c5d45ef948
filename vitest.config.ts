import { defineConfig } from "vitest/config"

// unit: fast suites that start no process (no redis-server, Sentinel, Cluster, fleet, Chromium, promtool
// or CLI child process): `npm run test:unit`. The rule: a file named `*.unit.test.ts` is a unit suite
// (its module's integration tests, if any, sit beside it in `*.test.ts`); any other suite is an
// integration suite. The state-machine suite (test/CircuitBreaker.test.ts) runs in both, on the
// backends each project names.
const unitSuites = ["test/**/*.unit.test.ts"]

// the suites whose paths go through ioredis (TCP, Cluster, Sentinel, faults of a TCP connection, a user's own
// client given to the Promise API; ioredis 6 speaks RESP3 by default):
// run again on ioredis 6 (the devDependency `ioredis6`, an npm alias), the peer range being ^5.4.0 || ^6
const ioredisSuites = [
  "test/RedisStore.test.ts",
  "test/Cluster.test.ts",
  "test/Sentinel.test.ts",
  "test/Faults.test.ts",
  "test/Notifications.test.ts",
  "test/PromiseApi.breaker.test.ts",
  "test/PromiseApi.withCircuitBreaker.test.ts",
  "test/PromiseApi.runtime.test.ts"
]

export default defineConfig({
  test: {
    // the consumer matrix has its own config: test/consumers/vitest.config.ts
    exclude: ["test/consumers/**", "node_modules/**"],
    setupFiles: ["./test/setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: [...unitSuites, "test/CircuitBreaker.test.ts"],
          provide: { storeBackends: ["memory"] }
        }
      },
      {
        extends: true,
        test: {
          name: "integration",
          include: ["test/**/*.test.ts"],
          exclude: ["test/consumers/**", "node_modules/**", ...unitSuites],
          provide: { ioredisMajor: 5, storeBackends: ["tcp", "upstash", "cluster"] }
        }
      },
      {
        extends: true,
        resolve: { alias: { ioredis: "ioredis6" } },
        test: {
          name: "ioredis6",
          include: ["test/IORedisVersion.test.ts", ...ioredisSuites],
          provide: { ioredisMajor: 6 }
        }
      }
    ]
  }
})
