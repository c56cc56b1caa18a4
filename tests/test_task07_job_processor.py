"""Task 7 — 6-job_processor.py: process push_notification_code forever.

The processor runs as a real process. Jobs come from the test process (pykue) so the
processor is graded on its own; the last test runs it with the task 6 creator, as the
course does in two terminals.
"""

import signal

import pytest
from connect_checks import expect_redis_down_line
from notification_jobs import NOTIFICATION, created_line, grader_queues, sending_line

from harness.compare import expect_lines

PROCESSOR = "6-job_processor.py"
QUEUE = "push_notification_code"


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


def check_completed(label, queue, job):
    stored = queue.get_job(job.id)
    state = stored.state if stored else None
    if state != "complete":
        pytest.fail(
            f"{label}: job {job.id} is still {state!r} after the processor printed its line; "
            "the handler must report the job done: call done() at its end.",
            pytrace=False,
        )


@pytest.mark.task(7)
def test_processor_sends_each_job_as_it_arrives(target, start, queues):
    processor = start(PROCESSOR)
    creator = queues()
    first = {"phoneNumber": "4155550100", "message": "Your code is 0042"}
    second = {"phoneNumber": "4155550199", "message": "Your parcel is on its way"}
    sent = []
    for data in (first, second):
        job = creator.create(QUEUE, data).save()
        sent.append(sending_line(data))
        processor.wait_for_count(len(sent))
        expect_lines("task 7", sent, processor.lines[: len(sent)])
        creator.wait_for_jobs([job], timeout=5)
        check_completed("task 7", queues(), job)
    code = processor.signal(signal.SIGINT)
    expect_lines("task 7", [sending_line(first), sending_line(second)], processor.lines)
    check_clean_exit("task 7", processor, code, "Ctrl+C (SIGINT)")


@pytest.mark.task(7)
def test_processor_with_the_job_creator(target, start):
    target.script(PROCESSOR)  # "task 7 not started" first, before running task 6's creator
    creator = start("6-job_creator.py")
    creator.wait_for_line(created_line(1))
    processor = start(PROCESSOR)
    processor.wait_for_count(1)
    expect_lines("task 7", [sending_line(NOTIFICATION)], processor.lines[:1])
    creator.wait_for_line("Notification job completed")
    check_clean_exit("task 6", creator, creator.wait_exit(timeout=10), "its job completed")
    expect_lines("task 6", [created_line(1), "Notification job completed"], creator.lines)
    code = processor.signal(signal.SIGTERM)
    expect_lines("task 7", [sending_line(NOTIFICATION)], processor.lines)
    check_clean_exit("task 7", processor, code, "SIGTERM")


@pytest.mark.task(7)
def test_server_down_prints_not_connected_and_exits_1(target, start):
    expect_redis_down_line("task 7", start, PROCESSOR)
