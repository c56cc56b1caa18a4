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
"""

import os

import pykue

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


def report_events(job) -> None:
    """Print a line for each event of ``job`` (each line names the job's own id)."""
    job.on("complete", lambda: print(f"Notification job {job.id} completed"))
    job.on("failed", lambda error: print(f"Notification job {job.id} failed: {error}"))
    job.on("progress", lambda percent: print(f"Notification job {job.id} {percent}% complete"))


def main() -> None:
    queue = pykue.create_queue(REDIS_URL)
    for data in jobs:
        job = queue.create("push_notification_code_2", data)
        report_events(job)
        job.save()
        print(f"Notification job created: {job.id}")
    queue.shutdown()


if __name__ == "__main__":
    main()
