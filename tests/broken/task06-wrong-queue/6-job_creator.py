"""Task 6 — Create the job creator.

Create a queue with pykue, then one job in the queue ``push_notification_code`` with the
data ``{"phoneNumber": "4153518780", "message": "This is the code to verify your account"}``.

- When the job is saved without error, print ``Notification job created: JOB_ID``.
- When the job completes, print ``Notification job completed``.
- When the job fails, print ``Notification job failed``.

Then wait until the job has finished (completed or failed) and exit. Run alone, the
script prints ``Notification job created: 1`` and waits: nothing processes the job yet
(that is task 7). Ctrl+C stops it cleanly. Each run stores a new job, so the id grows.
"""

import os

import pykue

REDIS_URL = os.environ.get("REDIS_URL", "redis://localhost:6379/0")

JOB_DATA = {
    "phoneNumber": "4153518780",
    "message": "This is the code to verify your account",
}


def main() -> None:
    queue = pykue.create_queue(REDIS_URL)
    job = queue.create("push_notification", JOB_DATA)
    job.on("complete", lambda: print("Notification job completed"))
    job.on("failed", lambda: print("Notification job failed"))
    job.save()
    print(f"Notification job created: {job.id}")
    queue.wait_for_jobs()
    queue.shutdown()


if __name__ == "__main__":
    main()
