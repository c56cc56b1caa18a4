-- Sweep the active jobs whose deadline passed: a lapsed lease (worker died) sends the job
-- back to inactive (stall count +1; failed after max_stalls stalls); an exceeded TTL is a
-- failed attempt "TTL exceeded".
-- KEYS: K_SEQ K_ACTIVE K_DELAYED K_EVENTS
-- ARGV: [1] prefix  [2] max_stalls  [3] limit
-- Returns: the number of jobs moved.
-- Events: stalled, failed attempt, failed
local max_stalls, limit = tonumber(ARGV[2]), tonumber(ARGV[3])
local now = now_ms()
local due = redis.call('ZRANGEBYSCORE', K_ACTIVE, '-inf', now, 'LIMIT', 0, limit)
for _, id in ipairs(due) do
  local k = jkey(id)
  local f = redis.call('HMGET', k, 'type', 'ttl_deadline', 'stalls', 'priority', 'state')
  local jtype = f[1]
  if f[5] ~= 'active' then
    redis.call('ZREM', K_ACTIVE, id)  -- a stale index entry
  elseif tonumber(f[2] or '0') > 0 and tonumber(f[2]) <= now then
    fail_attempt(id, jtype, 'TTL exceeded', now)
  else
    release(id)
    local stalls = redis.call('HINCRBY', k, 'stalls', 1)
    if stalls > max_stalls then
      local msg = 'job stalled more than ' .. max_stalls .. ' times (its worker stopped)'
      index_state(id, jtype, 'active', 'failed')
      redis.call('HSET', k, 'state', 'failed', 'error', msg, 'failed_at', now, 'updated_at', now)
      publish('failed', id, jstr(msg))
    else
      redis.call('HSET', k, 'state', 'inactive', 'updated_at', now)
      push_wait(id, jtype, f[4] or 0)
      publish('stalled', id, stalls)
    end
  end
end
return #due
