-- The circuit state machine (ARCHITECTURE.md, "Layers"), as one atomic script.
-- Line-by-line twin of shared/breaker/machine.ts: change one, change the other
-- (test/Equivalence.test.ts holds them against each other).
--
-- KEYS[1] circuit hash  <prefix>:{<name>}:state, fields
--           s: what this script reads, one string: "<state> <version> <openCount> <openedAt> <retryAt>
--             <changedAt> <writtenAt> <halfOpenSuccesses>", then the window: "<bucket> <calls>
--             <failures> <older calls> <older failures>" for the bucket of the last write (buckets of
--             monitoringPeriod / 10), then " <bucket> <calls> <failures>" for each other bucket still
--             in the window (or ahead of it); the older sums count those, so that a call in the same
--             bucket reads no other ("0 0 0 0 0": no window);
--           config: ARGV 3 to 15 as one string (what a reader with no config of its own needs to
--             interpret the circuit);
--           probes (HALF_OPEN only): the probe leases, "<probe id> <expiry>" separated by spaces;
--           state, version, openCount, openedAt, retryAt, changedAt, halfOpenSuccesses: the same
--             state one field each, for people and tools (written where they change, never read).
--           A hash without "s" (none, or one an earlier version wrote) is a circuit not created yet.
-- KEYS[2] fleet metrics <prefix>:{<name>}:metrics  fields <bucket>:s|f|r|p|o (successes, failures,
--                        rejections, probes, opens), buckets of metricsTtl / 24, expiring after metricsTtl
-- (one hash tag: both keys live in one cluster slot; the script touches no other key, so Upstash may
-- run it under `allow-key-locking`, which scripts/embed-lua.ts adds to the Upstash variant)
--
-- ARGV  1 op: acquire | record | force | read | metrics
--       2 now in epoch ms: Redis's clock as the caller learned it from TIME (timeSource "server"),
--         or the caller's own (timeSource "client"); no TIME in here, so the script stays
--         deterministic (as Upstash asks)
--       3 to 15, the config (shared/redis/scriptArgs.ts builds them from one table, `configArgv`):
--       3 monitoringPeriod   4 stateTtl            5 failureThreshold   6 successThreshold
--       7 recoveryTimeout    8 maxRecoveryTimeout  9 backoffMultiplier 10 backoffJitter
--      11 halfOpenMaxProbes 12 probeLease         13 failureRateThreshold ("-" = off)
--      14 minimumCalls      15 metricsTtl ("-" = no fleet metrics)
--      16 ARGV 3 to 15 joined by single spaces (stored as the field "config")
--      17 acquire: the probe id to lease (no spaces, at most 2,400 bytes); record: the probe permit
--         held ("" = none)
--      18 record: success | failure | release | "" (flush only); force: FORCED_OPEN | FORCED_CLOSED | RESET
--      19 jitter sample u in [0, 1)
--      20 batched successes to add first
--      21 metric counts this instance has not sent yet: "successes failures rejections probes"
--      22 "peek": a reader that may not have the circuit's config (monitoring) reads it with the
--         config the circuit's writers stored in its state (field "config"), when there is one and
--         it passes the rules every config passes (src/CircuitConfig.ts); a peek writes nothing
--      23 what the caller knew, "OPEN|FORCED_OPEN|FORCED_CLOSED openCount openedAt retryAt version"
--         ("" = nothing): put back before the operation when the circuit is missing (Redis lost it)
--         or has seen nothing since it was created again; ignored by force and peek
--
-- The breaker's record (a failure or a success; no probe, no batch, no metric counts, nothing to put
-- back, not a peek) comes in a short form of 10 ARGV, op "r" (the fewer ARGV, the less Redis CPU):
--   1 "r"   2 now   3 success | failure   4 jitter sample u   5 monitoringPeriod   6 stateTtl
--   7 failureThreshold   8 failureRateThreshold   9 minimumCalls   10 the packed config (ARGV 16)
-- The script's first block reads it; anything that block does not finish reads the long form above,
-- built from it: ARGV 3 to 15 are the words of the packed config (13 words joined by single spaces,
-- or the arguments are bad), checked as the long form's are. ARGV 5 to 9 are the same words as in
-- the packed config (shared/redis/scriptArgs.ts sends both from one config).
--
-- Every transition (a write of a new version) is published on "<prefix>:transitions" as
-- "<version> <state> <key of KEYS[1]>", for the instances that cache the circuit
-- (src/internal/redis/notifications.ts).
--
-- Reply: { state, version, openCount, openedAt, retryAt, changedAt, failures, calls,
--          halfOpenSuccesses, probes, decision ("allow" | "reject" | ""), retryAfter, probe, now, repaired,
--          created (1 when the state hash did not exist before this call and this call wrote it),
--          missing (1 when the state hash did not exist before this call; a rotten one a peek left
--          is not missing), restored (1 when this call put back ARGV 23),
--          and for op "metrics" only: the fleet's successes, failures, rejections, probes, opens within
--          metricsTtl }
--        or, from the first block (the short form's record of a CLOSED circuit that changes no state),
--        the short reply { state, version, openedAt, changedAt, failures, calls, now }: the elements
--        it leaves out are 0 ("" for decision and probe)
--
-- Data that is not what this script writes (a number that is not a whole number below 1e13, a key
-- of another type, a time far in the future, a field longer than this script writes) is repaired
-- and reported (repaired = 1), never an error: a script error would be taken for an unavailable
-- store. A peek reports it and writes nothing. The work of a call is bounded by its config whatever
-- the data: "s" and "config" are parsed only up to 4,096 and 512 bytes, the probe leases only if
-- their length fits halfOpenMaxProbes leases, a metrics hash only up to METRICS_FIELDS fields, and
-- the open period takes at most 54 multiplications for any open count.
--
-- Cost (Redis CPU per call is the fleet's shared hot path; bench/lua.bench.ts measures it, as
-- `usec_per_call` of EVALSHA, against a minimal script): every command costs, every field read
-- costs (a reply element turned into a Lua string), and in Redis's Lua so do captures, tonumber,
-- tables, closures and numbers turned into strings. So the circuit is read as two fields (HMGET of
-- "s" and "config"; "probes" only in HALF_OPEN) and written with one HSET and one PEXPIRE; words
-- that did not change are sent back as the strings they were read as, and so are numbers that
-- arrived as strings in ARGV; config values only a transition needs are converted then; a key's
-- type is only checked when a command fails (WRONGTYPE, caught with redis.pcall); the machine is
-- written as straight-line blocks (the functions of machine.ts are named in the comments), not as
-- local functions; the fleet metrics are left alone when there is nothing to add and nothing
-- to read (the store sends no counts with a record); and a record that changes no state writes
-- back the words it read with the window's counts added, without the rest of the machine: the
-- breaker's own (a CLOSED circuit's failure or success, nothing else carried, in the short form of
-- 10 ARGV) first of all, with one match of the words it needs and no table but the reply; the
-- others (FORCED_CLOSED, batched successes, a probe's late result) after the load.

local WINDOW_BUCKETS = 10
local HALF_OPEN_RETRY_AFTER = 1000
-- times further ahead of now than this were written by a clock that was wrong
local FUTURE_TOLERANCE = 60000
local MAX_INTEGER = 9007199254740991
-- every number this script stores is below this bound (13 digits: times in epoch ms until the year
-- 2286, and counts): one plus anything a call adds stays below 1e14, which Lua writes back digit
-- for digit (it writes 1e14 and beyond as "1e+14"). A stored number at or above it is rotten data
local LIMIT = 1e13
local METRICS_BUCKETS = 24
-- the most fields a metrics hash holds (METRICS_BUCKETS buckets of five counts, and "bucket"),
-- with room for a bucket's worth of fields written by a caller on another bucket width
local METRICS_FIELDS = 160
-- the longest "s" (the state words and a window of buckets) and "config" this script writes, and
-- the longest lease ("<probe id> <expiry>") of a probe id it accepts
local STATE_BYTES, CONFIG_BYTES, PROBE_ID_BYTES, LEASE_BYTES = 4096, 512, 2400, 2416

local floor, tonumber, find, sub = math.floor, tonumber, string.find, string.sub
local call = redis.call

local key, metricsKey = KEYS[1], KEYS[2]
local op = ARGV[1]

-- The record of a CLOSED circuit that changes no state, as the breaker sends it (the short form, op
-- "r": a failure below the thresholds, or a success): the most frequent call during an outage, so it
-- runs first. On data read clean (the words this script writes: CLOSED has no open count, retryAt or half-open
-- successes; every number under 14 digits, so below LIMIT), with the writers' config, in the
-- bucket of the last write, not expired, nothing far ahead: machine.record is then
-- machine.windowAdd, so the words read are written back with the window's counts added and
-- writtenAt = t, and the reply is the state read (the short reply). Anything else falls through to the whole script
-- (which reads the same HMGET reply, and writes and answers the same for this case). ARGV 5 to 7
-- are converted by arithmetic (a caller that sends no number there gets an error, as from the
-- whole script)
local argv = ARGV
-- the HMGET reply read here, for the whole script when it falls through
local early
if op == "r" then
  local outcome = argv[3]
  local now = tonumber(argv[2])
  if (outcome == "failure" or outcome == "success") and now and now >= 0 and now < LIMIT and now % 1 == 0 then
    early = redis.pcall("HMGET", key, "s", "config")
    local s = early[1]
    if s and early[2] == argv[10] and #s <= STATE_BYTES then
      local state = "CLOSED"
      local version, openedAt, changedAt, writtenAt, index, c, f, oc, of, tail = string.match(s,
        "^CLOSED (%d+) 0 (%d+) 0 (%d+) (%d+) 0 (%d+) (%d+) (%d+) (%d+) (%d+)(.*)$")
      if version and #version < 14 and #openedAt < 14 and #changedAt < 14 and #writtenAt < 14 and #index < 14
          and #c < 14 and #f < 14 and #oc < 14 and #of < 14
          and (tail == "" or (find(tail, "^[ %d]*$") and not find(tail, "%d%d%d%d%d%d%d%d%d%d%d%d%d%d"))) then
        local period, ttl, threshold = argv[5] + 0, argv[6] + 0, argv[7] + 0
        local vN, oaN, caN, waN = version + 0, openedAt + 0, changedAt + 0, writtenAt + 0
        local ahead = now + FUTURE_TOLERANCE
        -- t (machine: the later of now and changedAt), and as the string to write
        local t, tArg = now, argv[2]
        if caN > now then t, tArg = caN, caN end
        -- the window bucket of t (machine.bucketWidth), by arithmetic: x - x % 1 is floor(x) for x >= 0
        local width = period / WINDOW_BUCKETS
        width = width - width % 1
        if width < 1 then width = 1 end
        local bucket = t / width
        if caN <= ahead and waN <= ahead and oaN <= ahead and not (waN > 0 and t - waN >= ttl)
            and index + 0 == bucket - bucket % 1 then
          local cNow, fNow = c + 1, f + 0
          if outcome == "failure" then fNow = fNow + 1 end
          local calls, failures = oc + cNow, of + fNow
          -- machine.tripped: a failure that opens the circuit is a transition (the whole script)
          local rate = argv[8]
          if rate ~= "-" then rate = tonumber(rate) else rate = nil end
          if outcome == "success" or not (failures >= threshold or (rate ~= nil
              and calls >= tonumber(argv[9]) and failures / calls >= rate)) then
            if outcome == "success" then fNow = f end
            call("HSET", key, "s", state .. " " .. version .. " 0 " .. openedAt .. " 0 " .. changedAt .. " " .. tArg ..
              " 0 " .. index .. " " .. cNow .. " " .. fNow .. " " .. oc .. " " .. of .. tail)
            if find(argv[6], "^%d+$") then call("PEXPIRE", key, argv[6]) else call("PEXPIRE", key, ttl) end
            return { state, vN, oaN, caN, failures, calls, t }
          end
        end
      end
    end
  end
  -- the whole script reads the long form: ARGV 3 to 15 are the words of the packed config (exactly
  -- 13, joined by single spaces, within CONFIG_BYTES, or the arguments are bad)
  local packed = argv[10]
  local long = { "record", argv[2] }
  local n = 2
  if packed ~= nil and #packed <= CONFIG_BYTES then
    for word in string.gmatch(packed, "[^ ]+") do
      n = n + 1
      if n > 15 then break end
      long[n] = word
    end
  end
  if n ~= 15 or table.concat(long, " ", 3, 15) ~= packed then
    return redis.error_reply("ERR circuit script: bad arguments")
  end
  long[16], long[17], long[18], long[19], long[20], long[21], long[22], long[23] =
    packed, "", argv[3] or "", argv[4] or "0", "0", "", "", ""
  argv, op = long, "record"
end
local ARGV = argv

local function whole(n)
  return n ~= nil and n == n and n >= 0 and n <= MAX_INTEGER and n == floor(n)
end

local now = tonumber(ARGV[2])

local monitoringPeriod = tonumber(ARGV[3])
local stateTtl = tonumber(ARGV[4])
local failureThreshold = tonumber(ARGV[5])
-- (a tonumber costs: these are converted where a transition or a probe needs them)
local successThreshold = ARGV[6]
local recoveryTimeout = ARGV[7]
local maxRecoveryTimeout = ARGV[8]
local backoffMultiplier = ARGV[9]
local backoffJitter = ARGV[10]
local halfOpenMaxProbes = ARGV[11]
local probeLease = ARGV[12]
local failureRateThreshold = tonumber(ARGV[13])
local minimumCalls = ARGV[14]
local metricsTtl = tonumber(ARGV[15])
local configArg = ARGV[16]
local probeArg = ARGV[17] or ""
local outcomeArg = ARGV[18] or ""
local u = tonumber(ARGV[19]) or 0
local successes = tonumber(ARGV[20]) or 0
local unsent = ARGV[21] or ""
local peek = ARGV[22] == "peek"
-- a peek writes nothing, whatever it finds (it reports rotten data, writers repair it)
local readOnly = peek
if readOnly then successes, unsent = 0, "" end
-- what the caller knew of the circuit when it may have to put it back: "state openCount openedAt
-- retryAt version" ("" = nothing)
local knownArg = ARGV[23] or ""
local opens = 0

if not whole(now) or now >= LIMIT or failureThreshold == nil or stateTtl == nil or monitoringPeriod == nil or configArg == nil then
  return redis.error_reply("ERR circuit script: bad arguments")
end
if op == "force" then
  if outcomeArg ~= "FORCED_OPEN" and outcomeArg ~= "FORCED_CLOSED" and outcomeArg ~= "RESET" then
    return redis.error_reply("ERR circuit script: bad force target")
  end
elseif op ~= "acquire" and op ~= "record" and op ~= "read" and op ~= "metrics" then
  return redis.error_reply("ERR circuit script: unknown op")
end

-- a probe id is one word (the leases are stored as "<id> <expiry>" pairs)
if (op == "acquire" and (probeArg == "" or find(probeArg, "%s"))) or (op == "record" and find(probeArg, "%s"))
    or #probeArg > PROBE_ID_BYTES then
  return redis.error_reply("ERR circuit script: bad probe id")
end

-- what the caller knew, to put back if Redis lost it (read below, only when the circuit is missing)
if knownArg ~= "" and (readOnly or op == "force") then knownArg = "" end

-- ---------------------------------------------------------------------------
-- load: one HMGET ("s" and "config")
-- ---------------------------------------------------------------------------

local repaired = 0
local dirty = false

-- a rotten state a peek found (and left): the key is there, unreadable
local unreadable = false
-- the circuit ("s") and the config its writers stored
local stored = early or redis.pcall("HMGET", key, "s", "config")
if stored.err ~= nil then
  -- a key of another type (someone wrote over it): dropped, reported, and the circuit is missing
  -- (a peek reports it unreadable and leaves it)
  if find(stored.err, "WRONGTYPE", 1, true) == nil then return call("HGET", key, "s") end
  if readOnly then unreadable = true else call("DEL", key) end
  repaired = 1
  stored = { false, false }
end
-- a hash without "s" (none, or one written by an earlier version of this script) is a circuit
-- that does not exist yet
local existed = stored[1] ~= false

local s
-- the state as stored: its words (a write sends unchanged words back as they are), its numbers
-- (a write compares with them), and the window's words
local state, wVersion, wOpenCount, wOpenedAt, wRetryAt, wChangedAt, wWrittenAt, wHalfOpenSuccesses
local version, openCount, openedAt, retryAt, changedAt, writtenAt, halfOpenSuccesses
local wIndex, wCalls, wFailures, wOlderCalls, wOlderFailures, wTail
if existed and #stored[1] <= STATE_BYTES then
  state, wVersion, wOpenCount, wOpenedAt, wRetryAt, wChangedAt, wWrittenAt, wHalfOpenSuccesses,
    wIndex, wCalls, wFailures, wOlderCalls, wOlderFailures, wTail = string.match(stored[1],
    "^(%u[%u_]*) (%d+) (%d+) (%d+) (%d+) (%d+) (%d+) (%d+) (%d+) (%d+) (%d+) (%d+) (%d+)(.*)$")
  if state ~= nil then
    version, openCount, openedAt, retryAt = tonumber(wVersion), tonumber(wOpenCount), tonumber(wOpenedAt),
      tonumber(wRetryAt)
    changedAt, writtenAt, halfOpenSuccesses = tonumber(wChangedAt), tonumber(wWrittenAt),
      tonumber(wHalfOpenSuccesses)
  end
  -- digits: whole numbers; below LIMIT, and a tail of whole buckets
  if (state == "CLOSED" or state == "OPEN" or state == "HALF_OPEN" or state == "FORCED_OPEN" or state == "FORCED_CLOSED")
      and version < LIMIT and openCount < LIMIT and openedAt < LIMIT and retryAt < LIMIT
      and changedAt < LIMIT and writtenAt < LIMIT and halfOpenSuccesses < LIMIT
      and #wIndex < 14 and #wCalls < 14 and #wFailures < 14 and #wOlderCalls < 14 and #wOlderFailures < 14
      and (wTail == "" or (find(wTail, "^[ %d]*$") and not find(wTail, "%d%d%d%d%d%d%d%d%d%d%d%d%d%d"))) then
    s = { state = state, version = version, openCount = openCount, openedAt = openedAt, retryAt = retryAt,
          changedAt = changedAt, writtenAt = writtenAt, halfOpenSuccesses = halfOpenSuccesses }
    local config = stored[2]
    -- (a config that is the caller's word for word needs no reading)
    if peek and config ~= false and config ~= configArg and #config <= CONFIG_BYTES then
      -- what the fleet's writers configured: a reader with another config sees what they see, if
      -- it passes the rules every config passes (src/CircuitConfig.ts); else the reader's own. A
      -- peek neither records nor acquires: it needs the window's width, the expiry, the longest
      -- open period (to clamp a time far ahead) and the fleet metrics' window
      local c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13 = string.match(config,
        "^(%S+) (%S+) (%S+) (%S+) (%S+) (%S+) (%S+) (%S+) (%S+) (%S+) (%S+) (%S+) (%S+)$")
      local period, ttl, longest, metrics = tonumber(c1), tonumber(c2), tonumber(c6), tonumber(c13)
      local recovery, multiplier, jitter, lease = tonumber(c5), tonumber(c7), tonumber(c8), tonumber(c10)
      local rate = tonumber(c11)
      local function duration(n) return whole(n) and n > 0 and n <= 315360000000 end
      local function count(n) n = tonumber(n) return whole(n) and n > 0 and n <= 1000000000 end
      if duration(period) and duration(ttl) and duration(recovery) and duration(longest) and duration(lease)
          and longest >= recovery and multiplier and multiplier >= 1 and multiplier <= 1000
          and jitter and jitter >= 0 and jitter <= 1 and ttl > math.ceil(longest * (1 + jitter)) + lease
          and count(c3) and count(c4) and count(c9) and count(c12)
          and (c11 == "-" or (rate and rate > 0 and rate <= 1)) and (c13 == "-" or duration(metrics)) then
        monitoringPeriod, stateTtl, maxRecoveryTimeout, metricsTtl = period, ttl, longest, metrics
        peek = "config"
      end
    end
  end
  if s == nil then
    -- a circuit overwritten with garbage (not a state, a number that is not a whole number below
    -- LIMIT: inf, nan, 1.5, -1, 1e+14; too long to be what this script writes): start again from
    -- CLOSED, and say so; to its callers the state is missing, so that an instance that knew it
    -- re-asserts it (as after a restart). A peek reports it and leaves it.
    if readOnly then unreadable = true else call("DEL", key) end
    existed = false
    repaired = 1
    dirty = true
  end
elseif existed then
  -- longer than any state this script writes: garbage, as above
  if readOnly then unreadable = true else call("DEL", key) end
  existed = false
  repaired = 1
  dirty = true
end
if not existed then stored = nil end
if s == nil then
  -- machine.initial
  s = { state = "CLOSED", version = 0, openCount = 0, openedAt = 0, retryAt = 0, changedAt = 0, writtenAt = 0,
        halfOpenSuccesses = 0 }
end

-- times written by a clock far ahead (or rotten data) would stop time for the whole fleet:
-- they are brought back to now, and an open period to at most what this config allows
if s.changedAt > now + FUTURE_TOLERANCE or s.writtenAt > now + FUTURE_TOLERANCE or
    s.openedAt > now + FUTURE_TOLERANCE or s.retryAt > now + stateTtl then
  if s.changedAt > now then s.changedAt = now end
  if s.writtenAt > now then s.writtenAt = now end
  if s.openedAt > now then s.openedAt = now end
  local longest = tonumber(maxRecoveryTimeout)
  if s.retryAt > now + longest then s.retryAt = now + longest end
  repaired = 1
  dirty = true
end

local t = now
if s.changedAt > t then t = s.changedAt end

-- numbers sent to Redis as the strings they arrived as (a number formatted again costs): t
-- (now is a whole number: its argument is written as it came)
local tArg = t
if t == now then tArg = ARGV[2] end

-- the window bucket t falls in (machine.bucketWidth)
local windowIndex = floor(t / math.max(1, floor(monitoringPeriod / WINDOW_BUCKETS)))

-- the record of a CLOSED (or FORCED_CLOSED) circuit that changes no state that the first block of
-- this script did not take (FORCED_CLOSED, a probe's late result, batched successes, words it does
-- not read as they are, such as a number with leading zeros), on data read clean, in the bucket
-- of the last write, not expired, with the writers' config, nothing to put back and no metric counts:
-- machine.record is then machine.windowAdd, so the words read are written back with the window's
-- counts added and writtenAt = t, and the reply is the state read. Anything else (a transition, a
-- new bucket, a repair) takes the whole machine below, which writes the same for this case
if op == "record" and stored ~= nil and not dirty and knownArg == "" and (unsent == "" or unsent == "0 0 0 0")
    and (state == "CLOSED" or state == "FORCED_CLOSED") and tonumber(wIndex) == windowIndex
    and stored[2] == configArg and not (s.writtenAt > 0 and t - s.writtenAt >= stateTtl) then
  local failed, calls = 0, successes
  if outcomeArg == "failure" then failed, calls = 1, calls + 1 elseif outcomeArg == "success" then calls = calls + 1 end
  local cNow, fNow = tonumber(wCalls) + calls, tonumber(wFailures) + failed
  local windowCalls, windowFailures = tonumber(wOlderCalls) + cNow, tonumber(wOlderFailures) + fNow
  -- machine.tripped: a failure that opens the circuit is a transition (the machine below)
  if failed == 0 or state == "FORCED_CLOSED" or not (windowFailures >= failureThreshold or (failureRateThreshold ~= nil
      and windowCalls >= tonumber(minimumCalls) and windowFailures / windowCalls >= failureRateThreshold)) then
    local cWord, fWord = wCalls, wFailures
    if calls > 0 then cWord = cNow end
    if failed > 0 then fWord = fNow end
    call("HSET", key, "s", state .. " " .. wVersion .. " " .. wOpenCount .. " " .. wOpenedAt .. " " .. wRetryAt .. " " ..
      wChangedAt .. " " .. tArg .. " " .. wHalfOpenSuccesses .. " " .. wIndex .. " " .. cWord .. " " .. fWord .. " " ..
      wOlderCalls .. " " .. wOlderFailures .. wTail)
    if state == "FORCED_CLOSED" then
      call("PERSIST", key)
    elseif find(ARGV[4], "^%d+$") then
      call("PEXPIRE", key, ARGV[4])
    else
      call("PEXPIRE", key, stateTtl)
    end
    return { state, s.version, s.openCount, s.openedAt, s.retryAt, s.changedAt, windowFailures, windowCalls,
             s.halfOpenSuccesses, 0, "", 0, "", t, 0, 0, 0, 0 }
  end
end

-- the window as read (machine.windowSum): the counts of the current bucket (cNow, fNow), the sums of
-- the other buckets in the window (sumCalls, sumFailures), the other buckets (windowTail); sameBucket
-- when the stored window is of the current bucket (its words are then sent back as they are)
local cNow, fNow, sumCalls, sumFailures, windowTail = 0, 0, 0, 0, ""
local sameBucket = false
if stored ~= nil then
  local index = tonumber(wIndex)
  if index == windowIndex then
    -- the bucket of the last write: the other buckets' sums were kept with it
    cNow, fNow, sumCalls, sumFailures, windowTail = tonumber(wCalls), tonumber(wFailures), tonumber(wOlderCalls),
      tonumber(wOlderFailures), wTail
    sameBucket = true
  else
    -- another bucket: every bucket is read again; those that left the window are dropped, and
    -- those ahead of it kept (machine.windowAdd), uncounted (machine.windowSum)
    local kept = {}
    local oldest = windowIndex - WINDOW_BUCKETS
    local b, c, f = wIndex, wCalls, wFailures
    local rest
    -- (most windows hold one bucket: no iterator for the others)
    if wTail ~= "" then rest = string.gmatch(wTail, " (%d+) (%d+) (%d+)") end
    while b ~= nil do
      local bn, cn, fn = tonumber(b), tonumber(c), tonumber(f)
      if bn == windowIndex then
        cNow, fNow = cn, fn
      elseif bn > oldest and (cn > 0 or fn > 0) then
        kept[#kept + 1] = " " .. b .. " " .. c .. " " .. f
        if bn < windowIndex then sumCalls, sumFailures = sumCalls + cn, sumFailures + fn end
      end
      if rest == nil then b = nil else b, c, f = rest() end
    end
    if kept[1] ~= nil then windowTail = table.concat(kept) end
  end
end

-- the probe leases as read (HALF_OPEN: no other state has any, every transition drops them): the
-- live ones (machine.pruneLeases drops the others), how many, the earliest expiry, whether the
-- caller's own is one of them
local liveProbes, earliest, ownLive = 0, nil, false
-- the live leases, "<id> <expiry>", and their ids
local leases, leaseIds = {}, {}
-- whether the field exists; "garbage" when a lease in it is not what this script writes
local probesThere = false
-- at most halfOpenMaxProbes leases, none longer than LEASE_BYTES, none further ahead than a lease
-- and FUTURE_TOLERANCE: more is garbage, dropped without reading further (a field longer than such
-- leases take is not even read)
local most
if s.state == "HALF_OPEN" then
  most = tonumber(halfOpenMaxProbes)
  local size = call("HSTRLEN", key, "probes")
  if size > most * (LEASE_BYTES + 1) then
    probesThere = "garbage"
  elseif size > 0 then
    probesThere = call("HGET", key, "probes")
  end
end
if probesThere then
  local ahead = t + tonumber(probeLease) + FUTURE_TOLERANCE
  local read = 0
  for id, e in string.gmatch(probesThere, "(%S+) (%S+)") do
    local expiry = tonumber(e)
    read = read + 1
    if read > most or not whole(expiry) or expiry > ahead then
      probesThere = "garbage"
      leases, leaseIds, liveProbes, ownLive, earliest = {}, {}, 0, false, nil
      break
    elseif expiry > t then
      if id == probeArg then ownLive = true end
      liveProbes = liveProbes + 1
      if earliest == nil or expiry < earliest then earliest = expiry end
      leases[liveProbes], leaseIds[liveProbes] = id .. " " .. e, id
    end
  end
end

-- whether this call changes the window (windowFailed: its failures too), and the leases
local windowWrite, windowFailed, windowDropped, probesChanged = false, false, false, probesThere == "garbage"

-- ---------------------------------------------------------------------------
-- the machine (mirrors shared/breaker/machine.ts)
-- ---------------------------------------------------------------------------

-- Redis lost the circuit (restart without persistence, FLUSHALL, failover to a replica that had not
-- caught up, garbage repaired above), and the caller knew it: what it knew is put back before the
-- operation runs on it, only onto a state that has seen nothing since it was created again, so that
-- a newer transition is never rolled back. (The caller sends it only while the circuit cannot have
-- expired or been superseded since it last read it: src/internal/redis/circuitCache.ts, `lostState`.)
local restored = 0
if knownArg ~= "" and (not existed or (s.state == "CLOSED" and s.version == 0 and s.openCount == 0)) then
  local kState, kOpenCount, kOpenedAt, kRetryAt, kVersion = string.match(knownArg,
    "^(%u[%u_]*) (%d+) (%d+) (%d+) (%d+)$")
  kOpenCount, kOpenedAt, kRetryAt, kVersion = tonumber(kOpenCount), tonumber(kOpenedAt), tonumber(kRetryAt),
    tonumber(kVersion)
  if (kState == "OPEN" or kState == "FORCED_OPEN" or kState == "FORCED_CLOSED") and kOpenCount < LIMIT
      and kOpenedAt < LIMIT and kRetryAt < LIMIT and kVersion < LIMIT then
    s.state = kState
    s.version = math.max(s.version, kVersion) + 1
    s.openCount = kOpenCount
    s.openedAt = math.min(kOpenedAt, t)
    s.retryAt = kRetryAt
    if s.retryAt > t + stateTtl then s.retryAt = t + tonumber(maxRecoveryTimeout) end
    s.changedAt = t
    s.writtenAt = t
    s.halfOpenSuccesses = 0
    restored = 1
    dirty = true
  end
end

-- record runs for op record, and for the batched successes that ride along with acquire, read, metrics
local recording = op == "record" or (successes > 0 and op ~= "force")

-- machine.expire, which every operation but a read starts with: a state not written for stateTtl
-- is forgotten; the admin states are sticky and never expire
if (recording or op == "acquire" or op == "force") and s.writtenAt > 0 and
    t - s.writtenAt >= stateTtl and s.state ~= "FORCED_OPEN" and s.state ~= "FORCED_CLOSED" then
  s = { state = "CLOSED", version = s.version + 1, openCount = 0, openedAt = 0, retryAt = 0, changedAt = t,
        writtenAt = 0, halfOpenSuccesses = 0 }
  cNow, fNow, sumCalls, sumFailures, windowTail, sameBucket, windowDropped = 0, 0, 0, 0, "", false, true
  leases, leaseIds, liveProbes, ownLive, probesChanged = {}, {}, 0, false, true
  dirty = true
end

-- a transition this call makes (machine.transition, open, close), done below: the state, and for
-- OPEN the open count
local to, toCount

local decision, retryAfter, probe = "", 0, ""

if recording then
  -- machine.record
  local outcome, held = "", false
  if op == "record" then outcome, held = outcomeArg, ownLive end
  s.writtenAt = t
  dirty = true
  if s.state == "CLOSED" or s.state == "FORCED_CLOSED" then
    local failed = 0
    if outcome == "failure" then failed = 1 end
    local calls = successes
    if outcome == "success" or outcome == "failure" then calls = calls + 1 end
    if calls > 0 then
      -- machine.windowAdd: into the bucket of t
      cNow, fNow = cNow + calls, fNow + failed
      windowWrite = true
      if failed == 1 then windowFailed = true end
    end
    if failed == 1 and s.state == "CLOSED" then
      -- machine.tripped, on machine.windowSum
      local windowCalls, windowFailures = sumCalls + cNow, sumFailures + fNow
      if windowFailures >= failureThreshold or (failureRateThreshold ~= nil and windowCalls >= tonumber(minimumCalls)
          and windowFailures / windowCalls >= failureRateThreshold) then
        to, toCount = "OPEN", 0
      end
    end
  elseif s.state == "HALF_OPEN" and held then
    -- machine.pruneLeases (expired leases are not live), then the permit held is given back
    local kept, keptIds, k = {}, {}, 0
    for i = 1, liveProbes do
      if leaseIds[i] ~= probeArg then
        k = k + 1
        kept[k], keptIds[k] = leases[i], leaseIds[i]
      end
    end
    leases, leaseIds, liveProbes, ownLive, probesChanged = kept, keptIds, k, false, true
    if outcome == "success" then
      s.halfOpenSuccesses = s.halfOpenSuccesses + 1
      if s.halfOpenSuccesses >= tonumber(successThreshold) then to = "CLOSED" end
    elseif outcome == "failure" then
      to, toCount = "OPEN", s.openCount + 1
    end
  end
  -- OPEN, FORCED_OPEN: late results of calls admitted before the circuit opened change nothing
end

if op == "acquire" then
  -- machine.acquire
  local state = s.state
  if state == "CLOSED" or state == "FORCED_CLOSED" then
    decision = "allow"
  elseif state == "FORCED_OPEN" then
    decision, retryAfter = "reject", tonumber(recoveryTimeout)
  elseif state == "OPEN" and t < s.retryAt then
    decision, retryAfter = "reject", s.retryAt - t
  else
    if state == "OPEN" then
      -- the first call at or after retryAt moves to HALF_OPEN and takes a probe permit
      s.state = "HALF_OPEN"
      s.version = s.version + 1
      s.changedAt = t
      s.halfOpenSuccesses = 0
      leases, leaseIds, liveProbes, ownLive, earliest, probesChanged = {}, {}, 0, false, nil, true
      s.writtenAt = t
      dirty = true
    end
    -- machine.takeProbe, after machine.pruneLeases
    if liveProbes < tonumber(halfOpenMaxProbes) then
      local lease = probeArg .. " " .. (t + tonumber(probeLease))
      if ownLive then
        for i = 1, liveProbes do if leaseIds[i] == probeArg then leases[i] = lease end end
      else
        liveProbes = liveProbes + 1
        leases[liveProbes], leaseIds[liveProbes] = lease, probeArg
      end
      probesChanged = true
      s.writtenAt = t
      dirty = true
      decision, probe = "allow", probeArg
    else
      decision = "reject"
      if earliest - t < HALF_OPEN_RETRY_AFTER then retryAfter = earliest - t else retryAfter = HALF_OPEN_RETRY_AFTER end
    end
  end
elseif op == "force" then
  -- machine.force
  s.writtenAt = t
  dirty = true
  if outcomeArg == "RESET" then to = "CLOSED" else to = outcomeArg end
end

if to ~= nil then
  -- machine.transition
  s.state = to
  s.version = s.version + 1
  s.changedAt = t
  s.halfOpenSuccesses = 0
  leases, leaseIds, liveProbes, probesChanged = {}, {}, 0, true
  dirty = true
  if to == "OPEN" then
    -- machine.open, with machine.openPeriod
    opens = opens + 1
    s.openCount = toCount
    s.openedAt = t
    local d, longest, multiplier, jitter = tonumber(recoveryTimeout), tonumber(maxRecoveryTimeout),
      tonumber(backoffMultiplier), tonumber(backoffJitter)
    -- recovery * multiplier ^ openCount by squaring: at most 54 steps whatever the count, the
    -- same multiplications as machine.openPeriod
    if multiplier > 1 then
      local base, k = multiplier, toCount
      while k > 0 and d < longest do
        if k % 2 == 1 then d = d * base end
        base = base * base
        k = floor(k / 2)
      end
    end
    if d > longest then d = longest end
    local lo = 1 - jitter
    local hi = 1 + jitter
    s.retryAt = t + floor(d * lo * (1 - u) + d * hi * u + 0.5)
  elseif to == "CLOSED" then
    -- machine.close (and for a reset, no backoff history either)
    s.openCount = 0
    s.retryAt = 0
    if op == "force" then s.openedAt = 0 end
  else
    -- FORCED_OPEN, FORCED_CLOSED
    s.retryAt = 0
  end
  if to == "OPEN" or to == "CLOSED" then
    cNow, fNow, sumCalls, sumFailures, windowTail, sameBucket, windowDropped = 0, 0, 0, 0, "", false, true
    windowWrite = false
  end
end

-- ---------------------------------------------------------------------------
-- fleet metrics (not part of the state machine: counts only)
-- ---------------------------------------------------------------------------

local fleet1, fleet2, fleet3, fleet4, fleet5 = 0, 0, 0, 0, 0
if metricsKey ~= nil and metricsTtl ~= nil and metricsTtl > 0 and
    (op == "metrics" or opens > 0 or (unsent ~= "" and unsent ~= "0 0 0 0")) then
  local index = floor(t / math.max(1, floor(metricsTtl / METRICS_BUCKETS)))
  -- "successes failures rejections probes": as the store sends them, one match; else number by number
  -- the counts to add, as the digits they arrived as (a number formatted again costs)
  local a1, a2, a3, a4 = string.match(unsent, "^(%d+) (%d+) (%d+) (%d+)$")
  if a1 == nil then
    local add = { "0", "0", "0", "0" }
    local i = 0
    for n in string.gmatch(unsent, "%d+") do
      i = i + 1
      if i <= 4 then add[i] = n end
    end
    a1, a2, a3, a4 = add[1], add[2], add[3], add[4]
  end
  local a5 = "0"
  if opens > 0 then a5 = tostring(opens) end
  local fresh = false
  local prefix
  for i = 1, 5 do
    local n = a5
    if i == 1 then n = a1 elseif i == 2 then n = a2 elseif i == 3 then n = a3 elseif i == 4 then n = a4 end
    if n ~= "0" then
      if prefix == nil then prefix = index .. ":" end
      local field = prefix .. sub("sfrpo", i, i)
      local added = redis.pcall("HINCRBY", metricsKey, field, n)
      if type(added) == "table" and added.err ~= nil then
        -- a key of another type, or a field that is not a whole count: dropped, counted again from here
        if find(added.err, "WRONGTYPE", 1, true) ~= nil then call("DEL", metricsKey)
        else call("HDEL", metricsKey, field) end
        call("HINCRBY", metricsKey, field, n)
        repaired = 1
        fresh = true
      elseif added == tonumber(n) then
        -- a count this bucket had not had yet
        fresh = true
      end
    end
  end
  -- a bucket's first counts of a kind drop the buckets that left the window, and mark the bucket;
  -- later counts of that kind in that bucket find both done. A hash with more fields than this
  -- script writes is garbage: dropped, and this call's counts counted again
  if fresh and call("HLEN", metricsKey) > METRICS_FIELDS then
    call("DEL", metricsKey)
    for i = 1, 5 do
      local n = a5
      if i == 1 then n = a1 elseif i == 2 then n = a2 elseif i == 3 then n = a3 elseif i == 4 then n = a4 end
      if n ~= "0" then call("HINCRBY", metricsKey, prefix .. sub("sfrpo", i, i), n) end
    end
    repaired = 1
  end
  if fresh and call("HGET", metricsKey, "bucket") ~= tostring(index) then
    local old
    for _, field in ipairs(call("HKEYS", metricsKey)) do
      local b = tonumber(string.match(field, "^(%-?%d+):"))
      if field ~= "bucket" and (b == nil or b <= index - METRICS_BUCKETS) then
        if old == nil then old = { "HDEL", metricsKey, field } else old[#old + 1] = field end
      end
    end
    if old ~= nil then call(unpack(old)) end
    call("HSET", metricsKey, "bucket", index)
  end
  -- the TTL: set when a bucket gets its first count of a kind. The key then lives until metricsTtl
  -- after the newest bucket began at the earliest, when that bucket has left the window
  -- (METRICS_BUCKETS buckets of floor(metricsTtl / METRICS_BUCKETS)): nothing a reader counts goes
  -- with it, and the counts that follow in the same bucket need no PEXPIRE of their own
  if fresh then
    if peek ~= "config" and find(ARGV[15], "^%d+$") then call("PEXPIRE", metricsKey, ARGV[15])
    else call("PEXPIRE", metricsKey, metricsTtl) end
  end
  if op == "metrics" then
    -- (HLEN first: a hash with more fields than this script writes is garbage, not read; a key of
    -- another type answers WRONGTYPE. Either is dropped, or by a peek reported and left)
    local size = redis.pcall("HLEN", metricsKey)
    local fields = {}
    if type(size) == "table" and find(size.err, "WRONGTYPE", 1, true) == nil then return call("HLEN", metricsKey) end
    if type(size) == "table" or size > METRICS_FIELDS then
      if not readOnly then call("DEL", metricsKey) end
      repaired = 1
    elseif size > 0 then
      fields = call("HGETALL", metricsKey)
    end
    for i = 1, #fields, 2 do
      local b, name = string.match(fields[i], "^(%-?%d+):(%a)$")
      b = tonumber(b)
      if b ~= nil and b > index - METRICS_BUCKETS and b <= index then
        local n = tonumber(fields[i + 1])
        if whole(n) then
          if name == "s" then fleet1 = fleet1 + n
          elseif name == "f" then fleet2 = fleet2 + n
          elseif name == "r" then fleet3 = fleet3 + n
          elseif name == "p" then fleet4 = fleet4 + n
          elseif name == "o" then fleet5 = fleet5 + n end
        end
      end
    end
  end
end

-- ---------------------------------------------------------------------------
-- snapshot (mirrors machine.snapshot: a state past its TTL reads as new)
-- ---------------------------------------------------------------------------

local view = s
local calls, failures, probes = 0, 0, 0
if s.writtenAt > 0 and t - s.writtenAt >= stateTtl and s.state ~= "FORCED_OPEN" and s.state ~= "FORCED_CLOSED" then
  view = { state = "CLOSED", version = s.version + 1, openCount = 0, openedAt = 0, retryAt = 0, changedAt = t,
           halfOpenSuccesses = 0 }
else
  -- machine.windowSum, and the live leases
  calls, failures, probes = sumCalls + cNow, sumFailures + fNow, liveProbes
end

-- ---------------------------------------------------------------------------
-- write: one HSET ("s" and the fields that changed; HDEL of leases that are all gone), the TTL
-- ---------------------------------------------------------------------------

if dirty and not readOnly then
  -- the state fields one by one, for people and tools (the script reads only "s"), where they
  -- changed; a call that changes none of them (most) sends "s" alone
  local hset
  local n = 2
  if stored == nil or s.state ~= state then hset, n = { "HSET", key, "state", s.state }, 4 end
  local v2, v3, v4, v5, v6, v8 = wVersion, wOpenCount, wOpenedAt, wRetryAt, wChangedAt, wHalfOpenSuccesses
  if stored == nil or s.version ~= version then
    v2 = s.version
    hset = hset or { "HSET", key }
    hset[n + 1], hset[n + 2], n = "version", v2, n + 2
  end
  if stored == nil or s.openCount ~= openCount then
    v3 = s.openCount
    hset = hset or { "HSET", key }
    hset[n + 1], hset[n + 2], n = "openCount", v3, n + 2
  end
  if stored == nil or s.openedAt ~= openedAt then
    v4 = s.openedAt
    if v4 == t then v4 = tArg end
    hset = hset or { "HSET", key }
    hset[n + 1], hset[n + 2], n = "openedAt", v4, n + 2
  end
  if stored == nil or s.retryAt ~= retryAt then
    v5 = s.retryAt
    hset = hset or { "HSET", key }
    hset[n + 1], hset[n + 2], n = "retryAt", v5, n + 2
  end
  if stored == nil or s.changedAt ~= changedAt then
    v6 = s.changedAt
    if v6 == t then v6 = tArg end
    hset = hset or { "HSET", key }
    hset[n + 1], hset[n + 2], n = "changedAt", v6, n + 2
  end
  if stored == nil or s.halfOpenSuccesses ~= halfOpenSuccesses then
    v8 = s.halfOpenSuccesses
    hset = hset or { "HSET", key }
    hset[n + 1], hset[n + 2], n = "halfOpenSuccesses", v8, n + 2
  end
  local v7 = s.writtenAt
  if v7 == t then v7 = tArg elseif stored ~= nil and v7 == writtenAt then v7 = wWrittenAt end
  -- the window: the stored words where they did not change (a stored window of another bucket is
  -- kept as it is unless this call adds to it: the next read counts it again)
  local w
  if windowWrite and sameBucket then
    local f = wFailures
    if windowFailed then f = fNow end
    w = wIndex .. " " .. cNow .. " " .. f .. " " .. wOlderCalls .. " " .. wOlderFailures .. windowTail
  elseif windowWrite then
    w = windowIndex .. " " .. cNow .. " " .. fNow .. " " .. sumCalls .. " " .. sumFailures .. windowTail
  elseif stored ~= nil and not windowDropped then
    w = wIndex .. " " .. wCalls .. " " .. wFailures .. " " .. wOlderCalls .. " " .. wOlderFailures .. wTail
  else
    -- no window: bucket 0, which any read drops
    w = "0 0 0 0 0"
  end
  -- what a reader needs to interpret the circuit: the writers' config, as it arrived (a peek that
  -- read the stored one leaves it)
  if peek ~= "config" and (stored == nil or stored[2] ~= configArg) then
    hset = hset or { "HSET", key }
    hset[n + 1], hset[n + 2], n = "config", configArg, n + 2
  end
  if probesChanged then
    if liveProbes > 0 then
      hset = hset or { "HSET", key }
      hset[n + 1], hset[n + 2], n = "probes", table.concat(leases, " "), n + 2
    elseif probesThere then
      call("HDEL", key, "probes")
    end
    if probesThere == "garbage" then repaired = 1 end
  end
  local circuit = s.state .. " " .. v2 .. " " .. v3 .. " " .. v4 .. " " .. v5 .. " " .. v6 .. " " .. v7 .. " " .. v8 ..
    " " .. w
  if hset == nil then
    call("HSET", key, "s", circuit)
  else
    hset[n + 1], hset[n + 2] = "s", circuit
    call(unpack(hset))
  end
  -- a transition (a new version) is announced to the instances that cache the circuit: one message
  -- "<version> <state> <key>" on "<prefix>:transitions" (a prefix holds no brace); a server that
  -- refuses PUBLISH in a script changes nothing here
  if s.version ~= version and s.version ~= 0 then
    redis.pcall("PUBLISH", string.match(key, "^[^{]*") .. "transitions", v2 .. " " .. s.state .. " " .. key)
  end
  if s.state == "FORCED_OPEN" or s.state == "FORCED_CLOSED" then
    call("PERSIST", key)
  elseif peek ~= "config" and find(ARGV[4], "^%d+$") then
    call("PEXPIRE", key, ARGV[4])
  else
    call("PEXPIRE", key, stateTtl)
  end
end

-- created: this call wrote a state that did not exist (first use, or after a restart or FLUSHALL)
local created = 0
if dirty and not existed and not readOnly then created = 1 end

-- (a rotten state a peek left is there, not missing)
local missing = 0
if not existed and not unreadable then missing = 1 end

if op == "metrics" then
  return { view.state, view.version, view.openCount, view.openedAt, view.retryAt, view.changedAt, failures, calls,
           view.halfOpenSuccesses, probes, decision, retryAfter, probe, t, repaired, created, missing, restored,
           fleet1, fleet2, fleet3, fleet4, fleet5 }
end
return { view.state, view.version, view.openCount, view.openedAt, view.retryAt, view.changedAt, failures, calls,
         view.halfOpenSuccesses, probes, decision, retryAfter, probe, t, repaired, created, missing, restored }
