-- Shared helpers, prepended to every script by pykue/scripts.py.
-- KEYS: the queue's fixed keys, the same in every script, in the order of pykue/keys.py
-- FIXED_KEYS; each script's header says which it uses. ARGV[1] is always the key prefix
-- "{q}:", from which the keys of one job or one type are built here (and only here),
-- as pykue/keys.py builds them (tests/pykue/test_pykue_schema.py checks both agree).
-- Where each state's ids live:
--   inactive: wait:<type> (score = priority * 2^40 + seq)   active: active (score = deadline)
--   delayed, complete, failed: jobs:<state> and type:<type>:<state> (score = id);
--   delayed also in `delayed` (score = time due).
local P = ARGV[1]
local K_IDS, K_SEQ, K_JOBS, K_ACTIVE = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local K_DELAYED, K_TYPES, K_UNIQUE, K_EVENTS = KEYS[5], KEYS[6], KEYS[7], KEYS[8]

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Now in ms as a decimal string, built from TIME without float formatting (Lua numbers
-- are doubles, and redis.call formats a number argument with a costly %.17g).
local function now_str()
  local t = redis.call('TIME')
  return t[1] .. string.sub('00000' .. t[2], -6, -4)
end

local function jkey(id) return P .. 'job:' .. id end

-- Sorted set of the ids in `state` (delayed, complete or failed).
local function state_key(state) return P .. 'jobs:' .. state end

-- A job type as written in key names (pykue/keys.py type_part): '%' and ':' percent-encoded,
-- so that no type's keys can be another type's ('x' + ':complete' is not 'x:complete').
local function tpart(jtype)
  if string.find(jtype, '[%%:]') then
    return (string.gsub(jtype, '[%%:]', {['%'] = '%25', [':'] = '%3A'}))
  end
  return jtype
end

-- Sorted set of the ids of `jtype` (in `state`: delayed, complete or failed, if given).
local function type_key(jtype, state)
  if state then return P .. 'type:' .. tpart(jtype) .. ':' .. state end
  return P .. 'type:' .. tpart(jtype)
end

-- Sorted set of the inactive ids of `jtype`; the list its idle workers BLPOP on.
local function wait_key(jtype) return P .. 'wait:' .. tpart(jtype) end
local function notify_key(jtype) return P .. 'notify:' .. tpart(jtype) end

local function jstr(s)
  -- a Lua string as a JSON string literal
  return cjson.encode(tostring(s))
end

-- One event as JSON; args: already JSON-encoded, comma separated (may be empty).
local function event_json(event, id, args)
  return '{"event":"' .. event .. '","id":' .. id .. ',"args":[' .. args .. ']}'
end

-- A message on the events channel is one event, or a JSON array of events in order.
local function publish(event, id, args)
  redis.call('PUBLISH', K_EVENTS, event_json(event, id, args))
end


-- Move the by-id indexes of job `id` from state `old` (or nil) to `new`. The caller sets
-- the hash's `state` field (with its other fields, in one HSET). Delayed, complete and
-- failed are indexed by id (compared inline: a table here would be built on every call).
local function index_state(id, jtype, old, new)
  if old == 'delayed' or old == 'complete' or old == 'failed' then
    redis.call('ZREM', state_key(old), id)
    redis.call('ZREM', type_key(jtype, old), id)
  end
  if new == 'delayed' or new == 'complete' or new == 'failed' then
    redis.call('ZADD', state_key(new), id, id)
    redis.call('ZADD', type_key(jtype, new), id, id)
  end
end

-- Make job `id` runnable: into the priority-ordered wait set of its type, wake a worker.
local function push_wait(id, jtype, priority)
  local seq = redis.call('INCR', K_SEQ)
  local score = string.format('%d', tonumber(priority) * 1099511627776 + seq)
  redis.call('ZADD', wait_key(jtype), score, id)
  local nk = notify_key(jtype)
  if redis.call('LLEN', nk) < 64 then
    redis.call('LPUSH', nk, '1')
  end
end

-- Delay job `id` until `at` (ms).
local function push_delayed(id, jtype, old, at, now)
  index_state(id, jtype, old, 'delayed')
  redis.call('ZADD', K_DELAYED, at, id)
  redis.call('HSET', jkey(id), 'state', 'delayed', 'promote_at', at, 'updated_at', now)
end

-- Forget job `id`'s unique key (the job is being deleted), if the key still names it.
local function drop_unique(id, k)
  local unique = redis.call('HGET', k, 'unique')
  if unique and redis.call('HGET', K_UNIQUE, unique) == tostring(id) then
    redis.call('HDEL', K_UNIQUE, unique)
  end
end

-- Leave `active`: drop from the lease set and clear the lease.
local function release(id)
  redis.call('ZREM', K_ACTIVE, id)
  redis.call('HDEL', jkey(id), 'token', 'ttl_deadline')
end

