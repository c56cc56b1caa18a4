-- Move delayed jobs whose time has come to inactive (and wake workers).
-- KEYS: K_SEQ K_DELAYED K_EVENTS
-- ARGV: [1] prefix  [2] limit
-- Returns: {moved, ms until the next delayed job is due or -1}.
-- Events: promotion
local limit = tonumber(ARGV[2])
local now = now_ms()
local due = redis.call('ZRANGEBYSCORE', K_DELAYED, '-inf', now, 'LIMIT', 0, limit)
for _, id in ipairs(due) do
  redis.call('ZREM', K_DELAYED, id)
  local k = jkey(id)
  local f = redis.call('HMGET', k, 'type', 'priority', 'state')
  if f[3] == 'delayed' then
    index_state(id, f[1], 'delayed', 'inactive')
    redis.call('HSET', k, 'state', 'inactive', 'updated_at', now)
    redis.call('HDEL', k, 'promote_at')
    push_wait(id, f[1], f[2] or 0)
    publish('promotion', id, jstr(f[1]))
  end
end
local nxt = redis.call('ZRANGE', K_DELAYED, 0, 0, 'WITHSCORES')
if #nxt == 0 then return {#due, -1} end
return {#due, math.max(0, tonumber(nxt[2]) - now)}
