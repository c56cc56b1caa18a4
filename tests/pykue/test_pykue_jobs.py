"""pykue items 1-3 and 5 of issue #3: ids, options, handlers, events, states, lookup, JSON."""

from __future__ import annotations

import asyncio
import math
import threading
import time

import pytest
from conftest import wait_until

import pykue


def test_ids_count_up_and_save_has_a_callback_form(queue):
    first = queue.create("email", {"to": "a"}).save()
    errors = []
    second = queue.create("email", {"to": "b"}).save(lambda err: errors.append(err))
    third = queue.create("sms").save()
    assert [first.id, second.id, third.id] == [1, 2, 3]
    assert errors == [None]
    stored = queue.get_job(2)
    assert (stored.type, stored.data, stored.state) == ("email", {"to": "b"}, "inactive")
    assert queue.get_job(3).data == {}


def test_options_chain_and_are_stored(queue):
    job = queue.create("email", {"n": 1})
    same = (
        job.priority("high")
        .attempts(3)
        .backoff({"type": "exponential", "delay": 50})
        .delay(10_000)
        .ttl(2000)
        .remove_on_complete(True)
    )
    assert same is job
    job.save()
    stored = queue.get_job(job.id)
    assert stored.priority_value == -10
    assert stored.max_attempts == 3
    assert stored.backoff_config == {"type": "exponential", "delay": 50}
    assert stored.state == "delayed"
    assert stored.ttl_ms == 2000
    assert stored.remove_on_complete_flag is True
    assert [pykue.PRIORITIES[n] for n in ("low", "normal", "medium", "high", "critical")] == [
        10,
        0,
        -5,
        -10,
        -15,
    ]
    with pytest.raises(ValueError, match="unknown priority"):
        job.priority("urgent")


def nested_lists(levels: int) -> list:
    """[[[...]]]: ``levels`` lists, one inside the other."""
    value: list = []
    for _ in range(levels - 1):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"tags": {"a", "b"}}, "data['tags'] is a set"),
        ({"raw": b"\x00"}, "data['raw'] is a bytes"),
        ({"x": math.nan}, "NaN"),
        ({1: "one"}, "key 1 of type int"),
        ([object()], "data[0] is a object"),
        ({"name": "\ud800"}, "data['name'] holds a lone surrogate"),
        ({"\udc00": 1}, "key with a lone surrogate"),
        ({"deep": nested_lists(64)}, "nests deeper than 64 levels"),
    ],
)
def test_data_json_cannot_carry_is_refused_at_create(queue, data, words):
    with pytest.raises(pykue.JobDataError) as info:
        queue.create("email", data)
    assert isinstance(info.value, TypeError)
    assert "job data must be JSON" in str(info.value)
    assert words in str(info.value)


def run_one(queue, handler, data=None, **events):
    """Save one job with recorded events, process it with ``handler``, wait; -> (job, log)."""
    log: list[tuple] = []
    job = queue.create("work", data or {"n": 1})
    for name in ("start", "progress", "complete", "failed", "failed attempt"):
        job.on(name, lambda *args, _n=name: log.append((_n, *args)))
    job.save()
    queue.process("work", handler)
    assert queue.wait_for_jobs(timeout=10), f"job did not finish; events so far: {log}"
    return job, log


def test_done_style_handler_with_result_progress_and_log(queue):
    def handler(job, done):
        assert job.progress(1, 4, {"step": 1}) == 25
        job.log("working on %s", job.data["n"])
        job.log("plain line")
        done(None, {"answer": 42})

    job, log = run_one(queue, handler)
    assert log == [
        ("start", "work"),
        ("progress", 25, {"step": 1}),
        ("complete", {"answer": 42}),
    ]
    assert (job.state, job.result) == ("complete", {"answer": 42})
    stored = queue.get_job(job.id)
    assert (stored.state, stored.result, stored.attempts_made) == ("complete", {"answer": 42}, 1)
    assert job.logs() == ["working on 1", "plain line"]


@pytest.mark.parametrize(
    ("failure", "message"),
    [(Exception("no phone"), "no phone"), ("just a string", "just a string")],
)
def test_done_with_an_error_fails_the_job(queue, failure, message):
    job, log = run_one(queue, lambda job, done: done(failure))
    assert log[-1] == ("failed", message)
    assert queue.get_job(job.id).error == message
    assert queue.get_job(job.id).state == "failed"


def test_done_called_twice_is_ignored_with_a_warning(queue):
    def handler(job, done):
        done(None, 1)
        with pytest.warns(RuntimeWarning, match="more than once"):
            done(Exception("late"))

    job, log = run_one(queue, handler)
    assert log[-1] == ("complete", 1)


def test_done_may_be_called_later_from_another_thread(queue):
    def handler(job, done):
        threading.Timer(0.05, lambda: done(None, "later")).start()

    job, log = run_one(queue, handler)
    assert log[-1] == ("complete", "later")


