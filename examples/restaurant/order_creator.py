"""The waiter: takes the orders and hands them to the kitchen as jobs (seed 001's example).

Each order becomes a ``prepare_dish`` job in the queue ``restaurant``. The waiter does
not cook and does not wait at the stove: it prints one line per order taken, then one
line per dish the kitchen reports done (the job's ``complete`` event, which reaches
this process over Redis pub/sub), and leaves once every order is served.

Run the kitchen first (``python kitchen_processor.py``), then this script; or both at
once with ``scripts/restaurant``. On a fresh database it prints::

    Order 1 created: Pasta for table 1
    Order 2 created: Burger for table 2
    Order 3 created: Salad for table 1
    Order 2 served: Burger for table 2      (the served lines come in the order the
    Order 1 served: Pasta for table 1        dishes are ready: any order)
    Order 3 served: Salad for table 1
    All 3 orders served

Without a kitchen running, the orders simply wait in Redis: start the kitchen later and
they get cooked. Ctrl+C stops waiting (exit code 1: not everything was served).
"""

import os
import queue
import signal
import sys

import pykue

REDIS_URL = os.environ.get("REDIS_URL", "redis://localhost:6379/0")

ORDERS = [
    {"table": 1, "dish": "Pasta"},
    {"table": 2, "dish": "Burger"},
    {"table": 1, "dish": "Salad"},
]


def listen(job, news: queue.SimpleQueue) -> None:
    """Put ("served", job) or ("failed (why)", job) into ``news`` when the kitchen is done."""
    job.on("complete", lambda: news.put(("served", job)))
    job.on("failed", lambda error: news.put((f"failed ({error})", job)))


def main() -> int:
    jobs = pykue.create_queue(REDIS_URL, prefix="restaurant")
    # Events arrive on pykue's event thread; the main thread does all the printing, so
    # an order's "created" line always comes before its "served" line.
    news: queue.SimpleQueue = queue.SimpleQueue()
    for order in ORDERS:
        job = jobs.create("prepare_dish", order)
        listen(job, news)
        job.save()
        print(f"Order {job.id} created: {order['dish']} for table {order['table']}")

    signal.signal(signal.SIGTERM, signal.default_int_handler)
    served = 0
    try:
        for _ in ORDERS:
            outcome, job = news.get()
            served += outcome == "served"
            print(f"Order {job.id} {outcome}: {job.data['dish']} for table {job.data['table']}")
    except KeyboardInterrupt:
        print(f"Stopped waiting: {served} of {len(ORDERS)} orders served")
        return 1
    finally:
        jobs.shutdown()
    if served < len(ORDERS):
        print(f"{served} of {len(ORDERS)} orders served")
        return 1
    print(f"All {served} orders served")
    return 0


if __name__ == "__main__":
    sys.exit(main())
