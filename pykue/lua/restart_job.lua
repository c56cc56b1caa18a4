-- Restart a job: back to inactive with attempts, stalls and progress reset, but only from
-- the states listed (refused otherwise, atomically). An active job's lease is released, so
-- its worker's late finish is refused.
-- KEYS: K_SEQ K_ACTIVE K_DELAYED K_EVENTS
-- ARGV: [1] prefix  [2] id  [3...] the states it may be restarted from
-- Returns: 1 (restarted), 0 (in another state: nothing changed) or -1 (no such job).
-- Events: enqueue
local id = ARGV[2]
local k = jkey(id)
local f = redis.call('HMGET', k, 'type', 'state', 'priority')
if not f[1] then return -1 end
local jtype, old = f[1], f[2]
local allowed = false
for i = 3, #ARGV do
  if ARGV[i] == old then allowed = true end
end
if not allowed then return 0 end
local now = now_ms()
if old == 'active' then release(id) end
redis.call('ZREM', wait_key(jtype), id)
redis.call('ZREM', K_DELAYED, id)
index_state(id, jtype, old, 'inactive')
redis.call('HSET', k, 'state', 'inactive', 'updated_at', now, 'attempts_made', 0, 'stalls', 0,
  'progress', 0)
push_wait(id, jtype, f[3] or 0)
publish('enqueue', id, jstr(jtype))
return 1
