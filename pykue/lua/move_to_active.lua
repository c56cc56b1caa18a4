-- Fetch: take the next inactive job of a type and make it active under the worker's lease.
-- ARGV: prefix, type, token, lease_ms.  Returns the job's fields, or false.
return take_next(ARGV[2], ARGV[3], tonumber(ARGV[4]), now_str())
