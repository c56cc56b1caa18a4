"""Task 14 - A reliable queue: reserve, commit, rollback (after keuss).

A queue factory over Redis. ``factory.queue(name)`` gives a queue; two queues with the
same name (in one factory, in two factories, in two processes) are the same queue.

- ``push(payload)`` adds an element (any JSON value) and returns its id.
- ``pop(consumer)`` blocks until an element is ready, removes it and returns it:
  *at-most-once* (if the consumer crashes before processing it, the element is lost).
- ``pop(consumer, reserve=True)`` blocks the same way but only *reserves* the element:
  the consumer must commit it with ``ok(element)`` (it is removed) or roll it back with
  ``ko(element, next_time)`` (it comes back, invisible until ``next_time``, epoch ms,
  with ``tries`` + 1). A reservation neither committed nor rolled back returns to the
  queue by itself after ``reserve_timeout_ms`` (``tries`` + 1): *at-least-once*.
- ``pop(..., timeout=SECONDS)`` gives up after that long and returns None.
- ``factory.close()`` makes every queue of the factory unusable (``QueueClosedError``).

An element is a dict ``{"id": int, "mature": epoch ms, "payload": ..., "tries": int}``.

Every move is one Lua script, so it is atomic: no crash or concurrent consumer can see
an element half moved. Redis keys of queue NAME:

    rq:NAME:seq            counter of element ids (INCR)
    rq:NAME:element:MEMBER hash: payload (JSON text), mature (epoch ms), tries, consumer
    rq:NAME:ready          zset MEMBER -> mature; visible when mature <= now
    rq:NAME:reserved       zset MEMBER -> reservation deadline (epoch ms)
    rq:NAME:wake           list: a token is pushed when something changes (wakes waiters)

MEMBER is the id zero-padded to 15 digits so that elements maturing in the same
millisecond come out in push order (a zset sorts equal scores by member).

Run it: ``python 101-reliable_queue.py`` prints the demo transcript of the README.
"""

import json
import os
import time

import redis

REDIS_URL = os.environ.get("REDIS_URL", "redis://localhost:6379/0")

# A waiting pop wakes at least this often, whatever happens (a safety net: waiters are
# normally woken by a token in the wake list or by the next maturity they computed).
MAX_WAIT_SECONDS = 1.0

# Shared by every script that looks at reservations: a reservation whose deadline has
# passed goes back to the ready set, tries + 1, mature = its deadline.
RETURN_EXPIRED = """
local function return_expired(ready, reserved, wake, prefix, now)
  local expired = redis.call('ZRANGEBYSCORE', reserved, '-inf', now, 'WITHSCORES')
  for i = 1, #expired, 2 do
    local member, deadline = expired[i], expired[i + 1]
    local key = prefix .. member
    redis.call('ZREM', reserved, member)
    redis.call('HINCRBY', key, 'tries', 1)
    redis.call('HSET', key, 'mature', string.format('%d', tonumber(deadline)))
    redis.call('HDEL', key, 'consumer')
    redis.call('ZADD', ready, deadline, member)
  end
  if #expired > 0 then
    redis.call('RPUSH', wake, 1)
  end
end
"""

# KEYS: seq, ready, wake. ARGV: now, payload (JSON text), element key prefix.
PUSH = """
local id = redis.call('INCR', KEYS[1])
local member = string.format('%015d', id)
redis.call('HSET', ARGV[3] .. member, 'payload', ARGV[2], 'mature', ARGV[1], 'tries', 0)
redis.call('ZADD', KEYS[2], ARGV[1], member)
redis.call('RPUSH', KEYS[3], 1)
return id
"""

# KEYS: ready, reserved, wake. ARGV: now, "pop"|"reserve", consumer, reserve timeout ms,
# element key prefix. Returns {1, member, payload, mature, tries} or {0, next event ms|-1}.
TAKE = (
    RETURN_EXPIRED
    + """
local ready, reserved, wake, prefix = KEYS[1], KEYS[2], KEYS[3], ARGV[5]
local now = tonumber(ARGV[1])
return_expired(ready, reserved, wake, prefix, now)
local first = redis.call('ZRANGEBYSCORE', ready, '-inf', now, 'LIMIT', 0, 1)
if #first == 0 then
  -- Nothing ready: old tokens are stale. Tell the caller when the next thing happens.
  redis.call('DEL', wake)
  local next_event = -1
  local soonest = redis.call('ZRANGE', ready, 0, 0, 'WITHSCORES')
  if #soonest > 0 then next_event = tonumber(soonest[2]) end
  soonest = redis.call('ZRANGE', reserved, 0, 0, 'WITHSCORES')
  if #soonest > 0 and (next_event < 0 or tonumber(soonest[2]) < next_event) then
    next_event = tonumber(soonest[2])
  end
  return {0, next_event}
end
local member = first[1]
local key = prefix .. member
local fields = redis.call('HMGET', key, 'payload', 'mature', 'tries')
redis.call('ZREM', ready, member)
-- Keep no more tokens than elements still ready (fewer useless wake-ups).
local left = redis.call('ZCOUNT', ready, '-inf', now)
if left == 0 then redis.call('DEL', wake) else redis.call('LTRIM', wake, 0, left - 1) end
if ARGV[2] == 'reserve' then
  redis.call('ZADD', reserved, now + tonumber(ARGV[4]), member)
  redis.call('HSET', key, 'consumer', ARGV[3])
  redis.call('RPUSH', wake, 1)  -- waiters must now also watch this deadline
else
  redis.call('DEL', key)
end
return {1, member, fields[1], fields[2], fields[3]}
"""
)

