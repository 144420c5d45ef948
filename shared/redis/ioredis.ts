/**
 * What the ioredis clients of both editions know of Redis and of ioredis,
 * Effect-free: the slot of a key (Redis Cluster), where a command belongs in
 * a Cluster pipeline, the replies that say a command did not run, and the
 * check of a Redis URL.
 *
 * @internal
 */

/** CRC16-CCITT (XMODEM), the checksum Redis Cluster hashes keys with, by table. */
const crc16Table = (() => {
  const table = new Uint16Array(256)
  for (let i = 0; i < 256; i++) {
    let crc = i << 8
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff
    table[i] = crc
  }
  return table
})()

const utf8 = new TextEncoder()

/**
 * The cluster slot of `key`, as `CLUSTER KEYSLOT` computes it: CRC16 of the
 * key's hash tag (the part between the first `{` and the next `}`, when not
 * empty) or of the whole key, modulo 16384.
 *
 * @internal
 */
export const keySlot = (key: string): number => {
  const open = key.indexOf("{")
  const close = open < 0 ? -1 : key.indexOf("}", open + 1)
  const hashed = close > open + 1 ? key.slice(open + 1, close) : key
  let crc = 0
  for (const byte of utf8.encode(hashed)) crc = ((crc << 8) & 0xffff) ^ crc16Table[((crc >> 8) ^ byte) & 0xff]!
  return crc & 0x3fff
}

const scriptCalls = new Set(["EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO"])

/**
 * The key that places a command in the cluster: the first of `KEYS` for a
 * script or function call, else the first argument. A command whose key sits
 * elsewhere may land in the wrong group: its node then refuses the group and
 * the group's commands go one by one.
 *
 * @internal
 */
export const firstKey = (command: ReadonlyArray<string>): string | undefined =>
  scriptCalls.has(command[0]!.toUpperCase())
    ? Number(command[2]) > 0 ? command[3] : undefined
    : command[1]

/**
 * Replies that say the command did not run, and that ioredis's `call` follows or retries.
 *
 * @internal
 */
export const redirected = /^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN) /

/**
 * What ioredis refuses before it sends anything: keys of one pipeline on several nodes.
 *
 * @internal
 */
export const crossNode = /should belong to the same slot/

/** The largest database index a URL may name (Redis's `databases` is a C int). */
const maxDatabase = 2 ** 31 - 1

/**
 * A checked Redis URL: where it points (no credentials), its database, its secrets.
 *
 * @internal
 */
export interface RedisUrl {
  /** `redis://host:port[/db]`, for messages. */
  readonly shown: string
  /** `host:port`, for messages. */
  readonly target: string
  readonly db: number | undefined
  /** Every spelling of the password the URL holds. */
  readonly secrets: ReadonlyArray<string>
}

/**
 * Checks a Redis URL the way ioredis reads it: `redis:` or `rediss:`, a host,
 * a port from 1 to 65535 if any, and a path that is empty or a database
 * index (ioredis would otherwise send `SELECT NaN`, or quietly use database
 * 0). The problem (`issue`) names `field` and never echoes a password.
 *
 * @internal
 */
export const checkRedisUrl = (url: string, field: string): RedisUrl | { readonly issue: string } => {
  const expected = "redis://[[user]:password@]host[:port][/db] or rediss://…"
  const refuse = (rule: string) => ({ issue: `${field} ${rule}` })
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    // not echoed: where a password would be in a string that is not a URL cannot be told
    if (/^rediss?:\/\//i.test(url)) {
      return refuse(
        `must be a Redis URL with a host and, if any, a port from 1 to 65535, ${expected} (got one that is not)`
      )
    }
    return refuse(
      `must be a Redis URL, ${expected} (got a value that is not a URL${url.trim() === "" ? ": empty" : ""})`
    )
  }
  const shown = `${parsed.protocol}//${parsed.host}${parsed.pathname === "/" ? "" : parsed.pathname}`
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") {
    return refuse(`must be a Redis URL, ${expected} (got ${JSON.stringify(`${parsed.protocol}//${parsed.host}`)})`)
  }
  if (parsed.hostname === "") return refuse(`must name a host, ${expected} (got ${JSON.stringify(shown)})`)
  if (parsed.port === "0") return refuse(`must have a port from 1 to 65535 (got ${JSON.stringify(shown)})`)
  const fromPath = parsed.pathname === "" || parsed.pathname === "/" ? undefined : parsed.pathname.slice(1)
  const fromQuery = parsed.searchParams.get("db") ?? undefined
  const index = fromQuery ?? fromPath
  if (index !== undefined && (!/^\d{1,10}$/.test(index) || Number(index) > maxDatabase)) {
    return refuse(
      `must name the database as a whole number after the host, e.g. redis://host:6379/2 (got ${JSON.stringify(shown)})`
    )
  }
  const secrets: Array<string> = []
  for (const secret of [parsed.password, parsed.searchParams.get("password") ?? ""]) {
    if (secret.length === 0) continue
    secrets.push(secret)
    try {
      secrets.push(decodeURIComponent(secret))
    } catch {
      // kept as written
    }
  }
  return {
    shown,
    target: `${parsed.hostname}:${parsed.port === "" ? "6379" : parsed.port}`,
    db: index === undefined ? undefined : Number(index),
    secrets
  }
}

/**
 * What ioredis says of a command it did not send because the connection is down.
 *
 * @internal
 */
export const notWritable = /Stream isn't writeable|enableOfflineQueue|Connection is closed/
