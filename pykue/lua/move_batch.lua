-- Prefetch (queue.process(..., prefetch=K)): finish the jobs a worker ran (each one checked
-- against its own lease token, as move_to_finished.lua does) and take up to K next jobs,
-- each made active under its own token and lease, all in one call. The events of the call
-- go out in one PUBLISH (a JSON array), except those finish() publishes itself.
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
for i = 6, #ARGV, 4 do
  local status, event = finish(ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], now_s)
  statuses[#statuses + 1] = status
  if event then events[#events + 1] = event end
end
local fetched = {}
if ARGV[2] ~= '' then
  local lease_ms = tonumber(ARGV[4])
  for i = 1, tonumber(ARGV[5]) do
    local fields = take_next(ARGV[2], ARGV[3] .. '.' .. i, lease_ms, now_s, events)
    if not fields then break end
    fetched[i] = fields
  end
end
if #events == 1 then
  redis.call('PUBLISH', K_EVENTS, events[1])
elseif #events > 1 then
  redis.call('PUBLISH', K_EVENTS, '[' .. table.concat(events, ',') .. ']')
end
return {statuses, fetched}
