"""Task 9 — 7-job_processor.py: progress, blacklisted numbers, two jobs at a time.

The processor runs as a real process. The 11 course jobs come from the test process
(pykue), which records each job's events as task 8's creator would print them, so this
task is graded on its own. The processor's stdout goes through ``tests/task09_stdout``:
a line written in two pieces (``print()``: the text, then the newline) waits there for
the other worker thread's write, so lines glued together show every time, as they do
now and then on a loaded machine. The last grader measures how many jobs run at once.
"""

import os
import signal
import threading
from pathlib import Path

import pytest
from connect_checks import expect_redis_down_line
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
from harness.process import LiveScript
from harness.target import SOLUTIONS, Target

PROCESSOR = "7-job_processor.py"
QUEUE = "push_notification_code_2"
STDOUT_FIXTURE = Path(__file__).resolve().parent / "task09_stdout"
SENT = [sending_line(data) for data in COURSE_JOBS if data["phoneNumber"] not in BLACKLISTED]


@pytest.fixture
def queues(redis_url):
    with grader_queues(redis_url) as made:
        yield made


def grader_env(env: dict[str, str], **switches: str) -> dict[str, str]:
    """``env`` with the stdout fixture on PYTHONPATH and its switches set."""
    return dict(env, PYTHONPATH=f"{STDOUT_FIXTURE}{os.pathsep}{env['PYTHONPATH']}", **switches)


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


def check_progress_and_blacklist(start, creator) -> None:
    """The course's 11 jobs: each job's events in order, one Sending line per sent job."""
    events = EventLines()
    jobs = create_course_jobs(creator, events)
    processor = start(PROCESSOR, GRADER_MEET_SECONDS="1")
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
    processor.wait_until(lambda lines: len(lines) >= len(SENT), f"{len(SENT)} lines", 10)
    code = processor.signal(signal.SIGTERM)
    expect_printed_lines_any_order("task 9", SENT, processor.lines)
    check_clean_exit("task 9", processor, code, "SIGTERM")


@pytest.mark.task(9)
def test_processor_reports_progress_and_fails_blacklisted_numbers(target, start, env, queues):
    check_progress_and_blacklist(
        lambda name, **switches: start(name, env_override=grader_env(env, **switches)), queues()
    )


@pytest.mark.task(9)
def test_processor_runs_two_jobs_at_a_time(target, start, env, queues):
    """Each job takes 0.25 s here (tests/task09_stdout): two at a time, no more."""
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
    processor = start(PROCESSOR, env_override=grader_env(env, GRADER_SEND_SECONDS="0.25"))
    wait_for_all("task 9", creator, jobs, processor)
    check_clean_exit("task 9", processor, processor.signal(signal.SIGTERM), "SIGTERM")
    expect_printed_lines_any_order("task 9", SENT, processor.lines)
    if most[0] != 2:
        pytest.fail(
            f"task 9: the processor ran up to {most[0]} job(s) at the same time; it must run "
            "two at a time: queue.process('push_notification_code_2', handler, concurrency=2).",
            pytrace=False,
        )


@pytest.mark.task(9)
def test_server_down_prints_not_connected_and_exits_1(target, start):
    expect_redis_down_line("task 9", start, PROCESSOR)


# -- the grader itself: it catches glued lines every time, and accepts a lock ------------

ONE_WRITE = (
    'sys.stdout.write(f"Sending notification to {phone_number}, with message: {message}\\n")'
)


def processor_variant(folder: Path, replacement: str) -> Target:
    """The reference processor with its one-write line replaced, in ``folder``."""
    source = (SOLUTIONS / PROCESSOR).read_text(encoding="utf-8")
    assert ONE_WRITE in source, f"solutions/{PROCESSOR} no longer holds: {ONE_WRITE}"
    (folder / PROCESSOR).write_text(source.replace(ONE_WRITE, replacement), encoding="utf-8")
    return Target(folder)


@pytest.fixture
def run_variant(env, queues):
    """``run_variant(target)``: the progress grader on ``target``'s processor."""
    started: list[LiveScript] = []

    def run(variant: Target) -> None:
        def start(name, **switches):
            path = variant.script(name)
            live = LiveScript(path, grader_env(env, **switches), label="task 9")
            started.append(live)
            return live

        check_progress_and_blacklist(start, queues())

    yield run
    for live in started:
        live.kill()


def test_grader_catches_plain_print_from_two_threads(tmp_path, run_variant):
    variant = processor_variant(
        tmp_path, 'print(f"Sending notification to {phone_number}, with message: {message}")'
    )
    with pytest.raises(pytest.fail.Exception) as failure:
        run_variant(variant)
    message = str(failure.value)
    assert "glued together" in message and "ONE call" in message, message


def test_grader_accepts_print_under_a_lock(tmp_path, run_variant):
    variant = processor_variant(
        tmp_path,
        "with PRINTING:\n"
        '        print(f"Sending notification to {phone_number}, with message: {message}")',
    )
    path = variant.script(PROCESSOR)
    source = path.read_text(encoding="utf-8")
    path.write_text(
        source.replace("import os\n", "import os\nimport threading\n", 1).replace(
            "\nblacklisted_numbers", "\nPRINTING = threading.Lock()\nblacklisted_numbers", 1
        ),
        encoding="utf-8",
    )
    run_variant(variant)
