"""``GET /job/search?q=``: the ids of the jobs whose type or data hold every word of ``q``.

Kue indexes each job's data with ``reds`` when it is saved (words stemmed and matched by
sound) and answers the matching ids as strings, best match first. pykue keeps no word
index, so this reads every job's type and data (in pipelined chunks: one pass over the
queue per search) and matches words as prefixes, case-insensitively: ``q=inv`` finds a
job whose data says "Invoice". Ids come back as strings, as Kue's UI compares them with
its element ids; ascending.
"""

from __future__ import annotations

import re
from typing import Any

from pykue.queue import Queue
from pykue.web.reads import all_ids, job_fields, parse_json

MAX_QUERY = 500  # characters of q
WORD = re.compile(r"\w+")


def words(value: Any) -> set[str]:
    """Every word in ``value``: its strings, numbers and object keys, lower-cased."""
    found: set[str] = set()
    todo = [value]
    while todo:
        item = todo.pop()
        if isinstance(item, dict):
            todo += list(item.keys()) + list(item.values())
        elif isinstance(item, list):
            todo += item
        elif item is not None:
            found.update(WORD.findall(str(item).casefold()))
    return found


def matches(query: list[str], held: set[str]) -> bool:
    """True when every query word starts some word the job holds."""
    return all(w in held or any(h.startswith(w) for h in held) for w in query)


def search(queue: Queue, q: str | None) -> list[str]:
    """Ids (as text, ascending) of the jobs matching every word of ``q``; none for no words."""
    query = sorted(set(WORD.findall((q or "").casefold())))
    if not query:
        return []
    ids = all_ids(queue)
    found = []
    for job_id, (job_type, data) in zip(ids, job_fields(queue, ids, "type", "data"), strict=True):
        if job_type is None:
            continue
        held = words(job_type) | words(parse_json(data) if data else None)
        if matches(query, held):
            found.append(str(job_id))
    return found
