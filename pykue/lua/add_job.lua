-- Save a new job: id from INCR, hash, indexes, then inactive (wake a worker) or delayed.
-- KEYS: K_IDS K_SEQ K_JOBS K_DELAYED K_TYPES K_UNIQUE K_EVENTS
-- ARGV: [1] prefix  [2] type  [3] data (JSON)  [4] priority  [5] max_attempts
--       [6] backoff (JSON or '')  [7] delay ms  [8] ttl ms  [9] remove_on_complete (0|1)
--       [10] unique key (optional)
-- Returns: the new id; with a unique key, {id, 0} for a new job, or {existing id, 1, its
--       state} when the key already names a job that still exists (nothing is created).
-- Events: enqueue
local jtype, data, priority = ARGV[2], ARGV[3], tonumber(ARGV[4])
local delay = tonumber(ARGV[7])
local unique = ARGV[10]
if unique then
  local existing = redis.call('HGET', K_UNIQUE, unique)
  if existing then
    local state = redis.call('HGET', jkey(existing), 'state')
    if state then return {tonumber(existing), 1, state} end
  end
end
local now = now_ms()
local id = redis.call('INCR', K_IDS)
-- Field order matters for speed: a small hash is a list scanned from the front, so the
-- fields the worker's hot path reads and writes come first, pre-created (token, result,
-- started_at, completed_at empty) so that they stay in front.
redis.call('HSET', jkey(id), 'state', 'inactive', 'token', '', 'id', id, 'type', jtype,
  'attempts_made', 0, 'max_attempts', ARGV[5], 'priority', ARGV[4], 'ttl', ARGV[8],
  'progress', 0, 'remove_on_complete', ARGV[9], 'data', data, 'updated_at', now,
  'started_at', '', 'completed_at', '', 'result', '', 'backoff', ARGV[6], 'delay', ARGV[7],
  'created_at', now, 'stalls', 0)
if unique then
  redis.call('HSET', jkey(id), 'unique', unique)
  redis.call('HSET', K_UNIQUE, unique, id)
end
redis.call('SADD', K_TYPES, jtype)
redis.call('ZADD', K_JOBS, id, id)
redis.call('ZADD', type_key(jtype), id, id)
if delay > 0 then
  push_delayed(id, jtype, nil, now + delay, now)
else
  push_wait(id, jtype, priority)
end
publish('enqueue', id, jstr(jtype))
if unique then return {id, 0} end
return id
