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

local WINDOW_BUCKETS = 10
local HALF_OPEN_RETRY_AFTER = 1000
-- times further ahead of now than this were written by a clock that was wrong
local FUTURE_TOLERANCE = 60000
local MAX_INTEGER = 9007199254740991

local stateKey, windowKey, probesKey, metricsKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local op = ARGV[1]

local function whole(n)
  return n ~= nil and n == n and n >= 0 and n <= MAX_INTEGER and n == math.floor(n)
end

local now = tonumber(ARGV[2])

local config = {
  failureThreshold = tonumber(ARGV[3]),
  successThreshold = tonumber(ARGV[4]),
  recoveryTimeout = tonumber(ARGV[5]),
  maxRecoveryTimeout = tonumber(ARGV[6]),
  monitoringPeriod = tonumber(ARGV[7]),
  backoffMultiplier = tonumber(ARGV[8]),
  backoffJitter = tonumber(ARGV[9]),
  stateTtl = tonumber(ARGV[10]),
  halfOpenMaxProbes = tonumber(ARGV[11]),
  probeLease = tonumber(ARGV[12]),
  failureRateThreshold = tonumber(ARGV[13]),
  minimumCalls = tonumber(ARGV[14])
}
local probeArg = ARGV[15]
local outcomeArg = ARGV[16]
local u = tonumber(ARGV[17]) or 0
local successes = tonumber(ARGV[18]) or 0
local metricsTtl = tonumber(ARGV[19])
local peek = ARGV[21] == "peek"
local counts = {}
for n in string.gmatch(ARGV[20] or "", "%d+") do counts[#counts + 1] = tonumber(n) end
local opens = 0

if not whole(now) or config.failureThreshold == nil or config.stateTtl == nil then
  return redis.error_reply("ERR circuit script: bad arguments")
end

local STATES = { CLOSED = true, OPEN = true, HALF_OPEN = true, FORCED_OPEN = true, FORCED_CLOSED = true }
local NUMBERS = { "version", "openCount", "openedAt", "retryAt", "changedAt", "writtenAt", "halfOpenSuccesses" }

-- ---------------------------------------------------------------------------
-- load
-- ---------------------------------------------------------------------------

local repaired = 0
local dirty = false

local function initial()
  return { state = "CLOSED", version = 0, openCount = 0, openedAt = 0, retryAt = 0, changedAt = 0,
           writtenAt = 0, halfOpenSuccesses = 0 }
end

-- every command on a key: a key of another type (someone wrote over it) is dropped, reported,
-- and the command run again on the empty key (the type is only checked when a command fails)
local function kcall(...)
  local reply = redis.pcall(...)
  if type(reply) == "table" and reply.err ~= nil then
    -- any other error is raised as it is
    if string.find(reply.err, "WRONGTYPE", 1, true) == nil then return redis.call(...) end
    local key = (select(2, ...))
    redis.call("DEL", key)
    repaired = 1
    return redis.call(...)
  end
  return reply
end

local s = initial()
local raw = kcall("HGETALL", stateKey)
-- a key of another type was dropped by kcall: missing too
local existed = #raw > 0
if #raw > 0 then
  local fields = {}
  for i = 1, #raw, 2 do fields[raw[i]] = raw[i + 1] end
  local ok = STATES[fields.state] == true
  local loaded = { state = fields.state }
  for _, name in ipairs(NUMBERS) do
    local n = tonumber(fields[name])
    if whole(n) then loaded[name] = n else ok = false end
  end
  if ok and peek and fields.config ~= nil then
    -- what the fleet's writers configured: a reader with another config sees what they see
    local stored = {}
    for word in string.gmatch(fields.config, "%S+") do stored[#stored + 1] = tonumber(word) end
    if #stored == 10 then
      local valid = true
      for i = 1, 10 do if stored[i] == nil or stored[i] ~= stored[i] or stored[i] < 0 then valid = false end end
      if valid then
        config.monitoringPeriod, config.stateTtl, config.failureThreshold, config.successThreshold,
          config.recoveryTimeout, config.maxRecoveryTimeout, config.backoffMultiplier, config.backoffJitter,
          config.halfOpenMaxProbes, config.probeLease =
          stored[1], stored[2], stored[3], stored[4], stored[5], stored[6], stored[7], stored[8], stored[9], stored[10]
      end
    end
  end
  if ok then
    s = loaded
  else
    -- a state hash overwritten with garbage (not a state, a number that is not a whole number
    -- in range: inf, nan, 1.5, -1): start again from CLOSED, and say so; to its callers the state
    -- is missing, so that an instance that knew it re-asserts it (as after a restart)
    redis.call("DEL", stateKey, windowKey, probesKey)
    existed = false
    repaired = 1
    dirty = true
  end
end

-- times written by a clock far ahead (or rotten data) would stop time for the whole fleet:
-- they are brought back to now, and an open period to at most what this config allows
if s.changedAt > now + FUTURE_TOLERANCE or s.writtenAt > now + FUTURE_TOLERANCE or
    s.openedAt > now + FUTURE_TOLERANCE or s.retryAt > now + config.stateTtl then
  if s.changedAt > now then s.changedAt = now end
  if s.writtenAt > now then s.writtenAt = now end
  if s.openedAt > now then s.openedAt = now end
  if s.retryAt > now + config.maxRecoveryTimeout then s.retryAt = now + config.maxRecoveryTimeout end
  repaired = 1
  dirty = true
end

-- ---------------------------------------------------------------------------
-- the machine (mirrors src/internal/machine.ts)
-- ---------------------------------------------------------------------------

local function openPeriod(k)
  local d = config.recoveryTimeout
  local i = 0
  while i < k and d < config.maxRecoveryTimeout do
    d = d * config.backoffMultiplier
    i = i + 1
  end
  if d > config.maxRecoveryTimeout then d = config.maxRecoveryTimeout end
  local lo = 1 - config.backoffJitter
  local hi = 1 + config.backoffJitter
  return math.floor(d * lo * (1 - u) + d * hi * u + 0.5)
end

local function bucketWidth()
  return math.max(1, math.floor(config.monitoringPeriod / WINDOW_BUCKETS))
end

local t = now
if s.changedAt > t then t = s.changedAt end

-- a state not written for stateTtl is forgotten; the admin states are sticky and never expire
local function expired(state)
  return state.writtenAt > 0 and t - state.writtenAt >= config.stateTtl
    and state.state ~= "FORCED_OPEN" and state.state ~= "FORCED_CLOSED"
end

local function expire()
  if expired(s) then
    local version = s.version
    s = initial()
    s.version = version + 1
    s.changedAt = t
    redis.call("DEL", windowKey, probesKey)
    dirty = true
  end
end

local function transition(state)
  s.state = state
  s.version = s.version + 1
  s.changedAt = t
  s.halfOpenSuccesses = 0
  redis.call("DEL", probesKey)
  dirty = true
end

local function open(k)
  opens = opens + 1
  transition("OPEN")
  s.openCount = k
  s.openedAt = t
  s.retryAt = t + openPeriod(k)
  redis.call("DEL", windowKey)
end

local function close()
  transition("CLOSED")
  s.openCount = 0
  s.retryAt = 0
  redis.call("DEL", windowKey)
end

local function pruneLeases()
  kcall("ZREMRANGEBYSCORE", probesKey, "-inf", t)
  return redis.call("ZCARD", probesKey)
end

local function bucketOf(field)
  return tonumber(string.sub(field, 3))
end

-- a window field that is not c:<bucket> or f:<bucket> with a whole count is dropped (and reported)
local function windowAdd(calls, failures)
  local index = math.floor(t / bucketWidth())
  local raw = kcall("HGETALL", windowKey)
  for i = 1, #raw, 2 do
    local field = raw[i]
    local b = bucketOf(field)
    if b == nil or b <= index - WINDOW_BUCKETS then
      redis.call("HDEL", windowKey, field)
    elseif not whole(tonumber(raw[i + 1])) then
      redis.call("HDEL", windowKey, field)
      repaired = 1
    end
  end
  redis.call("HINCRBY", windowKey, "c:" .. index, calls)
  redis.call("HINCRBY", windowKey, "f:" .. index, failures)
end

local function windowSum()
  local index = math.floor(t / bucketWidth())
  local raw = kcall("HGETALL", windowKey)
  local calls, failures = 0, 0
  for i = 1, #raw, 2 do
    local field = raw[i]
    local b = bucketOf(field)
    local n = tonumber(raw[i + 1])
    if not whole(n) then n = 0 end
    if b ~= nil and b > index - WINDOW_BUCKETS and b <= index then
      if string.sub(field, 1, 1) == "c" then calls = calls + n else failures = failures + n end
    end
  end
  return calls, failures
end

local function tripped(calls, failures)
  if failures >= config.failureThreshold then return true end
  return config.failureRateThreshold ~= nil and calls >= config.minimumCalls
    and failures / calls >= config.failureRateThreshold
end

local decision, retryAfter, probe = "", 0, ""

local function takeProbe()
  local held = pruneLeases()
  if held < config.halfOpenMaxProbes then
    redis.call("ZADD", probesKey, t + config.probeLease, probeArg)
    s.writtenAt = t
    dirty = true
    decision, probe = "allow", probeArg
    return
  end
  local earliest = tonumber(redis.call("ZRANGE", probesKey, 0, 0, "WITHSCORES")[2])
  decision = "reject"
  if earliest - t < HALF_OPEN_RETRY_AFTER then retryAfter = earliest - t else retryAfter = HALF_OPEN_RETRY_AFTER end
end

local function acquire()
  expire()
  if s.state == "CLOSED" or s.state == "FORCED_CLOSED" then
    decision = "allow"
  elseif s.state == "FORCED_OPEN" then
    decision, retryAfter = "reject", config.recoveryTimeout
  elseif s.state == "OPEN" then
    if t < s.retryAt then
      decision, retryAfter = "reject", s.retryAt - t
    else
      -- the first call at or after retryAt moves to HALF_OPEN and takes a probe permit
      transition("HALF_OPEN")
      s.writtenAt = t
      takeProbe()
    end
  else
    takeProbe()
  end
end

local function record(outcome, held, batch)
  expire()
  s.writtenAt = t
  dirty = true
  if s.state == "CLOSED" or s.state == "FORCED_CLOSED" then
    local failed = 0
    if outcome == "failure" then failed = 1 end
    local calls = batch
    if outcome == "success" or outcome == "failure" then calls = calls + 1 end
    if calls > 0 then windowAdd(calls, failed) end
    if failed == 1 and s.state == "CLOSED" then
      local windowCalls, windowFailures = windowSum()
      if tripped(windowCalls, windowFailures) then open(0) end
    end
  elseif s.state == "HALF_OPEN" then
    pruneLeases()
    if held == "" or redis.call("ZSCORE", probesKey, held) == false then return end
    redis.call("ZREM", probesKey, held)
    if outcome == "success" then
      s.halfOpenSuccesses = s.halfOpenSuccesses + 1
      if s.halfOpenSuccesses >= config.successThreshold then close() end
    elseif outcome == "failure" then
      open(s.openCount + 1)
    end
  end
  -- OPEN, FORCED_OPEN: late results of calls admitted before the circuit opened change nothing
end

-- Redis lost the circuit (restart without persistence, FLUSHALL, failover to a replica that had
-- not caught up) and the caller re-asserts what it knew: only onto a state that has seen nothing
-- since it was created again, so that a newer transition is never rolled back
local function restore(known)
  local fields = {}
  for word in string.gmatch(known, "%S+") do fields[#fields + 1] = word end
  local state, openCount, openedAt, retryAt, version =
    fields[1], tonumber(fields[2]), tonumber(fields[3]), tonumber(fields[4]), tonumber(fields[5])
  if STATES[state] ~= true or not whole(openCount) or not whole(openedAt) or not whole(retryAt) or not whole(version) then
    return redis.error_reply("ERR circuit script: bad restore")
  end
  expire()
  if existed and not (s.state == "CLOSED" and s.version == 0 and s.openCount == 0) then return end
  s.state = state
  s.version = math.max(s.version, version) + 1
  s.openCount = openCount
  s.openedAt = math.min(openedAt, t)
  s.retryAt = retryAt
  s.changedAt = t
  s.writtenAt = t
  s.halfOpenSuccesses = 0
  dirty = true
end

local function force(to)
  expire()
  s.writtenAt = t
  dirty = true
  if to == "RESET" then
    close()
    s.openedAt = 0
  else
    transition(to)
    s.retryAt = 0
  end
end

-- ---------------------------------------------------------------------------
-- dispatch
-- ---------------------------------------------------------------------------

if op == "acquire" then
  if successes > 0 then record("", "", successes) end
  acquire()
elseif op == "record" then
  record(outcomeArg, probeArg, successes)
elseif op == "force" then
  if outcomeArg ~= "FORCED_OPEN" and outcomeArg ~= "FORCED_CLOSED" and outcomeArg ~= "RESET" then
    return redis.error_reply("ERR circuit script: bad force target")
  end
  force(outcomeArg)
elseif op == "read" or op == "metrics" then
  if successes > 0 then record("", "", successes) end
elseif op == "restore" then
  local failed = restore(probeArg)
  if failed ~= nil then return failed end
else
  return redis.error_reply("ERR circuit script: unknown op")
end

-- ---------------------------------------------------------------------------
-- fleet metrics (not part of the state machine: counts only)
-- ---------------------------------------------------------------------------

local METRICS_BUCKETS = 24
local fleet = { 0, 0, 0, 0, 0 }
if metricsKey ~= nil and metricsTtl ~= nil and metricsTtl > 0 then
  local index = math.floor(t / math.max(1, math.floor(metricsTtl / METRICS_BUCKETS)))
  local add = { counts[1] or 0, counts[2] or 0, counts[3] or 0, counts[4] or 0, opens }
  local names = { "s", "f", "r", "p", "o" }
  local wrote = false
  for i = 1, 5 do
    if add[i] > 0 then
      local field = index .. ":" .. names[i]
      local added = redis.pcall("HINCRBY", metricsKey, field, add[i])
      if type(added) == "table" and added.err ~= nil then
        -- a key of another type, or a field that is not a whole count: dropped, counted again from here
        if string.find(added.err, "WRONGTYPE", 1, true) ~= nil then redis.call("DEL", metricsKey)
        else redis.call("HDEL", metricsKey, field) end
        redis.call("HINCRBY", metricsKey, field, add[i])
        repaired = 1
      end
      wrote = true
    end
  end
  if wrote then
    if redis.call("HGET", metricsKey, "bucket") ~= tostring(index) then
      for _, field in ipairs(redis.call("HKEYS", metricsKey)) do
        local b = tonumber(string.match(field, "^(%-?%d+):"))
        if field ~= "bucket" and (b == nil or b <= index - METRICS_BUCKETS) then redis.call("HDEL", metricsKey, field) end
      end
      redis.call("HSET", metricsKey, "bucket", index)
    end
    redis.call("PEXPIRE", metricsKey, metricsTtl)
  end
  if op == "metrics" then
    local raw = kcall("HGETALL", metricsKey)
    local position = { s = 1, f = 2, r = 3, p = 4, o = 5 }
    for i = 1, #raw, 2 do
      local b, name = string.match(raw[i], "^(%-?%d+):(%a)$")
      b = tonumber(b)
      if b ~= nil and b > index - METRICS_BUCKETS and b <= index and position[name] ~= nil then
        local n = tonumber(raw[i + 1])
        if whole(n) then fleet[position[name]] = fleet[position[name]] + n end
      end
    end
  end
end

if dirty then
  redis.call("HSET", stateKey, "state", s.state, "version", s.version, "openCount", s.openCount,
    "openedAt", s.openedAt, "retryAt", s.retryAt, "changedAt", s.changedAt, "writtenAt", s.writtenAt,
    "halfOpenSuccesses", s.halfOpenSuccesses,
    -- what a reader needs to interpret the circuit (window width, expiry, thresholds, open periods)
    "config", table.concat({ config.monitoringPeriod, config.stateTtl, config.failureThreshold, config.successThreshold,
      config.recoveryTimeout, config.maxRecoveryTimeout, config.backoffMultiplier, config.backoffJitter,
      config.halfOpenMaxProbes, config.probeLease }, " "))
  if s.state == "FORCED_OPEN" or s.state == "FORCED_CLOSED" then
    redis.call("PERSIST", stateKey)
  else
    redis.call("PEXPIRE", stateKey, config.stateTtl)
  end
  redis.call("PEXPIRE", windowKey, config.stateTtl)
  redis.call("PEXPIRE", probesKey, config.stateTtl)
end

-- ---------------------------------------------------------------------------
-- snapshot (mirrors machine.snapshot: a state past its TTL reads as new)
-- ---------------------------------------------------------------------------

local calls, failures, probes = 0, 0, 0
local view = s
if expired(s) then
  view = initial()
  view.version = s.version + 1
  view.changedAt = t
else
  calls, failures = windowSum()
  probes = kcall("ZCOUNT", probesKey, "(" .. t, "+inf")
end

-- created: this call wrote a state that did not exist (first use, or after a restart or FLUSHALL)
local created = 0
if dirty and not existed then created = 1 end

local missing = 0
if not existed then missing = 1 end

return { view.state, view.version, view.openCount, view.openedAt, view.retryAt, view.changedAt, failures, calls,
         view.halfOpenSuccesses, probes, decision, retryAfter, probe, t, repaired, created,
         fleet[1], fleet[2], fleet[3], fleet[4], fleet[5], missing }
