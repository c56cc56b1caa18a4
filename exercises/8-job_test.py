"""Task 11 — Writing the test for job creation.

Test ``create_push_notifications_jobs`` (task 10, ``8-job.py``) with pykue's test mode,
which records saved jobs instead of storing them in Redis:

- before each test, enter test mode without processing; after each test, clear the
  recorded jobs and exit test mode (a pytest fixture does both);
- assert that a non-list argument raises ``TypeError('Jobs is not an array')``;
- assert on ``queue.test_mode.jobs``: one job per entry, its type and its data;
- assert on the printed lines (pytest's ``capsys``), including the completed, failed
  and progress lines: make those events happen with ``job.emit(...)``.

Run it with ``python -m pytest -v exercises/8-job_test.py``.
"""

import importlib.util
import os
import sys
from pathlib import Path

try:
    import pytest

    import pykue
except ModuleNotFoundError as missing:
    sys.exit(f"{missing}: run `. .venv/bin/activate` first, or use scripts/run")

REDIS_URL = os.environ.get("REDIS_URL", "redis://localhost:6379/0")


def load_task_10():
    """Import ``8-job.py`` from this file's folder (its name is not a valid module name)."""
    path = Path(__file__).resolve().parent / "8-job.py"
    spec = importlib.util.spec_from_file_location("job_8", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


create_push_notifications_jobs = load_task_10().create_push_notifications_jobs

JOBS = [
    {"phoneNumber": "4153518780", "message": "This is the code 1234 to verify your account"},
    {"phoneNumber": "4153518781", "message": "This is the code 4562 to verify your account"},
]


@pytest.fixture
def queue():
    queue = pykue.create_queue(REDIS_URL)
    # TODO: enter test mode without processing
    yield queue
    # TODO: clear the recorded jobs and exit test mode


# TODO: a test that None, a dict, a str and an int each raise
#       TypeError("Jobs is not an array") (pytest.raises(..., match=...)) and create no job


# TODO: a test that JOBS gives two jobs in queue.test_mode.jobs with the type
#       "push_notification_code_3" and the data of each entry, in order


# TODO: a test of the printed lines (the capsys fixture): the created lines, then, after
#       job.emit("progress", 50), job.emit("complete") and job.emit("failed", "..."),
#       the progress, completed and failed lines
