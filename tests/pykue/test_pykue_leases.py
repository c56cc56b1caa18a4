"""pykue items 4-6: leases, stalled jobs, fencing, shutdown, Redis errors and restarts."""

from __future__ import annotations

import threading
import time

import pytest
from conftest import wait_until

import pykue
from pykue import scripts
from pykue.worker import FETCHED_FIELDS
from toolkit.redis_servers import free_port, start_fake, start_real


def fetch_as_dead_worker(queue, job_type="work", token="dead:1"):
    """Take a job the way a worker does, then never renew it (a worker that died)."""
    fields = scripts.load("move_to_active")(
        queue.client, queue.keys.fixed, [queue.keys.base, job_type, token, queue.lease_ms]
    )
    assert fields, "there was no job to take"
    return dict(zip(FETCHED_FIELDS, fields, strict=True))


def finish_as(queue, job_id, token, outcome="complete", payload="null"):
    status, _ = scripts.load("move_to_finished")(
        queue.client,
        queue.keys.fixed,
        [queue.keys.base, job_id, token, outcome, payload, "", "", queue.lease_ms],
    )
    return status


def test_lease_renewal_keeps_a_long_job_alive(make_queue):
    queue = make_queue(lease_ms=300)
    runs = []

    def slow(job):
        runs.append(job.id)
        time.sleep(1.2)  # four leases long
        return "slow but fine"

    job = queue.create("work").save()
    queue.process("work", slow)
    assert queue.wait_for_jobs(timeout=10)
    stored = queue.get_job(job.id)
    assert (stored.state, stored.result, stored.stalls, runs) == (
        "complete",
        "slow but fine",
        0,
        [1],
    )


def test_a_job_whose_worker_died_returns_to_inactive_and_runs(make_queue):
    queue = make_queue(lease_ms=300)
    job = queue.create("work", {"n": 1}).save()
    fetch_as_dead_worker(queue)
    assert queue.get_job(job.id).state == "active"
    queue.process("work", lambda job: "rescued")  # its heartbeat sweeps stalled jobs
    assert queue.wait_for_jobs(timeout=10)
    stored = queue.get_job(job.id)
    assert (stored.state, stored.result, stored.stalls) == ("complete", "rescued", 1)


def test_a_job_that_stalls_too_often_fails(make_queue):
    queue = make_queue(lease_ms=200, max_stalls=1)
    job = queue.create("work").save()
    failed = []
    job.on("failed", failed.append)
    fetch_as_dead_worker(queue, token="dead:1")
    queue.process("other", lambda job: None)  # only its sweeps matter here
    wait_until(lambda: queue.get_job(job.id).state == "inactive", "the first stall to be swept")
    fetch_as_dead_worker(queue, token="dead:2")
    assert queue.wait_for_jobs(timeout=10)
    assert failed == ["job stalled more than 1 times (its worker stopped)"]
    assert queue.get_job(job.id).stalls == 2


def test_a_late_done_from_a_worker_that_lost_its_lease_is_refused(make_queue):
    queue = make_queue(lease_ms=200)
    job = queue.create("work").save()
    fetch_as_dead_worker(queue, token="slow:1")
    queue.process("work", lambda job: "second worker")
    assert queue.wait_for_jobs(timeout=10)
    assert finish_as(queue, job.id, "slow:1", "complete", '"first worker"') == "fenced"
    assert finish_as(queue, job.id, "slow:1", "failed", "late error") == "fenced"
    stored = queue.get_job(job.id)
    assert (stored.state, stored.result, stored.attempts_made) == ("complete", "second worker", 1)
    assert queue.counts()["complete"] == 1


def test_finishing_twice_with_the_same_token_is_refused(queue):
    job = queue.create("work").save()
    fields = fetch_as_dead_worker(queue, token="w:1")
    assert fields["id"] == str(job.id)
    assert finish_as(queue, job.id, "w:1") == "complete"
    assert finish_as(queue, job.id, "w:1") == "fenced"


def test_shutdown_gives_unfinished_jobs_back(make_queue):
    queue = make_queue()
    started = threading.Event()
    dones = []

    def stuck(job, done):
        dones.append(done)
        started.set()

    job = queue.create("work").save()
    queue.process("work", stuck)
    assert started.wait(5)
    queue.shutdown(timeout=0.2)
    checker = make_queue()
    stored = checker.get_job(job.id)
    assert (stored.state, stored.stalls, stored.attempts_made) == ("inactive", 0, 0)
    assert checker.client.hget(checker.keys.job(job.id), "token") is None
    dones[0](None, "too late")  # its worker is gone: nothing happens
    assert checker.get_job(job.id).state == "inactive"
    checker.process("work", lambda job: "second life")
    wait_until(lambda: checker.get_job(job.id).state == "complete", "the job given back to run")


