"""Task 10 — Writing the job creation function.

Write ``create_push_notifications_jobs(jobs, queue)``:

- if ``jobs`` is not a list, raise ``TypeError('Jobs is not an array')``;
- else, for each entry of ``jobs``, create a job in the queue ``push_notification_code_3``
  with that entry as its data, and print, as in task 8:
  ``Notification job created: JOB_ID`` once it is saved,
  ``Notification job JOB_ID completed`` when it completes,
  ``Notification job JOB_ID failed: ERROR`` when it fails,
  ``Notification job JOB_ID PERCENTAGE% complete`` when it reports progress.

The course throws ``Error('Jobs is not an array')``; in Python the error for an argument
of the wrong type is ``TypeError``.

The module only defines the function: importing it must not create any job. Task 11
imports it in its tests; ``8-job_main.py`` (the course's ``8-job-main.js``) calls it
with a real queue: ``scripts/run 10`` runs that demo.

Print each line in ONE write (``sys.stdout.write(line + "\\n")``): the events arrive on
pykue's event thread, and ``print()`` writes the text and the newline separately, so
two threads printing at once could glue their lines together.
"""

import os

REDIS_URL = os.environ.get("REDIS_URL", "redis://localhost:6379/0")


def create_push_notifications_jobs(jobs, queue) -> None:
    # TODO: raise TypeError("Jobs is not an array") when jobs is not a list
    # TODO: for each entry: create a job in "push_notification_code_3", register the
    #       completed / failed / progress lines, save it, print the created line
    pass
