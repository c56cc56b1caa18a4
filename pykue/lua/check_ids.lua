-- Consistency repair: raise the id counter to at least ARGV[2] (the highest id seen), so
-- INCR never hands out an id that is taken.  ARGV: prefix, max_id.  Returns the counter.
local want = tonumber(ARGV[2])
local have = tonumber(redis.call('GET', K_IDS) or '0') or -1
if have < want then
  redis.call('SET', K_IDS, want)
  return want
end
return have
