"""Task 14 — A reliable queue: reserve, commit, rollback (after keuss).

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
- ``ok`` and ``ko`` return True, or False when the reservation was no longer held (it
  expired: the element went back to the queue and may be someone else's by now).
- ``stats()`` returns ``{"ready": n, "delayed": n, "reserved": n}`` (ready = visible
  now, delayed = mature later); ``clear()`` empties the queue and restarts ids at 1.
- ``factory.close()`` makes every queue of the factory unusable: any call raises
  ``QueueClosedError("factory closed: queue 'NAME' can no longer be used")``.

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
  -- TODO: for each reservation whose deadline <= now: remove it from reserved,
  --       tries + 1, mature = its deadline, back into ready; push a wake token
end
"""

# KEYS: seq, ready, wake. ARGV: now, payload (JSON text), element key prefix.
PUSH = """
-- TODO: a new id (INCR), the element hash (payload, mature = now, tries = 0),
--       the member in ready with score now, a wake token; return the id
return 0
"""

# KEYS: ready, reserved, wake. ARGV: now, "pop"|"reserve", consumer, reserve timeout ms,
# element key prefix. Returns {1, member, payload, mature, tries} or {0, next event ms|-1}.
TAKE = (
    RETURN_EXPIRED
    + """
-- TODO: return expired reservations; take the first member with mature <= now;
--       "pop": delete it; "reserve": add it to reserved with deadline now + timeout.
--       Nothing ready: delete the wake tokens and return {0, next event ms or -1}.
return {0, -1}
"""
)

# KEYS: ready, reserved, wake. ARGV: now, element key prefix, member, tries.
# A reservation is identified by (member, tries): tries changes whenever it ends.
COMMIT = (
    RETURN_EXPIRED
    + """
-- TODO: return expired reservations; if (member, tries) is still reserved, remove
--       it for good and return 1, else return 0
return 0
"""
)

# KEYS: ready, reserved, wake. ARGV: now, element key prefix, member, tries, next time.
ROLLBACK = (
    RETURN_EXPIRED
    + """
-- TODO: like COMMIT, but put it back: tries + 1, mature = next time, a wake token
return 0
"""
)

# KEYS: ready, reserved, wake. ARGV: now, element key prefix. Returns {ready, delayed, reserved}.
STATS = (
    RETURN_EXPIRED
    + """
-- TODO: return expired reservations; return {ready now, ready later, reserved}
return {0, 0, 0}
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
        # TODO: raise QueueClosedError("factory closed: queue 'NAME' can no longer be used")
        #       once the factory is closed
        return self.factory.redis

    def _script(self, name: str):
        self._redis()
        return self.factory.scripts[name]

    def push(self, payload) -> int:
        """Add ``payload`` (any JSON value) at the end of the queue; return its id."""
        # TODO: run the PUSH script with the payload as JSON text

    def pop(self, consumer: str, reserve: bool = False, timeout: float | None = None):
        """Wait for the first ready element and take it (``reserve=False``: remove it;
        ``reserve=True``: reserve it until ``ok``/``ko`` or the reserve timeout).

        Returns the element, or None when ``timeout`` seconds passed without one.
        """
        # TODO: loop: run TAKE; an element -> return it as a dict; nothing -> wait on the
        #       wake list (BLPOP) until the next event, at most MAX_WAIT_SECONDS, and give
        #       up (return None) once ``timeout`` seconds have passed.
        #       A redis.ConnectionError while the factory is closed -> QueueClosedError.

    def ok(self, element: dict) -> bool:
        """Commit a reserved element: it is removed for good.

        Returns False when the reservation was no longer held (it expired).
        """
        # TODO: run COMMIT with the element's member (id padded to 15 digits) and tries

    def ko(self, element: dict, next_time: int) -> bool:
        """Roll back a reserved element: it comes back with tries + 1, invisible until
        ``next_time`` (epoch ms). Returns False when the reservation was no longer held.
        """
        # TODO: run ROLLBACK with the element's member, tries and next_time

    def stats(self) -> dict:
        """Counts: ``ready`` (visible now), ``delayed`` (mature later), ``reserved``."""
        # TODO: run STATS

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
        # TODO: refuse once closed (QueueClosedError); same name -> the same queue

    def close(self) -> None:
        """Free the connections; every queue of this factory becomes unusable."""
        # TODO: mark the factory closed, then close the Redis client (this also
        #       interrupts a pop blocked in another thread)

    def __enter__(self) -> "ReliableQueueFactory":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def show(element: dict) -> str:
    return f"id={element['id']} payload={json.dumps(element['payload'])} tries={element['tries']}"


def main() -> None:
    """The demo transcript of the README (deterministic on any database)."""
    # TODO: a factory (reserve timeout 5000 ms) and its queue "demo", cleared first;
    #       then, printing one line each (see the README for the exact lines):
    #       push {"job": 1}, {"job": 2}, {"job": 3}; pop one (at-most-once);
    #       reserve one and ok it; reserve one and ko it for 500 ms; print the stats;
    #       reserve with a 0.2 s timeout (nothing ready); reserve with a 5 s timeout
    #       (it is back, tries=1) and ok it; print the stats; close the factory and
    #       show the error a push raises.


if __name__ == "__main__":
    main()
