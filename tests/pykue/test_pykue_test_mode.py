"""pykue item 7: test mode is in-process, deterministic and touches no Redis."""

from __future__ import annotations

import pytest

import pykue
from toolkit.redis_servers import free_port


@pytest.fixture
def offline_queue():
    """A queue whose Redis does not exist: any Redis call would fail."""
    queue = pykue.create_queue(f"redis://127.0.0.1:{free_port()}/0", prefix="tm")
    queue.test_mode.enter()
    yield queue
    queue.test_mode.clear()
    queue.test_mode.exit()


def test_saved_jobs_are_recorded_with_ids_1_2_3(offline_queue):
    queue = offline_queue
    created = [queue.create("push", {"n": n}).save() for n in range(3)]
    assert [j.id for j in created] == [1, 2, 3]
    assert [(j.type, j.data) for j in queue.test_mode.jobs] == [
        ("push", {"n": n}) for n in range(3)
    ]
    assert queue.wait_for_jobs(timeout=0.1) is True
    queue.test_mode.clear()
    assert queue.test_mode.jobs == []
    assert queue.create("push", {}).save().id == 1


def test_emit_calls_job_and_queue_callbacks_js_style(offline_queue):
    queue = offline_queue
    seen = []
    queue.on("job failed", lambda job_id, error: seen.append(("q failed", job_id, error)))
    job = queue.create("push", {"n": 1})
    job.on("progress", lambda percent: seen.append(("progress", percent)))
    job.on("progress", lambda percent, data: seen.append(("progress+data", percent, data)))
    job.on("complete", lambda: seen.append("complete"))
    job.on("failed", lambda error: seen.append(("failed", error)))
    job.save()
    job.emit("progress", 50)
    job.emit("complete")
    job.emit("failed", "Phone number 4153518780 is blacklisted")
    assert seen == [
        ("progress", 50),
        ("progress+data", 50, None),  # a missing argument is None, as JS's undefined
        "complete",
        ("failed", "Phone number 4153518780 is blacklisted"),
        ("q failed", 1, "Phone number 4153518780 is blacklisted"),
    ]


def test_process_true_runs_jobs_in_process(offline_queue):
    queue = offline_queue
    queue.test_mode.enter(process=True)
    seen = []

    def handler(job, done):
        job.progress(1, 2)
        job.log("hi")
        if job.data["n"] == 2:
            done(Exception("two"))
        else:
            done(None, job.data["n"] * 10)

    queue.process("push", handler)

    def recorder(n, event):
        return lambda value: seen.append((n, event, value))  # one parameter: gets one arg

    for n in (1, 2):
        job = queue.create("push", {"n": n})
        for event in ("progress", "complete", "failed"):
            job.on(event, recorder(n, event))
        job.save()
    assert seen == [
        (1, "progress", 50),
        (1, "complete", 10),
        (2, "progress", 50),
        (2, "failed", "two"),
    ]
    assert queue.test_mode.jobs[0].logs() == ["hi"]
    assert [j.state for j in queue.test_mode.jobs] == ["complete", "failed"]


def test_process_true_with_plain_and_async_handlers_and_attempts(offline_queue):
    queue = offline_queue
    queue.test_mode.enter(process=True)
    calls = []

    def flaky(job):
        calls.append(job.attempts_made)
        if job.attempts_made == 0:
            raise RuntimeError("first try")
        return "ok"

    async def shout(job):
        return job.data["text"].upper()

    queue.process("flaky", flaky)
    queue.process("shout", shout)
    attempts = []
    job = (
        queue.create("flaky").attempts(2).on("failed attempt", lambda e, n: attempts.append((e, n)))
    )
    job.save()
    loud = queue.create("shout", {"text": "hi"}).save()
    assert (job.state, job.result, calls, attempts) == (
        "complete",
        "ok",
        [0, 1],
        [("first try", 1)],
    )
    assert loud.result == "HI"


def test_exit_leaves_test_mode(offline_queue):
    queue = offline_queue
    queue.test_mode.exit()
    with pytest.raises(pykue.RedisUnavailable, match="cannot reach Redis at redis://127.0.0.1"):
        queue.create("push", {}).save()
