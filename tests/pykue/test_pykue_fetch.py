"""pykue speed work: a worker's job carries every attribute (the rarely used ones are read
from Redis when first used), and a worker makes one script call per job."""

from __future__ import annotations

import pytest


def test_a_handler_sees_every_attribute_of_its_job(queue):
    seen = []

    def handler(job):
        job.progress(3, 10)
        seen.append(
            (
                job.id,
                job.type,
                job.data,
                job.priority_value,
                job.attempts_made,
                job.max_attempts,
                job.ttl_ms,
                job.backoff_config,
                job.progress_percent,  # set by progress() above, not re-read
                job.error,
                job.stalls,
                job.unique_key,
                job.state,
                isinstance(job.created_at, int) and isinstance(job.started_at, int),
            )
        )
        if job.attempts_made == 0:
            raise RuntimeError("first try fails")
        return "ok"

    job = (
        queue.create("work", {"n": 1})
        .priority("high")
        .attempts(2)
        .ttl(5000)
        .backoff({"type": "fixed", "delay": 0})
        .unique("u1")
        .save()
    )
    queue.process("work", handler)
    assert queue.wait_for_jobs(timeout=10)
    common = (job.id, "work", {"n": 1}, -10)
    assert seen == [
        (*common, 0, 2, 5000, {"type": "fixed", "delay": 0}, 30, None, 0, "u1", "active", True),
        (*common, 1, 2, 5000, {"type": "fixed", "delay": 0}, 30, "first try fails", 0, "u1",
         "active", True),
    ]  # fmt: skip
    with pytest.raises(AttributeError):
        _ = queue.get_job(job.id).no_such_attribute


def test_one_script_call_per_job_in_steady_state(queue, redis_server):
    if redis_server.kind != "real":
        pytest.skip("needs INFO commandstats (a real redis-server)")
    queue.create_bulk("work", [{"n": i} for i in range(200)])
    before = queue.client.info("commandstats")
    queue.process("work", lambda job: None)
    assert queue.wait_for_jobs(timeout=20)
    after = queue.client.info("commandstats")

    def calls(name):
        return after.get(name, {}).get("calls", 0) - before.get(name, {}).get("calls", 0)

    # 200 jobs: one move_to_finished each (the first job is fetched by move_to_active);
    # the heartbeat adds a few calls of its own (leases, sweeps, promotions)
    assert 200 <= calls("cmdstat_evalsha") <= 200 + 40
