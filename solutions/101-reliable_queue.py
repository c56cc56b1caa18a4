"""Task 14 — A reliable queue: reserve, commit, rollback (after keuss).

A queue factory over Redis. ``factory.queue(name)`` gives a queue; two queues with the
same name (in one factory, in two factories, in two processes) are the same queue.

- ``push(payload)`` adds an element (any JSON value) and returns its id.
- ``pop(consumer)`` blocks until an element is ready, removes it and returns it:
  *at-most-once* (if the consumer crashes before processing it, the element is lost).
- ``pop(consumer, reserve=True)`` blocks the same way but only *reserves* the element:
  the consumer must commit it with ``ok(element)`` (it is removed) or roll it back with
  ``ko(element, next_time)`` (it comes back, invisible until ``next_time``, epoch ms,
  with ``tries`` + 1; no ``next_time``: now plus the factory's ``rollback_delay``
  seconds, 0 by default as in keuss' redis backend). ``ok`` and ``ko`` take the element
  or its bare id. A reservation neither committed nor rolled back returns to the queue
  by itself after ``reserve_timeout_ms`` (``tries`` + 1): *at-least-once*.
- ``pop(..., timeout=SECONDS)`` gives up after that long and returns None;
  ``cancel(consumer=None)`` ends the pops waiting on that queue object (they raise
  ``PopCancelled``), ``consumers()`` / ``n_consumers()`` list / count them.
- ``ok`` and ``ko`` return True, or False when the reservation was no longer held (it
  expired: the element went back to the queue and may be someone else's by now); with
  the factory's ``max_ko``, ``ko`` of an element already rolled back more than that many
  times moves it to the queue ``__deadletter__`` and returns "deadletter".
- ``push(payload, delay=SECONDS, tries=0, headers={...})``; ``get()`` / ``reserve()``
  take without waiting; ``remove(id)``; ``size()``, ``sched_size()``, ``resv_size()``,
  ``total_size()``, ``next_t()`` (epoch ms or None).
- ``stats()`` returns keuss' counters ``get, put, reserve, commit, rollback,
  deadletter`` and the sizes ``ready`` (visible now), ``delayed`` (mature later),
  ``reserved``; ``clear()`` empties the queue and restarts ids at 1.
- ``factory.close()`` makes every queue of the factory unusable: any call raises
  ``QueueClosedError("factory closed: queue 'NAME' can no longer be used")``.

An element is a dict ``{"_id": int, "id": same, "mature": epoch ms, "payload": ...,
"tries": int, "hdrs": dict}`` (keuss' fields; ``id`` is an alias of ``_id``).

Every move is one Lua script, so it is atomic: no crash or concurrent consumer can see
an element half moved. Redis keys of queue NAME:

    rq:NAME:seq            counter of element ids (INCR)
    rq:NAME:element:MEMBER hash: payload (JSON text), mature (epoch ms), tries, consumer,
                           hdrs (JSON text)
    rq:NAME:ready          zset MEMBER -> mature; visible when mature <= now
    rq:NAME:reserved       zset MEMBER -> reservation deadline (epoch ms)
    rq:NAME:wake           list: a token is pushed when something changes (wakes waiters)
    rq:NAME:stats          hash: keuss' counters (get, put, reserve, ...)

MEMBER is the id zero-padded to 15 digits so that elements maturing in the same
millisecond come out in push order (a zset sorts equal scores by member).

Run as a script, ``main()`` plays the demo on the queue ``demo`` (cleared first) and
prints exactly, on any database::

    push: id=1 payload={"job": 1}
    push: id=2 payload={"job": 2}
    push: id=3 payload={"job": 3}
    pop: id=1 payload={"job": 1} tries=0
    reserve: id=2 payload={"job": 2} tries=0
    ok: id=2 committed
    reserve: id=3 payload={"job": 3} tries=0
    ko: id=3 rolled back, invisible for 500 ms
    stats: ready=0 delayed=1 reserved=0
    reserve (wait 0.2 s): nothing ready
    reserve (wait 5 s): id=3 payload={"job": 3} tries=1
    ok: id=3 committed
    stats: ready=0 delayed=0 reserved=0
    close: factory closed
    push after close: QueueClosedError: factory closed: queue 'demo' can no longer be used
"""

import json
import os
import sys
import time

try:
    import redis
