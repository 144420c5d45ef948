-- The circuit state machine (ARCHITECTURE.md, "Layers"), as one atomic script.
-- Line-by-line twin of src/internal/machine.ts: change one, change the other
-- (test/Equivalence.test.ts holds them against each other).
--
-- KEYS[1] state hash    <prefix>:{<name>}:state
-- KEYS[2] window hash   <prefix>:{<name>}:window   fields c:<bucket>, f:<bucket>
-- KEYS[3] probe leases  <prefix>:{<name>}:probes   zset member=probe id, score=lease expiry
-- KEYS[4] fleet metrics <prefix>:{<name>}:metrics  fields <bucket>:s|f|r|p|o (successes, failures,
--                        rejections, probes, opens), buckets of metricsTtl / 24, expiring after metricsTtl
-- (one hash tag: every key lives in one cluster slot)
--
-- ARGV  1 op: acquire | record | force | read | metrics | restore
--       2 now in epoch ms: Redis's clock as the caller learned it from TIME (timeSource "server"),
--         or the caller's own (timeSource "client"); no TIME in here, so the script stays
--         deterministic (as Upstash asks)
--       3 failureThreshold   4 successThreshold    5 recoveryTimeout   6 maxRecoveryTimeout
--       7 monitoringPeriod   8 backoffMultiplier   9 backoffJitter    10 stateTtl
--      11 halfOpenMaxProbes 12 probeLease         13 failureRateThreshold ("" = off)
--      14 minimumCalls
--      15 acquire: the probe id to lease; record: the probe permit held ("" = none);
--         restore: "state openCount openedAt retryAt version", what the caller knew before Redis lost it
--      16 record: success | failure | release | "" (flush only); force: FORCED_OPEN | FORCED_CLOSED | RESET
--      17 jitter sample u in [0, 1)
--      18 batched successes to add first
--      19 metricsTtl (optional: no metrics without it)
--      20 metric counts this instance has not sent yet: "successes failures rejections probes"
--      21 "peek": a reader that may not have the circuit's config (monitoring) reads it with the
--         config the circuit's writers stored in its state (field "config"), when there is one
--
-- Reply: { state, version, openCount, openedAt, retryAt, changedAt, failures, calls,
--          halfOpenSuccesses, probes, decision ("allow" | "reject" | ""), retryAfter, probe, now, repaired,
--          created (1 when the state hash did not exist before this call and this call wrote it),
--          and for op "metrics" the fleet's successes, failures, rejections, probes, opens within metricsTtl
--          (zeros otherwise), missing (1 when the state hash did not exist before this call) }
--
-- Data that is not what this script writes (a number that is not a whole number in range, a key of
-- another type, a time far in the future) is repaired and reported (repaired = 1), never an error:
-- a script error would be taken for an unavailable store.

--
-- Cost (Redis CPU per call is the fleet's shared hot path; bench/lua.bench.ts measures it, as
-- `usec_per_call` of EVALSHA, against a minimal script): in Redis's Lua every closure and table a
-- call creates, and every number turned into a string (a number passed to redis.call, a number
-- concatenated), costs about as much as a cheap command. So the machine below is written as
-- straight-line blocks (the functions of machine.ts are named in the comments), not as local
-- functions; a number that arrived as a string in ARGV is sent back as that string; every key is
-- read at most once, and what a call needs later (the window's sums, the count of live probe
-- leases, whether a key exists) is kept from what it read or wrote instead of asked again; the
-- state hash gets only the fields that changed; a key is given its TTL only when it may exist;
-- and the fleet metrics are left alone when there is nothing to add and nothing to read.

local WINDOW_BUCKETS = 10
local HALF_OPEN_RETRY_AFTER = 1000
-- times further ahead of now than this were written by a clock that was wrong
local FUTURE_TOLERANCE = 60000
local MAX_INTEGER = 9007199254740991
local METRICS_BUCKETS = 24

local floor, tonumber, find = math.floor, tonumber, string.find
local call = redis.call

local stateKey, windowKey, probesKey, metricsKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local op = ARGV[1]

local function whole(n)
  return n ~= nil and n == n and n >= 0 and n <= MAX_INTEGER and n == floor(n)
end

local now = tonumber(ARGV[2])

