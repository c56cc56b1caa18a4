"""pykue across processes: events reach the creator; a kill -9 loses no job (item 9)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
from conftest import HERE, REPO, wait_until

from pykue import scripts


def test_events_reach_the_creator_while_a_worker_process_runs_the_job(queue, worker_process):
    lines = []
    queue.on("job complete", lambda job_id, result: lines.append(f"queue: {job_id} {result}"))
    jobs = []
    for n, blacklisted in ((1, False), (2, True)):
        job = queue.create("work", {"n": n, "blacklisted": blacklisted})
        job.on("start", lambda *, _n=n: lines.append(f"{_n} start"))
        job.on("progress", lambda p, d, *, _n=n: lines.append(f"{_n} {p}% {d}"))
        job.on("complete", lambda r, *, _n=n: lines.append(f"{_n} complete {r}"))
        job.on("failed", lambda e, *, _n=n: lines.append(f"{_n} failed: {e}"))
        jobs.append(job.save())
    worker = worker_process("notify")
    assert queue.wait_for_jobs(timeout=15), lines
    assert [line for line in lines if line.startswith("1 ")] == [
        "1 start",
        "1 0% None",
        "1 50% {'half': True}",
        "1 complete {'sent': 1}",
    ]
    assert [line for line in lines if line.startswith("2 ")] == [
        "2 start",
        "2 0% None",
        "2 failed: job 2 blacklisted",
    ]
    assert "queue: 1 {'sent': 1}" in lines
    assert jobs[0].logs() == ["sending 1"]
    assert worker.stop() == 0  # SIGTERM: clean exit


def test_a_lost_event_cannot_make_the_creator_hang(queue, worker_process, monkeypatch):
    # Drop every pub/sub message, as if the subscription had been cut: polling takes over.
    monkeypatch.setattr(queue.hub, "_handle", lambda raw: None)
    done = []
    job = queue.create("work", {"n": 1}).on("complete", lambda result: done.append(result))
    job.save()
    worker_process("notify")
    assert queue.wait_for_jobs(timeout=10)
    assert done == [{"sent": 1}]


def executions(queue) -> list[tuple[int, int]]:
    return [tuple(map(int, x.split(":"))) for x in queue.client.lrange("{t}:ran", 0, -1)]


@pytest.mark.parametrize("concurrency", [1, 3])
def test_kill_9_a_worker_mid_way_loses_no_job(queue, worker_process, concurrency):
    total = 500
    jobs = queue.create_bulk("work", [{"n": n} for n in range(total)])
    # The victim runs alone, slowly enough (30 ms a job) that hundreds of jobs are left
    # when it is killed however busy the machine is; the survivor starts after the kill.
    victim = worker_process(
        "record", "--concurrency", str(concurrency), "--lease-ms", "1000", "--work-ms", "30"
    )

    def victim_started() -> int:
        return sum(1 for _, pid in executions(queue) if pid == victim.pid)

    wait_until(lambda: victim_started() >= 50, "the first worker to run 50 jobs", timeout=30)
    victim.kill()  # SIGKILL mid-way: no shutdown, its leases simply lapse
    left_at_kill = total - queue.count("complete")
    assert left_at_kill > 100, "the kill came too late to test anything"
    killed_at = time.monotonic()
    survivor = worker_process(
        "record", "--concurrency", "2", "--lease-ms", "1000", "--work-ms", "4"
    )
    assert queue.wait_for_jobs(timeout=60), queue.counts()
    assert time.monotonic() - killed_at < 30
    assert queue.counts() == {
        "inactive": 0, "delayed": 0, "active": 0, "complete": total, "failed": 0
    }  # fmt: skip
    assert all(job.state == "complete" for job in jobs)
    runs = executions(queue)
    per_job = Counter(job_id for job_id, _ in runs)
    assert set(per_job) == {job.id for job in jobs}, "some job never ran"
    assert all(n <= 2 for n in per_job.values()), per_job.most_common(3)
    twice = {job_id for job_id, n in per_job.items() if n > 1}
    # The jobs the killed worker held when it died are exactly those whose lease lapsed
    # (stall count 1): at most one per worker thread. Only they may have run twice, first
    # in the killed worker, then in the survivor.
    stalled = {job.id for job in queue.jobs("complete") if job.stalls}
    assert len(stalled) <= concurrency, stalled
    assert twice <= stalled, (twice, stalled)
    for job_id in twice:
        pids = [pid for j, pid in runs if j == job_id]
        assert pids == [victim.pid, survivor.pid]
    assert survivor.stop() == 0
    print(
        f"\nfault test c={concurrency}: killed with {left_at_kill} of {total} jobs left; "
        f"all complete; {len(runs)} executions; lease lapsed: {sorted(stalled)}; "
        f"ran twice: {sorted(twice)}"
    )


def test_each_job_runs_once_with_two_healthy_workers(queue, worker_process):
    jobs = queue.create_bulk("work", [{"n": n} for n in range(200)])
    worker_process("record", "--concurrency", "2")
    worker_process("record", "--concurrency", "2")
    assert queue.wait_for_jobs(timeout=30)
    per_job = Counter(job_id for job_id, _ in executions(queue))
    assert sorted(per_job) == [job.id for job in jobs]
    assert set(per_job.values()) == {1}
    assert scripts.load("move_to_active").sha  # scripts load by name


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_waiting_creator_stops_cleanly_on_ctrl_c_and_sigterm(redis_url, sig):
    env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "creator_proc.py"), redis_url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout.readline() == "created 1\n"
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert (out, proc.returncode) == ("finished False\n", 0), err
    assert "Traceback" not in err
