"""The kitchen: chefs take ``prepare_dish`` jobs from the queue and cook them (seed 001).

Two chefs (``CHEFS``, default 2) work at the same time; a dish takes a random time up
to ``COOKING_TIME_MS`` (default 3000) milliseconds. For each order it prints::

    Preparing Pasta for table 1 (order 1)...
    Pasta for table 1 is ready (order 1).

The kitchen knows nothing about waiters: it only reads jobs from Redis. Start it before
or after ``order_creator.py`` (orders wait in Redis until a chef is free), start two
kitchens to cook faster, stop it with Ctrl+C or SIGTERM: a dish on the stove is
finished first (or handed back to the queue), then it prints ``Kitchen closed.``.
"""

import os
import random
import threading
import time

import pykue

REDIS_URL = os.environ.get("REDIS_URL", "redis://localhost:6379/0")
CHEFS = int(os.environ.get("CHEFS", "2"))
COOKING_TIME_MS = int(os.environ.get("COOKING_TIME_MS", "3000"))

_print_lock = threading.Lock()


def say(line: str) -> None:
    """Print one line; the chefs are threads, and their lines must not mix."""
    with _print_lock:
        print(line)


def prepare_dish(job, done) -> None:
    table, dish = job.data["table"], job.data["dish"]
    say(f"Preparing {dish} for table {table} (order {job.id})...")
    time.sleep(random.uniform(0, COOKING_TIME_MS) / 1000)  # simulate the cooking time
    say(f"{dish} for table {table} is ready (order {job.id}).")
    done()


def main() -> None:
    jobs = pykue.create_queue(REDIS_URL, prefix="restaurant")
    say(f"Kitchen open: {CHEFS} chefs waiting for orders.")
    jobs.process("prepare_dish", prepare_dish, concurrency=CHEFS)
    jobs.run()  # until Ctrl+C or SIGTERM
    say("Kitchen closed.")


if __name__ == "__main__":
    main()
