"""Issue 16: ``process(..., prefetch=K)`` on a real 3-node Redis Cluster: the batch script
(``move_batch.lua``) touches one slot like every other script, so the cluster client sends
it to the node serving the queue's slot (a node other than the seed the queue was given).

Needs the real ``redis-server`` and ``redis-cli``; skipped on fakeredis (no cluster mode).
"""

from __future__ import annotations

import threading

import pytest
from cluster import prefix_on_other_node, skip_reason, start_cluster

import pykue

SKIP = skip_reason()
pytestmark = pytest.mark.skipif(SKIP is not None, reason=SKIP or "")


@pytest.fixture(scope="module")
def cluster():
    running = start_cluster()
    yield running
    running.stop()


def test_prefetch_runs_every_job_once_on_the_cluster(cluster):
    prefix = prefix_on_other_node(cluster, base="pf")
    queue = pykue.create_queue(cluster.url, prefix=prefix, lease_ms=1000, poll_interval=0.2)
    try:
        jobs = queue.create_bulk("work", [{"n": n} for n in range(120)])
        ran: list[int] = []
        lock = threading.Lock()

        def handler(job):
            with lock:
                ran.append(job.id)
            return job.data["n"] + 1

        queue.process("work", handler, concurrency=2, prefetch=8)
        assert queue.wait_for_jobs(timeout=60), queue.counts()
        assert sorted(ran) == [job.id for job in jobs]
        assert queue.counts()["complete"] == 120
        assert [job.result for job in jobs] == [n + 1 for n in range(120)]
        assert queue.get_job(jobs[7].id).result == 8
    finally:
        queue.shutdown(timeout=1)
