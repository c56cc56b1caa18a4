"""Task 9 — 7-job_processor.py: progress, blacklisted numbers, two jobs at a time.

The processor runs as a real process. The 11 course jobs come from the test process
(pykue), which records each job's events as task 8's creator would print them, so this
task is graded on its own. The last test measures how many jobs run at the same time.
"""

import os
import signal
import threading
from pathlib import Path

import pytest
from notification_jobs import (
    BLACKLISTED,
    COURSE_JOBS,
    EventLines,
    course_event_lines,
    expect_printed_lines_any_order,
    grader_queues,
    sending_line,
)

from harness.compare import expect_same_lines_any_order

PROCESSOR = "7-job_processor.py"
QUEUE = "push_notification_code_2"
SLOW_SEND = Path(__file__).resolve().parent / "task09_slow_send"
SENT = [sending_line(data) for data in COURSE_JOBS if data["phoneNumber"] not in BLACKLISTED]


@pytest.fixture
def queues(redis_url):
    with grader_queues(redis_url) as made:
        yield made


def check_clean_exit(label, live, code, how):
    if code != 0 or "Traceback" in live.stderr:
        pytest.fail(
            f"{label}: after {how}, {live.path.name} should exit with code 0 and no traceback; "
            f"it exited with code {code}.\n  stderr:\n{live.stderr}",
            pytrace=False,
        )


def create_course_jobs(queue, events=None):
    jobs = []
    for data in COURSE_JOBS:
        job = queue.create(QUEUE, data)
        if events is not None:
            events.track(job)
        jobs.append(job.save())
    return jobs


def wait_for_all(label, queue, jobs, processor):
    if not queue.wait_for_jobs(jobs, timeout=20):
        counts = queue.counts()
        pytest.fail(
            f"{label}: the 11 jobs did not all finish within 20s (states now: {counts}). "
            f"Processor output so far:\n" + "\n".join(f"    {line}" for line in processor.lines),
            pytrace=False,
        )


@pytest.mark.task(9)
def test_processor_reports_progress_and_fails_blacklisted_numbers(target, start, queues):
    events = EventLines()
    creator = queues()
    jobs = create_course_jobs(creator, events)
    processor = start(PROCESSOR)
    wait_for_all("task 9", creator, jobs, processor)
    expected = {
        job.id: course_event_lines(job.id, data)
        for job, data in zip(jobs, COURSE_JOBS, strict=True)
    }
    # Each job's events reach this process before its end does (one ordered pub/sub
    # stream), so they are all here; the short wait only covers a pub/sub hiccup.
    events.wait_for_count(sum(len(lines) for lines in expected.values()), timeout=1)
    expect_same_lines_any_order(
        "task 9",
        [line for lines in expected.values() for line in lines],
        events.snapshot(),
        groups={f"job {job_id}": lines for job_id, lines in expected.items()},
        what="job event (as task 8's creator prints them)",
    )
    processor.wait_for_count(len(SENT))
    code = processor.signal(signal.SIGTERM)
    expect_printed_lines_any_order("task 9", SENT, processor.lines)
    check_clean_exit("task 9", processor, code, "SIGTERM")


@pytest.mark.task(9)
def test_processor_runs_two_jobs_at_a_time(target, start, env, queues):
    """Each notification takes 0.4 s here (tests/task09_slow_send): two at a time, no more."""
    # Queue-level events reach the creating queue object, in the order they happened
    # (each is published by the Lua script that makes the move): count jobs running.
    creator = queues()
    lock = threading.Lock()
    running: set[int] = set()
    most = [0]

    def started(job_id, *_):
        with lock:
            running.add(job_id)
            most[0] = max(most[0], len(running))

    def finished(job_id, *_):
        with lock:
            running.discard(job_id)

    creator.on("job start", started)
    creator.on("job complete", finished)
    creator.on("job failed", finished)
    jobs = create_course_jobs(creator)
    slow_env = dict(
        env,
        PYTHONPATH=f"{SLOW_SEND}{os.pathsep}{env['PYTHONPATH']}",
        GRADER_SEND_SECONDS="0.4",
    )
    processor = start(PROCESSOR, env_override=slow_env)
    wait_for_all("task 9", creator, jobs, processor)
    check_clean_exit("task 9", processor, processor.signal(signal.SIGTERM), "SIGTERM")
    expect_same_lines_any_order("task 9", SENT, processor.lines, groups={})
    if most[0] != 2:
        pytest.fail(
            f"task 9: the processor ran up to {most[0]} job(s) at the same time; it must run "
            "two at a time: queue.process('push_notification_code_2', handler, concurrency=2).",
            pytrace=False,
        )
