"""pykue's consistency check (issue #8 item 2): each kind of corruption is found, repaired,
and the queue checks clean afterwards; a clean queue with jobs in every state reports
nothing, also while a worker holds an active job.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conftest import wait_until

from pykue.check import Problem, check, summary

REPO = Path(__file__).resolve().parents[2]
B = "{t}:"  # the key prefix of the test queues (prefix "t")
FAR = 10**15  # a score never due: the workers' sweeps must not tidy the corruption first


@pytest.fixture
def busy(make_queue):
    """A queue ``t`` with a job in every state; the active one is held by a live worker.

    Yields (queue, ids by state, redis client).
    """
    producer = make_queue()
    worker = make_queue()
    release = threading.Event()
    ids = {
        "complete": producer.create("ok", {"n": 1}).save().id,
        "failed": producer.create("bad", {"n": 2}).save().id,
        "delayed": producer.create("later", {"n": 3}).delay(60_000).save().id,
        "inactive": producer.create("nobody", {"n": 4}).save().id,
        "active": producer.create("slow", {"n": 5}).save().id,
    }
    worker.process("ok", lambda job: job.log("done") and "sent")
    worker.process("bad", lambda job: (_ for _ in ()).throw(RuntimeError("blacklisted")))
    worker.process("slow", lambda job: release.wait(20))
    for state in ("complete", "failed", "active"):
        wait_until(
            lambda s=state: producer.client.hget(f"{B}job:{ids[s]}", "state") == s,
            f"job {ids[state]} to be {state}",
        )
    yield producer, ids, producer.client
    release.set()


def kinds(problems: list[Problem]) -> set[str]:
    return {p.kind for p in problems}


def found_repaired_clean(queue, kind: str, *words: str) -> list[Problem]:
    """Check finds ``kind`` (messages holding ``words``), repair fixes it, check is clean."""
    problems = check(queue)
    assert kind in kinds(problems), f"check missed the {kind} problem: {problems}"
    text = "\n".join(str(p) for p in problems)
    for word in words:
        assert word in text, f"{word!r} not in:\n{text}"
    assert not any(p.repaired for p in problems)
    repaired = check(queue, repair=True)
    assert [(p.kind, p.job_id) for p in repaired] == [(p.kind, p.job_id) for p in problems]
    assert all(p.repaired for p in repaired), repaired
    assert check(queue) == []
    return repaired


def in_set(client, key: str, job_id) -> bool:
    return client.zscore(key, job_id) is not None


def test_a_clean_queue_with_jobs_in_every_state_reports_nothing(busy):
    queue, ids, _ = busy
    assert check(queue) == []
    assert check(queue, repair=True) == []
    assert check(queue.client, "t") == []  # a plain client and a prefix work too
    assert summary([]) == "queue consistent: no problems"


def test_an_empty_queue_and_another_prefix_report_nothing(busy):
    queue, _, _ = busy
    assert check(queue.client, "other") == []


def test_job_in_a_second_state_set(busy):
    queue, ids, client = busy
    client.zadd(f"{B}jobs:complete", {ids["failed"]: ids["failed"]})
    found_repaired_clean(queue, "state_set", f"job {ids['failed']} (failed", "jobs:complete")
    assert not in_set(client, f"{B}jobs:complete", ids["failed"])
    assert in_set(client, f"{B}jobs:failed", ids["failed"])


def test_inactive_job_missing_from_its_wait_set_is_put_back_and_runs(busy, make_queue):
    queue, ids, client = busy
    client.zrem(f"{B}wait:nobody", ids["inactive"])
    assert queue.count("inactive") == 0
    found_repaired_clean(queue, "state_set", "is missing from {t}:wait:nobody")
    assert queue.count("inactive") == 1
    ran = []
    make_queue().process("nobody", lambda job: ran.append(job.id))
    wait_until(lambda: ran == [ids["inactive"]], "the repaired job to run")


def test_hash_state_is_the_truth_when_the_sets_disagree(busy):
    queue, ids, client = busy
    job = ids["inactive"]
    client.hset(f"{B}job:{job}", "state", "failed")  # sets still say inactive
    found_repaired_clean(queue, "state_set", "{t}:wait:nobody", "{t}:jobs:failed")
    assert not in_set(client, f"{B}wait:nobody", job)
    assert in_set(client, f"{B}jobs:failed", job)
    assert in_set(client, f"{B}type:nobody:failed", job)


def test_delayed_job_missing_from_the_delayed_schedule(busy):
    queue, ids, client = busy
    job = ids["delayed"]
    due = client.hget(f"{B}job:{job}", "promote_at")
    client.zrem(f"{B}delayed", job)
    found_repaired_clean(queue, "state_set", "missing from {t}:delayed")
    assert client.zscore(f"{B}delayed", job) == float(due)


def test_inactive_job_also_listed_as_delayed(busy):
    queue, ids, client = busy
    job = ids["inactive"]
    client.zadd(f"{B}delayed", {job: FAR})
    client.zadd(f"{B}jobs:delayed", {job: job})
    client.zadd(f"{B}type:nobody:delayed", {job: job})
    repaired = found_repaired_clean(queue, "state_set", "{t}:delayed")
    assert len(repaired) == 3
    assert client.zcard(f"{B}delayed") == 1  # only the really delayed job


def test_active_job_without_a_lease_goes_back_to_inactive(busy):
    queue, ids, client = busy
    job = ids["inactive"]
    client.zrem(f"{B}wait:nobody", job)
    client.hset(f"{B}job:{job}", mapping={"state": "active", "token": "lost-worker"})
    found_repaired_clean(queue, "lease", f"job {job} is active without a lease")
    fields = client.hgetall(f"{B}job:{job}")
    assert fields["state"] == "inactive" and "token" not in fields
    assert in_set(client, f"{B}wait:nobody", job)


def test_lease_token_on_a_job_that_is_not_active(busy):
    queue, ids, client = busy
    client.hset(f"{B}job:{ids['complete']}", "token", "stale")
    found_repaired_clean(queue, "lease", "is complete but holds a lease token")
    assert client.hget(f"{B}job:{ids['complete']}", "token") is None


def test_lease_entry_of_a_job_that_is_not_active(busy):
    queue, ids, client = busy
    client.zadd(f"{B}active", {ids["complete"]: FAR})
    found_repaired_clean(queue, "state_set", "is listed in {t}:active")
    assert client.zcard(f"{B}active") == 1  # the live worker's job stays


def test_job_in_the_index_of_another_type(busy):
    queue, ids, client = busy
    job = ids["failed"]
    client.zadd(f"{B}type:ok", {job: job})
    client.zadd(f"{B}type:ok:failed", {job: job})
    client.zrem(f"{B}type:bad", job)
    repaired = found_repaired_clean(queue, "state_set", "{t}:type:ok:failed", "from {t}:type:bad")
    assert len(repaired) == 3
    assert queue.count("failed", "ok") == 0 and queue.count("failed", "bad") == 1


def test_job_missing_from_the_all_jobs_index_and_type_set(busy):
    queue, ids, client = busy
    client.zrem(f"{B}jobs", ids["delayed"])
    client.srem(f"{B}types", "later")
    found_repaired_clean(queue, "type_index", "type later")
    assert in_set(client, f"{B}jobs", ids["delayed"])
    assert "later" in queue.types()


@pytest.mark.parametrize(
    "key", ["jobs", "jobs:failed", "wait:nobody", "active", "delayed", "type:ghost:complete"]
)
def test_orphan_index_entries_are_dropped(busy, key):
    queue, _, client = busy
    client.zadd(B + key, {"99": FAR})
    found_repaired_clean(queue, "orphan", f"{{t}}:{key} lists job 99, which does not exist")
    assert not in_set(client, B + key, 99)


def test_orphan_log_is_dropped(busy):
    queue, _, client = busy
    client.rpush(f"{B}job:42:log", "left behind")
    found_repaired_clean(queue, "orphan", "log of job 42")
    assert not client.exists(f"{B}job:42:log")


def test_id_counter_below_the_highest_id(busy):
    queue, ids, client = busy
    client.set(f"{B}ids", 2)
    found_repaired_clean(queue, "id_counter", "below the highest job id 5")
    assert queue.create("ok").save().id == 6


def test_a_hash_without_a_valid_state_is_reported_not_guessed(busy):
    queue, ids, client = busy
    client.hset(f"{B}job:{ids['complete']}", "state", "sleeping")
    problems = check(queue, repair=True)
    assert [(p.kind, p.repaired) for p in problems] == [("bad_hash", False)]
    assert "cannot tell where it belongs" in problems[0].message
    assert check(queue) == problems


# -- the command line ------------------------------------------------------------------------


def run_check(redis_url: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    argv = [sys.executable, "-m", "pykue", "check", "--redis", redis_url, "--prefix", "t", *args]
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=30)


def test_cli_check_and_repair(busy, redis_url):
    _, ids, client = busy
    clean = run_check(redis_url)
    assert (clean.returncode, clean.stdout) == (0, "queue consistent: no problems\n")
    client.zadd(f"{B}jobs:failed", {"99": 99})
    client.hset(f"{B}job:{ids['complete']}", "token", "stale")
    found = run_check(redis_url)
    assert found.returncode == 1, found.stdout + found.stderr
    assert found.stdout.splitlines() == [
        "lease: job 1 is complete but holds a lease token",
        "orphan: {t}:jobs:failed lists job 99, which does not exist",
        "2 problems found",
    ]
    fixed = run_check(redis_url, "--repair")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert fixed.stdout.splitlines()[-1] == "2 problems found, 2 repaired; consistent now"
    assert run_check(redis_url).returncode == 0
    client.hset(f"{B}job:{ids['complete']}", "state", "")
    stuck = run_check(redis_url, "--repair")
    assert stuck.returncode == 1
    assert "still: bad_hash: job 1 has type ok and state " in stuck.stdout


def test_check_and_repair_while_workers_run_find_nothing(make_queue):
    """Every move is atomic and so is each job's check: a busy queue is never "broken"."""
    producer = make_queue()
    jobs = []
    for n in range(150):
        job = producer.create("email", {"n": n}).attempts(2)
        if n % 10 == 0:
            job.delay(30)
        jobs.append(job.save())

    def handler(job):
        job.progress(1, 2)
        if job.data["n"] % 7 == 0 and job.attempts_made == 0:
            raise RuntimeError("first attempt fails")
        return job.data["n"]

    for _ in range(2):
        make_queue().process("email", handler, concurrency=2)
    seen: list[Problem] = []
    rounds = 0
    while producer.count("complete") < len(jobs):
        seen += check(producer, repair=True)
        rounds += 1
        assert rounds < 500, f"jobs did not complete: {producer.counts()}"
    assert seen == [], "\n".join(map(str, seen))
    assert rounds >= 1  # the check ran (repairing) while jobs were still in flight
    assert check(producer) == []
    assert producer.counts() == {
        "inactive": 0,
        "delayed": 0,
        "active": 0,
        "complete": 150,
        "failed": 0,
    }
