"""What the dashboard reads from Redis: job hashes, logs and id ranges, never a 500.

Data written by an older version (or by hand) may hold bytes that are not UTF-8, JSON
with a lone surrogate such as ``"\\ud800"``, text that is not JSON at all, or a key of
the wrong type. Readers here degrade instead of failing: bytes are decoded with U+FFFD
for what is not UTF-8, lone surrogates become U+FFFD, unreadable JSON is shown as its
text, and a key that cannot be read counts as absent.

The range readers follow pykue's indexes (see :mod:`pykue.keys`); ``queue.jobs()`` is
not used because it parses every job as a :class:`pykue.Job`, which bad data breaks.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from redis.client import NEVER_DECODE
from redis.exceptions import ResponseError

from pykue.queue import Queue
from pykue.web.params import Range

CHUNK = 500  # commands per pipeline when reading many jobs
MAX_SHOWN_DEPTH = 200  # data nested deeper is shown as its JSON text
RAW = {NEVER_DECODE: True}


def text(raw: bytes | str | None) -> str:
    """``raw`` as text: bytes decoded as UTF-8 (U+FFFD where they are not), no lone surrogates."""
    if raw is None:
        return ""
    value = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in value)
    return value


def parse_json(raw: str) -> Any:
    """JSON text as a value that can be sent back as JSON; the text itself if it cannot."""
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        return raw
    return value if _clean(value) else raw


def _clean(value: Any) -> bool:
    """Replace lone surrogates in ``value``'s strings in place; False if it nests too deeply."""
    if not isinstance(value, list | dict):
        return True
    todo: list[tuple[list | dict, int]] = [(value, 1)]
    while todo:
        item, level = todo.pop()
        if level > MAX_SHOWN_DEPTH:
            return False
        if isinstance(item, dict):
            for key in list(item):
                child = item[key]
                fixed = text(key)
                if fixed != key:
                    del item[key]
                    item[fixed] = child
                if isinstance(child, str):
                    item[fixed] = text(child)
                elif isinstance(child, list | dict):
                    todo.append((child, level + 1))
        else:
            for i, child in enumerate(item):
                if isinstance(child, str):
                    item[i] = text(child)
                elif isinstance(child, list | dict):
                    todo.append((child, level + 1))
    return True


def _pairs(reply: Any) -> dict[str, str]:
    """An HGETALL reply read without decoding, as text (an error reply: no fields)."""
    if not isinstance(reply, dict):
        return {}
    return {text(k): text(v) for k, v in reply.items()}


def job_hashes(queue: Queue, ids: Iterable[int]) -> list[dict[str, str]]:
    """The hash of each job in ``ids`` (missing jobs left out), in the same order."""
    ids = list(ids)
    found: list[dict[str, str]] = []
    for at in range(0, len(ids), CHUNK):
        pipe = queue.client.pipeline(transaction=False)
        for job_id in ids[at : at + CHUNK]:
            pipe.execute_command("HGETALL", queue.keys.job(job_id), **RAW)
        found += [f for f in map(_pairs, pipe.execute(raise_on_error=False)) if "type" in f]
    return found


def job_hash(queue: Queue, job_id: int) -> dict[str, str] | None:
    """The hash of job ``job_id``, or None when there is no such job."""
    found = job_hashes(queue, [job_id])
    return found[0] if found else None


def job_fields(queue: Queue, ids: list[int], *names: str) -> list[list[str | None]]:
    """HMGET ``names`` of every job in ``ids`` (text; None where absent)."""
    values: list[list[str | None]] = []
    for at in range(0, len(ids), CHUNK):
        pipe = queue.client.pipeline(transaction=False)
        for job_id in ids[at : at + CHUNK]:
            pipe.execute_command("HMGET", queue.keys.job(job_id), *names, **RAW)
        for reply in pipe.execute(raise_on_error=False):
            row = reply if isinstance(reply, list) else [None] * len(names)
            values.append([None if v is None else text(v) for v in row])
    return values


