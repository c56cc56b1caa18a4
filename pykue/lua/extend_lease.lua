-- Renew the leases a worker holds, in one batch.
-- KEYS: K_ACTIVE
-- ARGV: [1] prefix  [2] lease ms  [3...] id1, token1, id2, token2, ...
-- Returns: the ids whose lease is lost (job no longer active under that token).
-- Events: none
local lease_ms = tonumber(ARGV[2])
local now = now_ms()
local lost = {}
for i = 3, #ARGV, 2 do
  local id, token = ARGV[i], ARGV[i + 1]
  local f = redis.call('HMGET', jkey(id), 'state', 'token', 'ttl_deadline')
  if f[1] == 'active' and f[2] == token then
    local deadline = now + lease_ms
    local ttl_deadline = tonumber(f[3] or '0')
    if ttl_deadline > 0 and ttl_deadline < deadline then deadline = ttl_deadline end
    redis.call('ZADD', K_ACTIVE, deadline, id)
  else
    table.insert(lost, id)
  end
end
return lost