except ModuleNotFoundError as missing:
    sys.exit(f"{missing}: run `. .venv/bin/activate` first, or use scripts/run")

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

# KEYS: seq, ready, wake, stats. ARGV: mature, payload (JSON text), element key prefix,
# tries, headers (JSON text).
PUSH = """
local id = redis.call('INCR', KEYS[1])
local member = string.format('%015d', id)
redis.call('HSET', ARGV[3] .. member, 'payload', ARGV[2], 'mature', ARGV[1], 'tries', ARGV[4],
           'hdrs', ARGV[5])
redis.call('ZADD', KEYS[2], ARGV[1], member)
redis.call('RPUSH', KEYS[3], 1)
redis.call('HINCRBY', KEYS[4], 'put', 1)
return id
"""

# KEYS: ready, reserved, wake, stats. ARGV: now, "pop"|"reserve", consumer, reserve
# timeout ms, element key prefix, the counter to count it in ("" for none). Returns
# {1, member, payload, mature, tries, hdrs} or {0, next event ms|-1}.
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
local fields = redis.call('HMGET', key, 'payload', 'mature', 'tries', 'hdrs')
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
if ARGV[6] ~= '' then redis.call('HINCRBY', KEYS[4], ARGV[6], 1) end
return {1, member, fields[1], fields[2], fields[3], fields[4] or '{}'}
"""
)

# The start of COMMIT and ROLLBACK: the reservation must still be held. It is named by
# (member, tries) when the caller has the element (tries changes whenever a reservation
# ends), by the member alone when it has a bare id (tries "").
HELD = (
    RETURN_EXPIRED
    + """
local ready, reserved, wake, prefix = KEYS[1], KEYS[2], KEYS[3], ARGV[2]
return_expired(ready, reserved, wake, prefix, tonumber(ARGV[1]))
local member = ARGV[3]
local key = prefix .. member
if not redis.call('ZSCORE', reserved, member) then return 0 end
if ARGV[4] ~= '' and redis.call('HGET', key, 'tries') ~= ARGV[4] then return 0 end
redis.call('ZREM', reserved, member)
"""
)

# KEYS: ready, reserved, wake, stats. ARGV: now, element key prefix, member, tries|"",
# counter|"".
COMMIT = (
    HELD
    + """
redis.call('DEL', key)
if ARGV[5] ~= '' then redis.call('HINCRBY', KEYS[4], ARGV[5], 1) end
return 1
"""
)

# KEYS: ready, reserved, wake, stats, then the dead-letter queue's seq, ready, wake.
# ARGV: now, element key prefix, member, tries|"", counter|"", next time, max rollbacks
# (0: no dead letters), dead-letter element key prefix, this queue's name.
# Returns 1 rolled back, 2 moved to the dead letters (keuss: obj.tries > max_ko).
ROLLBACK = (
    HELD
    + """
local max_ko = tonumber(ARGV[7])
local tries = tonumber(redis.call('HGET', key, 'tries'))
if max_ko > 0 and tries > max_ko then
  local fields = redis.call('HMGET', key, 'payload', 'hdrs')
  redis.call('DEL', key)
  local hdrs = cjson.decode(fields[2] or '{}')
  hdrs['x-dl-from-queue'] = ARGV[9]
  hdrs['x-dl-t'] = tonumber(ARGV[1])
  hdrs['x-dl-tries'] = tries
  local id = redis.call('INCR', KEYS[5])
  local dead = string.format('%015d', id)
  redis.call('HSET', ARGV[8] .. dead, 'payload', fields[1], 'mature', ARGV[1], 'tries', 0,
             'hdrs', cjson.encode(hdrs))
  redis.call('ZADD', KEYS[6], ARGV[1], dead)
  redis.call('RPUSH', KEYS[7], 1)
  redis.call('HINCRBY', KEYS[4], 'deadletter', 1)
  return 2
end
redis.call('HINCRBY', key, 'tries', 1)
redis.call('HSET', key, 'mature', ARGV[6])
redis.call('HDEL', key, 'consumer')
redis.call('ZADD', ready, ARGV[6], member)
redis.call('RPUSH', wake, 1)
if ARGV[5] ~= '' then redis.call('HINCRBY', KEYS[4], ARGV[5], 1) end
return 1
"""
)

# KEYS: ready, reserved, wake, stats. ARGV: now, element key prefix. Returns {ready,
# delayed, reserved, next time|-1, {counter, value, ...}}.
STATS = (
    RETURN_EXPIRED
    + """
