-- Make one job active by hand (Kue's PUT /job/:id/state/active), as if a worker had taken
-- it: into the lease set with a lease no worker holds, so the stall sweep hands it back to
-- inactive when the lease lapses (pykue never leaves a job active with nobody on it).
-- KEYS[1] the job's hash           KEYS[2] its type's wait set (inactive)
-- KEYS[3] the delayed set          KEYS[4] the state set of its old state (jobs:<old>)
-- KEYS[5] its type's set of its old state (type:<type>:<old>)    KEYS[6] the lease set
-- ARGV[1] id  ARGV[2] the type read  ARGV[3] the state read  ARGV[4] lease ms  ARGV[5] token
-- Returns 1 moved (or already active), 0 no such job, -1 the job changed since it was read
-- (type or state): read again and retry.
local f = redis.call('HMGET', KEYS[1], 'type', 'state')
if not f[1] then return 0 end
if f[1] ~= ARGV[2] or f[2] ~= ARGV[3] then return -1 end
if f[2] == 'active' then return 1 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('ZREM', KEYS[5], ARGV[1])
redis.call('ZADD', KEYS[6], now + tonumber(ARGV[4]), ARGV[1])
redis.call('HSET', KEYS[1], 'state', 'active', 'token', ARGV[5], 'started_at', now,
  'updated_at', now)
redis.call('HDEL', KEYS[1], 'ttl_deadline')
return 1
