"""Issue 15.1: a job's states, priorities, attempts, progress, logs and events are the same
whichever backend holds it: Redis (the Lua scripts, workers in threads) or memory (test
mode with ``process=True``: jobs run at once, in this thread)."""

from __future__ import annotations

import threading

import pytest

import pykue


@pytest.fixture(params=["redis", "memory"])
def queue(request, make_queue) -> pykue.Queue:
    queue = make_queue()
    if request.param == "memory":
        queue.test_mode.enter(process=True)
    yield queue
    queue.test_mode.exit()


def record(job: pykue.Job, seen: list, *events: str) -> pykue.Job:
    lock = threading.Lock()
    for event in events:

        def note(*args, event=event):
            with lock:
                seen.append((event, *args))

        job.on(event, note)
    return job


def test_a_job_goes_inactive_active_complete_with_its_events(queue):
    seen: list = []
    heard: list = []
    queue.on("job complete", lambda job_id, result: heard.append((job_id, result)))
    job = record(queue.create("email", {"to": "a"}), seen, "enqueue", "start", "complete")
    job.save()
    queue.process("email", lambda j: f"sent to {j.data['to']}")
    assert queue.wait_for_jobs([job], timeout=10)
    assert seen == [("enqueue", "email"), ("start", "email"), ("complete", "sent to a")]
    assert (job.state, job.result) == ("complete", "sent to a")
    assert heard == [(job.id, "sent to a")]
    assert queue.counts()["complete"] == 1 and queue.count("complete", "email") == 1
    assert [j.id for j in queue.jobs(state="complete")] == [job.id]
    assert queue.types() == ["email"]


def test_attempts_retry_then_complete(queue):
    calls = []

    def flaky(job):
        calls.append(job.id)
        if len(calls) < 3:
            raise RuntimeError(f"try {len(calls)} failed")
        return "third time"

    seen: list = []
    job = record(queue.create("sms").attempts(3), seen, "failed attempt", "failed", "complete")
    job.save()
    queue.process("sms", flaky)
    assert queue.wait_for_jobs([job], timeout=10)
    assert seen == [
        ("failed attempt", "try 1 failed", 1),
        ("failed attempt", "try 2 failed", 2),
        ("complete", "third time"),
    ]
    assert queue.get_job(job.id).state == "complete"


def test_the_last_failed_attempt_fails_the_job(queue):
    seen: list = []
    job = record(queue.create("sms").attempts(2), seen, "failed attempt", "failed")
    job.save()
    queue.process("sms", lambda j: (_ for _ in ()).throw(ValueError("blacklisted")))
    assert queue.wait_for_jobs([job], timeout=10)
    assert seen == [("failed attempt", "blacklisted", 1), ("failed", "blacklisted")]
    assert (job.state, job.error) == ("failed", "blacklisted")
    assert queue.count("failed") == 1 and queue.count("complete") == 0


def test_higher_priority_runs_first(queue):
    order = []
    jobs = [
        queue.create("p", {"name": name}).priority(name).save()
        for name in ("low", "normal", "medium", "high", "critical")
    ]
    assert [j.id for j in queue.jobs(state="inactive")] == [j.id for j in reversed(jobs)]
    queue.process("p", lambda j: order.append(j.data["name"]))
    assert queue.wait_for_jobs(jobs, timeout=10)
    assert order == ["critical", "high", "medium", "normal", "low"]


def test_progress_and_logs_reach_the_creator(queue):
    seen: list = []

    def handler(job):
        job.log("step %d", 1)
        job.progress(1, 2, {"half": True})
        job.log("done")
        return "ok"

    job = record(queue.create("report"), seen, "progress")
    job.save()
    queue.process("report", handler)
    assert queue.wait_for_jobs([job], timeout=10)
    assert seen == [("progress", 50, {"half": True})]
    assert queue.get_job(job.id).logs() == ["step 1", "done"]


def test_a_delayed_job_waits_in_delayed(make_queue):
    for memory in (False, True):
        queue = make_queue()
        if memory:
            queue.test_mode.enter()
        job = queue.create("later").delay(60_000).save()
        assert job.state == "delayed"
        assert queue.count("delayed") == 1 and queue.count("inactive") == 0
        queue.test_mode.exit()


def test_unique_remove_and_restart(queue):
    first = queue.create("u", {"n": 1}).unique("only-one").save()
    again = queue.create("u", {"n": 2}).unique("only-one").save()
    assert (again.id, again.duplicate, first.duplicate) == (first.id, True, False)
    runs = []
    queue.process("u", lambda j: runs.append(j.id) or len(runs))
    assert queue.wait_for_jobs([first], timeout=10) and first.result == 1
    assert queue.restart(first.id, only_from=["failed"]) is False
    assert queue.restart(first) is True
    assert queue.wait_for_jobs([first], timeout=10)
    assert runs == [first.id, first.id] and first.result == 2
    removed: list = []
    first.on("remove", lambda job_type: removed.append(job_type))
    assert first.remove() is True
    assert queue.get_job(first.id) is None
    assert queue.wait_for_jobs(timeout=10)
    assert queue.types() in (["u"], [])  # Redis remembers a type; memory lists live jobs
