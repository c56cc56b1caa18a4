-- Delete a job and every index entry of it (an active job's worker is fenced off).
-- KEYS: K_JOBS K_ACTIVE K_DELAYED K_UNIQUE K_EVENTS
-- ARGV: [1] prefix  [2] id
-- Returns: 1, or 0 when there was no such job.
-- Events: remove
local id = ARGV[2]
local k = jkey(id)
local f = redis.call('HMGET', k, 'type', 'state')
if not f[1] then return 0 end
local jtype, state = f[1], f[2]
index_state(id, jtype, state, nil)
for _, key in ipairs({K_JOBS, type_key(jtype), wait_key(jtype),
                      K_DELAYED, K_ACTIVE}) do
  redis.call('ZREM', key, id)
end
drop_unique(id, k)
redis.call('DEL', k, k .. ':log')
publish('remove', id, jstr(jtype))
return 1
