"""Issue 13.6: a Redis failure inside a handler (a full Redis refusing ``job.log()``) is not
the job's failure: the job goes back to inactive, the worker backs off, and once Redis
takes writes again every job completes."""

from __future__ import annotations

import threading

import pytest
import redis
from conftest import wait_until

import pykue
from toolkit.redis_servers import free_port, redis_binary, start_real


def test_a_handler_that_meets_redis_unavailable_is_given_back_not_failed(queue, capfd):
    calls = []
    lock = threading.Lock()

    def handler(job):
        with lock:
            calls.append(job.id)
            if len(calls) <= 2:
                raise queue.unavailable("OOM command not allowed when used memory > 'maxmemory'")
        return "sent"

    job = queue.create("email", {}).save()
    queue.process("email", handler)
    assert queue.wait_for_jobs([job], timeout=10)
    assert (job.state, job.result) == ("complete", "sent")
    assert queue.get_job(job.id).attempts_made == 1  # the given-back runs did not count
    assert calls == [job.id] * 3
    err = capfd.readouterr().err
    assert err.count(f"pykue: job {job.id} given back to inactive, not failed") == 2
    assert "next job in 0.5s" in err and "next job in 1s" in err


def test_done_with_redis_unavailable_is_given_back_too(queue):
    calls = []

    def handler(job, done):
        calls.append(job.id)
        done(queue.unavailable("connection lost") if len(calls) == 1 else None, "ok")

    job = queue.create("email", {}).save()
    queue.process("email", handler)
    assert queue.wait_for_jobs([job], timeout=10)
    assert (job.state, queue.get_job(job.id).attempts_made, len(calls)) == ("complete", 1, 2)


def test_an_oom_reply_is_redis_unavailable_without_a_chained_traceback(queue):
    error = queue.translate(redis.ResponseError("OOM command not allowed when used memory"))
    assert isinstance(error, pykue.RedisUnavailable)
    assert isinstance(queue.translate(redis.OutOfMemoryError("OOM")), pykue.RedisUnavailable)
    assert not isinstance(queue.translate(redis.ResponseError("WRONGTYPE")), ConnectionError)

    def fail():
        raise redis.ConnectionError("gone")

    with pytest.raises(pykue.RedisUnavailable) as info:
        queue._call(fail)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_ping(queue):
    assert queue.ping() is True
    down = pykue.create_queue(f"redis://127.0.0.1:{free_port()}/0")
    with pytest.raises(pykue.RedisUnavailable, match="cannot reach Redis"):
        down.ping()


@pytest.mark.skipif(redis_binary() is None, reason="needs redis-server for maxmemory")
def test_jobs_survive_a_full_redis(tmp_path, capfd):
    """A private redis-server whose maxmemory is reached while jobs log: none fails, the
    workers back off, and all complete once the limit is lifted."""
    server = start_real(free_port(), workdir=tmp_path / "redis")
    admin = redis.Redis.from_url(server.url)
    queue = pykue.create_queue(server.url, prefix="full", lease_ms=2000, poll_interval=0.2)
    calls = []
    try:
        jobs = [queue.create("log", {"n": n}).save() for n in range(20)]

        def handler(job):
            calls.append(job.id)
            job.log("working on %s", job.data["n"])
            return job.data["n"]

        admin.config_set("maxmemory", 1)  # every write that needs memory is refused
        queue.process("log", handler, concurrency=2)
        wait_until(lambda: len(calls) >= 4, "the workers to try jobs on the full Redis")
        full_calls = len(calls)
        assert queue.count("failed") == 0
        assert queue.count("inactive") >= 18  # given back, not failed or burnt through
        admin.config_set("maxmemory", 0)
        assert queue.wait_for_jobs(jobs, timeout=30)
        assert [j.state for j in jobs] == ["complete"] * 20
        assert sorted(j.result for j in jobs) == list(range(20))
        assert all(queue.get_job(j.id).attempts_made == 1 for j in jobs)
        assert full_calls <= 10, f"{full_calls} handler calls on a full Redis: no back-off"
        assert queue.get_job(jobs[0].id).logs() == ["working on 0"]
    finally:
        queue.shutdown(timeout=0.5)
        admin.close()
        server.stop()
    err = capfd.readouterr().err
    assert "Traceback" not in err
    assert "is out of memory (maxmemory reached)" in err
