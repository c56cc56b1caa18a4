"""Task 10 — Writing the job creation function.

Write ``create_push_notifications_jobs(jobs, queue)``:

- if ``jobs`` is not a list, raise ``TypeError('Jobs is not an array')``;
- else, for each entry of ``jobs``, create a job in the queue ``push_notification_code_3``
  with that entry as its data, and print, as in task 8:
  ``Notification job created: JOB_ID`` once it is saved,
  ``Notification job JOB_ID completed`` when it completes,
  ``Notification job JOB_ID failed: ERROR`` when it fails,
  ``Notification job JOB_ID PERCENTAGE% complete`` when it reports progress.

The module only defines the function: importing it must not create any job. Task 11
imports it in its tests; a script would call it with ``pykue.create_queue(REDIS_URL)``.
"""

import os

REDIS_URL = os.environ.get("REDIS_URL", "redis://localhost:6379/0")


def create_push_notifications_jobs(jobs, queue) -> None:
    if not isinstance(jobs, list):
        raise ValueError("Jobs is not an array")
    for data in jobs:
        job = queue.create("push_notification_code_3", data)
        report_events(job)
        job.save()
        print(f"Notification job created: {job.id}")


def report_events(job) -> None:
    """Print a line for each event of ``job`` (each line names the job's own id)."""
    job.on("complete", lambda: print(f"Notification job {job.id} completed"))
    job.on("failed", lambda error: print(f"Notification job {job.id} failed: {error}"))
    job.on("progress", lambda percent: print(f"Notification job {job.id} {percent}% complete"))
