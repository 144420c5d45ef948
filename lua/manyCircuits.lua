-- Many circuits in one call (monitoring reads a big fleet with it: one call per 100 circuits).
-- lua/circuit.lua, run once per pair of KEYS with the same ARGV, in order; the reply is the list
-- of its replies (an error of one circuit is its own element; one that stops the script stops
-- them all). scripts/embed-lua.ts writes circuit.lua where the line "--@circuit" stands, as the
-- body of the function `circuit` (its KEYS and ARGV are that function's parameters).
--
-- KEYS  pairs: <prefix>:{<name>}:state, <prefix>:{<name>}:metrics, for each circuit. Pairs of
--       different names are in different cluster slots: a Redis Cluster refuses such a call
--       (CROSSSLOT), and its readers send lua/circuit.lua once per circuit instead.
-- ARGV  as for lua/circuit.lua

local function circuit(KEYS, ARGV)
--@circuit
end

local replies = {}
for i = 1, #KEYS, 2 do
  replies[#replies + 1] = circuit({ KEYS[i], KEYS[i + 1] }, ARGV)
end
return replies
