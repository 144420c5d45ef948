/**
 * The ioredis the suites run on: the devDependency `ioredis` (5.x) in the
 * `integration` project, the alias `ioredis6` in the `ioredis6` project (see
 * vitest.config.ts), seen both by the test files and by the library's
 * sources.
 */
import * as Effect from "effect/Effect"
import { Redis } from "ioredis"
import ioredisPackage from "ioredis/package.json" with { type: "json" }
import { afterAll, beforeAll, expect, inject, it } from "vitest"
import { IORedisClient } from "../src/ioredis.js"
import { type RedisServer, startRedis } from "./support/redisServer.js"

declare module "vitest" {
  export interface ProvidedContext {
    /** The ioredis major the project runs on. */
    ioredisMajor: number
  }
}

let server: RedisServer
beforeAll(async () => {
  server = await startRedis()
})
afterAll(async () => {
  await server?.stop()
})

it("the ioredis of this project is the one the library's sources load", async () => {
  expect(Number(ioredisPackage.version.split(".")[0])).toBe(inject("ioredisMajor"))
  // ioredis 6 exports WatchError, ioredis 5 does not
  expect("WatchError" in (await import("ioredis"))).toBe(inject("ioredisMajor") >= 6)
  // the library's commands go through this copy's Redis class
  const call = Redis.prototype.call
  let calls = 0
  Redis.prototype.call = function(this: Redis, ...args: Array<any>) {
    calls++
    return (call as any).apply(this, args)
  } as typeof call
  try {
    const reply = await Effect.runPromise(Effect.scoped(Effect.flatMap(
      IORedisClient.make({ url: server.url }),
      (client) => client.send(["PING"])
    )))
    expect(reply).toBe("PONG")
    expect(calls).toBe(1)
  } finally {
    Redis.prototype.call = call
  }
})