def test_plain_handler_returns_or_raises(queue):
    def handler(job):
        if job.data["n"] == 2:
            raise ValueError("two is bad")
        return {"double": job.data["n"] * 2}

    a = queue.create("work", {"n": 1}).save()
    b = queue.create("work", {"n": 2}).save()
    queue.process("work", handler, concurrency=2)
    assert queue.wait_for_jobs(timeout=10)
    assert (a.state, a.result) == ("complete", {"double": 2})
    assert (b.state, b.error) == ("failed", "two is bad")


def test_async_handler(queue):
    async def handler(job):
        await asyncio.sleep(0.01)
        job.progress(1, 2)
        return "async ok"

    job, log = run_one(queue, handler)
    assert log == [("start", "work"), ("progress", 50, None), ("complete", "async ok")]


def test_a_result_json_cannot_carry_fails_the_job(queue):
    job, log = run_one(queue, lambda job: {1, 2})
    assert log[-1][0] == "failed"
    assert "handler result must be JSON" in log[-1][1]


def test_callbacks_are_called_js_style_and_queue_events_come_id_first(queue):
    seen = []
    queue.on("job complete", lambda job_id, result: seen.append(("q complete", job_id, result)))
    queue.on("job start", lambda job_id: seen.append(("q start", job_id)))
    queue.on("job enqueue", lambda job_id, job_type: seen.append(("q enqueue", job_id, job_type)))
    job = queue.create("work", {"n": 1})
    job.on("complete", lambda: seen.append("no-arg complete"))
    job.on("complete", lambda result, extra=None: seen.append(("2-arg", result, extra)))
    job.on("complete", print)  # a builtin without a signature gets every argument
    job.save()
    queue.process("work", lambda job: "r")
    assert queue.wait_for_jobs(timeout=10)
    assert seen == [
        ("q enqueue", 1, "work"),
        ("q start", 1),
        "no-arg complete",
        ("2-arg", "r", None),
        ("q complete", 1, "r"),
    ]


def test_a_failing_callback_does_not_stop_the_event_thread(queue, capfd):
    seen = []
    first = queue.create("work", {"n": 1}).on("complete", lambda: 1 / 0).save()
    second = queue.create("work", {"n": 2}).on("complete", lambda: seen.append("second")).save()
    queue.process("work", lambda job: None)
    assert queue.wait_for_jobs([first, second], timeout=10)
    assert seen == ["second"]
    assert "ZeroDivisionError" in capfd.readouterr().err


def test_priorities_run_lowest_value_first_and_fifo_within_a_priority(queue):
    order = []
    for name, priority in [
        ("n1", "normal"), ("l1", "low"), ("c1", "critical"), ("h1", "high"),
        ("n2", "normal"), ("m1", "medium"), ("c2", "critical"), ("l2", "low"), ("x", -7),
    ]:  # fmt: skip
        queue.create("work", {"name": name}).priority(priority).save()
    queue.process("work", lambda job: order.append(job.data["name"]))
    assert queue.wait_for_jobs(timeout=10)
    assert order == ["c1", "c2", "h1", "x", "m1", "n1", "n2", "l1", "l2"]


def test_delayed_job_is_promoted_on_time(queue):
    started = {}
    job = queue.create("work").delay(400).on("start", lambda: started.setdefault("t", time.time()))
    saved_at = time.time()
    job.save()
    queue.process("work", lambda job: None)
    assert queue.get_job(job.id).state == "delayed"
    assert queue.count("delayed") == 1
    assert queue.wait_for_jobs(timeout=10)
    waited = started["t"] - saved_at
    assert 0.38 <= waited < 1.5, f"started {waited:.3f}s after save"


def attempt_times(queue, job, handler):
    events = []
    job.on("failed attempt", lambda err, n: events.append((time.monotonic(), "attempt", err, n)))
    job.on("start", lambda: events.append((time.monotonic(), "start")))
    job.on("complete", lambda r: events.append((time.monotonic(), "complete", r)))
    job.on("failed", lambda err: events.append((time.monotonic(), "failed", err)))
    job.save()
    queue.process("work", handler)
    assert queue.wait_for_jobs(timeout=15), events
    return events


RUNS: list[float] = []


def failing_twice(job):
    RUNS.append(time.monotonic())
    if job.attempts_made < 2:
        raise RuntimeError(f"try {job.attempts_made + 1} failed")
    return "third time"


def test_attempts_with_fixed_backoff(queue):
    job = queue.create("work").attempts(3).backoff({"type": "fixed", "delay": 200})
    RUNS.clear()
    events = attempt_times(queue, job, failing_twice)
    kinds = [e[1:] for e in events]
    assert kinds == [
        ("start",), ("attempt", "try 1 failed", 1),
        ("start",), ("attempt", "try 2 failed", 2),
        ("start",), ("complete", "third time"),
    ]  # fmt: skip
    assert RUNS[1] - RUNS[0] >= 0.19 and RUNS[2] - RUNS[1] >= 0.19, RUNS
    assert queue.get_job(job.id).attempts_made == 3


