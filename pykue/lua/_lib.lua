-- Shared helpers, prepended to every script by pykue/scripts.py.
-- ARGV[1] is always the key prefix "{q}:"; KEYS[1] is a key of the queue (cluster routing).
-- Key names mirror pykue/keys.py.
local P = ARGV[1]

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function jkey(id) return P .. 'job:' .. id end

local function jstr(s)
  -- a Lua string as a JSON string literal
  return cjson.encode(tostring(s))
end

local function publish(event, id, args)
  -- args: already JSON-encoded, comma separated (may be empty)
  redis.call('PUBLISH', P .. 'events',
    '{"event":"' .. event .. '","id":' .. id .. ',"args":[' .. args .. ']}')
end

-- Move the indexes of job `id` (of `jtype`) from state `old` (or nil) to `new`.
local function index_state(id, jtype, old, new, now)
  if old and old ~= '' then
    redis.call('ZREM', P .. 'jobs:' .. old, id)
    redis.call('ZREM', P .. 'type:' .. jtype .. ':' .. old, id)
  end
  redis.call('ZADD', P .. 'jobs:' .. new, id, id)
  redis.call('ZADD', P .. 'type:' .. jtype .. ':' .. new, id, id)
  redis.call('HSET', jkey(id), 'state', new, 'updated_at', now)
end

-- Make job `id` runnable: into the priority-ordered wait set of its type, wake a worker.
local function push_wait(id, jtype, priority)
  local seq = redis.call('INCR', P .. 'seq')
  local score = string.format('%d', tonumber(priority) * 1099511627776 + seq)
  redis.call('ZADD', P .. 'wait:' .. jtype, score, id)
  local nk = P .. 'notify:' .. jtype
  if redis.call('LLEN', nk) < 64 then
    redis.call('LPUSH', nk, '1')
  end
end

-- Leave `active`: drop from the lease set and clear the lease.
local function release(id)
  redis.call('ZREM', P .. 'active', id)
  redis.call('HDEL', jkey(id), 'token', 'lease_until', 'ttl_deadline')
end

-- A failed attempt (handler error, TTL exceeded): retry (after backoff) or fail for good.
-- The job must already be out of `active`. Returns the new state.
local function fail_attempt(id, jtype, errmsg, now)
  local k = jkey(id)
  local f = redis.call('HMGET', k, 'attempts_made', 'max_attempts', 'backoff', 'priority')
  local made = tonumber(f[1] or '0') + 1
  local max = tonumber(f[2] or '1')
  redis.call('HSET', k, 'attempts_made', made, 'error', errmsg, 'failed_at', now)
  if made < max then
    local backoff = f[3]
    local wait_ms = 0
    if backoff and backoff ~= '' then
      local b = cjson.decode(backoff)
      local d = tonumber(b['delay'] or 0)
      if b['type'] == 'exponential' then
        wait_ms = d * math.pow(2, made - 1)
      else
        wait_ms = d
      end
    end
    publish('failed attempt', id, jstr(errmsg) .. ',' .. made)
    if wait_ms > 0 then
      index_state(id, jtype, 'active', 'delayed', now)
      redis.call('HSET', k, 'promote_at', now + wait_ms)
      redis.call('ZADD', P .. 'delayed', now + wait_ms, id)
      return 'delayed'
    end
    index_state(id, jtype, 'active', 'inactive', now)
    push_wait(id, jtype, f[4] or 0)
    return 'inactive'
  end
  index_state(id, jtype, 'active', 'failed', now)
  publish('failed', id, jstr(errmsg))
  return 'failed'
end

-- Take the next inactive job of `jtype` (lowest score) and make it active under `token`.
-- Returns the job's fields (HGETALL) or false when there is none.
local function take_next(jtype, token, lease_ms, now)
  local popped = redis.call('ZPOPMIN', P .. 'wait:' .. jtype)
  if #popped == 0 then
    -- nothing runnable: any wake-up token left is stale
    redis.call('DEL', P .. 'notify:' .. jtype)
    return false
  end
  local id = popped[1]
  local k = jkey(id)
  local ttl = tonumber(redis.call('HGET', k, 'ttl') or '0')
  local deadline = now + lease_ms
  local fields = {'token', token, 'lease_until', now + lease_ms, 'started_at', now}
  if ttl > 0 then
    table.insert(fields, 'ttl_deadline')
    table.insert(fields, now + ttl)
    if now + ttl < deadline then deadline = now + ttl end
  end
  redis.call('HSET', k, unpack(fields))
  index_state(id, jtype, 'inactive', 'active', now)
  redis.call('ZADD', P .. 'active', deadline, id)
  publish('start', id, jstr(jtype))
  return redis.call('HGETALL', k)
end
