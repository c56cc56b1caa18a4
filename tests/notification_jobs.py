"""Shared pieces of the graders of tasks 6–11: the course's job data, the lines the
scripts print, and grader-side pykue queues (a worker or a creator in the test process).

The data is copied from seed 004 (the course), not imported from ``solutions/``: the
graders must not trust the code they grade.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

import pykue
from harness.compare import expect_same_lines_any_order

# Task 6/7: the one notification of the course.
NOTIFICATION = {
    "phoneNumber": "4153518780",
    "message": "This is the code to verify your account",
}

# Task 8/9: the 11 entries of the course's ``jobs`` list, in order.
COURSE_JOBS = [
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
BLACKLISTED = ("4153518780", "4153518781")


def sending_line(data: dict) -> str:
    return f"Sending notification to {data['phoneNumber']}, with message: {data['message']}"


def created_line(job_id: int) -> str:
    return f"Notification job created: {job_id}"


def completed_line(job_id: int) -> str:
    return f"Notification job {job_id} completed"


def failed_line(job_id: int, error: str) -> str:
    return f"Notification job {job_id} failed: {error}"


def progress_line(job_id: int, percent: int) -> str:
    return f"Notification job {job_id} {percent}% complete"


def blacklisted_error(phone_number: str) -> str:
    return f"Phone number {phone_number} is blacklisted"


def course_event_lines(job_id: int, data: dict) -> list[str]:
    """What task 9's processor makes the creator print for one job, in order."""
    if data["phoneNumber"] in BLACKLISTED:
        return [
            progress_line(job_id, 0),
            failed_line(job_id, blacklisted_error(data["phoneNumber"])),
        ]
    return [progress_line(job_id, 0), progress_line(job_id, 50), completed_line(job_id)]


def course_handler(job, done) -> None:
    """Task 9's job handler, run by the graders of tasks 8 and 10 (no printing)."""
    job.progress(0, 100)
    phone_number = job.data["phoneNumber"]
    if phone_number in BLACKLISTED:
        done(Exception(blacklisted_error(phone_number)))
        return
    job.progress(50, 100)
    done()


class Queues:
    """Grader-side pykue queues on the test database, all shut down at the end."""

    def __init__(self, redis_url: str) -> None:
        self.redis_url = redis_url
        self._made: list = []

    def __call__(self):
        queue = pykue.create_queue(self.redis_url)
        self._made.append(queue)
        return queue

    def close(self) -> None:
        for queue in reversed(self._made):
            try:
                queue.shutdown(timeout=2)
            except Exception:  # noqa: BLE001 - cleanup must go on for the other queues
                pass


@contextmanager
def grader_queues(redis_url: str) -> Iterator[Queues]:
    queues = Queues(redis_url)
    try:
        yield queues
    finally:
        queues.close()


class EventLines:
    """Lines a creator would print, recorded from pykue job events in the test process."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._changed = threading.Condition()

    def add(self, line: str) -> None:
        with self._changed:
            self.lines.append(line)
            self._changed.notify_all()

    def wait_for_count(self, count: int, timeout: float = 10) -> bool:
        """Wait until ``count`` lines were recorded; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self.lines) >= count, timeout)

    def track(self, job) -> None:
        """Record ``job``'s progress, failed and complete events as task 8's lines."""
        job.on("progress", lambda percent: self.add(progress_line(job.id, percent)))
        job.on("failed", lambda error: self.add(failed_line(job.id, error)))
        job.on("complete", lambda: self.add(completed_line(job.id)))

    def snapshot(self) -> list[str]:
        with self._changed:
            return list(self.lines)


def stays_quiet(live, seconds: float) -> list[str]:
    """Watch a running script for ``seconds``; return the lines it printed meanwhile.

    Used only where the task says "nothing else happens": a bounded look, which returns
    early as soon as the script prints or exits.
    """
    before = len(live.lines)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if len(live.lines) > before or live.proc.poll() is not None:
            break
        time.sleep(0.02)
    return live.lines[before:]


def expect_printed_lines_any_order(label: str, expected: list[str], actual: list[str]) -> None:
    """The exact set of lines, in any order, printed by several threads of one process.

    Lines glued together fail with what happened and the fix: ``print`` writes a line's
    text and its newline in two writes, so two threads printing at the same moment may
    write "AB", then two newlines.
    """
    if Counter(actual) != Counter(expected):
        glued = glued_lines(expected, actual)
        if glued:
            pytest.fail(glued_message(label, glued, actual), pytrace=False)
    expect_same_lines_any_order(label, expected, actual, groups={})


def glued_lines(expected: list[str], actual: list[str]) -> list[str]:
    """The printed lines that hold two or more expected lines glued together."""
    wanted = set(expected)
    return [
        line
        for line in actual
        if line not in wanted and sum(line.count(text) for text in wanted if text) >= 2
    ]


def glued_message(label: str, glued: list[str], actual: list[str]) -> str:
    shown = "\n".join(f"    {line!r}" for line in glued)
    blank = actual.count("")
    return (
        f"{label}: lines of two jobs were glued together into one line:\n{shown}\n"
        f"  (and {blank} empty line(s) where their newlines landed).\n"
        "Hint: two worker threads printed at the same moment. print() writes the text and "
        "the newline in two separate writes, so the other thread's text got in between. "
        "Write each line in ONE call: "
        'sys.stdout.write(f"Sending notification to {phone_number}, with message: '
        '{message}\\n").\nFull output:\n' + "\n".join(f"    {line}" for line in actual)
    )


HASH_ID = re.compile(r"^Notification job #\d+")


def expect_no_hash_before_ids(label: str, lines: list[str]) -> None:
    """A ``#`` before the job id (as in the course's sample output) fails with why."""
    marked = [line for line in lines if HASH_ID.match(line)]
    if marked:
        pytest.fail(
            f"{label}: {marked[0]!r}: no '#' before the job id.\n"
            "Hint: the course's sample output shows 'Notification job #39 0% complete', but "
            "its statement, and this task, say 'Notification job JOB_ID PERCENTAGE% complete': "
            "print 'Notification job 39 0% complete'.",
            pytrace=False,
        )
