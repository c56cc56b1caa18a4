-- Prefetch (queue.process(..., prefetch=K)): finish the jobs a worker ran (each one checked
-- against its own lease token, as move_to_finished.lua does) and take up to K next jobs,
-- each made active under its own token and lease, all in one call. The index updates of
-- the batch go in one command per key (ZREM/ZADD with many members), and its events in
-- one PUBLISH (a JSON array), except those finish() publishes itself (rare paths: a
-- failed attempt, remove_on_complete).
-- KEYS: K_SEQ K_JOBS K_ACTIVE K_DELAYED K_UNIQUE K_EVENTS
-- ARGV: [1] prefix  [2] next type ('' = do not fetch)  [3] token base (job i of the
--       fetch gets token base .. '.' .. i)  [4] lease ms  [5] K (how many to fetch)
--       [6...] id, token, outcome ('complete'|'failed'), payload: one quad per job to finish
-- Returns: {statuses (one per finished job, in order: new state or 'fenced'),
--       fetched (one list of FETCHED_FIELDS per job taken, in the order they run)}
-- Events: complete, remove, failed attempt, failed, start
local now_s = now_str()
local events = {}
local statuses = {}
-- Finish: the common case (complete, kept) inline, its index moves batched below.
local done_ids = {}  -- completed ids, to leave `active`
local by_id = {}  -- score, id pairs for jobs:complete
local by_type = {}  -- type -> score, id pairs for type:<type>:complete
for i = 6, #ARGV, 4 do
  local id, token, outcome, payload = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local k = jkey(id)
  local f = redis.call('HMGET', k, 'state', 'token', 'type', 'remove_on_complete',
    'attempts_made')
  local status
  if f[1] ~= 'active' or f[2] ~= token then
    status = 'fenced'
  elseif outcome == 'complete' and f[4] ~= '1' then
    -- as finish() does it, with the index moves batched
    redis.call('HSET', k, 'state', 'complete', 'token', '', 'updated_at', now_s,
      'result', payload, 'completed_at', now_s, 'progress', '100',
      'attempts_made', string.format('%d', tonumber(f[5] or '0') + 1))
    done_ids[#done_ids + 1] = id
    by_id[#by_id + 1] = id
    by_id[#by_id + 1] = id
    local pairs_of_type = by_type[f[3]]
    if not pairs_of_type then
      pairs_of_type = {}
      by_type[f[3]] = pairs_of_type
    end
    pairs_of_type[#pairs_of_type + 1] = id
    pairs_of_type[#pairs_of_type + 1] = id
    events[#events + 1] = event_json('complete', id, payload)
    status = 'complete'
  else
    local event
    status, event = finish(id, token, outcome, payload, now_s)
    if event then events[#events + 1] = event end
  end
  statuses[#statuses + 1] = status
end
if #done_ids > 0 then
  redis.call('ZREM', K_ACTIVE, unpack(done_ids))
  redis.call('ZADD', state_key('complete'), unpack(by_id))
  for jtype, pairs_of_type in pairs(by_type) do
    redis.call('ZADD', type_key(jtype, 'complete'), unpack(pairs_of_type))
  end
end
-- Take: up to K in one ZPOPMIN, each leased as take_next() does, one ZADD to `active`.
local fetched = {}
local jtype = ARGV[2]
if jtype ~= '' then
  local lease_ms = tonumber(ARGV[4])
  local popped = redis.call('ZPOPMIN', wait_key(jtype), tonumber(ARGV[5]))
  if #popped < 2 * tonumber(ARGV[5]) then
    redis.call('DEL', notify_key(jtype))  -- the wait set is empty: wake-up tokens are stale
  end
  local leases = {}
  local jstype = jstr(jtype)
  for n = 1, #popped, 2 do
    local id = popped[n]
    local token = ARGV[3] .. '.' .. ((n + 1) / 2)
    local fields, deadline = lease_job(jkey(id), token, lease_ms, now_s)
    leases[#leases + 1] = deadline
    leases[#leases + 1] = id
    events[#events + 1] = event_json('start', id, jstype)
    fetched[#fetched + 1] = fields
  end
  if #leases > 0 then
    redis.call('ZADD', K_ACTIVE, unpack(leases))
  end
end
if #events == 1 then
  redis.call('PUBLISH', K_EVENTS, events[1])
elseif #events > 1 then
  redis.call('PUBLISH', K_EVENTS, '[' .. table.concat(events, ',') .. ']')
end
return {statuses, fetched}
