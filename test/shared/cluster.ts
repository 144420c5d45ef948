/**
 * Test support (Effect-free), for both editions' Cluster suites: which
 * master serves a slot, and moving a slot between masters as
 * `redis-cli --cluster reshard` does.
 */
import type { RedisCluster, RedisServer } from "./redisServer.js"

/** The master of `cluster` that serves `slot`, and the other masters. */
export const ownerOf = async (
  slot: number,
  cluster: RedisCluster
): Promise<{ owner: RedisServer; others: ReadonlyArray<RedisServer> }> => {
  const masters = (await Promise.all(cluster.nodes.map(async (node) => ({
    node,
    master: node.running && /role:master/.test(await node.cli("INFO", "replication"))
  })))).filter((n) => n.master).map((n) => n.node)
  const reply = await masters[0]!.cli("CLUSTER", "SLOTS")
  // redis-cli prints each range as: start, end, then per node: host, port, id
  const lines = reply.split("\n")
  for (let i = 0; i + 4 < lines.length; i++) {
    const start = Number(lines[i]), end = Number(lines[i + 1]), port = Number(lines[i + 3])
    if (lines[i + 2] === "127.0.0.1" && slot >= start && slot <= end) {
      const owner = masters.find((node) => node.port === port)
      if (owner !== undefined) return { owner, others: masters.filter((node) => node !== owner) }
    }
  }
  throw new Error(`no node serves slot ${slot}:\n${reply}`)
}

/**
 * Moves `slot` of `cluster` from `from` to `to` as `redis-cli --cluster
 * reshard` does; `finish: false` stops mid-way (the old node answers ASK).
 */
export const migrate = async (
  slot: number,
  from: RedisServer,
  to: RedisServer,
  finish: boolean,
  cluster: RedisCluster
): Promise<void> => {
  const [fromId, toId] = await Promise.all([from.cli("CLUSTER", "MYID"), to.cli("CLUSTER", "MYID")])
  await to.cli("CLUSTER", "SETSLOT", String(slot), "IMPORTING", fromId)
  await from.cli("CLUSTER", "SETSLOT", String(slot), "MIGRATING", toId)
  const keys = (await from.cli("CLUSTER", "GETKEYSINSLOT", String(slot), "1000")).split("\n").filter((k) => k !== "")
  if (keys.length > 0) await from.cli("MIGRATE", "127.0.0.1", String(to.port), "", "0", "5000", "KEYS", ...keys)
  if (!finish) return
  for (const node of [to, from, ...cluster.nodes.filter((n) => n !== to && n !== from)]) {
    await node.cli("CLUSTER", "SETSLOT", String(slot), "NODE", toId)
  }
}