local failureThreshold = tonumber(ARGV[3])
local successThreshold = tonumber(ARGV[4])
local recoveryTimeout = tonumber(ARGV[5])
local maxRecoveryTimeout = tonumber(ARGV[6])
local monitoringPeriod = tonumber(ARGV[7])
local backoffMultiplier = tonumber(ARGV[8])
local backoffJitter = tonumber(ARGV[9])
local stateTtl = tonumber(ARGV[10])
local halfOpenMaxProbes = tonumber(ARGV[11])
local probeLease = tonumber(ARGV[12])
local failureRateThreshold = tonumber(ARGV[13])
local minimumCalls = tonumber(ARGV[14])
local probeArg = ARGV[15]
local outcomeArg = ARGV[16]
local u = tonumber(ARGV[17]) or 0
local successes = tonumber(ARGV[18]) or 0
local metricsTtl = tonumber(ARGV[19])
local peek = ARGV[21] == "peek"
local opens = 0

if not whole(now) or failureThreshold == nil or stateTtl == nil then
  return redis.error_reply("ERR circuit script: bad arguments")
end

-- ---------------------------------------------------------------------------
-- load
-- ---------------------------------------------------------------------------

local repaired = 0
local dirty = false

-- what this call knows of its other keys, so that it asks Redis nothing twice:
-- windowCalls, windowFailures: the window's sums at t (nil: not read yet);
-- windowThere: whether the window key exists (nil: unknown);
-- liveProbes: how many leases expire after t (nil: not counted yet);
-- probesThere: whether the probes key may hold anything (nil: unknown)
local windowCalls, windowFailures, windowThere, liveProbes, probesThere

-- every command on a key: a key of another type (someone wrote over it) is dropped, reported,
-- and the command run again on the empty key (the type is only checked when a command fails)
local function kcall(...)
  local reply = redis.pcall(...)
  if type(reply) == "table" and reply.err ~= nil then
    -- any other error is raised as it is
    if find(reply.err, "WRONGTYPE", 1, true) == nil then return call(...) end
    local key = (select(2, ...))
    call("DEL", key)
    repaired = 1
    return call(...)
  end
  return reply
end

local s
-- the fields as stored (nil when there is no valid state hash): a write sends only what changed.
-- HMGET of the fields this script writes, not HGETALL: every element of a reply costs; a hash
-- that has none of them is looked at once more (EXISTS), so that one holding only other fields
-- is repaired as the garbage it is
local stored = kcall("HMGET", stateKey, "state", "version", "openCount", "openedAt", "retryAt", "changedAt",
  "writtenAt", "halfOpenSuccesses", "config")
local storedState = stored[1]
local existed = storedState ~= false
if not existed then
  for i = 2, 9 do if stored[i] ~= false then existed = true end end
  -- a key of another type was dropped by kcall: missing too
  if not existed and call("EXISTS", stateKey) == 1 then existed = true end
end
if existed then
  local version, openCount, openedAt, retryAt = tonumber(stored[2]), tonumber(stored[3]), tonumber(stored[4]),
    tonumber(stored[5])
  local changedAt, writtenAt, halfOpenSuccesses = tonumber(stored[6]), tonumber(stored[7]), tonumber(stored[8])
  local state = storedState
  if (state == "CLOSED" or state == "OPEN" or state == "HALF_OPEN" or state == "FORCED_OPEN" or state == "FORCED_CLOSED")
      and whole(version) and whole(openCount) and whole(openedAt) and whole(retryAt) and whole(changedAt)
      and whole(writtenAt) and whole(halfOpenSuccesses) then
    s = { state = state, version = version, openCount = openCount, openedAt = openedAt, retryAt = retryAt,
          changedAt = changedAt, writtenAt = writtenAt, halfOpenSuccesses = halfOpenSuccesses }
    local config = stored[9]
    if peek and config ~= false then
      -- what the fleet's writers configured: a reader with another config sees what they see
      -- (ten words, one space apart, as this script writes them: one match; anything else, word by word)
      local c = { string.match(config, "^(%S+) (%S+) (%S+) (%S+) (%S+) (%S+) (%S+) (%S+) (%S+) (%S+)$") }
      if c[1] == nil then
        c = {}
        for word in string.gmatch(config, "%S+") do c[#c + 1] = tonumber(word) end
      end
      if #c == 10 then
        local valid = true
        for i = 1, 10 do
          local n = tonumber(c[i])
          c[i] = n
          if n == nil or n ~= n or n < 0 then valid = false end
        end
        if valid then
          monitoringPeriod, stateTtl, failureThreshold, successThreshold, recoveryTimeout, maxRecoveryTimeout,
            backoffMultiplier, backoffJitter, halfOpenMaxProbes, probeLease =
            c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9], c[10]
          peek = "config"
        end
      end
    end
  else
    -- a state hash overwritten with garbage (not a state, a number that is not a whole number
    -- in range: inf, nan, 1.5, -1): start again from CLOSED, and say so; to its callers the state
    -- is missing, so that an instance that knew it re-asserts it (as after a restart)
    call("DEL", stateKey, windowKey, probesKey)
    existed = false
    repaired = 1
    dirty = true
    windowCalls, windowFailures, windowThere, liveProbes, probesThere = 0, 0, false, 0, false
  end
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
  if s.retryAt > now + maxRecoveryTimeout then s.retryAt = now + maxRecoveryTimeout end
  repaired = 1
  dirty = true
