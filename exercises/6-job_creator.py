"""Task 6 — Create the job creator.

Create a queue with pykue, then one job in the queue ``push_notification_code`` with the
data ``{"phoneNumber": "4153518780", "message": "This is the code to verify your account"}``.

- When the job is saved without error, print ``Notification job created: JOB_ID``.
- When the job completes, print ``Notification job completed``.
- When the job fails, print ``Notification job failed``.

Then wait until the job has finished (completed or failed) and exit. Run alone, the
script prints ``Notification job created: 1`` and waits: nothing processes the job yet
(that is task 7). Ctrl+C stops it cleanly. Each run stores a new job, so the id grows.

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

JOB_DATA = {
    "phoneNumber": "4153518780",
    "message": "This is the code to verify your account",
}


def main() -> None:
    queue = pykue.create_queue(REDIS_URL)
    try:
        queue.client.ping()  # pykue connects lazily, as redis-py does: check Redis first
    except redis.exceptions.ConnectionError as error:
        print(f"Redis client not connected to the server: {error}")
        sys.exit(1)
    # TODO: create a job in "push_notification_code" with JOB_DATA
    # TODO: print the completed / failed lines when those events happen (job.on)
    # TODO: save the job, then print "Notification job created: JOB_ID"
    # TODO: wait until the job has finished (queue.wait_for_jobs()), then queue.shutdown()


if __name__ == "__main__":
    main()
