-- Record a job's progress (only by the worker holding its lease) and publish it.
-- KEYS: K_EVENTS
-- ARGV: [1] prefix  [2] id  [3] token  [4] percent  [5] data (JSON)
-- Returns: 1, or 0 when the token no longer holds the job.
-- Events: progress
local id, token, percent, data = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local k = jkey(id)
local f = redis.call('HMGET', k, 'state', 'token')
if f[1] ~= 'active' or f[2] ~= token then return 0 end
redis.call('HSET', k, 'progress', percent, 'progress_data', data, 'updated_at', now_ms())
publish('progress', id, percent .. ',' .. data)
return 1
