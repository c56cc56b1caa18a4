"""pykue: unique jobs, restart only from given states, a second stop signal hurries shutdown."""

from __future__ import annotations

import signal
import threading
import time

import pytest
from conftest import wait_until

# -- unique jobs ---------------------------------------------------------------------------


def test_a_unique_key_saves_one_job_and_points_duplicates_at_it(queue):
    first = queue.create("email", {"to": "a"}).unique("welcome:a").save()
    again = queue.create("email", {"to": "a, again"}).unique("welcome:a").save()
    other = queue.create("email", {"to": "b"}).unique("welcome:b").save()
    assert (first.id, first.duplicate) == (1, False)
    assert (again.id, again.duplicate, again.state) == (1, True, "inactive")
    assert (other.id, other.duplicate) == (2, False)
    assert queue.count("inactive") == 2
    assert queue.get_job(1).data == {"to": "a"}  # the duplicate changed nothing

    heard = []
    first.on("complete", lambda r: heard.append(("first", r)))
    again.on("complete", lambda r: heard.append(("again", r)))
    queue.process("email", lambda job: job.data["to"])
    assert queue.wait_for_jobs([first, again, other], timeout=10)
    assert sorted(heard) == [("again", "a"), ("first", "a")]
    assert (again.state, again.result) == ("complete", "a")


def test_unique_check_and_create_is_atomic_across_clients(make_queue):
    queues = [make_queue() for _ in range(8)]
    for q in queues:
        q._prepare()
    barrier = threading.Barrier(len(queues))
    saved = []

    def save(q):
        job = q.create("report", {"by": id(q)}).unique("monthly")
        barrier.wait()
        saved.append(job.save())

    threads = [threading.Thread(target=save, args=(q,)) for q in queues]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(saved) == 8
    assert {job.id for job in saved} == {1}
    assert sorted(job.duplicate for job in saved) == [False] + [True] * 7
    assert queues[0].count("inactive") == 1


def test_a_finished_unique_job_still_counts_until_removed(queue):
    job = queue.create("email").unique("once").save()
    queue.process("email", lambda job: "sent")
    assert queue.wait_for_jobs(timeout=10)
    dup = queue.create("email").unique("once").save()
    assert (dup.id, dup.duplicate, dup.state) == (job.id, True, "complete")
    assert queue.wait_for_jobs([dup], timeout=1)  # nothing to wait for
    assert job.remove()
    fresh = queue.create("email").unique("once").save()
    assert (fresh.id, fresh.duplicate) == (job.id + 1, False)
    assert queue.wait_for_jobs([fresh], timeout=10)


def test_remove_on_complete_frees_the_unique_key(queue):
    job = queue.create("email").unique("k").remove_on_complete().save()
    queue.process("email", lambda job: None)
    assert queue.wait_for_jobs(timeout=10)
    wait_until(lambda: queue.get_job(job.id) is None, "the job to be removed")
    assert queue.client.hgetall(queue.keys.unique) == {}
    assert not queue.create("email").unique("k").save().duplicate


def test_unique_jobs_in_test_mode(queue):
    queue.test_mode.enter()
    a = queue.create("email", {"n": 1}).unique("x").save()
    b = queue.create("email", {"n": 2}).unique("x").save()
    assert (a.id, b.id, b.duplicate) == (1, 1, True)
    assert [j.data for j in queue.test_mode.jobs] == [{"n": 1}]
    queue.test_mode.exit()


def test_a_unique_key_must_be_a_non_empty_str(queue):
    with pytest.raises(ValueError):
        queue.create("email").unique("")


# -- restart ------------------------------------------------------------------------------


def test_restart_runs_a_failed_job_again_with_attempts_reset(queue):
    runs = []

    def flaky(job):
        runs.append(job.attempts_made)
        if len(runs) <= 2:
            raise RuntimeError("down")
        return "up"

    job = queue.create("work").attempts(2).save()
    queue.process("work", flaky)
    assert queue.wait_for_jobs(timeout=10)
    assert (job.state, queue.get_job(job.id).attempts_made) == ("failed", 2)
    assert job.restart() is True
    assert (job.state, job.attempts_made) == ("inactive", 0)
    assert queue.wait_for_jobs(timeout=10)  # the creator follows the new run
    stored = queue.get_job(job.id)
    assert (job.state, job.result, stored.attempts_made, runs) == ("complete", "up", 1, [0, 1, 0])


def test_restart_refuses_other_states_and_changes_nothing(queue):
    job = queue.create("work", {"n": 1}).save()
    assert queue.restart(job.id) is False  # inactive is not failed or complete
    assert queue.restart(job.id, only_from=("delayed",)) is False
    assert queue.restart(999) is False  # no such job
    stored = queue.get_job(job.id)
    assert (stored.state, queue.count("inactive"), queue.jobs("inactive")[0].id) == (
        "inactive",
        1,
        job.id,
    )
    with pytest.raises(ValueError):
        queue.restart(job.id, only_from=("finished",))


def test_restart_of_an_active_job_fences_its_worker(queue):
    started, release = threading.Event(), threading.Event()
    runs = []

    def slow(job):
        runs.append(job.id)
        if len(runs) == 1:
            started.set()
            release.wait(5)
            return "first run"
        return "second run"

    job = queue.create("work").save()
    queue.process("work", slow, concurrency=2)
    assert started.wait(5)
    assert job.restart() is False  # active: not allowed by default
    assert queue.restart(job.id, only_from=("active",)) is True
    wait_until(lambda: len(runs) == 2, "the second worker to run it again")
    release.set()
    assert queue.wait_for_jobs(timeout=10)
    assert queue.get_job(job.id).result == "second run"  # the first worker's finish refused


def test_restart_in_test_mode(queue):
    queue.test_mode.enter(process=True)
    calls = []
    queue.process("work", lambda job: calls.append(job.id))
    job = queue.create("work").save()
    assert job.state == "complete"
    assert job.restart(only_from=["complete"]) is True
    assert calls == [1, 1] and job.state == "complete"
    assert job.restart(only_from=["failed"]) is False
    queue.test_mode.exit()


# -- a second signal ----------------------------------------------------------------------


@pytest.mark.parametrize("second", [signal.SIGINT, signal.SIGTERM])
def test_a_second_signal_hands_active_jobs_back_at_once(queue, worker_process, second):
    job = queue.create("work").save()
    worker = worker_process("hang")  # takes the job and never finishes it
    wait_until(lambda: queue.client.llen("{t}:ran") == 1, "the worker to take the job", 10)
    worker.proc.send_signal(signal.SIGTERM)
    wait_until(lambda: "signal again" in worker.error_output(), "the shutdown to start", 10)
    sent = time.monotonic()
    worker.proc.send_signal(second)
    assert worker.proc.wait(10) == 0
    assert time.monotonic() - sent < 2.5  # not the 5 s shutdown timeout
    assert "Traceback" not in worker.error_output(), worker.error_output()
    stored = queue.get_job(job.id)
    assert (stored.state, stored.stalls, stored.attempts_made) == ("inactive", 0, 0)
    assert queue.client.hget(queue.keys.job(job.id), "token") is None
    assert queue.client.zcard(queue.keys.active) == 0
