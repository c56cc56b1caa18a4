"""Task 13 — Can I have a seat? (FastAPI + pykue + Redis)

A seat-booking app. Redis holds the number of free seats (key ``available_seats``) and
whether reservations are open (key ``reservation_enabled``, "1" or "0": the course's
global ``reservationEnabled``, kept in Redis so that every server process sees the same
state). Booking is asynchronous: the HTTP route only queues a ``reserve_seat`` job; a
pykue worker takes the seat. Write:

- ``reserve_seat(number)``: set the number of available seats to ``number`` (the
  course's ``reserveSeat``);
- ``get_current_available_seats()`` and ``reservation_enabled()``;
- ``open_first_sale()``: on a fresh database, 50 seats and reservations enabled. Every
  server start runs it (a restart, a second server, each uvicorn worker), so it must
  never touch a sale that has begun: a restarted or late-joining server continues from
  what Redis holds;
- ``start_new_sale()``: 50 seats and reservations enabled, whatever Redis holds. Only
  ``python 100-seat.py --new-sale`` calls it (it starts the new sale and exits);
- ``take_seat()``: take one seat in ONE atomic Redis step, and disable reservations when
  that leaves 0 (the course reads the seats, then calls ``reserveSeat(n - 1)``: two
  steps, which sell a seat twice); and the job handler ``reserve_seat_job(job, done)``.

Routes (exact JSON bodies):
- ``GET /available_seats`` -> ``{"numberOfAvailableSeats": 50}`` (an integer).
- ``GET /reserve_seat`` -> reservations disabled: ``{"status": "Reservation are blocked"}``;
  else create and save a ``reserve_seat`` job: saved -> ``{"status": "Reservation in
  process"}``, not saved -> ``{"status": "Reservation failed"}``. When the job ends the
  server prints ``Seat reservation job N completed`` or
  ``Seat reservation job N failed: ERROR_MESSAGE``, each line in ONE write.
- ``GET /process`` -> ``{"status": "Queue processing"}`` and start processing the
  ``reserve_seat`` jobs: take a seat per job; when no seat was left, fail the job with
  ``Not enough seats available``.

200 concurrent reservations for 50 seats confirm exactly 50, also when several server
processes share the Redis (``uvicorn 100-seat:app --workers 2``). ``protect(app)``
(given) answers 503 with the cause while Redis is down, too slow or full, and refuses
requests for other host names; ``serve(app)`` (given) runs uvicorn on PORT (default 1245)
of HOST (default 127.0.0.1); the OpenAPI page is /docs.

Run it:  scripts/run 13           (or: python exercises/100-seat.py)
New sale:  python exercises/100-seat.py --new-sale
Or with two worker processes:  uvicorn 100-seat:app --app-dir exercises --workers 2
"""

import argparse
import os
import sys
import threading
from contextlib import asynccontextmanager

try:
    import redis
    from fastapi import FastAPI
    from pydantic import BaseModel

    import pykue
    from pykue.web.guard import protect, serve
except ModuleNotFoundError as missing:
    sys.exit(f"{missing}: run `. .venv/bin/activate` first, or use scripts/run")

REDIS_URL = os.environ.get("REDIS_URL", "redis://localhost:6379/0")

INITIAL_SEATS = 50
SEATS_KEY = "available_seats"
ENABLED_KEY = "reservation_enabled"

client = redis.Redis.from_url(
    REDIS_URL, decode_responses=True, socket_connect_timeout=2, socket_timeout=5
)
queue = pykue.create_queue(REDIS_URL)

# Takes one seat if there is one, and closes reservations with the last seat, in one
# step: no other job can read the count between this job's check and its update.
TAKE_SEAT = """
local seats = tonumber(redis.call('GET', KEYS[1]) or '0')
if seats <= 0 then
    return -1
end
seats = redis.call('DECR', KEYS[1])
if seats == 0 then
    redis.call('SET', KEYS[2], '0')
end
return seats
"""


