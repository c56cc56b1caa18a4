"""Task 8 — Track progress and errors: the job creator.

The list ``jobs`` below holds the course's 11 notifications. Create a queue with pykue,
then, for each entry of ``jobs``, in order:

- create a job in the queue ``push_notification_code_2`` with that entry as its data;
- when it is saved without error, print ``Notification job created: JOB_ID``;
- when it completes, print ``Notification job JOB_ID completed``;
- when it fails, print ``Notification job JOB_ID failed: ERROR``;
- when it reports progress, print ``Notification job JOB_ID PERCENTAGE% complete``.

Then wait until all 11 jobs have finished (completed or failed) and exit. Ctrl+C stops
the wait cleanly.

No ``#`` before the id: the course's statement says ``Notification job JOB_ID 0% complete``
(its sample output of task 9 shows ``Notification job #39 0% complete``; the grader
follows the statement).

Events arrive on pykue's event thread while your code prints its own lines: print
each line in ONE write, ``sys.stdout.write(line + "\\n")``. ``print()`` writes the text
and the newline separately, so two threads printing at once can glue lines together.

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

jobs = [
    {"phoneNumber": "4153518780", "message": "This is the code 1234 to verify your account"},
    {"phoneNumber": "4153518781", "message": "This is the code 4562 to verify your account"},
    {"phoneNumber": "4153518743", "message": "This is the code 4321 to verify your account"},
    {"phoneNumber": "4153538781", "message": "This is the code 4562 to verify your account"},
    {"phoneNumber": "4153118782", "message": "This is the code 4321 to verify your account"},
    {"phoneNumber": "4153718781", "message": "This is the code 4562 to verify your account"},
    {"phoneNumber": "4159518782", "message": "This is the code 4321 to verify your account"},
    {"phoneNumber": "4158718781", "message": "This is the code 4562 to verify your account"},
    {"phoneNumber": "4153818782", "message": "This is the code 4321 to verify your account"},
    {"phoneNumber": "4154318781", "message": "This is the code 4562 to verify your account"},
    {"phoneNumber": "4151218782", "message": "This is the code 4321 to verify your account"},
]


def say(line: str) -> None:
    """Print ``line`` in ONE write: events arrive on pykue's event thread (see above)."""
    sys.stdout.write(line + "\n")


def report_events(job) -> None:
    """Print a line for each event of ``job`` (each line names the job's own id)."""
    job.on("complete", lambda: say(f"Notification job {job.id} completed"))
    job.on("failed", lambda error: say(f"Notification job {job.id} failed: {error}"))
    job.on("progress", lambda percent: say(f"Notification job {job.id} {percent}% complete"))


def main() -> None:
    queue = pykue.create_queue(REDIS_URL)
    try:
        queue.client.ping()  # pykue connects lazily, as redis-py does: check Redis first
    except redis.exceptions.ConnectionError as error:
        print(f"Redis client not connected to the server: {error}")
        sys.exit(1)
    for data in jobs:
        job = queue.create("push_notification_code_2", data)
        report_events(job)
        job.save()
        say(f"Notification job created: {job.id}")
    queue.wait_for_jobs()
    queue.shutdown()


if __name__ == "__main__":
    main()
