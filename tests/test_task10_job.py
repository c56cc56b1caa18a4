"""Task 10 — 8-job.py: create_push_notifications_jobs(jobs, queue); 8-job_main.py, its demo.

The function is imported into the test process and called twice over: with a queue in
test mode (jobs recorded, events emitted by hand) and with a real queue, whose jobs a
worker in the test process then runs. The demo (the course's ``8-job-main.js``) runs as
a real process.
"""

import pytest
from connect_checks import expect_exit_0, expect_redis_down_line
from notification_jobs import (
    COURSE_JOBS,
    completed_line,
    course_event_lines,
    course_handler,
    created_line,
    failed_line,
    grader_queues,
    progress_line,
)

from harness.compare import expect_lines, expect_same_lines_any_order

FILE = "8-job.py"
DEMO = "8-job_main.py"
QUEUE = "push_notification_code_3"
JOBS = COURSE_JOBS[:3]


def load_create_jobs(target, monkeypatch):
    """The learner's create_push_notifications_jobs (a failure, not an error, if missing)."""
    module = target.load_module(FILE, monkeypatch)
    return target.function(module, "create_push_notifications_jobs", FILE)


@pytest.fixture
def queues(redis_url):
    with grader_queues(redis_url) as made:
        yield made


@pytest.fixture
def recording_queue(queues):
    queue = queues()
    queue.test_mode.enter(process=False)
    yield queue
    queue.test_mode.clear()
    queue.test_mode.exit()


def check_jobs(label, jobs, expected_data):
    found = [(job.type, job.data) for job in jobs]
    expected = [(QUEUE, data) for data in expected_data]
    if found != expected:
        lines = "\n".join(f"    {entry!r}" for entry in found) or "    (no job)"
        pytest.fail(
            f"{label}: expected {len(expected)} job(s) in queue {QUEUE!r} with the data of "
            f"each entry, in order. Jobs created (type, data):\n{lines}",
            pytrace=False,
        )


@pytest.mark.task(10)
@pytest.mark.parametrize(
    "not_a_list",
    [None, {"phoneNumber": "4153518780", "message": "hi"}, "4153518780", 42],
    ids=["None", "dict", "str", "int"],
)
def test_a_non_list_raises_type_error(target, monkeypatch, recording_queue, not_a_list, capsys):
    create_jobs = load_create_jobs(target, monkeypatch)
    call = f"create_push_notifications_jobs({not_a_list!r}, queue)"
    raised = None
    try:
        create_jobs(not_a_list, recording_queue)
    except Exception as error:  # noqa: BLE001 - the learner's code may raise anything
        raised = error
    # Fail outside the except block, so the message is not chained to the learner's error.
    if raised is None:
        pytest.fail(f"task 10: {call} raised nothing; expected TypeError", pytrace=False)
    if not isinstance(raised, TypeError) or str(raised) != "Jobs is not an array":
        pytest.fail(
            f"task 10: {call} raised {type(raised).__name__}({str(raised)!r}); "
            "expected TypeError('Jobs is not an array')",
            pytrace=False,
        )
    check_jobs(f"task 10: after {call}", recording_queue.test_mode.jobs, [])
    expect_lines("task 10", [], capsys.readouterr().out.splitlines())


@pytest.mark.task(10)
def test_test_mode_records_one_job_per_entry_and_prints_events(
    target, monkeypatch, recording_queue, capsys
):
    create_jobs = load_create_jobs(target, monkeypatch)
    create_jobs([dict(data) for data in JOBS], recording_queue)
    jobs = recording_queue.test_mode.jobs
    check_jobs("task 10 (test mode)", jobs, JOBS)
    expect_lines(
        "task 10 (test mode)",
        [created_line(job.id) for job in jobs],
        capsys.readouterr().out.splitlines(),
    )
    first, second, third = jobs
    first.emit("progress", 30)
    first.emit("complete")
    second.emit("failed", "Phone number 4153518781 is blacklisted")
    third.emit("progress", 100)
    expect_lines(
        "task 10 (test mode, events emitted)",
        [
            progress_line(first.id, 30),
            completed_line(first.id),
            failed_line(second.id, "Phone number 4153518781 is blacklisted"),
            progress_line(third.id, 100),
        ],
        capsys.readouterr().out.splitlines(),
    )


@pytest.mark.task(10)
def test_an_empty_list_creates_nothing(target, monkeypatch, recording_queue, capsys):
    create_jobs = load_create_jobs(target, monkeypatch)
    create_jobs([], recording_queue)
    check_jobs(
        "task 10: create_push_notifications_jobs([], queue)", recording_queue.test_mode.jobs, []
    )
    expect_lines("task 10", [], capsys.readouterr().out.splitlines())


@pytest.mark.task(10)
def test_real_queue_jobs_run_on_a_worker(target, monkeypatch, queues, capsys):
    create_jobs = load_create_jobs(target, monkeypatch)
    creator = queues()
    create_jobs([dict(data) for data in COURSE_JOBS[:4]], creator)
    created = capsys.readouterr().out.splitlines()
    expect_lines("task 10 (real queue)", [created_line(n) for n in range(1, 5)], created)
    inspector = queues()
    check_jobs("task 10 (real queue, jobs in Redis)", inspector.jobs(), COURSE_JOBS[:4])

    inspector.process(QUEUE, course_handler, concurrency=2)
    if not creator.wait_for_jobs(timeout=15):
        pytest.fail(f"task 10: the jobs did not finish (states: {creator.counts()})", pytrace=False)
    expected = {n: course_event_lines(n, data) for n, data in enumerate(COURSE_JOBS[:4], 1)}
    expect_same_lines_any_order(
        "task 10 (real queue)",
        [line for lines in expected.values() for line in lines],
        capsys.readouterr().out.splitlines(),
        groups={f"job {n}": lines for n, lines in expected.items()},
        what="event",
    )


@pytest.mark.task(10)
def test_the_demo_creates_one_job_and_exits(target, run, queues):
    target.script(FILE)  # "task 10 not started" names 8-job.py first
    for job_id in (1, 2):
        finished = run(DEMO)
        expect_lines(f"task 10 ({DEMO}, run {job_id})", [created_line(job_id)], finished.stdout)
        expect_exit_0("task 10", DEMO, finished)
    check_jobs(f"task 10 ({DEMO}, jobs in Redis)", queues().jobs(), COURSE_JOBS[:1] * 2)


@pytest.mark.task(10)
def test_the_demo_with_redis_down_prints_not_connected(target, start):
    expect_redis_down_line("task 10", start, DEMO)
