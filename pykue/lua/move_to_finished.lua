-- Finish the current job (complete or failed attempt) and fetch the next one: one round
-- trip per job in steady state, like BullMQ's moveToFinished.
-- ARGV: prefix, id, token, outcome('complete'|'failed'), payload(result json | error text),
--       next_type ('' = do not fetch), next_token, lease_ms
-- Returns {status, next job fields or false}; status is the job's new state, or
-- 'fenced' when the token no longer holds the job (lease lost: the finish is refused).
local id, token, outcome, payload = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local now = now_ms()
local k = jkey(id)
local status
local f = redis.call('HMGET', k, 'state', 'token', 'type', 'remove_on_complete')
if f[1] ~= 'active' or f[2] ~= token then
  status = 'fenced'
else
  local jtype = f[3]
  release(id)
  if outcome == 'complete' then
    local made = redis.call('HINCRBY', k, 'attempts_made', 1)
    redis.call('HSET', k, 'result', payload, 'completed_at', now, 'progress', 100)
    redis.call('HDEL', k, 'error')
    index_state(id, jtype, 'active', 'complete', now)
    publish('complete', id, payload)
    if f[4] == '1' then
      redis.call('DEL', k, k .. ':log')
      for _, key in ipairs({P .. 'jobs', P .. 'jobs:complete', P .. 'type:' .. jtype,
                            P .. 'type:' .. jtype .. ':complete'}) do
        redis.call('ZREM', key, id)
      end
      publish('remove', id, jstr(jtype))
    end
    status = 'complete'
  else
    status = fail_attempt(id, jtype, payload, now)
  end
end
local nxt = false
if ARGV[6] ~= '' then
  nxt = take_next(ARGV[6], ARGV[7], tonumber(ARGV[8]), now)
end
return {status, nxt}
