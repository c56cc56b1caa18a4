"""Task 13 — Can I have a seat? (FastAPI + pykue + Redis)

A seat-booking app. Redis holds the number of free seats (key ``available_seats``) and
whether reservations are open (key ``reservation_enabled``, "1" or "0"), so every server
process sees the same state. Booking is asynchronous: the HTTP route only queues a
``reserve_seat`` job; a pykue worker takes the seat.

- On start: ``available_seats`` = 50 and reservations enabled (``start_reservations``).
- ``GET /available_seats`` -> ``{"numberOfAvailableSeats": 50}`` (an integer).
- ``GET /reserve_seat`` -> reservations disabled: ``{"status": "Reservation are blocked"}``;
  else create and save a ``reserve_seat`` job: saved -> ``{"status": "Reservation in
  process"}``, not saved -> ``{"status": "Reservation failed"}``. When the job ends the
  server prints ``Seat reservation job N completed`` or
  ``Seat reservation job N failed: ERROR_MESSAGE``.
- ``GET /process`` -> ``{"status": "Queue processing"}`` and start processing the
  ``reserve_seat`` jobs: take one seat in ONE atomic Redis step; when that leaves 0,
  disable reservations; when no seat was left, fail with ``Not enough seats available``.

200 concurrent reservations for 50 seats confirm exactly 50, also when several server
processes share the Redis (``uvicorn 100-seat:app --workers 2``). The app listens on PORT
(default 1245) of HOST (default 127.0.0.1); its OpenAPI page is /docs.

Run it:  scripts/run 13           (or: python exercises/100-seat.py)
Or with two worker processes:  uvicorn 100-seat:app --app-dir exercises --workers 2
"""

import multiprocessing
import os
import signal
import socket

import uvicorn
from fastapi import FastAPI

# TODO: import what you need (threading, contextlib.asynccontextmanager, redis, pykue,
#       fastapi.responses.JSONResponse).

REDIS_URL = os.environ.get("REDIS_URL", "redis://localhost:6379/0")

INITIAL_SEATS = 50
SEATS_KEY = "available_seats"
ENABLED_KEY = "reservation_enabled"
LAUNCH_KEY = "reservation_launch"

# TODO: a Redis client on REDIS_URL (decode_responses=True) and a pykue queue.
client = None
queue = None


def launch_id() -> str:
    """Who launched this server: the same text in every worker of one launch (given code).

    ``uvicorn --workers 2`` starts its workers as children of one uvicorn process, so the
    workers of a launch share their parent's pid; ``python 100-seat.py`` is its own launch.
    """
    parent = multiprocessing.parent_process()
    pid = parent.pid if parent is not None else os.getpid()
    return f"{socket.gethostname()}:{pid}"


# Resets the seats once per launch: the second worker of `uvicorn --workers 2` starts a
# moment after the first, which may already be taking reservations (given code).
START_ONCE = """
if redis.call('GET', KEYS[3]) == ARGV[1] then
    return 0
end
redis.call('SET', KEYS[3], ARGV[1])
redis.call('SET', KEYS[1], ARGV[2])
redis.call('SET', KEYS[2], '1')
return 1
"""


def start_reservations() -> None:
    """50 seats and reservations enabled, once per launch (not once per worker)."""
    # TODO: client.eval(START_ONCE, 3, SEATS_KEY, ENABLED_KEY, LAUNCH_KEY, launch_id(),
    #       INITIAL_SEATS)


def get_current_available_seats() -> int:
    """The number of free seats."""
    # TODO
    return 0


def reservations_enabled() -> bool:
    """True while reservations are open."""
    # TODO
    return False


def take_seat() -> int | None:
    """Take one seat atomically; the number of seats left, or None when there was none."""
    # TODO: ONE atomic step: a Lua script (client.eval) that checks the seats, DECRs them
    #       and sets ENABLED_KEY to "0" when that leaves 0. Reading the seats, then
    #       writing seats - 1 later, sells a seat twice when two workers process jobs.


def reserve_seat_job(job, done) -> None:
    """The ``reserve_seat`` handler: one seat per job, or fail."""
    # TODO: take a seat; done() or done(Exception("Not enough seats available")).


# TODO: a lifespan (@asynccontextmanager) that calls start_reservations() on start and
#       queue.shutdown() on stop, passed as FastAPI(lifespan=...).
app = FastAPI(title="Can I have a seat?", description="Task 13.")

# TODO: GET /available_seats
# TODO: GET /reserve_seat  (plain `def` routes: pykue and redis-py calls block). Create the
#       job, print its "completed" / "failed: ..." line from job.on(...) callbacks, then
#       save it; pykue.PykueError from save() means "Reservation failed".
# TODO: GET /process  (start queue.process("reserve_seat", ...) once per server process)
# TODO: a 503 handler for redis.ConnectionError, redis.TimeoutError, pykue.RedisUnavailable


def serve(app) -> None:
    """Run ``app`` on HOST:PORT until Ctrl+C or SIGTERM, then exit 0 (given code)."""
    # uvicorn re-raises the signal that stopped it; as KeyboardInterrupt it ends quietly.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "1245"))
    try:
        # No access log: the console shows the reservation lines only.
        uvicorn.run(app, host=host, port=port, access_log=False)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    serve(app)