# KEYS: ready, reserved, wake. ARGV: now, element key prefix, member, tries.
# A reservation is identified by (member, tries): tries changes whenever it ends.
COMMIT = (
    RETURN_EXPIRED
    + """
local ready, reserved, wake, prefix = KEYS[1], KEYS[2], KEYS[3], ARGV[2]
return_expired(ready, reserved, wake, prefix, tonumber(ARGV[1]))
local key = prefix .. ARGV[3]
if not redis.call('ZSCORE', reserved, ARGV[3]) then return 0 end
if redis.call('HGET', key, 'tries') ~= ARGV[4] then return 0 end
redis.call('ZREM', reserved, ARGV[3])
redis.call('DEL', key)
return 1
"""
)

# KEYS: ready, reserved, wake. ARGV: now, element key prefix, member, tries, next time.
ROLLBACK = (
    RETURN_EXPIRED
    + """
local ready, reserved, wake, prefix = KEYS[1], KEYS[2], KEYS[3], ARGV[2]
return_expired(ready, reserved, wake, prefix, tonumber(ARGV[1]))
local key = prefix .. ARGV[3]
if not redis.call('ZSCORE', reserved, ARGV[3]) then return 0 end
if redis.call('HGET', key, 'tries') ~= ARGV[4] then return 0 end
redis.call('ZREM', reserved, ARGV[3])
redis.call('HINCRBY', key, 'tries', 1)
redis.call('HSET', key, 'mature', ARGV[5])
redis.call('HDEL', key, 'consumer')
redis.call('ZADD', ready, ARGV[1], ARGV[3])
redis.call('RPUSH', wake, 1)
return 1
"""
)

# KEYS: ready, reserved, wake. ARGV: now, element key prefix. Returns {ready, delayed, reserved}.
STATS = (
    RETURN_EXPIRED
    + """
local ready, reserved, wake, prefix = KEYS[1], KEYS[2], KEYS[3], ARGV[2]
return_expired(ready, reserved, wake, prefix, tonumber(ARGV[1]))
local now_ready = redis.call('ZCOUNT', ready, '-inf', ARGV[1])
return {now_ready, redis.call('ZCARD', ready) - now_ready, redis.call('ZCARD', reserved)}
"""
)

# KEYS: ready, reserved, wake, seq. ARGV: element key prefix.
CLEAR = """
for _, set in ipairs({KEYS[1], KEYS[2]}) do
  for _, member in ipairs(redis.call('ZRANGE', set, 0, -1)) do
    redis.call('DEL', ARGV[1] .. member)
  end
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
return 1
"""


class QueueClosedError(RuntimeError):
    """Raised when a queue (or its factory) is used after ``factory.close()``."""


def now_ms() -> int:
    """The current time in epoch milliseconds (the unit of ``mature`` and ``next_time``)."""
    return int(time.time() * 1000)


