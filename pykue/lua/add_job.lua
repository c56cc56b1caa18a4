-- Save a new job: id from INCR, hash, indexes, then inactive (wake a worker) or delayed.
-- ARGV: prefix, type, data(json), priority, max_attempts, backoff(json|''), delay_ms, ttl_ms,
--       remove_on_complete(0|1)
local jtype, data, priority = ARGV[2], ARGV[3], tonumber(ARGV[4])
local delay = tonumber(ARGV[7])
local now = now_ms()
local id = redis.call('INCR', P .. 'ids')
redis.call('HSET', jkey(id), 'id', id, 'type', jtype, 'data', data, 'priority', priority,
  'max_attempts', ARGV[5], 'attempts_made', 0, 'backoff', ARGV[6], 'delay', delay,
  'ttl', ARGV[8], 'remove_on_complete', ARGV[9], 'created_at', now, 'updated_at', now,
  'stalls', 0, 'progress', 0, 'state', 'inactive')
redis.call('SADD', P .. 'types', jtype)
redis.call('ZADD', P .. 'jobs', id, id)
redis.call('ZADD', P .. 'type:' .. jtype, id, id)
if delay > 0 then
  push_delayed(id, jtype, nil, now + delay, now)
else
  push_wait(id, jtype, priority)
end
publish('enqueue', id, jstr(jtype))
return id
