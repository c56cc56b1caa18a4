-- Give an active job back (worker shutting down, or Redis failed its handler): lease
-- released, inactive again, not counted as a stall or an attempt.
-- KEYS: K_SEQ K_ACTIVE
-- ARGV: [1] prefix  [2] id  [3] token
-- Returns: 1, or 0 if fenced (the token no longer holds the job).
-- Events: none
local id, token = ARGV[2], ARGV[3]
local k = jkey(id)
local f = redis.call('HMGET', k, 'state', 'token', 'type', 'priority')
if f[1] ~= 'active' or f[2] ~= token then return 0 end
release(id)
redis.call('HSET', k, 'state', 'inactive', 'updated_at', now_ms())
push_wait(id, f[3], f[4] or 0)
return 1
