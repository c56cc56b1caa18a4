"""Task 13, another correct way: async routes that hand blocking calls to asyncio.to_thread.

A seat is taken in a WATCH/MULTI/EXEC transaction (optimistic: a concurrent change of the
count makes EXEC fail and the step is retried), which also closes the sale at 0.
"""

import asyncio
import os
import sys
from contextlib import asynccontextmanager

import redis
from fastapi import FastAPI

import pykue
from pykue.web.guard import protect, serve

URL = os.environ.get("REDIS_URL", "redis://localhost:6379/0")
conn = redis.Redis.from_url(URL, decode_responses=True, socket_timeout=5)
queue = pykue.create_queue(URL)
state = {"processing": False}


def reserve_seat(number):
    conn.set("available_seats", number)


def get_current_available_seats():
    return int(conn.get("available_seats") or "0")


def reservation_enabled():
    return conn.get("reservation_enabled") == "1"


def open_first_sale():
    conn.setnx("available_seats", 50)
    conn.setnx("reservation_enabled", "1")


def start_new_sale():
    with conn.pipeline() as tx:
        tx.set("available_seats", 50).set("reservation_enabled", "1").execute()


def _take(tx):
    seats = int(tx.get("available_seats") or "0")
    tx.multi()
    if seats > 0:
        tx.set("available_seats", seats - 1)
        if seats == 1:
            tx.set("reservation_enabled", "0")
    return seats > 0


def take_seat():
    return conn.transaction(_take, "available_seats", value_from_callable=True)


def reserve_seat_job(job, done):
    done() if take_seat() else done(Exception("Not enough seats available"))


def new_job():
    job = queue.create("reserve_seat", {})

    def line(text):
        sys.stdout.write(f"Seat reservation job {job.id} {text}\n")
        sys.stdout.flush()

    job.on("complete", lambda: line("completed"))
    job.on("failed", lambda message: line(f"failed: {message}"))
    try:
        job.save()
        return True
    except pykue.PykueError as problem:
        cause = problem.__cause__
        if isinstance(problem, pykue.RedisUnavailable):
            raise
        if isinstance(cause, redis.exceptions.OutOfMemoryError):
            raise cause from None
        return False


@asynccontextmanager
async def lifespan(_app):
    await asyncio.to_thread(open_first_sale)
    yield
    await asyncio.to_thread(queue.shutdown, 5)


app = protect(FastAPI(title="Seats (async)", lifespan=lifespan))


@app.get("/available_seats")
async def available_seats():
    return {"numberOfAvailableSeats": await asyncio.to_thread(get_current_available_seats)}


@app.get("/reserve_seat")
async def reserve_seat_route():
    if not await asyncio.to_thread(reservation_enabled):
        return {"status": "Reservation are blocked"}
    saved = await asyncio.to_thread(new_job)
    return {"status": "Reservation in process" if saved else "Reservation failed"}


@app.get("/process")
async def process():
    if not state["processing"]:  # one event loop thread: no lock needed here
        state["processing"] = True
        queue.process("reserve_seat", reserve_seat_job)
    return {"status": "Queue processing"}


def main():
    try:
        if sys.argv[1:] == ["--new-sale"]:
            start_new_sale()
            return 0
        open_first_sale()
    except redis.exceptions.ConnectionError as exc:
        print("Redis client not connected to the server:", exc)
        return 1
    serve(app)
    return 0


if __name__ == "__main__":
    sys.exit(main())
