"""Admin moves for the dashboard and other tools: each one a single atomic Lua step.

Kept apart from the core (queue.py, job.py) so operations tools can grow without touching
the hot path. Every function takes a :class:`pykue.Queue` and raises pykue errors.
"""

from __future__ import annotations

import json
from typing import Any

from pykue import scripts
from pykue.job import PRIORITIES, Job
from pykue.keys import STATES
from pykue.queue import Queue

SETTABLE_STATES = ("inactive", "delayed", "complete", "failed")
MAX_PRIORITY = 4095  # |priority| * 2^40 + seq must stay exact in a double (see push_wait)


def parse_priority(value: str | int) -> int:
    """Kue's priority name or an int in -4095..4095 (ValueError otherwise)."""
    if isinstance(value, bool):
        raise ValueError(f"priority must be a name or an integer, not {value!r}")
    if isinstance(value, str):
        if value in PRIORITIES:
            return PRIORITIES[value]
        try:
            value = int(value.strip())
        except ValueError:
            names = ", ".join(PRIORITIES)
            raise ValueError(
                f"unknown priority {value!r}: use one of {names} or an integer"
            ) from None
    if not isinstance(value, int) or abs(value) > MAX_PRIORITY:
        raise ValueError(f"priority must be an integer in -{MAX_PRIORITY}..{MAX_PRIORITY}")
    return value


def _run(queue: Queue, name: str, args: list[Any]) -> Any:
    script = scripts.load(name)
    keys = queue.keys
    return queue._call(lambda: script(queue.client, keys.fixed, [keys.base, *args]))


def set_state(queue: Queue, job_id: int, state: str, delay_ms: int | None = None) -> bool:
    """Force job ``job_id`` into ``state`` (inactive = restart); False if there is no job.

    ``delayed`` waits the job's own delay (or ``delay_ms``) from now.
    """
    if state not in SETTABLE_STATES:
        raise ValueError(
            f"cannot set state {state!r}: use one of {', '.join(SETTABLE_STATES)}"
            + (" (a job becomes active only when a worker takes it)" if state == "active" else "")
        )
    if delay_ms is None:
        delay_ms = 0
        if state == "delayed":
            raw = queue._call(lambda: queue.client.hget(queue.keys.job(job_id), "delay"))
            delay_ms = int(raw) if raw and raw.isdigit() else 0
    return bool(_run(queue, "set_state", [job_id, state, int(delay_ms)]))


def set_priority(queue: Queue, job_id: int, priority: str | int) -> bool:
    """Change a job's priority (an inactive job is re-ordered); False if there is no job."""
    return bool(_run(queue, "admin_set_priority", [job_id, parse_priority(priority)]))


def remove(queue: Queue, job_id: int) -> bool:
    """Delete a job and every index entry of it; False if there was no job."""
    return bool(_run(queue, "remove_job", [job_id]))


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def _json(value: str | None) -> Any:
    if value in (None, ""):
        return None
    try:
        return json.loads(value)
    except ValueError:
        return value


def job_json(fields: dict[str, str]) -> dict[str, Any]:
    """Kue's job JSON (``Job.prototype.toJSON``) from a job's Redis hash."""
    made = _int(fields.get("attempts_made")) or 0
    max_attempts = _int(fields.get("max_attempts")) or 1
    started = _int(fields.get("started_at"))
    completed = _int(fields.get("completed_at"))
    state = fields.get("state")
    return {
        "id": _int(fields.get("id")),
        "type": fields.get("type"),
        "data": _json(fields.get("data")),
        "result": _json(fields.get("result")),
        "priority": _int(fields.get("priority")) or 0,
        "progress": _int(fields.get("progress")) or 0,
        "progress_data": _json(fields.get("progress_data")),
        "state": state,
        "error": fields.get("error") or None,
        "created_at": _int(fields.get("created_at")),
        "promote_at": _int(fields.get("promote_at")),
        "updated_at": _int(fields.get("updated_at")),
        "started_at": started,
        "failed_at": _int(fields.get("failed_at")),
        "completed_at": completed,
        "duration": completed - started if state == "complete" and completed and started else None,
        "delay": _int(fields.get("delay")) or 0,
        "ttl": _int(fields.get("ttl")) or 0,
        "attempts": {"made": made, "remaining": max(0, max_attempts - made), "max": max_attempts},
        "stalls": _int(fields.get("stalls")) or 0,
        "backoff": _json(fields.get("backoff")),
        "removeOnComplete": fields.get("remove_on_complete") == "1",
    }