def say(line: str) -> None:
    """Print ``line`` in ONE write: two server processes may share the console (given)."""
    sys.stdout.write(line + "\n")


def reserve_seat(number: int) -> None:
    """Set the number of available seats to ``number`` (the course's reserveSeat)."""
    client.set(SEATS_KEY, number)


def get_current_available_seats() -> int:
    """The number of free seats."""
    return int(client.get(SEATS_KEY) or 0)


def reservation_enabled() -> bool:
    """True while reservations are open (the course's reservationEnabled)."""
    return client.get(ENABLED_KEY) == "1"


def open_first_sale() -> None:
    """On a fresh database, 50 seats and reservations enabled; else leave Redis as it is."""
    with client.pipeline() as pipe:  # MULTI/EXEC: SET ... NX writes only missing keys
        pipe.set(SEATS_KEY, INITIAL_SEATS, nx=True)
        pipe.set(ENABLED_KEY, "1", nx=True)
        pipe.execute()


def start_new_sale() -> None:
    """50 seats and reservations enabled, whatever Redis held (``--new-sale``)."""
    reserve_seat(INITIAL_SEATS)
    client.set(ENABLED_KEY, "1")


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


def saved(job) -> bool:
    """Save ``job``; False when Redis refused it (given code).

    Redis down, too slow or full is not a refusal of this job: that raises on, and the
    handler of ``protect()`` answers 503 with the cause.
    """
    try:
        job.save()
    except pykue.RedisUnavailable:
        raise
    except pykue.PykueError as error:
        if isinstance(error.__cause__, redis.exceptions.OutOfMemoryError):
            raise error.__cause__ from None
        return False
    return True


@asynccontextmanager
async def lifespan(app: FastAPI):
    open_first_sale()
    yield
    queue.shutdown(timeout=5)


# The shapes of the answers, for the OpenAPI page (/docs) and its checks (given code).
class Seats(BaseModel):
    numberOfAvailableSeats: int


class Status(BaseModel):
    status: str


app = protect(FastAPI(title="Can I have a seat?", description="Task 13.", lifespan=lifespan))
processing = threading.Lock()
processing_started = False


# Plain `def` routes: FastAPI runs them in a thread pool, so the blocking Redis and pykue
# calls never stall the event loop.
@app.get("/available_seats", response_model=Seats)
def available_seats():
    return {"numberOfAvailableSeats": get_current_available_seats()}


@app.get("/reserve_seat", response_model=Status)
def request_reservation():
    if not reservation_enabled():
        return {"status": "Reservation are blocked"}
    job = queue.create("reserve_seat", {})
    job.on("complete", lambda: say(f"Seat reservation job {job.id} completed"))
    job.on("failed", lambda error: say(f"Seat reservation job {job.id} failed: {error}"))
    if not saved(job):
        return {"status": "Reservation failed"}
    return {"status": "Reservation in process"}


@app.get("/process", response_model=Status)
def process_queue():
    global processing_started
    with processing:  # one set of workers per server process, however often /process is hit
        if not processing_started:
            queue.process("reserve_seat", reserve_seat_job)
            processing_started = True
    return {"status": "Queue processing"}


def main() -> None:
    """Serve the app, or with ``--new-sale`` start a new sale and exit (given code)."""
    parser = argparse.ArgumentParser(description="Task 13: book seats through a job queue.")
    parser.add_argument(
        "--new-sale",
        action="store_true",
        help=f"start a new sale ({INITIAL_SEATS} seats, reservations open) and exit",
    )
    try:
        if parser.parse_args().new_sale:
            start_new_sale()
            print(f"New sale: {get_current_available_seats()} seats, reservations open")
            return
        open_first_sale()  # the lifespan does it too, for `uvicorn 100-seat:app`
    except redis.exceptions.ConnectionError as error:
        print(f"Redis client not connected to the server: {error}")
        sys.exit(1)
    serve(app, access_log=False)


if __name__ == "__main__":
    main()