local ready, reserved, wake, prefix = KEYS[1], KEYS[2], KEYS[3], ARGV[2]
return_expired(ready, reserved, wake, prefix, tonumber(ARGV[1]))
local now_ready = redis.call('ZCOUNT', ready, '-inf', ARGV[1])
local next_t = -1
for _, set in ipairs({ready, reserved}) do
  local soonest = redis.call('ZRANGE', set, 0, 0, 'WITHSCORES')
  if #soonest > 0 and (next_t < 0 or tonumber(soonest[2]) < next_t) then
    next_t = tonumber(soonest[2])
  end
end
return {now_ready, redis.call('ZCARD', ready) - now_ready, redis.call('ZCARD', reserved),
        next_t, redis.call('HGETALL', KEYS[4])}
"""
)

# KEYS: ready, reserved, wake. ARGV: element key prefix, member. Returns 1 if removed.
REMOVE = """
local gone = redis.call('ZREM', KEYS[1], ARGV[2]) + redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('DEL', ARGV[1] .. ARGV[2])
return math.min(gone, 1)
"""

# KEYS: ready, reserved, wake, seq, stats. ARGV: element key prefix.
CLEAR = """
for _, set in ipairs({KEYS[1], KEYS[2]}) do
  for _, member in ipairs(redis.call('ZRANGE', set, 0, -1)) do
    redis.call('DEL', ARGV[1] .. member)
  end
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5])
return 1
"""


class QueueClosedError(RuntimeError):
    """Raised when a queue (or its factory) is used after ``factory.close()``."""


class PopCancelled(RuntimeError):
    """Raised by a waiting ``pop`` that ``queue.cancel()`` ended (keuss: error "cancel")."""


class Waiter:
    """A ``pop`` waiting in this process: who waits, and whether it was cancelled."""

    def __init__(self, consumer: str) -> None:
        self.consumer = consumer
        self.cancelled = False


def now_ms() -> int:
    """The current time in epoch milliseconds (the unit of ``mature`` and ``next_time``)."""
    return int(time.time() * 1000)


DEADLETTER = "__deadletter__"  # the dead-letter queue's name (keuss' too)
COUNTERS = ("get", "put", "reserve", "commit", "rollback", "deadletter")


def element_id(element_or_id) -> tuple[int, str]:
    """(id, tries as text or "" when unknown) of an element dict or a bare id."""
    if isinstance(element_or_id, dict):
        raw = element_or_id.get("_id", element_or_id.get("id"))
        tries = element_or_id.get("tries")
    else:
        raw, tries = element_or_id, None
    text = str(raw).strip()
    if isinstance(raw, bool) or not text.isdecimal() or len(text) > 30 or int(text) < 1:
        raise ValueError(f"not an element id: {raw!r} (ids are whole numbers from 1)")
    return int(text), "" if tries is None else str(int(tries))


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
        self._stats = base + "stats"
        self._keys = [self._ready, self._reserved, self._wake, self._stats]
        self._waiting: list[Waiter] = []

    def _redis(self) -> redis.Redis:
        if self.factory.closed:
            raise QueueClosedError(f"factory closed: queue '{self.name}' can no longer be used")
        return self.factory.redis

    def _script(self, name: str):
        self._redis()
        return self.factory.scripts[name]

    def push(self, payload, delay: float = 0, tries: int = 0, headers: dict | None = None) -> int:
        """Add ``payload`` (any JSON value) at the end of the queue; return its id.

        ``delay``: seconds before it matures (is visible); ``tries``: its initial tries
        count; ``headers``: a dict kept with it as ``hdrs``. (keuss: ``push(payload,
        {delay, tries, hdrs})``.)
        """
        text = json.dumps(payload)
        mature = now_ms() + int(delay * 1000)
        args = [mature, text, self._prefix, int(tries), json.dumps(headers or {})]
        return self._script("push")(
            keys=[self._seq, self._ready, self._wake, self._stats], args=args
        )

    def _take(self, mode: str, consumer: str, counter: str):
        """One try: {"ok": element} or {"next": next event epoch ms, or -1}."""
        now = now_ms()
        found = self._script("take")(
            keys=self._keys,
            args=[now, mode, consumer, self.factory.reserve_timeout_ms, self._prefix, counter],
        )
        if found[0] == 0:
            return None, found[1]
        _, member, payload, mature, tries, hdrs = found
        element_id_ = int(member)
        element = {
            "_id": element_id_,
            "id": element_id_,
            "mature": int(float(mature)),
            "payload": json.loads(payload),
            "tries": int(tries),
            "hdrs": json.loads(hdrs),
        }
        return element, -1

    def pop(self, consumer: str, reserve: bool = False, timeout: float | None = None):
        """Wait for the first ready element and take it (``reserve=False``: remove it;
        ``reserve=True``: reserve it until ``ok``/``ko`` or the reserve timeout).

        Returns the element, or None when ``timeout`` seconds passed without one.
        (keuss: ``pop(consumer, {reserve, timeout})``, its timeout in ms.)
        """
        waiter = Waiter(consumer)
        self._waiting.append(waiter)
        try:
            return self._wait(waiter, reserve, timeout)
        finally:
            self._waiting.remove(waiter)

    def _wait(self, waiter: Waiter, reserve: bool, timeout: float | None):
        """Try, then wait, until an element, the timeout (None) or a cancel."""
        deadline = None if timeout is None else time.monotonic() + timeout
        mode, consumer = "reserve" if reserve else "pop", waiter.consumer
        while True:
            if waiter.cancelled:
                raise PopCancelled(
                    f"cancel: the pop of {consumer!r} on '{self.name}' was cancelled"
                )
            try:
                element, next_event = self._take(mode, consumer, "reserve" if reserve else "get")
                if element is not None:
                    return element
                wait = MAX_WAIT_SECONDS
                if next_event >= 0:
                    wait = min(wait, max(next_event - now_ms(), 1) / 1000)
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

    def consumers(self) -> list[str]:
        """The consumers whose ``pop`` waits on this queue object now (keuss:
        ``consumers()``; ``n_consumers()`` is its length)."""
        return [waiter.consumer for waiter in list(self._waiting)]

    def n_consumers(self) -> int:
        """How many ``pop`` calls wait on this queue object (keuss: ``nConsumers``)."""
        return len(self._waiting)

    def cancel(self, consumer: str | None = None) -> int:
        """End the waiting pops of ``consumer`` (all of them with None): each raises
        ``PopCancelled``. Returns how many. (keuss: ``cancel(tid)``; a blocking Python
        pop has no handle, so it is named by its consumer.)"""
        chosen = [w for w in list(self._waiting) if consumer in (None, w.consumer)]
        for waiter in chosen:
            waiter.cancelled = True
        if chosen:
            self._redis().rpush(self._wake, *[1] * len(chosen))  # wake them now
        return len(chosen)

    def get(self):
        """Take the first ready element now, or None: no wait, not counted (keuss' raw
        ``get``)."""
        return self._take("pop", "", "")[0]

    def reserve(self):
        """Reserve the first ready element now, or None: no wait, not counted (keuss'
        raw ``reserve``)."""
        return self._take("reserve", "", "")[0]

    def commit(self, element_or_id, counter: str = "") -> bool:
        """Commit a reservation, by element or bare id; False when it was not held
        (keuss' raw ``commit``)."""
        member_id, tries = element_id(element_or_id)
        args = [now_ms(), self._prefix, f"{member_id:015d}", tries, counter]
        return self._script("commit")(keys=self._keys, args=args) == 1

    def ok(self, element_or_id) -> bool:
        """Commit a reserved element (the dict, or its bare id): it is removed for good.

        Returns False when the reservation was no longer held (it expired). (keuss: ``ok``.)
        """
        return self.commit(element_or_id, "commit")

    def rollback(self, element_or_id, next_time: int | None = None, counter: str = ""):
        """Roll back a reservation (keuss' raw ``rollback``); see ``ko``."""
        member_id, tries = element_id(element_or_id)
        if next_time is None:
            next_time = now_ms() + int(self.factory.rollback_delay * 1000)
        dead = self.factory.deadletter_queue()
        dead_keys = [dead._seq, dead._ready, dead._wake] if dead else ["", "", ""]
        args = [
            now_ms(), self._prefix, f"{member_id:015d}", tries, counter, int(next_time),
            self.factory.max_ko if dead and self.name != DEADLETTER else 0,
            dead._prefix if dead else "", self.name,
        ]  # fmt: skip
        done = self._script("rollback")(keys=self._keys + dead_keys, args=args)
        return "deadletter" if done == 2 else done == 1

    def ko(self, element_or_id, next_time: int | None = None):
        """Roll back a reserved element (the dict, or its bare id): it comes back with
        tries + 1, invisible until ``next_time`` (epoch ms; default: now plus the
        factory's ``rollback_delay`` seconds). Returns True, False when the reservation
        was no longer held, or "deadletter" when it had already been rolled back more
        than the factory's ``max_ko`` times: it went to the queue ``__deadletter__``
        with the headers ``x-dl-from-queue``, ``x-dl-t`` and ``x-dl-tries``. (keuss: ``ko``.)
        """
        return self.rollback(element_or_id, next_time, "rollback")

    def remove(self, element_or_id) -> bool:
        """Delete an element, ready, delayed or reserved; False if there was none
        (keuss: ``remove``)."""
        member_id, _ = element_id(element_or_id)
        args = [self._prefix, f"{member_id:015d}"]
        return self._script("remove")(keys=self._keys[:3], args=args) == 1

    def _figures(self) -> tuple[int, int, int, int, dict]:
        ready, delayed, reserved, next_t, flat = self._script("stats")(
            keys=self._keys, args=[now_ms(), self._prefix]
        )
        counters = dict.fromkeys(COUNTERS, 0) | {
            name: int(value) for name, value in zip(flat[::2], flat[1::2], strict=True)
        }
        return ready, delayed, reserved, int(next_t), counters

    def stats(self) -> dict:
        """keuss' counters ``get``, ``put``, ``reserve``, ``commit``, ``rollback``,
        ``deadletter`` (kept in Redis, for every user of the queue), and the sizes
        ``ready`` (visible now), ``delayed`` (mature later), ``reserved``."""
        ready, delayed, reserved, _, counters = self._figures()
        return counters | {"ready": ready, "delayed": delayed, "reserved": reserved}

    def size(self) -> int:
        """Elements visible now (keuss: ``size``)."""
        return self._figures()[0]

    def sched_size(self) -> int:
        """Elements not yet mature (keuss: ``schedSize``)."""
        return self._figures()[1]

    def resv_size(self) -> int:
        """Elements reserved (keuss: ``resvSize``)."""
        return self._figures()[2]

    def total_size(self) -> int:
        """Every element: visible, not yet mature, reserved (keuss: ``totalSize``)."""
        ready, delayed, reserved, _, _ = self._figures()
        return ready + delayed + reserved

    def next_t(self) -> int | None:
        """When the next element matures or reservation ends (epoch ms), None when the
        queue is empty (keuss: ``next_t``, a Date)."""
        next_t = self._figures()[3]
        return None if next_t < 0 else next_t

    def clear(self) -> None:
        """Delete every element and counter of the queue and restart its ids at 1."""
        keys = [self._ready, self._reserved, self._wake, self._seq, self._stats]
        self._script("clear")(keys=keys, args=[self._prefix])


class ReliableQueueFactory:
    """Queues over one Redis connection pool; ``close()`` ends them all.

    ``reserve_timeout_ms``: how long a reservation holds (keuss: ``reserve_delay``, in
    seconds); ``rollback_delay``: seconds a ``ko`` without next time hides the element
    (keuss' redis backend: 0); ``max_ko``: with it, a ``ko`` of an element rolled back
    more than that many times moves it to the queue ``__deadletter__`` (keuss:
    ``deadletter: {max_ko}``).
    """

    def __init__(
        self,
        redis_url: str = REDIS_URL,
        reserve_timeout_ms: int = 30000,
        rollback_delay: float = 0,
        max_ko: int | None = None,
    ) -> None:
        self.redis = redis.Redis.from_url(redis_url, decode_responses=True)
        self.reserve_timeout_ms = reserve_timeout_ms
        self.rollback_delay = rollback_delay
        self.max_ko = max_ko
        self.closed = False
        sources = {
            "push": PUSH,
            "take": TAKE,
            "commit": COMMIT,
            "rollback": ROLLBACK,
            "stats": STATS,
            "remove": REMOVE,
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

    def deadletter_queue(self) -> ReliableQueue | None:
        """The queue ``__deadletter__`` when ``max_ko`` is set, else None."""
        return None if not self.max_ko else self.queue(DEADLETTER)

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
