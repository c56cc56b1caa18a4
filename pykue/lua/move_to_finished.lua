-- Finish the current job (complete or failed attempt) and fetch the next one: one round
-- trip per job in steady state, like BullMQ's moveToFinished. Its "complete" event and the
-- next job's "start" go out in one PUBLISH.
-- KEYS: K_SEQ K_JOBS K_ACTIVE K_DELAYED K_UNIQUE K_EVENTS
-- ARGV: [1] prefix  [2] id  [3] token  [4] outcome ('complete'|'failed')
--       [5] payload (result JSON | error text)  [6] next type ('' = do not fetch)
--       [7] next token  [8] lease ms
-- Returns: {status, next job's fields...} or {status, false} when no next job; status is
--       the job's new state, or 'fenced' when the token no longer holds the job (lease
--       lost: the finish is refused).
-- Events: complete, remove, failed attempt, failed, start
local now_s = now_str()
local status, event = finish(ARGV[2], ARGV[3], ARGV[4], ARGV[5], now_s)
local nxt = false
if ARGV[6] ~= '' then
  nxt = take_next(ARGV[6], ARGV[7], tonumber(ARGV[8]), now_s, event)
end
if not nxt then
  if event then redis.call('PUBLISH', K_EVENTS, event) end
  return {status, false}
end
table.insert(nxt, 1, status)
return nxt
