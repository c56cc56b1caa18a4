"""Issue 16: ``queue.process(type, handler, prefetch=K)``: a worker takes up to K jobs in one
script call and finishes them in the call that takes the next K. Each job is still leased
and fenced on its own: every job runs exactly once, a stale worker cannot finish a job it
lost, a kill -9 loses none, a shutdown gives back the jobs it never started."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
from collections import Counter

import pytest
from conftest import REPO, wait_until

import pykue
from pykue import scripts

# A worker process we can kill: records "<id>:<pid>" for each run, prefetches 8.
VICTIM = """
import os, sys, time, pykue
queue = pykue.create_queue(sys.argv[1], prefix="t", lease_ms=1000)
pid = os.getpid()
def record(job):
    queue.client.rpush("{t}:ran", f"{job.id}:{pid}")
    time.sleep(0.02)
queue.process("work", record, prefetch=8)
print("ready", flush=True)
queue.run()
"""


def executions(queue) -> list[tuple[int, int]]:
    return [tuple(map(int, r.split(":"))) for r in queue.client.lrange("{t}:ran", 0, -1)]


def test_every_job_runs_exactly_once_and_ends_as_its_handler_says(make_queue):
    queue = make_queue()
    jobs = queue.create_bulk("work", [{"n": n} for n in range(300)])
    ran: list[int] = []
    lock = threading.Lock()

    def handler(job):
        with lock:
            ran.append(job.id)
        if job.data["n"] % 7 == 0:
            raise ValueError(f"no {job.data['n']}")
        return job.data["n"] * 2

    queue.process("work", handler, concurrency=2, prefetch=8)
    assert queue.wait_for_jobs(timeout=60), queue.counts()
    assert sorted(ran) == [job.id for job in jobs]  # each once
    failing = {job.id for job in jobs if job.data["n"] % 7 == 0}
    assert queue.counts() == {
        "inactive": 0, "delayed": 0, "active": 0,
        "complete": 300 - len(failing), "failed": len(failing),
    }  # fmt: skip
    for job in jobs:
        stored = queue.get_job(job.id)
        if job.id in failing:
            expected = ("failed", "failed", f"no {job.data['n']}")
            assert (job.state, stored.state, stored.error) == expected
        else:
            twice = job.data["n"] * 2
            assert (job.state, job.result, stored.result, stored.attempts_made) == (
                "complete", twice, twice, 1
            )  # fmt: skip


def test_a_failed_attempt_of_a_prefetched_job_is_retried(make_queue):
    queue = make_queue()
    job = queue.create("work").attempts(3).save()
    queue.create_bulk("work", [{}, {}])
    tries: Counter = Counter()

    def flaky(j):
        tries[j.id] += 1
        if j.id == job.id and tries[j.id] < 3:
            raise RuntimeError("not yet")
        return tries[j.id]

    queue.process("work", flaky, prefetch=4)
    assert queue.wait_for_jobs(timeout=30)
    stored = queue.get_job(job.id)
    assert (stored.state, stored.result, stored.attempts_made, tries[job.id]) == (
        "complete",
        3,
        3,
        3,
    )
    assert queue.count("complete") == 3


def test_a_prefetched_job_whose_lease_was_lost_is_not_finished_by_the_stale_worker(
    make_queue, capfd
):
    queue = make_queue()
    jobs = queue.create_bulk("work", [{"n": n} for n in range(4)])
    first_started, release = threading.Event(), threading.Event()
    ran: list[int] = []

    def handler(job):
        ran.append(job.id)
        if job.id == jobs[0].id:
            first_started.set()
            release.wait(10)
        return "stale worker"

    queue.process("work", handler, prefetch=4)  # takes all four in one call
    assert first_started.wait(10)
    wait_until(lambda: queue.count("active") == 4, "the worker to hold all four jobs")
    # Job 3 loses its lease while it waits in the worker's batch: it goes back to inactive
    # and another worker ("thief") takes it, as after a lapsed lease and the stall sweep.
    victim = jobs[2].id
    token = queue.client.hget(queue.keys.job(victim), "token")
    keys, base = queue.keys.fixed, queue.keys.base
    assert scripts.load("move_to_inactive")(queue.client, keys, [base, victim, token]) == 1
    fields = scripts.load("move_to_active")(queue.client, keys, [base, "work", "thief:1", 10_000])
    assert int(fields[0]) == victim
    release.set()
    wait_until(lambda: queue.count("complete") == 3, "the other three to complete")
    wait_until(lambda: queue.count("active") == 1, "the worker's batch to be reported")
    stored = queue.get_job(victim)
    assert stored.state == "active", "the stale worker finished a job it no longer held"
    assert queue.client.hget(queue.keys.job(victim), "token") == "thief:1"
    assert sorted(ran) == [job.id for job in jobs]  # it ran it, but its finish was refused
    assert f"job {victim} was not finished by this worker" in capfd.readouterr().err
    status, _ = scripts.load("move_to_finished")(
        queue.client, keys, [base, victim, "thief:1", "complete", '"thief"', "", "", 10_000]
    )
    assert status == "complete"
    assert queue.get_job(victim).result == "thief"


def test_kill_9_of_a_worker_holding_prefetched_jobs_loses_none(make_queue, redis_url):
    queue = make_queue(lease_ms=1000)
    total = 300
    jobs = queue.create_bulk("work", [{"n": n} for n in range(total)])
    env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=str(REPO))
    with tempfile.TemporaryFile("w+") as err:
        victim = subprocess.Popen(
            [sys.executable, "-c", VICTIM, redis_url],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            env=env,
        )
        try:
            assert victim.stdout.readline().strip() == "ready", err.seek(0) or err.read()
            wait_until(
                lambda: len(executions(queue)) >= 40, "the victim to run 40 jobs", timeout=30
            )
        finally:
            victim.kill()  # SIGKILL while it holds a batch: its leases simply lapse
            victim.wait()
            victim.stdout.close()
    assert queue.count("complete") < total - 100, "the kill came too late to test anything"
    held_at_kill = queue.count("active")
    assert 1 <= held_at_kill <= 8, held_at_kill  # one batch, still leased
    survivor = make_queue(lease_ms=1000)
    survivor.process("work", lambda job: queue.client.rpush("{t}:ran", f"{job.id}:0"), prefetch=4)
    assert queue.wait_for_jobs(timeout=60), queue.counts()
    assert queue.counts() == {
        "inactive": 0, "delayed": 0, "active": 0, "complete": total, "failed": 0
    }  # fmt: skip
    per_job = Counter(job_id for job_id, _ in executions(queue))
    assert set(per_job) == {job.id for job in jobs}, "some job never ran"
    # Only the jobs of the batch held at the kill came back by the stall sweep; only they
    # may have run twice (ran in the victim, not yet reported: then in the survivor).
    stalled = {job.id for job in queue.jobs("complete") if job.stalls}
    assert len(stalled) == held_at_kill
    twice = {job_id for job_id, n in per_job.items() if n > 1}
    assert twice <= stalled, (twice, stalled)
    assert all(n <= 2 for n in per_job.values())


def test_shutdown_gives_back_the_prefetched_jobs_it_never_started(make_queue):
    queue = make_queue()
    jobs = queue.create_bulk("work", [{"n": n} for n in range(8)])
    started = threading.Event()
    ran: list[int] = []

    def handler(job):
        ran.append(job.id)
        started.set()
        threading.Event().wait(0.3)
        return "done"

    queue.process("work", handler, prefetch=8)
    assert started.wait(10)
    queue.shutdown(timeout=5)  # the running job finishes; the seven others never start
    assert ran == [jobs[0].id]
    counts = queue.counts()
    assert (counts["complete"], counts["inactive"], counts["active"]) == (1, 7, 0), counts
    assert queue.get_job(jobs[0].id).result == "done"


def test_prefetch_must_be_a_positive_int(queue):
    for bad in (0, -1, 1001, 1.5, True, "4"):
        with pytest.raises(ValueError, match="prefetch"):
            queue.process("work", lambda job: None, prefetch=bad)


def test_test_mode_accepts_prefetch_and_runs_each_job_once():
    queue = pykue.create_queue("redis://127.0.0.1:1/0")  # never connects: test mode
    queue.test_mode.enter(process=True)
    try:
        ran: list[int] = []
        queue.process("work", lambda job: ran.append(job.data["n"]) or job.data["n"], prefetch=16)
        jobs = [queue.create("work", {"n": n}).save() for n in range(5)]
        assert ran == [0, 1, 2, 3, 4]
        assert [(j.state, j.result) for j in jobs] == [("complete", n) for n in range(5)]
    finally:
        queue.test_mode.exit()
        queue.shutdown(timeout=0)
