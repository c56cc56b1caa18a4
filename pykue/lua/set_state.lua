-- Force a job into a state (dashboard "restart", admin moves). Moving an active job away
-- clears its lease, so its worker's late finish is refused.
-- KEYS: K_SEQ K_ACTIVE K_DELAYED K_EVENTS
-- ARGV: [1] prefix  [2] id  [3] state ('inactive'|'delayed'|'complete'|'failed')
--       [4] delay ms (for delayed)
-- Returns: 1, or 0 when there is no such job.
-- Events: enqueue
local id, new = ARGV[2], ARGV[3]
local k = jkey(id)
local f = redis.call('HMGET', k, 'type', 'state', 'priority')
if not f[1] then return 0 end
local jtype, old = f[1], f[2]
local now = now_ms()
release(id)
redis.call('ZREM', wait_key(jtype), id)
redis.call('ZREM', K_DELAYED, id)
if new == 'delayed' then
  push_delayed(id, jtype, old, now + tonumber(ARGV[4] or '0'), now)
  return 1
end
index_state(id, jtype, old, new)
redis.call('HSET', k, 'state', new, 'updated_at', now)
if new == 'inactive' then
  redis.call('HSET', k, 'attempts_made', 0, 'stalls', 0, 'progress', 0)
  push_wait(id, jtype, f[3] or 0)
  publish('enqueue', id, jstr(jtype))
end
return 1
