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
import threading
from contextlib import asynccontextmanager

import redis
import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse

import pykue

REDIS_URL = os.environ.get("REDIS_URL", "redis://localhost:6379/0")

INITIAL_SEATS = 50
SEATS_KEY = "available_seats"
ENABLED_KEY = "reservation_enabled"
LAUNCH_KEY = "reservation_launch"

client = redis.Redis.from_url(
    REDIS_URL, decode_responses=True, socket_connect_timeout=2, socket_timeout=5
)
queue = pykue.create_queue(REDIS_URL)


def launch_id() -> str:
    """Who launched this server: the same text in every worker of one launch (given code).

    ``uvicorn --workers 2`` starts its workers as children of one uvicorn process, so the
    workers of a launch share their parent's pid; ``python 100-seat.py`` is its own launch.
    """
    parent = multiprocessing.parent_process()
    pid = parent.pid if parent is not None else os.getpid()
    return f"{socket.gethostname()}:{pid}"


# Resets the seats once per launch: the second worker of `uvicorn --workers 2` starts a
# moment after the first, which may already be taking reservations.
START_ONCE = """
if redis.call('GET', KEYS[3]) == ARGV[1] then
    return 0
end
redis.call('SET', KEYS[3], ARGV[1])
redis.call('SET', KEYS[1], ARGV[2])
redis.call('SET', KEYS[2], '1')
return 1
"""

# Takes one seat if there is one, and closes reservations with the last seat, in one
# step: no other job can read the count between this job's check and its update.
TAKE_SEAT = """
local seats = tonumber(redis.call('GET', KEYS[1]) or '0')
if seats <= 0 then
    return -1
end
seats = redis.call('DECR', KEYS[1])
-- BROKEN: the last seat does not disable reservations
return seats
"""


def start_reservations() -> None:
    """50 seats and reservations enabled, once per launch (not once per worker)."""
    client.eval(START_ONCE, 3, SEATS_KEY, ENABLED_KEY, LAUNCH_KEY, launch_id(), INITIAL_SEATS)


def get_current_available_seats() -> int:
    """The number of free seats."""
    return int(client.get(SEATS_KEY) or 0)


def reservations_enabled() -> bool:
    """True while reservations are open."""
    return client.get(ENABLED_KEY) == "1"


def take_seat() -> int | None:
    """Take one seat atomically; the number of seats left, or None when there was none."""
    left = client.eval(TAKE_SEAT, 2, SEATS_KEY, ENABLED_KEY)
    return None if left < 0 else left


def reserve_seat_job(job, done) -> None:
    """The ``reserve_seat`` handler: one seat per job, or fail."""
    if take_seat() is None:
        done(Exception("Not enough seats available"))
    else:
        done()


@asynccontextmanager
async def lifespan(app: FastAPI):
    start_reservations()
    yield
    queue.shutdown(timeout=5)


app = FastAPI(title="Can I have a seat?", description="Task 13.", lifespan=lifespan)
processing = threading.Lock()
processing_started = False


# Plain `def` routes: FastAPI runs them in a thread pool, so the blocking Redis and pykue
# calls never stall the event loop.
@app.get("/available_seats")
def available_seats():
    return {"numberOfAvailableSeats": get_current_available_seats()}


@app.get("/reserve_seat")
def reserve_seat():
    if not reservations_enabled():
        return {"status": "Reservation are blocked"}
    job = queue.create("reserve_seat", {})
    job.on("complete", lambda: print(f"Seat reservation job {job.id} completed"))
    job.on("failed", lambda error: print(f"Seat reservation job {job.id} failed: {error}"))
    try:
        job.save()
    except pykue.PykueError:
        return {"status": "Reservation failed"}
    return {"status": "Reservation in process"}


@app.get("/process")
def process():
    global processing_started
    with processing:  # one set of workers per server process, however often /process is hit
        if not processing_started:
            queue.process("reserve_seat", reserve_seat_job)
            processing_started = True
    return {"status": "Queue processing"}


@app.exception_handler(redis.ConnectionError)
@app.exception_handler(redis.TimeoutError)
@app.exception_handler(pykue.RedisUnavailable)
async def redis_unavailable(request, exc):
    """Redis is down or too slow: say so clearly (503), never a bare 500."""
    return JSONResponse({"status": "Redis unavailable", "error": str(exc)}, status_code=503)


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
