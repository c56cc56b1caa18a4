"""Task 8 — 7-job_creator.py: the 11 course jobs in push_notification_code_2, with events.

The creator runs as a real process; a worker in the test process (pykue, two jobs at a
time) plays task 9's processor, so this task is graded on its own. Jobs run concurrently,
so lines of different jobs may interleave; each job's own lines must keep their order.
"""

import signal

import pytest
from connect_checks import expect_redis_down_line
from notification_jobs import (
    COURSE_JOBS,
    completed_line,
    course_event_lines,
    course_handler,
    created_line,
    expect_no_hash_before_ids,
    failed_line,
    grader_queues,
    progress_line,
    stays_quiet,
)

from harness.compare import expect_lines, expect_same_lines_any_order

CREATOR = "7-job_creator.py"
QUEUE = "push_notification_code_2"
CREATED = [created_line(job_id) for job_id in range(1, 12)]


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


def start_creator(start):
    creator = start(CREATOR)
    creator.wait_for_count(len(CREATED))
    expect_lines("task 8", CREATED, creator.lines[: len(CREATED)], "first 11 lines")
    return creator


def check_events(creator, expected_by_job):
    """The lines after the 11 created lines: exact set, each job's lines in order."""
    expect_lines("task 8", CREATED, creator.lines[: len(CREATED)], "first 11 lines")
    expect_no_hash_before_ids("task 8", creator.lines)
    expected = [line for lines in expected_by_job.values() for line in lines]
    expect_same_lines_any_order(
        "task 8",
        expected,
        creator.lines[len(CREATED) :],
        groups={f"job {job_id}": lines for job_id, lines in expected_by_job.items()},
        what="event",
    )


@pytest.mark.task(8)
def test_creator_stores_the_11_jobs_in_order(target, start, queues):
    creator = start_creator(start)
    stored = {job.id: job for job in queues().jobs(type=QUEUE)}
    for job_id, data in enumerate(COURSE_JOBS, start=1):
        job = stored.get(job_id)
        if job is None or job.data != data:
            pytest.fail(
                f"task 8: job {job_id} in queue {QUEUE!r} should hold {data!r}, found "
                f"{job.data if job else 'no such job'!r} (the jobs list, in the course's order)",
                pytrace=False,
            )
    if len(stored) != len(COURSE_JOBS):
        pytest.fail(f"task 8: {len(stored)} jobs in {QUEUE!r}, expected 11", pytrace=False)
    stays_quiet(creator, 0.5)  # no processor runs: nothing more happens, then Ctrl+C
    check_clean_exit("task 8", creator, creator.signal(signal.SIGINT), "Ctrl+C (SIGINT)")
    expect_lines("task 8", CREATED, creator.lines)


@pytest.mark.task(8)
def test_creator_reports_each_jobs_progress_and_result(target, start, queues):
    creator = start_creator(start)
    queues().process(QUEUE, course_handler, concurrency=2)
    check_clean_exit("task 8", creator, creator.wait_exit(timeout=15), "all 11 jobs finished")
    expected = {
        job_id: course_event_lines(job_id, data) for job_id, data in enumerate(COURSE_JOBS, start=1)
    }
    check_events(creator, expected)


@pytest.mark.task(8)
def test_creator_prints_what_the_events_say(target, start, queues):
    """Other percentages and errors than the course's: the lines must come from the events."""
    creator = start_creator(start)

    def handler(job, done):
        if job.id % 3 == 0:
            done(Exception(f"Carrier refused job {job.id}"))
            return
        job.progress(1, 4)
        job.progress(3, 4)
        done()

    queues().process(QUEUE, handler)
    check_clean_exit("task 8", creator, creator.wait_exit(timeout=15), "all 11 jobs finished")
    expected = {
        job_id: (
            [failed_line(job_id, f"Carrier refused job {job_id}")]
            if job_id % 3 == 0
            else [progress_line(job_id, 25), progress_line(job_id, 75), completed_line(job_id)]
        )
        for job_id in range(1, 12)
    }
    check_events(creator, expected)


@pytest.mark.task(8)
def test_server_down_prints_not_connected_and_exits_1(target, start):
    expect_redis_down_line("task 8", start, CREATOR)


def test_a_hash_before_the_id_fails_with_the_courses_sample_named():
    """The grader's hint for the course's ``#39``: the statement has no ``#``."""
    lines = CREATED + ["Notification job #1 0% complete", "Notification job 1 completed"]
    with pytest.raises(pytest.fail.Exception) as failure:
        expect_no_hash_before_ids("task 8", lines)
    assert "no '#' before the job id" in str(failure.value)
    expect_no_hash_before_ids("task 8", CREATED + [progress_line(1, 0)])
