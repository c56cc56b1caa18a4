-- Consistency check of one job, atomic, so it is exact even while workers run. The job's
-- hash is the truth: every index must list the job exactly where its `state` puts it.
-- With repair = 1, fix what is wrong in the same step (re-index, drop orphan entries,
-- clear a lease of a job that is not active, give an active job without lease back to
-- inactive).
-- KEYS: K_SEQ K_JOBS K_ACTIVE K_DELAYED K_TYPES
-- ARGV: [1] prefix  [2] id  [3] repair (0|1)  [4...] every known job type
-- Returns: a flat list of triples: kind, message, repaired (0|1).
-- Events: none
local id, repair = ARGV[2], ARGV[3] == '1'
local out = {}
local function problem(kind, msg, fixed)
  out[#out + 1] = kind
  out[#out + 1] = msg
  out[#out + 1] = fixed and '1' or '0'
end
local function listed(key) return redis.call('ZSCORE', key, id) ~= false end
local BY_ID = {'delayed', 'complete', 'failed'}

local types, seen = {}, {}
local function add_type(t)
  if t and not seen[t] then seen[t] = true; types[#types + 1] = t end
end
for i = 4, #ARGV do add_type(ARGV[i]) end

local k = jkey(id)
local ktype = redis.call('TYPE', k)['ok']
if ktype == 'none' then
  -- no job: every index entry and log of this id is an orphan
  local keys = {K_JOBS, K_DELAYED, K_ACTIVE}
  for _, s in ipairs(BY_ID) do keys[#keys + 1] = state_key(s) end
  for _, t in ipairs(types) do
    keys[#keys + 1] = type_key(t)
    keys[#keys + 1] = wait_key(t)
    for _, s in ipairs(BY_ID) do keys[#keys + 1] = type_key(t, s) end
  end
  for _, key in ipairs(keys) do
    if listed(key) then
      problem('orphan', key .. ' lists job ' .. id .. ', which does not exist', repair)
      if repair then redis.call('ZREM', key, id) end
    end
  end
  if redis.call('EXISTS', k .. ':log') == 1 then
    problem('orphan', 'log of job ' .. id .. ', which does not exist', repair)
    if repair then redis.call('DEL', k .. ':log') end
  end
  return out
end
if ktype ~= 'hash' then
  problem('bad_hash', 'job ' .. id .. ' is a ' .. ktype .. ', not a hash', false)
  return out
end

local f = redis.call('HMGET', k, 'id', 'type', 'state', 'priority', 'token', 'promote_at')
local jtype, state = f[2], f[3]
local VALID = {inactive = true, delayed = true, active = true, complete = true, failed = true}
if not jtype or jtype == '' or not VALID[state] then
  problem('bad_hash', 'job ' .. id .. ' has type ' .. tostring(jtype) .. ' and state '
    .. tostring(state) .. ': cannot tell where it belongs', false)
  return out
end
add_type(jtype)
local now = now_ms()
if f[1] ~= id then
  problem('bad_hash', 'job ' .. id .. ' has id field ' .. tostring(f[1]), repair)
  if repair then redis.call('HSET', k, 'id', id) end
end
if redis.call('SISMEMBER', K_TYPES, jtype) == 0 then
  problem('type_index', 'type ' .. jtype .. ' of job ' .. id .. ' is not in ' .. K_TYPES,
    repair)
  if repair then redis.call('SADD', K_TYPES, jtype) end
end

local token = f[5] or ''
local wait_done = false
if state == 'active' and (token == '' or not listed(K_ACTIVE)) then
  problem('lease', 'job ' .. id .. ' is active without a lease (no worker holds it)', repair)
  if repair then
    -- back to inactive, as when a lease lapses (not counted as a stall)
    redis.call('ZREM', K_ACTIVE, id)
    redis.call('HDEL', k, 'token', 'ttl_deadline')
    redis.call('HSET', k, 'state', 'inactive', 'updated_at', now)
    if not listed(wait_key(jtype)) then push_wait(id, jtype, f[4] or 0) end
    wait_done = true
    state = 'inactive'
    token = ''
  end
elseif state ~= 'active' and token ~= '' then
  problem('lease', 'job ' .. id .. ' is ' .. state .. ' but holds a lease token', repair)
  if repair then redis.call('HDEL', k, 'token', 'ttl_deadline') end
end

-- where the job must be listed, given its state
local want = {}
want[K_JOBS] = true
want[type_key(jtype)] = true
if state == 'inactive' then
  want[wait_key(jtype)] = true
elseif state == 'active' then
  want[K_ACTIVE] = true
else
  want[state_key(state)] = true
  want[type_key(jtype, state)] = true
  if state == 'delayed' then want[K_DELAYED] = true end
end
local keys = {K_JOBS, K_DELAYED, K_ACTIVE}
for _, s in ipairs(BY_ID) do keys[#keys + 1] = state_key(s) end
for _, t in ipairs(types) do
  keys[#keys + 1] = type_key(t)
  keys[#keys + 1] = wait_key(t)
  for _, s in ipairs(BY_ID) do keys[#keys + 1] = type_key(t, s) end
end
for _, key in ipairs(keys) do
  local is_in = listed(key)
  if is_in and not want[key] then
    problem('state_set', 'job ' .. id .. ' (' .. state .. ', type ' .. jtype .. ') is listed in '
      .. key, repair)
    if repair then redis.call('ZREM', key, id) end
  elseif want[key] and not is_in then
    if key == K_ACTIVE then
      -- reported above as a lease problem (cannot be repaired without repair mode)
    else
      problem('state_set', 'job ' .. id .. ' (' .. state .. ', type ' .. jtype
        .. ') is missing from ' .. key, repair)
      if repair then
        if key == wait_key(jtype) then
          if not wait_done then push_wait(id, jtype, f[4] or 0) end
        elseif key == K_DELAYED then
          redis.call('ZADD', key, tonumber(f[6] or '') or now, id)
        else
          redis.call('ZADD', key, tonumber(id) or 0, id)
        end
      end
    end
  end
end
return out
