"""Task 10 — the demo of ``8-job.py`` (the course's ``8-job-main.js``).

Creates a queue and calls your ``create_push_notifications_jobs`` with one notification,
as the course's demo does, then exits. Expected output on a fresh database::

    Notification job created: 1

Nothing processes the queue ``push_notification_code_3`` here, so the job waits in Redis
(``python -m pykue counts`` shows it), and each run stores a new job: the id grows.

With Redis down, it prints one line, ``Redis client not connected to the server:
ERROR_MESSAGE``, and exits with code 1, as in task 1 (the given code in ``main()``).

Run it:  scripts/run 10           (or: python exercises/8-job_main.py)
"""

import importlib.util
import os
import sys
from pathlib import Path

try:
    import redis

    import pykue
except ModuleNotFoundError as missing:
    sys.exit(f"{missing}: run `. .venv/bin/activate` first, or use scripts/run")

REDIS_URL = os.environ.get("REDIS_URL", "redis://localhost:6379/0")

JOBS = [
    {"phoneNumber": "4153518780", "message": "This is the code 1234 to verify your account"},
]


def load_task_10():
    """Import ``8-job.py`` from this file's folder (its name is not a valid module name)."""
    path = Path(__file__).resolve().parent / "8-job.py"
    spec = importlib.util.spec_from_file_location("job_8", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


create_push_notifications_jobs = load_task_10().create_push_notifications_jobs


def main() -> None:
    queue = pykue.create_queue(REDIS_URL)
    try:
        queue.client.ping()  # pykue connects lazily, as redis-py does: check Redis first
    except redis.exceptions.ConnectionError as error:
        print(f"Redis client not connected to the server: {error}")
        sys.exit(1)
    # TODO: create the jobs of JOBS with create_push_notifications_jobs (your task 10),
    #       then queue.shutdown()


if __name__ == "__main__":
    main()