end

local t = now
if s.changedAt > t then t = s.changedAt end

-- numbers sent to Redis as the strings they arrived as, when those are plain digits (a number
-- formatted again costs as much as a command): t, stateTtl
local tArg = t
if t == now and find(ARGV[2], "^%d+$") then tArg = ARGV[2] end
local ttlArg = stateTtl
if peek ~= "config" and find(ARGV[10], "^%d+$") then ttlArg = ARGV[10] end

-- the window bucket t falls in (machine.bucketWidth)
local windowIndex = floor(t / math.max(1, floor(monitoringPeriod / WINDOW_BUCKETS)))

-- ---------------------------------------------------------------------------
-- the machine (mirrors src/internal/machine.ts)
-- ---------------------------------------------------------------------------

local forceTo = outcomeArg
if op == "force" then
  if forceTo ~= "FORCED_OPEN" and forceTo ~= "FORCED_CLOSED" and forceTo ~= "RESET" then
    return redis.error_reply("ERR circuit script: bad force target")
  end
elseif op ~= "acquire" and op ~= "record" and op ~= "read" and op ~= "metrics" and op ~= "restore" then
  return redis.error_reply("ERR circuit script: unknown op")
end

-- restore: what the caller knew before Redis lost it
local known
if op == "restore" then
  local words = {}
  for word in string.gmatch(probeArg, "%S+") do words[#words + 1] = word end
  known = { state = words[1], openCount = tonumber(words[2]), openedAt = tonumber(words[3]),
            retryAt = tonumber(words[4]), version = tonumber(words[5]) }
  local state = known.state
  if not (state == "CLOSED" or state == "OPEN" or state == "HALF_OPEN" or state == "FORCED_OPEN" or state == "FORCED_CLOSED")
      or not whole(known.openCount) or not whole(known.openedAt) or not whole(known.retryAt) or not whole(known.version) then
    return redis.error_reply("ERR circuit script: bad restore")
  end
end

-- record runs for op record, and for the batched successes that ride along with acquire, read, metrics
local recording = op == "record" or (successes > 0 and op ~= "force" and op ~= "restore")

-- machine.expire, which every operation but a read starts with: a state not written for stateTtl
-- is forgotten; the admin states are sticky and never expire
if (recording or op == "acquire" or op == "force" or op == "restore") and s.writtenAt > 0 and
    t - s.writtenAt >= stateTtl and s.state ~= "FORCED_OPEN" and s.state ~= "FORCED_CLOSED" then
  s = { state = "CLOSED", version = s.version + 1, openCount = 0, openedAt = 0, retryAt = 0, changedAt = t,
        writtenAt = 0, halfOpenSuccesses = 0 }
  call("DEL", windowKey, probesKey)
  windowCalls, windowFailures, windowThere, liveProbes, probesThere = 0, 0, false, 0, false
  dirty = true
end

-- a transition this call makes (machine.transition, open, close), done below: the state, and for
-- OPEN the open count
local to, toCount

local decision, retryAfter, probe = "", 0, ""

if recording then
  -- machine.record
  local outcome, held = "", ""
  if op == "record" then outcome, held = outcomeArg, probeArg end
  s.writtenAt = t
  dirty = true
  if s.state == "CLOSED" or s.state == "FORCED_CLOSED" then
    local failed = 0
    if outcome == "failure" then failed = 1 end
    local calls = successes
    if outcome == "success" or outcome == "failure" then calls = calls + 1 end
    if calls > 0 then
      -- machine.windowAdd: into the bucket of t; a window field that is not c:<bucket> or
      -- f:<bucket> with a whole count is dropped (and reported), and so are the buckets that left
      -- the window. The window's sums at t (machine.windowSum) are kept from what was read and added.
      local fields = kcall("HGETALL", windowKey)
      local index = tostring(windowIndex)
      local cField, fField = "c:" .. index, "f:" .. index
      local c, f = calls, failed
      local sumCalls, sumFailures = 0, 0
      local stale
      for i = 1, #fields, 2 do
        local field = fields[i]
        local b = tonumber(string.sub(field, 3))
        local n = tonumber(fields[i + 1])
        if b == nil or b <= windowIndex - WINDOW_BUCKETS or not (n ~= nil and n >= 0 and n <= MAX_INTEGER and n % 1 == 0) then
          if b ~= nil and b > windowIndex - WINDOW_BUCKETS then repaired = 1 end
          if stale == nil then stale = { "HDEL", windowKey, field } else stale[#stale + 1] = field end
        elseif field == cField then
          c = c + n
        elseif field == fField then
          f = f + n
        elseif b <= windowIndex then
          if string.byte(field, 1) == 99 then sumCalls = sumCalls + n else sumFailures = sumFailures + n end -- 99: "c"
        end
      end
      if stale ~= nil then call(unpack(stale)) end
      call("HSET", windowKey, cField, c, fField, f)
      windowThere = true
      windowCalls, windowFailures = sumCalls + c, sumFailures + f
    end
    if failed == 1 and s.state == "CLOSED" then
      -- machine.tripped (the window's sums are known: calls > 0)
      if windowFailures >= failureThreshold or (failureRateThreshold ~= nil and windowCalls >= minimumCalls
          and windowFailures / windowCalls >= failureRateThreshold) then
        to, toCount = "OPEN", 0
      end
    end
  elseif s.state == "HALF_OPEN" then
    -- machine.pruneLeases
    if probesThere ~= false then
      kcall("ZREMRANGEBYSCORE", probesKey, "-inf", tArg)
      liveProbes = call("ZCARD", probesKey)
      probesThere = liveProbes > 0
    end
    if held ~= "" and probesThere and call("ZSCORE", probesKey, held) ~= false then
      call("ZREM", probesKey, held)
      liveProbes = liveProbes - 1
      if outcome == "success" then
        s.halfOpenSuccesses = s.halfOpenSuccesses + 1
        if s.halfOpenSuccesses >= successThreshold then to = "CLOSED" end
      elseif outcome == "failure" then
        to, toCount = "OPEN", s.openCount + 1
      end
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
    decision, retryAfter = "reject", recoveryTimeout
  elseif state == "OPEN" and t < s.retryAt then
    decision, retryAfter = "reject", s.retryAt - t
  else
    if state == "OPEN" then
      -- the first call at or after retryAt moves to HALF_OPEN and takes a probe permit
      s.state = "HALF_OPEN"
      s.version = s.version + 1
      s.changedAt = t
      s.halfOpenSuccesses = 0
      call("DEL", probesKey)
      liveProbes, probesThere = 0, false
      s.writtenAt = t
      dirty = true
    end
    -- machine.takeProbe, after machine.pruneLeases
    local held = 0
    if probesThere ~= false then
      kcall("ZREMRANGEBYSCORE", probesKey, "-inf", tArg)
      held = call("ZCARD", probesKey)
    end
    if held < halfOpenMaxProbes then
      liveProbes = held + call("ZADD", probesKey, t + probeLease, probeArg)
      probesThere = true
      s.writtenAt = t
      dirty = true
      decision, probe = "allow", probeArg
    else
      liveProbes, probesThere = held, true
      local earliest = tonumber(call("ZRANGE", probesKey, 0, 0, "WITHSCORES")[2])
      decision = "reject"
      if earliest - t < HALF_OPEN_RETRY_AFTER then retryAfter = earliest - t else retryAfter = HALF_OPEN_RETRY_AFTER end
    end
  end
elseif op == "force" then
  -- machine.force
  s.writtenAt = t
  dirty = true
  if forceTo == "RESET" then to = "CLOSED" else to = forceTo end
elseif op == "restore" then
  -- Redis lost the circuit (restart without persistence, FLUSHALL, failover to a replica that had
  -- not caught up) and the caller re-asserts what it knew: only onto a state that has seen nothing
  -- since it was created again, so that a newer transition is never rolled back
  if not existed or (s.state == "CLOSED" and s.version == 0 and s.openCount == 0) then
    s.state = known.state
    s.version = math.max(s.version, known.version) + 1
    s.openCount = known.openCount
    s.openedAt = math.min(known.openedAt, t)
    s.retryAt = known.retryAt
    s.changedAt = t
    s.writtenAt = t
    s.halfOpenSuccesses = 0
    dirty = true
  end
end

if to ~= nil then
  -- machine.transition
  s.state = to
  s.version = s.version + 1
  s.changedAt = t
  s.halfOpenSuccesses = 0
  liveProbes, probesThere = 0, false
  dirty = true
  if to == "OPEN" then
    -- machine.open, with machine.openPeriod
    opens = opens + 1
    s.openCount = toCount
    s.openedAt = t
    local d = recoveryTimeout
    local i = 0
    while i < toCount and d < maxRecoveryTimeout do
      d = d * backoffMultiplier
      i = i + 1
    end
    if d > maxRecoveryTimeout then d = maxRecoveryTimeout end
    local lo = 1 - backoffJitter
    local hi = 1 + backoffJitter
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
    call("DEL", probesKey, windowKey)
    windowCalls, windowFailures, windowThere = 0, 0, false
  else
    call("DEL", probesKey)
  end
end

-- ---------------------------------------------------------------------------
-- fleet metrics (not part of the state machine: counts only)
-- ---------------------------------------------------------------------------

local fleet1, fleet2, fleet3, fleet4, fleet5 = 0, 0, 0, 0, 0
local unsent = ARGV[20] or ""
if metricsKey ~= nil and metricsTtl ~= nil and metricsTtl > 0 and
    (op == "metrics" or opens > 0 or (unsent ~= "" and unsent ~= "0 0 0 0")) then
  local index = floor(t / math.max(1, floor(metricsTtl / METRICS_BUCKETS)))
  -- "successes failures rejections probes": as the store sends them, one match; else number by number
  local add
  local a1, a2, a3, a4 = string.match(unsent, "^(%d+) (%d+) (%d+) (%d+)$")
  if a1 ~= nil then
    add = { tonumber(a1), tonumber(a2), tonumber(a3), tonumber(a4), opens }
  else
    add = { 0, 0, 0, 0, opens }
    local i = 0
    for n in string.gmatch(unsent, "%d+") do
      i = i + 1
      if i <= 4 then add[i] = tonumber(n) end
    end
  end
  local fresh = false
  local prefix
  for i = 1, 5 do
    if add[i] > 0 then
      if prefix == nil then prefix = tostring(index) .. ":" end
      local field = prefix .. string.sub("sfrpo", i, i)
      local added = redis.pcall("HINCRBY", metricsKey, field, add[i])
      if type(added) == "table" and added.err ~= nil then
        -- a key of another type, or a field that is not a whole count: dropped, counted again from here
        if find(added.err, "WRONGTYPE", 1, true) ~= nil then call("DEL", metricsKey)
        else call("HDEL", metricsKey, field) end
        call("HINCRBY", metricsKey, field, add[i])
        repaired = 1
        fresh = true
      elseif added == add[i] then
        -- a count this bucket had not had yet
        fresh = true
      end
    end
  end
  -- a bucket's first counts of a kind drop the buckets that left the window, and mark the bucket;
  -- later counts of that kind in that bucket find both done
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
    if find(ARGV[19], "^%d+$") then call("PEXPIRE", metricsKey, ARGV[19]) else call("PEXPIRE", metricsKey, metricsTtl) end
  end
  if op == "metrics" then
    local fields = kcall("HGETALL", metricsKey)
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
-- snapshot (mirrors machine.snapshot: a state past its TTL reads as new); read before the write
-- below, which changes neither the window nor the probes
-- ---------------------------------------------------------------------------

local view = s
local calls, failures, probes = 0, 0, 0
if s.writtenAt > 0 and t - s.writtenAt >= stateTtl and s.state ~= "FORCED_OPEN" and s.state ~= "FORCED_CLOSED" then
  view = { state = "CLOSED", version = s.version + 1, openCount = 0, openedAt = 0, retryAt = 0, changedAt = t,
           halfOpenSuccesses = 0 }
else
  if windowCalls == nil then
    -- machine.windowSum
    local fields = kcall("HGETALL", windowKey)
    windowThere = #fields > 0
    windowCalls, windowFailures = 0, 0
    for i = 1, #fields, 2 do
      local field = fields[i]
      local b = tonumber(string.sub(field, 3))
      if b ~= nil and b > windowIndex - WINDOW_BUCKETS and b <= windowIndex then
        local n = tonumber(fields[i + 1])
        if n ~= nil and n >= 0 and n <= MAX_INTEGER and n % 1 == 0 then -- whole(n)
          if string.byte(field, 1) == 99 then windowCalls = windowCalls + n else windowFailures = windowFailures + n end
        end
      end
    end
  end
  calls, failures = windowCalls, windowFailures
  if liveProbes == nil then
    liveProbes = kcall("ZCOUNT", probesKey, "(" .. tArg, "+inf")
    if liveProbes > 0 then probesThere = true end
  end
  probes = liveProbes
end

-- ---------------------------------------------------------------------------
-- write: the fields of the state hash that changed, and the TTL of every key that may exist
-- ---------------------------------------------------------------------------

if dirty then
  local hset = { "HSET", stateKey }
  local n = 2
  if stored == nil or stored[1] ~= s.state then hset[n + 1], hset[n + 2], n = "state", s.state, n + 2 end
  if stored == nil or tonumber(stored[2]) ~= s.version then hset[n + 1], hset[n + 2], n = "version", s.version, n + 2 end
  if stored == nil or tonumber(stored[3]) ~= s.openCount then hset[n + 1], hset[n + 2], n = "openCount", s.openCount, n + 2 end
  if stored == nil or tonumber(stored[4]) ~= s.openedAt then hset[n + 1], hset[n + 2], n = "openedAt", s.openedAt, n + 2 end
  if stored == nil or tonumber(stored[5]) ~= s.retryAt then hset[n + 1], hset[n + 2], n = "retryAt", s.retryAt, n + 2 end
  if stored == nil or tonumber(stored[6]) ~= s.changedAt then
    local v = s.changedAt
    if v == t then v = tArg end
    hset[n + 1], hset[n + 2], n = "changedAt", v, n + 2
  end
  if stored == nil or tonumber(stored[7]) ~= s.writtenAt then
    local v = s.writtenAt
    if v == t then v = tArg end
    hset[n + 1], hset[n + 2], n = "writtenAt", v, n + 2
  end
  if stored == nil or tonumber(stored[8]) ~= s.halfOpenSuccesses then
    hset[n + 1], hset[n + 2], n = "halfOpenSuccesses", s.halfOpenSuccesses, n + 2
  end
  -- what a reader needs to interpret the circuit (window width, expiry, thresholds, open periods),
  -- as its numbers print in Lua ("%.14g"); a stored config that is the caller's arguments word for
  -- word is that config already, and is not printed again
  local config = stored ~= nil and stored[9]
  if peek == "config" or config ~= ARGV[7] .. " " .. ARGV[10] .. " " .. ARGV[3] .. " " .. ARGV[4] .. " " .. ARGV[5] ..
      " " .. ARGV[6] .. " " .. ARGV[8] .. " " .. ARGV[9] .. " " .. ARGV[11] .. " " .. ARGV[12] then
    local printed = string.format("%.14g %.14g %.14g %.14g %.14g %.14g %.14g %.14g %.14g %.14g", monitoringPeriod,
      stateTtl, failureThreshold, successThreshold, recoveryTimeout, maxRecoveryTimeout, backoffMultiplier,
      backoffJitter, halfOpenMaxProbes, probeLease)
    if config ~= printed then hset[n + 1], hset[n + 2], n = "config", printed, n + 2 end
  end
  if n > 2 then call(unpack(hset)) end
  if s.state == "FORCED_OPEN" or s.state == "FORCED_CLOSED" then
    call("PERSIST", stateKey)
  else
    call("PEXPIRE", stateKey, ttlArg)
  end
  if windowThere ~= false then call("PEXPIRE", windowKey, ttlArg) end
  -- the probe leases: only when this call knows the key holds a live one (or wrote one). A lease's
  -- key was given stateTtl (> probeLease, CircuitConfig checks) when the lease was taken, so it
  -- outlives the lease anyway; a key with only expired leases (which no reader counts) is let go
  if probesThere == true then call("PEXPIRE", probesKey, ttlArg) end
end

-- created: this call wrote a state that did not exist (first use, or after a restart or FLUSHALL)
local created = 0
if dirty and not existed then created = 1 end

local missing = 0
if not existed then missing = 1 end

return { view.state, view.version, view.openCount, view.openedAt, view.retryAt, view.changedAt, failures, calls,
         view.halfOpenSuccesses, probes, decision, retryAfter, probe, t, repaired, created,
         fleet1, fleet2, fleet3, fleet4, fleet5, missing }