def test_shutdown_lets_active_jobs_finish_within_the_timeout(make_queue):
    queue = make_queue()
    started = threading.Event()

    def slowish(job):
        started.set()
        time.sleep(0.3)
        return "finished in time"

    job = queue.create("work").save()
    queue.create("work").save()
    queue.process("work", slowish)
    assert started.wait(5)
    queue.shutdown(timeout=3)
    checker = make_queue()
    assert checker.get_job(job.id).state == "complete"
    assert checker.get_job(2).state == "inactive"  # not taken after shutdown began


def test_redis_down_gives_a_clear_error():
    url = f"redis://127.0.0.1:{free_port()}/0"
    queue = pykue.create_queue(url)
    with pytest.raises(pykue.RedisUnavailable) as info:
        queue.create("work", {}).save()
    assert str(info.value).startswith(f"cannot reach Redis at {url}: ")
    assert "Connection refused" in str(info.value) or "Error" in str(info.value)
    errors = []
    queue.create("work", {}).save(lambda err: errors.append(err))
    assert isinstance(errors[0], pykue.RedisUnavailable)
    with pytest.raises(pykue.RedisUnavailable):
        queue.counts()
    queue.shutdown()


def test_a_worker_survives_a_redis_restart(redis_server, tmp_path, capfd):
    start = start_real if redis_server.kind == "real" else start_fake
    port = free_port()
    server = start(port, workdir=tmp_path / "redis")
    url = server.url
    queue = pykue.create_queue(url, prefix="t", lease_ms=400, poll_interval=0.2)
    try:
        queue.process("work", lambda job: f"done {job.id}")
        first = queue.create("work").save()
        assert queue.wait_for_jobs([first], timeout=10)
        server.stop()
        time.sleep(0.3)  # let the worker meet the dead server
        server = start(port, workdir=tmp_path / "redis")
        # a fresh server: no data, no scripts; the worker reconnects and goes on
        creator = pykue.create_queue(url, prefix="t")
        try:
            second = wait_until(lambda: _try_save(creator), "Redis to accept a job again")
            assert creator.wait_for_jobs([second], timeout=10)
            assert second.result == f"done {second.id}"
        finally:
            creator.shutdown()
    finally:
        queue.shutdown(timeout=0.5)
        server.stop()
    err = capfd.readouterr().err
    # one line when Redis is lost, one when it is back: not one per retry
    assert err.count("retrying until it answers") == 1, err
    assert err.count(f"Redis at {url} is back") == 1, err


def test_a_worker_started_while_redis_is_down_waits_for_it(redis_server, tmp_path, capfd):
    """Workers that cannot connect at start retry (no traceback) and work once Redis is up."""
    start = start_real if redis_server.kind == "real" else start_fake
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    queue = pykue.create_queue(url, prefix="t", lease_ms=400, poll_interval=0.2)
    server = None
    try:
        queue.process("work", lambda job: f"done {job.id}", concurrency=2)
        time.sleep(0.3)  # the workers meet no server
        server = start(port, workdir=tmp_path / "redis")
        creator = pykue.create_queue(url, prefix="t")
        try:
            job = creator.create("work").save()
            assert creator.wait_for_jobs([job], timeout=10)
            assert job.result == f"done {job.id}"
        finally:
            creator.shutdown()
    finally:
        queue.shutdown(timeout=0.5)
        if server is not None:
            server.stop()
    assert "Traceback" not in capfd.readouterr().err


def _try_save(queue):
    try:
        return queue.create("work").save()
    except pykue.RedisUnavailable:
        return None


def test_a_job_the_worker_cannot_read_fails_and_the_worker_goes_on(make_queue, capfd):
    queue = make_queue(lease_ms=300, max_stalls=0)
    bad = queue.create("work", {"n": 1}).save()
    queue.client.hset(queue.keys.job(bad.id), "data", "{not json")  # corrupted by hand
    good = queue.create("work", {"n": 2}).save()
    queue.process("work", lambda job: job.data["n"])
    assert queue.wait_for_jobs(timeout=10)
    assert (bad.state, good.state, good.result) == ("failed", "complete", 2)
    assert "stalled more than 0 times" in bad.error
    assert "pykue: worker error:" in capfd.readouterr().err