-- A failed attempt (handler error, TTL exceeded) of an active job: retry (after backoff)
-- or fail for good. Releases the lease. Returns the new state.
local function fail_attempt(id, jtype, errmsg, now)
  local k = jkey(id)
  release(id)
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
      push_delayed(id, jtype, 'active', now + wait_ms, now)
      return 'delayed'
    end
    redis.call('HSET', k, 'state', 'inactive', 'updated_at', now)
    push_wait(id, jtype, f[4] or 0)
    return 'inactive'
  end
  index_state(id, jtype, 'active', 'failed')
  redis.call('HSET', k, 'state', 'failed', 'updated_at', now)
  publish('failed', id, jstr(errmsg))
  return 'failed'
end

-- Finish active job `id` held under `token`: 'complete' (payload: result JSON) or a
-- failed attempt ('failed', payload: error text). Returns the job's new state, or 'fenced'
-- when the token no longer holds the job (lease lost: nothing changes); and the plain
-- "complete" event (JSON) for the caller to publish (every other event is published here).
local function finish(id, token, outcome, payload, now_s)
  local k = jkey(id)
  local f = redis.call('HMGET', k, 'state', 'token', 'type', 'remove_on_complete',
    'attempts_made')
  if f[1] ~= 'active' or f[2] ~= token then
    return 'fenced', nil
  end
  if outcome ~= 'complete' then
    return fail_attempt(id, f[3], payload, tonumber(now_s)), nil
  end
  local jtype = f[3]
  if f[4] == '1' then
    for _, key in ipairs({K_JOBS, type_key(jtype), K_ACTIVE}) do
      redis.call('ZREM', key, id)
    end
    drop_unique(id, k)
    redis.call('DEL', k, k .. ':log')
    publish('complete', id, payload)
    publish('remove', id, jstr(jtype))
    return 'complete', nil
  end
  redis.call('ZREM', K_ACTIVE, id)
  -- token cleared by overwriting (one call less than HDEL); a stale ttl_deadline is
  -- only ever read while active, and the last failed attempt's error stays for the record
  redis.call('HSET', k, 'state', 'complete', 'token', '', 'updated_at', now_s,
    'result', payload, 'completed_at', now_s, 'progress', '100',
    'attempts_made', string.format('%d', tonumber(f[5] or '0') + 1))
  index_state(id, jtype, 'active', 'complete')
  return 'complete', event_json('complete', id, payload)
end

-- Make the job at key `k` active under `token` from `now_s` on: returns the job's fields
-- (values of FETCHED_FIELDS) as they were while inactive, and its lease deadline (the
-- lease or its ttl, whichever ends first) as a string, for the caller's ZADD to `active`.
local function lease_job(k, token, lease_ms, now_s)
  -- the fields a worker needs, in the order of pykue/keys.py FETCHED_FIELDS (they are
  -- at the front of the hash: add_job.lua)
  local fields = redis.call('HMGET', k, 'id', 'data', 'priority', 'max_attempts',
    'attempts_made', 'ttl')
  local ttl = fields[6]
  fields[6] = nil  -- read here, not sent
  local deadline = tonumber(now_s) + lease_ms
  if ttl and ttl ~= '0' then
    local ttl_deadline = tonumber(now_s) + tonumber(ttl)
    redis.call('HSET', k, 'state', 'active', 'token', token, 'started_at', now_s,
      'updated_at', now_s, 'ttl_deadline', string.format('%d', ttl_deadline))
    if ttl_deadline < deadline then deadline = ttl_deadline end
  else
    redis.call('HSET', k, 'state', 'active', 'token', token, 'started_at', now_s,
      'updated_at', now_s)
  end
  return fields, string.format('%d', deadline)
end

-- Take the next inactive job of `jtype` (lowest score) and make it active under `token`.
-- Returns the job's fields (values of FETCHED_FIELDS) as they were while inactive, or
-- false if there is none. `before`: an event (JSON) to publish ahead of this job's "start",
-- in the same message, or nil; it is not published when there is no job to take. A table
-- `before` collects the events instead (the caller publishes them all in one message).
local function take_next(jtype, token, lease_ms, now_s, before)
  local popped = redis.call('ZPOPMIN', wait_key(jtype))
  if #popped == 0 then
    -- nothing runnable: any wake-up token left is stale
    redis.call('DEL', notify_key(jtype))
    return false
  end
  local id = popped[1]
  local fields, deadline = lease_job(jkey(id), token, lease_ms, now_s)
  redis.call('ZADD', K_ACTIVE, deadline, id)
  local start = event_json('start', id, jstr(jtype))
  if type(before) == 'table' then
    before[#before + 1] = start
  elseif before then
    redis.call('PUBLISH', K_EVENTS, '[' .. before .. ',' .. start .. ']')
  else
    redis.call('PUBLISH', K_EVENTS, start)
  end
  -- the fields as they were before this move (the client knows state, token and time)
  return fields
end
