"""Task 9, another correct way: a handler that raises, two single-worker groups.

Two ``queue.process(..., concurrency=1)`` calls give two workers on the queue, so two
jobs run at a time; a blacklisted number fails its job by raising; print() is shared by
the two worker threads under a lock, so each line still comes out whole.
"""

import os
import sys
import threading

import redis

import pykue

BLACKLIST = frozenset({"4153518780", "4153518781"})
printing = threading.Lock()


class Blacklisted(Exception):
    def __init__(self, number):
        super().__init__(f"Phone number {number} is blacklisted")


def send_notification(phone_number, message, job):
    job.progress(0, 100)
    if phone_number in BLACKLIST:
        raise Blacklisted(phone_number)
    job.progress(50, 100)
    with printing:
        print(f"Sending notification to {phone_number}, with message: {message}", flush=True)


def handle(job):
    send_notification(job.data["phoneNumber"], job.data["message"], job)


if __name__ == "__main__":
    queue = pykue.create_queue(os.environ.get("REDIS_URL", "redis://localhost:6379/0"))
    try:
        queue.client.ping()
    except redis.ConnectionError as exc:
        print(f"Redis client not connected to the server: {exc}")
        sys.exit(1)
    for _ in range(2):
        queue.process("push_notification_code_2", handle)
    queue.run()
