"""Task 11 grader fixture, a broken 8-job.py: the jobs go to push_notifications_code_3
(a misspelt queue name, 'notifications') instead of push_notification_code_3.

The learner's 8-job_test.py must fail against this file.
"""


def create_push_notifications_jobs(jobs, queue) -> None:
    if not isinstance(jobs, list):
        raise TypeError("Jobs is not an array")
    for data in jobs:
        job = queue.create("push_notifications_code_3", data)
        report_events(job)
        job.save()
        print(f"Notification job created: {job.id}")


def report_events(job) -> None:
    """Print a line for each event of ``job`` (each line names the job's own id)."""
    job.on("complete", lambda: print(f"Notification job {job.id} completed"))
    job.on("failed", lambda error: print(f"Notification job {job.id} failed: {error}"))
    job.on("progress", lambda percent: print(f"Notification job {job.id} {percent}% complete"))