def test_attempts_with_exponential_backoff(queue):
    job = queue.create("work").attempts(3).backoff({"type": "exponential", "delay": 150})
    RUNS.clear()
    attempt_times(queue, job, failing_twice)
    assert len(RUNS) == 3
    first_wait, second_wait = RUNS[1] - RUNS[0], RUNS[2] - RUNS[1]
    assert first_wait >= 0.14 and second_wait >= 0.29, (first_wait, second_wait)


def test_attempts_without_backoff_retry_at_once_then_fail(queue):
    job = queue.create("work").attempts(2)
    events = attempt_times(queue, job, lambda job: 1 / 0)
    assert [e[1] for e in events] == ["start", "attempt", "start", "failed"]
    assert events[-1][2] == "division by zero"
    assert events[2][0] - events[1][0] < 0.3  # straight back to inactive
    assert queue.get_job(job.id).state == "failed"


def test_ttl_exceeded_fails_the_attempt(queue):
    release = threading.Event()
    job = queue.create("work").ttl(300)
    failed = []
    job.on("failed", failed.append)
    job.save()
    queue.process("work", lambda job, done: release.wait(5) and done())
    try:
        assert queue.wait_for_jobs(timeout=5)
    finally:
        release.set()
    assert failed == ["TTL exceeded"]
    assert queue.get_job(job.id).state == "failed"


def test_lookup_range_counts_types_and_remove(queue):
    for i in range(3):
        queue.create("email", {"i": i}).save()
    queue.create("sms", {"i": 3}).delay(60_000).save()
    queue.create("sms", {"i": 4}).save()
    assert queue.counts() == {"inactive": 4, "delayed": 1, "active": 0, "complete": 0, "failed": 0}
    assert queue.count("inactive", "email") == 3
    assert queue.types() == ["email", "sms"]
    assert [j.id for j in queue.jobs()] == [1, 2, 3, 4, 5]
    assert [j.id for j in queue.jobs("inactive", order="desc")] == [5, 3, 2, 1]
    assert [j.id for j in queue.jobs("inactive", start=1, stop=2)] == [2, 3]
    assert [j.id for j in queue.jobs(type="sms")] == [4, 5]
    assert [j.data for j in queue.jobs("delayed", "sms")] == [{"i": 3}]
    assert queue.get_job(99) is None
    removed = []
    job = queue.get_job(2)
    queue.on("job remove", lambda job_id, job_type: removed.append((job_id, job_type)))
    assert job.remove() is True
    assert queue.get_job(2) is None
    assert queue.count("inactive", "email") == 2
    assert job.remove() is False
    wait_until(lambda: removed, "the remove event")
    assert removed == [(2, "email")]
    with pytest.raises(ValueError, match="unknown state"):
        queue.jobs("done")


def test_remove_on_complete_deletes_the_job(queue):
    kept = queue.create("work", {"keep": True}).save()
    gone = queue.create("work", {"keep": False}).remove_on_complete().save()
    queue.process("work", lambda job: job.log("ran") and None)
    assert queue.wait_for_jobs(timeout=10)
    assert gone.state in ("complete", "removed")
    assert queue.get_job(gone.id) is None
    assert queue.get_job(kept.id).state == "complete"
    assert queue.count("complete") == 1


def test_set_state_restarts_a_failed_job(queue):
    job = queue.create("work", {"n": 1}).save()
    runs = []
    queue.process("work", lambda job: runs.append(1) or (1 / 0 if len(runs) == 1 else "ok"))
    assert queue.wait_for_jobs(timeout=10)
    assert queue.get_job(job.id).state == "failed"
    queue.get_job(job.id).set_state("inactive")
    wait_until(lambda: queue.get_job(job.id).state == "complete", "the restarted job to complete")
    assert len(runs) == 2


def test_create_queue_accepts_a_redis_client():
    import fakeredis

    queue = pykue.create_queue(redis=fakeredis.FakeRedis(), lease_ms=400)  # no server at all
    try:
        job = queue.create("work", {"a": 1}).save()
        queue.process("work", lambda job: job.data["a"] + 1)
        assert queue.wait_for_jobs(timeout=10)
        assert (job.state, job.result, queue.get_job(job.id).result) == ("complete", 2, 2)
    finally:
        queue.shutdown(timeout=1)


def test_save_returns_only_once_events_are_subscribed(make_queue):
    worker = make_queue()
    worker.process("work", lambda job: job.id)  # already waiting: runs each job at once
    for _ in range(10):
        creator = make_queue()  # a fresh queue object: its first save subscribes
        seen: list = []
        job = creator.create("work")
        job.on("enqueue", lambda *, _seen=seen: _seen.append("enqueue"))
        job.on("start", lambda *, _seen=seen: _seen.append("start"))
        job.on("complete", seen.append).save()
        assert creator.wait_for_jobs(timeout=10)
        assert seen == ["enqueue", "start", job.id]
        creator.shutdown()
