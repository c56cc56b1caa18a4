-- Change a job's priority (dashboard PUT /job/{id}/priority). An inactive job keeps its
-- place among jobs of its new priority that were queued at the same time (its seq).
-- KEYS: none
-- ARGV: [1] prefix  [2] id  [3] priority
-- Returns: 1, or 0 when there is no such job.
-- Events: none
local id, priority = ARGV[2], tonumber(ARGV[3])
local k = jkey(id)
local f = redis.call('HMGET', k, 'type', 'state', 'priority')
if not f[1] then return 0 end
redis.call('HSET', k, 'priority', priority, 'updated_at', now_ms())
if f[2] == 'inactive' then
  local wk = wait_key(f[1])
  local score = redis.call('ZSCORE', wk, id)
  if score then
    local seq = tonumber(score) - tonumber(f[3] or '0') * 1099511627776
    redis.call('ZADD', wk, string.format('%d', priority * 1099511627776 + seq), id)
  end
end
return 1
