"""pykue on a real 3-node Redis Cluster (issue 8, item 3).

Every key of a queue carries the hash tag ``{prefix}``, so each Lua script touches one
slot and the cluster client sends it to the node serving that slot. Each test uses a
prefix whose slot lives on a node OTHER than the seed the queue was pointed at, so a
pass proves the routing (a plain client on the seed gets MOVED for those keys).

Needs the real ``redis-server`` and ``redis-cli``; skipped on fakeredis (no cluster mode).
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import tempfile
import time

import pytest
import redis
from cluster import prefix_on_other_node, skip_reason, start_cluster
from conftest import REPO, wait_until

import pykue

WORKER = REPO / "examples" / "scaleout" / "worker.py"
SKIP = skip_reason()
pytestmark = pytest.mark.skipif(SKIP is not None, reason=SKIP or "")
_names = itertools.count()


@pytest.fixture(scope="module")
def cluster():
    running = start_cluster()
    yield running
    running.stop()


@pytest.fixture
def prefix(cluster) -> str:
    """A fresh queue prefix whose slot is NOT on the seed node."""
    return prefix_on_other_node(cluster, base=f"c{next(_names)}n")


@pytest.fixture
def make_queue(cluster, prefix):
    made: list[pykue.Queue] = []

    def make(**options) -> pykue.Queue:
        options.setdefault("lease_ms", 500)
        options.setdefault("poll_interval", 0.2)
        queue = pykue.create_queue(cluster.url, prefix=prefix, **options)
        made.append(queue)
        return queue

    yield make
    for queue in made:
        queue.shutdown(timeout=0.5)


class Worker:
    """examples/scaleout/worker.py in a subprocess, on the cluster."""

    def __init__(self, url: str, prefix: str, *args: str) -> None:
        env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=str(REPO))
        self.name = f"w{next(_names)}"
        self.stderr = tempfile.TemporaryFile("w+")  # a file: a chatty worker never blocks
        self.proc = subprocess.Popen(
            [sys.executable, str(WORKER), "--redis", url, "--prefix", prefix]
            + ["--name", self.name, "--lease-ms", "500", *args],
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
            env=env,
        )
        line = self.proc.stdout.readline()
        if line.strip() != "ready":
            self.kill()
            raise AssertionError(f"worker did not start: {line!r} {self.errors()}")

    def errors(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()

    def stop(self) -> tuple[int, str]:
        """SIGTERM; (exit code, stderr)."""
        self.proc.terminate()
        return self.proc.wait(timeout=10), self.errors()


@pytest.fixture
def worker(cluster, prefix):
    started: list[Worker] = []

    def start(*args: str) -> Worker:
        started.append(Worker(cluster.url, prefix, *args))
        return started[-1]

    yield start
    for w in started:
        w.kill()


def test_the_queue_slot_lives_on_another_node_and_pykue_follows_it(cluster, prefix, make_queue):
    owner = cluster.slot_owner("{" + prefix + "}:ids")
    assert owner != cluster.ports[0], "the test must use a slot the seed does not serve"
    queue = make_queue()
    job = queue.create("email", {"to": "a@b.c"}).save()
    assert job.id == 1
    # the job's hash is on the owner node; the seed only redirects (MOVED) for that slot
    assert cluster.client(owner).hget(queue.keys.job(1), "type") == "email"
    with pytest.raises(redis.ResponseError, match="MOVED"):
        cluster.client().hget(queue.keys.job(1), "type")
    # and a RedisCluster client works as well as the URL
    other = pykue.create_queue(redis=cluster.cluster_client(), prefix=prefix)
    try:
        assert other.cluster
        assert other.get_job(1).data == {"to": "a@b.c"}
        assert other.create("email", {"to": "d@e.f"}).save().id == 2
    finally:
        other.shutdown(timeout=0.5)


def test_create_process_and_events_reach_the_creator(make_queue, worker):
    queue = make_queue()
    lines: list[str] = []
    queue.on("job complete", lambda job_id, result: lines.append(f"queue: {job_id} complete"))
    jobs = []
    for n, data in ((1, {"progress": True}), (2, {"progress": True, "fail": "blacklisted"})):
        job = queue.create("work", data)
        job.on("start", lambda *, _n=n: lines.append(f"{_n} start"))
        job.on("progress", lambda p, *, _n=n: lines.append(f"{_n} {p}%"))
        job.on("complete", lambda r, *, _n=n: lines.append(f"{_n} complete {sorted(r)}"))
        job.on("failed", lambda e, *, _n=n: lines.append(f"{_n} failed: {e}"))
        jobs.append(job.save())
    w = worker("--work-ms", "0")
    assert queue.wait_for_jobs(timeout=15), lines
    assert [x for x in lines if x.startswith("1 ")] == ["1 start", "1 50%", "1 complete ['worker']"]
    assert [x for x in lines if x.startswith("2 ")] == ["2 start", "2 50%", "2 failed: blacklisted"]
    assert "queue: 1 complete" in lines
    assert queue.get_job(1).result == {"worker": w.name}
    assert jobs[0].logs() == [f"worker {w.name} ran job 1"]
    code, err = w.stop()
    assert code == 0 and "Traceback" not in err, err


def test_delayed_job_is_promoted_and_run(make_queue, worker):
    queue = make_queue()
    worker("--work-ms", "0")
    started = time.monotonic()
    job = queue.create("work", {}).delay(400).save()
    assert queue.get_job(job.id).state == "delayed"
    assert queue.count("delayed") == 1
    assert queue.wait_for_jobs(timeout=10)
    assert job.state == "complete"
    assert time.monotonic() - started >= 0.4


def test_a_killed_workers_job_completes_on_another_worker(make_queue, worker):
    queue = make_queue()
    job = queue.create("work", {}).save()
    victim = worker("--mode", "hang")
    runs = queue.keys.base + "runs"
    wait_until(lambda: queue.client.hget(runs, job.id) == "1", "the hanging worker to take it")
    assert queue.get_job(job.id).state == "active"
    victim.kill()  # SIGKILL: no shutdown; its 500 ms lease lapses
    survivor = worker("--work-ms", "0")
    assert queue.wait_for_jobs(timeout=15), queue.counts()
    stored = queue.get_job(job.id)
    assert stored.state == "complete"
    assert stored.result == {"worker": survivor.name}
    assert int(queue.client.hget(queue.keys.job(job.id), "stalls")) == 1
    assert queue.client.hgetall(queue.keys.base + "by_worker") == {
        victim.name: "1",
        survivor.name: "1",
    }


def test_counts_lookup_and_ranges(make_queue, worker):
    queue = make_queue()
    queue.create_bulk("email", [{"n": n} for n in range(5)])
    queue.create("sms", {"fail": "no signal"}).save()
    queue.create("sms", {}).delay(60_000).save()
    assert queue.counts() == {"inactive": 6, "delayed": 1, "active": 0, "complete": 0, "failed": 0}
    assert queue.types() == ["email", "sms"]
    worker("--type", "email", "--work-ms", "0")
    worker("--type", "sms", "--work-ms", "0")
    wait_until(
        lambda: queue.count("complete") == 5 and queue.count("failed") == 1,
        "5 complete and 1 failed",
        timeout=15,
    )
    assert queue.counts() == {"inactive": 0, "delayed": 1, "active": 0, "complete": 5, "failed": 1}
    assert queue.count("complete", "email") == 5
    assert [j.id for j in queue.jobs("complete", "email", 0, 2, "desc")] == [5, 4, 3]
    assert [j.id for j in queue.jobs("failed")] == [6]
    assert queue.get_job(6).error == "no signal"
    assert queue.get_job(7).state == "delayed"
    assert queue.get_job(99) is None


def run_check(cluster, prefix: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pykue", "check", "--redis", cluster.url, "--prefix", prefix, *args],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=REPO,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
    )


def test_check_finds_and_repairs_on_the_cluster(cluster, prefix, make_queue):
    queue = make_queue()
    queue.create_bulk("email", [{"n": n} for n in range(3)])
    queue.process("email", lambda job: job.id)
    assert queue.wait_for_jobs(timeout=10)
    fine = run_check(cluster, prefix)
    assert fine.returncode == 0, fine.stdout + fine.stderr
    assert "no problems" in fine.stdout
    queue.client.zrem(queue.keys.state("complete"), 2)  # job 2 drops out of its state set
    broken = run_check(cluster, prefix)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "2" in broken.stdout and "complete" in broken.stdout, broken.stdout
    repaired = run_check(cluster, prefix, "--repair")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert "repaired" in repaired.stdout
    assert queue.client.zscore(queue.keys.state("complete"), 2) == 2
    assert run_check(cluster, prefix).returncode == 0


def test_dashboard_json_api_on_the_cluster(make_queue):
    from fastapi.testclient import TestClient

    from pykue.web import create_app

    queue = make_queue()
    queue.create_bulk("email", [{"n": 1}, {"n": 2}])
    client = TestClient(create_app(queue), base_url="http://localhost")  # an allowed Host
    assert client.get("/stats").json()["inactiveCount"] == 2
    assert client.post("/job", json={"type": "email", "data": {"n": 3}}).json()["id"] == 3
    assert [j["id"] for j in client.get("/jobs/inactive/0..10/asc").json()] == [1, 2, 3]
    assert client.put("/job/1/state/complete").status_code == 200
    assert client.delete("/job/2").status_code == 200
    assert client.put("/job/3/state/active").status_code == 200  # the dashboard's own script
    assert [j["id"] for j in client.get("/jobs/0..-1").json()] == [1, 3]
    assert client.get("/job/search?q=3").json() == ["3"]
    assert client.get("/job/3").json()["state"] == "active"
    assert queue.counts() == {"inactive": 0, "delayed": 0, "active": 1, "complete": 1, "failed": 0}
