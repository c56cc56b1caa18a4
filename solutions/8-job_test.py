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
    queue.test_mode.enter(process=False)
    yield queue
    queue.test_mode.clear()
    queue.test_mode.exit()


@pytest.mark.parametrize("not_a_list", [None, {"phoneNumber": "4153518780"}, "jobs", 42])
def test_raises_for_a_non_list(queue, not_a_list):
    with pytest.raises(TypeError, match=r"^Jobs is not an array$"):
        create_push_notifications_jobs(not_a_list, queue)
    assert queue.test_mode.jobs == []


def test_creates_one_job_per_entry(queue):
    create_push_notifications_jobs(JOBS, queue)
    jobs = queue.test_mode.jobs
    assert [job.type for job in jobs] == ["push_notification_code_3"] * 2
    assert [job.data for job in jobs] == JOBS


def test_prints_created_lines(queue, capsys):
    create_push_notifications_jobs(JOBS, queue)
    first, second = queue.test_mode.jobs
    assert capsys.readouterr().out.splitlines() == [
        f"Notification job created: {first.id}",
        f"Notification job created: {second.id}",
    ]


def test_prints_progress_completed_and_failed_lines(queue, capsys):
    create_push_notifications_jobs(JOBS, queue)
    first, second = queue.test_mode.jobs
    capsys.readouterr()
    first.emit("progress", 50)
    first.emit("complete")
    second.emit("progress", 0)
    second.emit("failed", "Phone number 4153518781 is blacklisted")
    assert capsys.readouterr().out.splitlines() == [
        f"Notification job {first.id} 50% complete",
        f"Notification job {first.id} completed",
        f"Notification job {second.id} 0% complete",
        f"Notification job {second.id} failed: Phone number 4153518781 is blacklisted",
    ]


def test_an_empty_list_creates_nothing(queue, capsys):
    create_push_notifications_jobs([], queue)
    assert queue.test_mode.jobs == []
    assert capsys.readouterr().out == ""
