"""Consistency check of a queue's keys in Redis, with optional repair.

Invariants (the job's hash is the truth):

- every job is listed in exactly the state sets its ``state`` field names: inactive ->
  ``wait:<type>``; active -> the lease set ``active`` (and holds a token); delayed ->
  ``jobs:delayed``, ``type:<type>:delayed`` and ``delayed``; complete / failed ->
  ``jobs:<state>`` and ``type:<type>:<state>``; and in ``jobs``, ``type:<type>``, ``types``;
- no lease token on a job that is not active, no active job without a lease;
- no index entry or log of a job whose hash is missing (orphans);
- the id counter is at least the highest job id;
- every key is named after its job type as :func:`pykue.keys.type_part` writes it (queues
  saved before the encoding named keys after the raw type, so that type ``x:complete``
  shared ``type:x:complete`` with type ``x``: reported as ``key_layout``).

Each job is checked, and repaired, by one Lua script (``lua/check_job.lua``), so the
result is exact and the repair safe while workers run. Repairs: re-index from the hash,
drop orphan entries, clear stray lease tokens, give active jobs without a lease back to
inactive, raise the id counter. A hash without a valid type or state cannot be repaired.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import redis
from redis.cluster import RedisCluster

from pykue import scripts
from pykue.keys import Keys, type_from_part, type_part

BY_ID = ("delayed", "complete", "failed")
BATCH = 200  # jobs checked per pipelined round trip


@dataclass(frozen=True)
class Problem:
    """One broken invariant: ``kind`` (orphan, state_set, lease, type_index, bad_hash,
    id_counter), the job id if any, a readable message, and whether it was repaired."""

    kind: str
    job_id: int | str | None
    message: str
    repaired: bool = False

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}" + (" (repaired)" if self.repaired else "")


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _glob_escape(text: str) -> str:
    return re.sub(r"([\\*?\[\]])", r"\\\1", text)


def _id_key(job_id: str) -> tuple[int, int | str]:
    return (0, int(job_id)) if job_id.isdigit() else (1, job_id)


def _client_and_prefix(queue_or_client: Any, prefix: str | None) -> tuple[redis.Redis, str]:
    if isinstance(queue_or_client, (redis.Redis, RedisCluster)):
        return queue_or_client, "q" if prefix is None else prefix
    return queue_or_client.client, queue_or_client.prefix if prefix is None else prefix


def _type_in_key(family: str, rest: str) -> str | None:
    """The job type a ``wait:``/``notify:``/``type:`` key is named after, or None when the
    name is not one pykue makes now (a raw type with ':' or '%': the old layout)."""
    part, state = rest, ""
    if family == "type" and ":" in rest:
        part, _, state = rest.partition(":")
        if state not in BY_ID:
            return None
    if ":" in part:
        return None
    name = type_from_part(part)
    return name if type_part(name) == part else None


def check(queue_or_client: Any, prefix: str | None = None, repair: bool = False) -> list[Problem]:
    """The problems found in the queue ``prefix`` (a Queue's own prefix by default).

    With ``repair``, each is fixed where possible in the same atomic step; the returned
    problems say which were (``repaired``). Run it again to see what remains.
    """
    client, prefix = _client_and_prefix(queue_or_client, prefix)
    keys = Keys(prefix)
    base = keys.base

    # 1. every key of the queue, classified
    hash_ids: set[str] = set()
    log_ids: set[str] = set()
    types: set[str] = {_text(t) for t in client.smembers(keys.types)}
    index_keys: list[str] = [keys.all_jobs, keys.delayed, keys.active]
    index_keys += [keys.state(s) for s in BY_ID]
    job_re = re.compile(re.escape(base) + r"job:(.+?)(:log)?$")
    legacy: set[str] = set()  # keys named after a raw type with ':' or '%' (old layout)
    for raw in client.scan_iter(match=_glob_escape(base) + "*", count=1000):
        key = _text(raw)
        family, _, rest = key[len(base) :].partition(":")
        match = job_re.match(key)
        if match:
            (log_ids if match.group(2) else hash_ids).add(match.group(1))
        elif family in ("wait", "type", "notify"):
            name = _type_in_key(family, rest)
            if name is None:
                legacy.add(key)
            else:
                types.add(name)
    for name in sorted(types):
        index_keys.append(keys.wait(name))
        index_keys.append(keys.of_type(name))
        index_keys += [keys.of_type(name, s) for s in BY_ID]
    index_keys += sorted(k for k in legacy if ":notify:" not in k)

    # 2. every id any key mentions
    pipe = client.pipeline(transaction=False)
    for key in index_keys:
        pipe.zrange(key, 0, -1)
    ids = set(hash_ids) | log_ids
    for members in pipe.execute(raise_on_error=False):
        if isinstance(members, list):
            ids.update(_text(m) for m in members)

    # 3. each job, atomically (and repaired in the same step)
    problems: list[Problem] = []
    script = scripts.load("check_job")
    type_args = sorted(types)
    ordered = sorted(ids, key=_id_key)
    for i in range(0, len(ordered), BATCH):
        batch = ordered[i : i + BATCH]
        script.ensure_loaded(client)
        pipe = client.pipeline(transaction=False)
        for job_id in batch:
            script.queue_on(pipe, keys.fixed, [base, job_id, 1 if repair else 0, *type_args])
        for job_id, found in zip(batch, pipe.execute(), strict=True):
            number = int(job_id) if job_id.isdigit() else job_id
            for j in range(0, len(found), 3):
                kind, message, fixed = (_text(x) for x in found[j : j + 3])
                problems.append(Problem(kind, number, message, fixed == "1"))

    # 4. keys of the old layout, named after a raw type with ':' or '%': their jobs were
    # re-indexed above, so they can go. (One whose name is valid now, type:x:complete of
    # type x, was shared by types x and x:complete: the job checks above report and move
    # the other type's entries.)
    for key in sorted(legacy):
        if repair:
            client.delete(key)
        message = (
            f"{key} is named after a job type with ':' or '%' left as it is (the key "
            "layout before type names were encoded), where two types can share a key"
        )
        problems.append(Problem("key_layout", None, message, repair))

    # 5. the id counter
    numbers = [int(i) for i in hash_ids if i.isdigit()]
    highest = max(numbers, default=0)
    raw = client.get(keys.ids)
    counter = _text(raw) if raw is not None else "0"
    if not counter.lstrip("-").isdigit() or int(counter) < highest:
        repaired = False
        if repair:
            scripts.load("check_ids")(client, keys.fixed, [base, highest])
            repaired = True
        problems.append(
            Problem(
                "id_counter",
                None,
                f"id counter {keys.ids} is {counter!r}, below the highest job id {highest}",
                repaired,
            )
        )
    return problems


def summary(problems: list[Problem]) -> str:
    """One line: how many problems, how many repaired."""
    if not problems:
        return "queue consistent: no problems"
    fixed = sum(p.repaired for p in problems)
    text = f"{len(problems)} problem{'s' if len(problems) != 1 else ''} found"
    return text + (f", {fixed} repaired" if fixed else "")
