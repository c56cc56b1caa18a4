"""Task 7 — Create the job processor.

Create a queue with pykue and a function ``send_notification(phone_number, message)``
that prints ``Sending notification to PHONE_NUMBER, with message: MESSAGE``.

Process the queue ``push_notification_code``: every job calls ``send_notification`` with
the phone number and the message of the job's data, then reports the job done. The
processor runs until Ctrl+C (SIGINT) or SIGTERM, and then exits cleanly (code 0).

With Redis down, the script prints one line, ``Redis client not connected to the server:
ERROR_MESSAGE``, and exits with code 1, as in task 1: the given code at the top of
``main()`` does it (pykue connects lazily, so it asks Redis first).
"""

import os
import sys

try:
    import redis

    import pykue
except ModuleNotFoundError as missing:
    sys.exit(f"{missing}: run `. .venv/bin/activate` first, or use scripts/run")

REDIS_URL = os.environ.get("REDIS_URL", "redis://localhost:6379/0")


def send_notification(phone_number: str, message: str) -> None:
    # TODO: print "Sending notification to PHONE_NUMBER, with message: MESSAGE"
    pass


def main() -> None:
    queue = pykue.create_queue(REDIS_URL)
    try:
        queue.client.ping()  # pykue connects lazily, as redis-py does: check Redis first
    except redis.exceptions.ConnectionError as error:
        print(f"Redis client not connected to the server: {error}")
        sys.exit(1)
    # TODO: a handler(job, done) that calls send_notification with job.data's
    #       "phoneNumber" and "message", then done()
    # TODO: queue.process("push_notification_code", handler), then queue.run()


if __name__ == "__main__":
    main()
