"""Issue 13.7: job type names cannot make two types share a key, whatever they hold."""

from __future__ import annotations

import pytest

from pykue.check import check
from pykue.keys import Keys, type_from_part, type_part

HOSTILE = ["x", "x:complete", "x:complete:failed", "a{b}", "{t}", "%3A", "a%b", ":", "ünï 名"]


@pytest.mark.parametrize("name", HOSTILE)
def test_type_part_round_trips_and_has_no_separator(name):
    part = type_part(name)
    assert ":" not in part
    assert type_from_part(part) == name


def test_no_two_hostile_types_share_a_key():
    keys = Keys("t")
    seen: dict[str, str] = {}
    for name in HOSTILE:
        for key in (
            keys.wait(name),
            keys.notify(name),
            keys.of_type(name),
            *(keys.of_type(name, s) for s in ("delayed", "complete", "failed")),
        ):
            assert seen.setdefault(key, name) == name, f"{name!r} and {seen[key]!r}: {key}"


def test_hostile_types_keep_their_jobs_apart(queue):
    jobs = {name: queue.create(name, {"name": name}).save() for name in HOSTILE}
    for name in HOSTILE:
        queue.process(name, lambda job: job.data["name"])
    assert queue.wait_for_jobs(timeout=10)
    for name, job in jobs.items():
        assert (job.state, job.result) == ("complete", name)
        listed = queue.jobs(state="complete", type=name)
        assert [j.id for j in listed] == [job.id], name
        assert queue.count("complete", name) == 1
        assert [j.id for j in queue.jobs(type=name)] == [job.id]
    assert queue.types() == sorted(HOSTILE)
    assert check(queue) == []


def test_an_empty_type_is_refused(queue):
    with pytest.raises(ValueError, match="non-empty"):
        queue.create("", {})


def test_check_finds_and_repairs_the_old_shared_key(queue, redis_client):
    """Data saved before type names were encoded: type x:complete's keys were named after
    the raw name, so its all-jobs set was type x's complete set."""
    done = queue.create("x", {}).save()
    queue.process("x", lambda job: "ok")
    assert queue.wait_for_jobs([done], timeout=10)
    waiting = queue.create("x:complete", {}).save()  # nobody runs it: inactive
    base = "{t}:"
    # rewrite its keys as the old pykue named them
    redis_client.rename(f"{base}wait:x%3Acomplete", f"{base}wait:x:complete")
    redis_client.zunionstore(
        f"{base}type:x:complete", [f"{base}type:x:complete", f"{base}type:x%3Acomplete"]
    )
    redis_client.delete(f"{base}type:x%3Acomplete")
    assert {j.id for j in queue.jobs(state="complete", type="x")} == {done.id, waiting.id}

    problems = check(queue)
    text = "\n".join(map(str, problems))
    assert {p.kind for p in problems} == {"key_layout", "state_set"}, text
    assert "{t}:wait:x:complete is named after a job type" in text
    shared = f"job {waiting.id} (inactive, type x:complete) is listed in {{t}}:type:x:complete"
    assert shared in text
    assert all(p.repaired for p in check(queue, repair=True))
    assert check(queue) == []
    assert [j.id for j in queue.jobs(state="complete", type="x")] == [done.id]
    assert [j.id for j in queue.jobs(state="inactive", type="x:complete")] == [waiting.id]
    queue.process("x:complete", lambda job: "late")
    assert queue.wait_for_jobs([waiting], timeout=10) and waiting.result == "late"
