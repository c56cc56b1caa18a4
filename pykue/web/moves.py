"""The state changes the dashboard makes: Kue's routes over pykue's atomic moves.

``inactive``, ``delayed``, ``complete`` and ``failed`` go through :func:`pykue.admin.set_state`
(one Lua step; ``inactive`` restarts the job: attempts, stalls and progress reset).
``active`` (Kue's UI offers it) is ``lua/make_active.lua``: the job is held under a lease
no worker owns, so when the lease lapses the stall sweep hands it back to inactive; Kue
leaves such a job active for ever, with nobody to run it.
"""

from __future__ import annotations

import secrets
from functools import cache
from pathlib import Path

from pykue import admin
from pykue.queue import Queue
from pykue.scripts import Script
from pykue.web.errors import ApiError
from pykue.web.reads import RAW, text

LUA = Path(__file__).with_name("lua")
RETRIES = 5  # a job that keeps changing under make_active (a busy worker) is refused


@cache
def _make_active() -> Script:
    return Script("make_active", (LUA / "make_active.lua").read_text(encoding="utf-8"))


def make_active(queue: Queue, job_id: int) -> bool:
    """Move job ``job_id`` to active (a lease nobody holds); False if there is no job."""
    keys = queue.keys
    for _ in range(RETRIES):
        raw = queue.client.execute_command("HMGET", keys.job(job_id), "type", "state", **RAW)
        if raw[0] is None:
            return False
        job_type, old = text(raw[0]), text(raw[1])  # bad bytes: the script sees a change
        reply = _make_active()(
            queue.client,
            [
                keys.job(job_id),
                keys.wait(job_type),
                keys.delayed,
                keys.state(old),
                keys.of_type(job_type, old),
                keys.active,
            ],
            [job_id, job_type, old, queue.lease_ms, "dashboard:" + secrets.token_hex(8)],
        )
        if int(reply) >= 0:
            return bool(int(reply))
    raise ApiError(409, f"job {job_id} kept changing state; try again")


def set_state(queue: Queue, job_id: int, state: str) -> bool:
    """Move job ``job_id`` to ``state`` (checked by the caller); False if there is no job."""
    if state == "active":
        return make_active(queue, job_id)
    try:
        return admin.set_state(queue, job_id, state)
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None


def set_priority(queue: Queue, job_id: int, priority: str) -> bool:
    """Change a job's priority (a name or an integer); False if there is no job."""
    try:
        return admin.set_priority(queue, job_id, priority)
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None
