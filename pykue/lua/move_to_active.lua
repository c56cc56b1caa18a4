-- Fetch: take the next inactive job of a type and make it active under the worker's lease.
-- KEYS: K_ACTIVE K_EVENTS
-- ARGV: [1] prefix  [2] type  [3] token  [4] lease ms
-- Returns: the job's fields (pykue.keys.FETCHED_FIELDS), or false.
-- Events: start
return take_next(ARGV[2], ARGV[3], tonumber(ARGV[4]), now_str())
