-- Consistency repair: raise the id counter to at least the highest id seen, so INCR never
-- hands out an id that is taken.
-- KEYS: K_IDS
-- ARGV: [1] prefix  [2] max_id
-- Returns: the counter.
-- Events: none
local want = tonumber(ARGV[2])
local have = tonumber(redis.call('GET', K_IDS) or '0') or -1
if have < want then
  redis.call('SET', K_IDS, want)
  return want
end
return have
