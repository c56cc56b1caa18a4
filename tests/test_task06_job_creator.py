"""Task 6 — 6-job_creator.py: one job in push_notification_code, created/completed/failed.

The creator runs as a real process; a worker in the test process (pykue) plays the job
processor, so this task is graded on its own, before task 7 exists.
"""

import signal

import pytest
from connect_checks import expect_redis_down_line
from notification_jobs import NOTIFICATION, created_line, grader_queues, stays_quiet

from harness.compare import expect_lines

CREATOR = "6-job_creator.py"
QUEUE = "push_notification_code"


@pytest.fixture
def queues(redis_url):
    with grader_queues(redis_url) as made:
        yield made


def check_stored_job(label, queue, job_id):
    job = queue.get_job(job_id)
    if job is None:
        pytest.fail(f"{label}: job {job_id} is not in Redis: was it saved?", pytrace=False)
    if job.type != QUEUE:
        pytest.fail(f"{label}: job {job_id} is in queue {job.type!r}, not {QUEUE!r}", pytrace=False)
    if job.data != NOTIFICATION:
        pytest.fail(
            f"{label}: job {job_id} holds the data {job.data!r}, expected {NOTIFICATION!r}",
            pytrace=False,
        )


def check_clean_exit(label, live, code, how):
    if code != 0 or "Traceback" in live.stderr:
        pytest.fail(
            f"{label}: after {how}, {live.path.name} should exit with code 0 and no traceback; "
            f"it exited with code {code}.\n  stderr:\n{live.stderr}",
            pytrace=False,
        )


@pytest.mark.task(6)
def test_creator_prints_the_id_then_waits_for_the_job(target, start, queues):
    creator = start(CREATOR)
    creator.wait_for_count(1)
    expect_lines("task 6", [created_line(1)], creator.lines)
    more = stays_quiet(creator, 0.5)
    if more or creator.proc.poll() is not None:
        pytest.fail(
            "task 6: with no processor running, the creator must print only "
            f"'{created_line(1)}' and wait for the job to finish; it printed {more!r} "
            f"and {'exited' if creator.proc.poll() is not None else 'kept running'}.",
            pytrace=False,
        )
    check_stored_job("task 6", queues(), 1)

    worker = queues()
    worker.process(QUEUE, lambda job: None)
    code = creator.wait_exit(timeout=10)
    expect_lines("task 6", [created_line(1), "Notification job completed"], creator.lines)
    check_clean_exit("task 6", creator, code, "its job completed")


@pytest.mark.task(6)
def test_creator_reports_a_failed_job(target, start, queues):
    creator = start(CREATOR)
    creator.wait_for_count(1)
    expect_lines("task 6", [created_line(1)], creator.lines[:1])

    def fail(job):
        raise RuntimeError("the SMS gateway is down")

    queues().process(QUEUE, fail)
    code = creator.wait_exit(timeout=10)
    expect_lines("task 6", [created_line(1), "Notification job failed"], creator.lines)
    check_clean_exit("task 6", creator, code, "its job failed")


@pytest.mark.task(6)
def test_each_run_stores_a_new_job_and_ctrl_c_stops_cleanly(target, start, queues):
    for job_id in (1, 2):
        creator = start(CREATOR)
        creator.wait_for_count(1)
        expect_lines(f"task 6 (run {job_id})", [created_line(job_id)], creator.lines[:1])
        stays_quiet(creator, 0.5)  # the learner waits a moment, then presses Ctrl+C
        code = creator.signal(signal.SIGINT)
        expect_lines(f"task 6 (run {job_id})", [created_line(job_id)], creator.lines)
        check_clean_exit("task 6", creator, code, "Ctrl+C (SIGINT)")
    inspector = queues()
    for job_id in (1, 2):
        check_stored_job("task 6", inspector, job_id)


@pytest.mark.task(6)
def test_server_down_prints_not_connected_and_exits_1(target, start):
    expect_redis_down_line("task 6", start, CREATOR)
