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


def say(line: str) -> None:
    """Print ``line`` in ONE write: two server processes may share the console (given)."""
    sys.stdout.write(line + "\n")


def reserve_seat(number: int) -> None:
    """Set the number of available seats to ``number`` (the course's reserveSeat)."""
    # TODO: SET available_seats to number.


def get_current_available_seats() -> int:
    """The number of free seats."""
    # TODO
    return 0


def reservation_enabled() -> bool:
    """True while reservations are open (the course's reservationEnabled)."""
    # TODO
    return False


def open_first_sale() -> None:
    """On a fresh database, 50 seats and reservations enabled; else leave Redis as it is."""
    # TODO: only where the keys do not exist yet (SET ... NX, e.g. client.set(..., nx=True)
    #       for both keys in one client.pipeline()): a plain SET would start the sale
    #       over at every restart, and sell seats twice.


def start_new_sale() -> None:
    """50 seats and reservations enabled, whatever Redis held (``--new-sale``)."""
    # TODO: reserve_seat(INITIAL_SEATS), and reservations enabled.


def take_seat() -> int | None:
    """Take one seat atomically; the number of seats left, or None when there was none."""
    # TODO: ONE atomic step: a Lua script (client.eval) that checks the seats, DECRs them
    #       and sets ENABLED_KEY to "0" when that leaves 0. Reading the seats, then
    #       writing seats - 1 later, sells a seat twice when two workers process jobs.
    return None


def reserve_seat_job(job, done) -> None:
    """The ``reserve_seat`` handler: one seat per job, or fail."""
    # TODO: take a seat; done() or done(Exception("Not enough seats available")).


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


# TODO: the routes, as plain `def` functions (FastAPI runs them in a thread pool, so the
#       blocking Redis and pykue calls never stall the event loop):
# TODO: GET /available_seats   (response_model=Seats)
# TODO: GET /reserve_seat      (response_model=Status). Create the job, print its
#       "completed" / "failed: ..." line with say() from job.on(...) callbacks, then
#       save it with saved(job): False means "Reservation failed".
# TODO: GET /process           (response_model=Status). Start
#       queue.process("reserve_seat", reserve_seat_job) once per server process
#       (use the processing lock and processing_started), however often it is hit.


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