def log_lines(queue: Queue, job_id: int) -> list[str] | None:
    """The log lines of job ``job_id``, or None when there is no such job."""
    pipe = queue.client.pipeline(transaction=False)
    pipe.exists(queue.keys.job(job_id))
    pipe.execute_command("LRANGE", queue.keys.log(job_id), 0, -1, **RAW)
    exists, lines = pipe.execute(raise_on_error=False)
    if exists != 1:
        return None
    return [text(line) for line in lines] if isinstance(lines, list) else []


def types(queue: Queue) -> list[str]:
    """Every job type saved in the queue, sorted."""
    try:
        names = queue.client.execute_command("SMEMBERS", queue.keys.types, **RAW)
    except ResponseError:
        return []
    return sorted({text(name) for name in names})


def _members(queue: Queue, key: str, start: int = 0, stop: int = -1, desc: bool = False) -> list:
    """ZRANGE (or ZREVRANGE) of ``key``; a key of another type reads as empty."""
    try:
        return (queue.client.zrevrange if desc else queue.client.zrange)(key, start, stop)
    except ResponseError:
        return []


def _ints(members: Iterable[Any]) -> list[int]:
    return [int(m) for m in members if str(m).isdigit()]


def all_ids(queue: Queue) -> list[int]:
    """Every job id, ascending."""
    return _ints(_members(queue, queue.keys.all_jobs))


def ids_in_kue_order(queue: Queue, rng: Range) -> list[int]:
    """``/jobs/from..to/order`` as Kue answers it: the range of every job ordered by
    priority (then id), that slice sorted by id, reversed for ``desc``."""
    ids = all_ids(queue)
    ranked = sorted(
        (_int(priority), job_id)
        for job_id, (priority,) in zip(ids, job_fields(queue, ids, "priority"), strict=True)
    )
    chosen = sorted(job_id for _, job_id in rng.of(ranked))
    return chosen[::-1] if rng.desc else chosen


def _int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0


def ids_in_state(queue: Queue, state: str, job_type: str | None, rng: Range) -> list[int]:
    """Ids in ``state`` (of ``job_type``): inactive in the order they will run, active and
    the others by id; ``desc`` reads from the other end."""
    keys = queue.keys
    if state == "inactive":
        if job_type is not None:
            return _ints(_members(queue, keys.wait(job_type), rng.first, rng.last, rng.desc))
        merged: list[tuple[float, int]] = []
        for name in types(queue):
            try:
                scored = queue.client.zrange(keys.wait(name), 0, -1, withscores=True)
            except ResponseError:
                continue
            merged += [(score, int(m)) for m, score in scored if str(m).isdigit()]
        merged.sort(reverse=rng.desc)
        return [job_id for _, job_id in rng.of(merged)]
    if state == "active":
        ids = sorted(_ints(_members(queue, keys.active)))
        if job_type is not None:
            ids = [
                i
                for i, (t,) in zip(ids, job_fields(queue, ids, "type"), strict=True)
                if t == job_type
            ]
        return rng.of(ids[::-1] if rng.desc else ids)
    key = keys.state(state) if job_type is None else keys.of_type(job_type, state)
    return _ints(_members(queue, key, rng.first, rng.last, rng.desc))


def _card(queue: Queue, key: str) -> int:
    try:
        return int(queue.client.zcard(key))
    except ResponseError:
        return 0


def count(queue: Queue, state: str, job_type: str | None = None) -> int:
    """How many jobs are in ``state`` (of ``job_type`` if given)."""
    keys = queue.keys
    if state == "inactive":
        names = [job_type] if job_type is not None else types(queue)
        return sum(_card(queue, keys.wait(name)) for name in names)
    if state == "active" and job_type is not None:
        return len(ids_in_state(queue, state, job_type, Range(0, -1, "asc")))
    if state == "active":
        return _card(queue, keys.active)
    return _card(queue, keys.state(state) if job_type is None else keys.of_type(job_type, state))