def get_job_json(queue: Queue, job_id: int) -> dict[str, Any] | None:
    """Kue's JSON of job ``job_id``, or None."""
    fields = queue._call(lambda: queue.client.hgetall(queue.keys.job(job_id)))
    return job_json(fields) if fields and "id" in fields else None


def list_jobs_json(
    queue: Queue,
    state: str | None,
    job_type: str | None,
    start: int,
    stop: int,
    order: str,
) -> list[dict[str, Any]]:
    """Jobs ``start``..``stop`` (inclusive; stop -1 = to the end) as Kue's JSON."""
    if state is not None and state not in STATES:
        raise ValueError(f"unknown state {state!r}; use one of {', '.join(STATES)}")
    jobs = queue.jobs(state=state, type=job_type, start=start, stop=stop, order=order)

    def run() -> list[dict[str, str]]:
        pipe = queue.client.pipeline(transaction=False)
        for job in jobs:
            pipe.hgetall(queue.keys.job(job.id))
        return pipe.execute() if jobs else []

    return [job_json(f) for f in queue._call(run) if f and "id" in f]


def build_job(queue: Queue, job_type: str, data: Any, options: dict[str, Any]) -> Job:
    """An unsaved job with Kue's option names (priority, attempts, delay, ttl, backoff,
    removeOnComplete); ValueError / JobDataError on bad input."""
    job = queue.create(job_type, data)
    if "priority" in options:
        job.priority(parse_priority(options["priority"]))
    for name in ("attempts", "delay", "ttl"):
        if name in options:
            value = options[name]
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**40:
                raise ValueError(f"options.{name} must be an integer in 0..2^40")
            getattr(job, name)(value)
    if "backoff" in options:
        backoff = options["backoff"]
        if isinstance(backoff, dict):
            delay = backoff.get("delay", 0)
            if not isinstance(delay, int) or isinstance(delay, bool) or not 0 <= delay < 2**40:
                raise ValueError("options.backoff.delay must be an integer in 0..2^40 (ms)")
        elif not isinstance(backoff, bool):
            raise ValueError('options.backoff must be true or {"type": ..., "delay": ms}')
        job.backoff(backoff)
    if "removeOnComplete" in options:
        job.remove_on_complete(bool(options["removeOnComplete"]))
    return job


def save_quietly(queue: Queue, job: Job) -> Job:
    """Save ``job`` (the same atomic add_job script) without following its events.

    ``job.save()`` subscribes this process to the job's events until it finishes; a
    long-running dashboard creating jobs nobody may ever run must not collect them.
    """
    job.id = int(_run(queue, "add_job", queue._add_args(job)[1:]))
    job.state = "delayed" if job.delay_ms else "inactive"
    return job


def create_job(queue: Queue, job_type: str, data: Any, options: dict[str, Any]) -> Job:
    """:func:`build_job`, saved (without following its events)."""
    return save_quietly(queue, build_job(queue, job_type, data, options))


def job_log(queue: Queue, job_id: int) -> list[str] | None:
    """The log lines of job ``job_id``, or None when there is no such job."""
    keys = queue.keys

    def run() -> list[Any]:
        pipe = queue.client.pipeline(transaction=False)
        pipe.exists(keys.job(job_id))
        pipe.lrange(keys.log(job_id), 0, -1)
        return pipe.execute()

    exists, lines = queue._call(run)
    return lines if exists else None
