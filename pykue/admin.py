"""Admin moves for the dashboard and other tools: each one a single atomic Lua step.

Kept apart from the core (queue.py, job.py) so operations tools can grow without touching
the hot path. Every function takes a :class:`pykue.Queue` and raises pykue errors.
"""

from __future__ import annotations

from typing import Any

from pykue import scripts
from pykue.job import PRIORITIES, Job
from pykue.queue import Queue
from pykue.redis_backend import add_args

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
    job.id = int(_run(queue, "add_job", add_args(job)))
    job.state = "delayed" if job.delay_ms else "inactive"
    return job
