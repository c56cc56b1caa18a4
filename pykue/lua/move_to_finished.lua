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
local id, token, outcome, payload = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local now_s = now_str()
local now = tonumber(now_s)
local k = jkey(id)
local status
local event  -- published with the next job's "start" (one PUBLISH)
local f = redis.call('HMGET', k, 'state', 'token', 'type', 'remove_on_complete',
  'attempts_made')
if f[1] ~= 'active' or f[2] ~= token then
  status = 'fenced'
elseif outcome == 'complete' then
  local jtype = f[3]
  if f[4] == '1' then
    for _, key in ipairs({K_JOBS, type_key(jtype), K_ACTIVE}) do
      redis.call('ZREM', key, id)
    end
    drop_unique(id, k)
    redis.call('DEL', k, k .. ':log')
    publish('complete', id, payload)
    publish('remove', id, jstr(jtype))
  else
    redis.call('ZREM', K_ACTIVE, id)
    -- token cleared by overwriting (one call less than HDEL); a stale ttl_deadline is
    -- only ever read while active, and the last failed attempt's error stays for the record
    redis.call('HSET', k, 'state', 'complete', 'token', '', 'updated_at', now_s,
      'result', payload, 'completed_at', now_s, 'progress', '100',
      'attempts_made', string.format('%d', tonumber(f[5] or '0') + 1))
    index_state(id, jtype, 'active', 'complete')
    event = event_json('complete', id, payload)
  end
  status = 'complete'
else
  status = fail_attempt(id, f[3], payload, now)
end
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
