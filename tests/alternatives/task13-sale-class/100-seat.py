"""Task 13, another correct way: the Redis state in a class, DECR with a give-back.

A seat is DECR; a result below 0 is given back with INCR and the job fails; a result of
exactly 0 closes reservations. The handler is the "return or raise" form (no done()).
"""

import os
import sys
import threading

import redis
from fastapi import FastAPI

import pykue
from pykue.web.guard import protect, serve


class Sale:
    SEATS, OPEN = "available_seats", "reservation_enabled"

    def __init__(self, url: str) -> None:
        self.r = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)

    def set_seats(self, number: int) -> None:
        self.r.set(self.SEATS, number)

    def seats(self) -> int:
        return int(self.r.get(self.SEATS) or 0)

    def is_open(self) -> bool:
        return self.r.get(self.OPEN) == b"1"

    def first(self) -> None:
        self.r.msetnx({self.SEATS: 50, self.OPEN: 1})  # a sale that has begun stays

    def fresh(self) -> None:
        self.r.mset({self.SEATS: 50, self.OPEN: 1})

    def take(self) -> bool:
        left = self.r.decr(self.SEATS)
        if left < 0:
            self.r.incr(self.SEATS)
            return False
        if left == 0:
            self.r.set(self.OPEN, 0)
        return True


sale = Sale(os.environ.get("REDIS_URL", "redis://localhost:6379/0"))
queue = pykue.create_queue(os.environ.get("REDIS_URL", "redis://localhost:6379/0"))
reserve_seat = sale.set_seats
get_current_available_seats = sale.seats
reservation_enabled = sale.is_open
open_first_sale = sale.first
start_new_sale = sale.fresh
take_seat = sale.take


def reserve_seat_job(job):
    if not take_seat():
        raise RuntimeError("Not enough seats available")


def announce(text: str) -> None:
    os.write(1, (text + "\n").encode())


app = protect(FastAPI(title="Seats (class)", on_startup=[open_first_sale]))
workers_on = threading.Event()
workers_lock = threading.Lock()


@app.get("/available_seats")
def available():
    return {"numberOfAvailableSeats": get_current_available_seats()}


@app.get("/reserve_seat")
def reserve():
    if not reservation_enabled():
        return {"status": "Reservation are blocked"}
    job = queue.create("reserve_seat", {})
    job.on("complete", lambda *_: announce(f"Seat reservation job {job.id} completed"))
    job.on("failed", lambda err: announce(f"Seat reservation job {job.id} failed: {err}"))
    try:
        job.save()
    except pykue.RedisUnavailable:
        raise
    except pykue.PykueError as err:
        if isinstance(err.__cause__, redis.exceptions.OutOfMemoryError):
            raise err.__cause__ from None
        return {"status": "Reservation failed"}
    return {"status": "Reservation in process"}


@app.get("/process")
def process():
    with workers_lock:
        if not workers_on.is_set():
            queue.process("reserve_seat", reserve_seat_job)
            workers_on.set()
    return {"status": "Queue processing"}


if __name__ == "__main__":
    try:
        if "--new-sale" in sys.argv[1:]:
            start_new_sale()
            print("New sale started")
            sys.exit(0)
        open_first_sale()
    except redis.ConnectionError as err:
        print(f"Redis client not connected to the server: {err}")
        sys.exit(1)
    serve(app)
    queue.shutdown(timeout=5)