class ReliableQueue:
    """One named queue. Create it with ``factory.queue(name)``."""

    def __init__(self, factory: "ReliableQueueFactory", name: str) -> None:
        self.factory = factory
        self.name = name
        base = f"rq:{name}:"
        self._prefix = base + "element:"
        self._seq = base + "seq"
        self._ready = base + "ready"
        self._reserved = base + "reserved"
        self._wake = base + "wake"

    def _redis(self) -> redis.Redis:
        if self.factory.closed:
            raise QueueClosedError(f"factory closed: queue '{self.name}' can no longer be used")
        return self.factory.redis

    def _script(self, name: str):
        self._redis()
        return self.factory.scripts[name]

    def push(self, payload) -> int:
        """Add ``payload`` (any JSON value) at the end of the queue; return its id."""
        text = json.dumps(payload)
        return self._script("push")(
            keys=[self._seq, self._ready, self._wake], args=[now_ms(), text, self._prefix]
        )

    def pop(self, consumer: str, reserve: bool = False, timeout: float | None = None):
        """Wait for the first ready element and take it (``reserve=False``: remove it;
        ``reserve=True``: reserve it until ``ok``/``ko`` or the reserve timeout).

        Returns the element, or None when ``timeout`` seconds passed without one.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        mode = "reserve" if reserve else "pop"
        while True:
            now = now_ms()
            try:
                found = self._script("take")(
                    keys=[self._ready, self._reserved, self._wake],
                    args=[now, mode, consumer, self.factory.reserve_timeout_ms, self._prefix],
                )
                if found[0] == 1:
                    _, member, payload, mature, tries = found
                    return {
                        "id": int(member),
                        "mature": int(float(mature)),
                        "payload": json.loads(payload),
                        "tries": int(tries),
                    }
                wait = MAX_WAIT_SECONDS
                if found[1] >= 0:
                    wait = min(wait, max(found[1] - now, 1) / 1000)
                if deadline is not None:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return None
                    wait = min(wait, left)
                # Sleep until a token arrives (push, ko, reserve...) or the next maturity.
                self._redis().blpop([self._wake], timeout=max(wait, 0.01))
            except redis.ConnectionError:
                self._redis()  # closed while waiting: raise QueueClosedError
                raise

    def ok(self, element: dict) -> bool:
        """Commit a reserved element: it is removed for good.

        Returns False when the reservation was no longer held (it expired).
        """
        args = [now_ms(), self._prefix, f"{element['id']:015d}", element["tries"]]
        keys = [self._ready, self._reserved, self._wake]
        return self._script("commit")(keys=keys, args=args) == 1

    def ko(self, element: dict, next_time: int) -> bool:
        """Roll back a reserved element: it comes back with tries + 1, invisible until
        ``next_time`` (epoch ms). Returns False when the reservation was no longer held.
        """
        args = [now_ms(), self._prefix, f"{element['id']:015d}", element["tries"], int(next_time)]
        keys = [self._ready, self._reserved, self._wake]
        return self._script("rollback")(keys=keys, args=args) == 1

    def stats(self) -> dict:
        """Counts: ``ready`` (visible now), ``delayed`` (mature later), ``reserved``."""
        keys = [self._ready, self._reserved, self._wake]
        ready, delayed, reserved = self._script("stats")(keys=keys, args=[now_ms(), self._prefix])
        return {"ready": ready, "delayed": delayed, "reserved": reserved}

    def clear(self) -> None:
        """Delete every element of the queue and restart its ids at 1."""
        keys = [self._ready, self._reserved, self._wake, self._seq]
        self._script("clear")(keys=keys, args=[self._prefix])


class ReliableQueueFactory:
    """Queues over one Redis connection pool; ``close()`` ends them all."""

    def __init__(self, redis_url: str = REDIS_URL, reserve_timeout_ms: int = 30000) -> None:
        self.redis = redis.Redis.from_url(redis_url, decode_responses=True)
        self.reserve_timeout_ms = reserve_timeout_ms
        self.closed = False
        sources = {
            "push": PUSH,
            "take": TAKE,
            "commit": COMMIT,
            "rollback": ROLLBACK,
            "stats": STATS,
            "clear": CLEAR,
        }
        self.scripts = {name: self.redis.register_script(src) for name, src in sources.items()}
        # Load them now: the first call then never needs the NOSCRIPT fallback (which
        # fakeredis's TCP server answers by closing the connection).
        for source in sources.values():
            self.redis.script_load(source)
        self._queues: dict[str, ReliableQueue] = {}

    def queue(self, name: str) -> ReliableQueue:
        """The queue called ``name`` (the same one for everyone using that name)."""
        if self.closed:
            raise QueueClosedError(f"factory closed: cannot create queue '{name}'")
        if name not in self._queues:
            self._queues[name] = ReliableQueue(self, name)
        return self._queues[name]

    def close(self) -> None:
        """Free the connections; every queue of this factory becomes unusable."""
        self.closed = True
        self.redis.close()  # also wakes a pop blocked in another thread

    def __enter__(self) -> "ReliableQueueFactory":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def show(element: dict) -> str:
    return f"id={element['id']} payload={json.dumps(element['payload'])} tries={element['tries']}"


def main() -> None:
    """The demo transcript of the README (deterministic on any database)."""
    factory = ReliableQueueFactory(REDIS_URL, reserve_timeout_ms=5000)
    queue = factory.queue("demo")
    queue.clear()
    for job in (1, 2, 3):
        element_id = queue.push({"job": job})
        print(f"push: id={element_id} payload={json.dumps({'job': job})}")

    element = queue.pop("consumer-1")
    print(f"pop: {show(element)}")

    element = queue.pop("consumer-1", reserve=True)
    print(f"reserve: {show(element)}")
    queue.ok(element)
    print(f"ok: id={element['id']} committed")

    element = queue.pop("consumer-1", reserve=True)
    print(f"reserve: {show(element)}")
    queue.ko(element, now_ms() + 500)
    print(f"ko: id={element['id']} rolled back, invisible for 500 ms")
    print("stats: ready={ready} delayed={delayed} reserved={reserved}".format(**queue.stats()))
    if queue.pop("consumer-1", reserve=True, timeout=0.2) is None:
        print("reserve (wait 0.2 s): nothing ready")
    element = queue.pop("consumer-1", reserve=True, timeout=5)
    print(f"reserve (wait 5 s): {show(element)}")
    queue.ok(element)
    print(f"ok: id={element['id']} committed")
    print("stats: ready={ready} delayed={delayed} reserved={reserved}".format(**queue.stats()))

    factory.close()
    print("close: factory closed")
    try:
        queue.push({"job": 4})
    except QueueClosedError as exc:
        print(f"push after close: {type(exc).__name__}: {exc}")


if __name__ == "__main__":
    main()
