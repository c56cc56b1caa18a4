"""A job as Kue's JSON (``Job.prototype.toJSON`` of Kue 0.11.6), from its pykue hash.

Measured on Kue 0.11.6: ``GET /job/:id`` sends ``id`` as a string (the route's own
parameter), ranges send it as a number; ``priority`` and ``attempts`` are numbers;
``progress`` is the number 0 until a job reports progress, then a string ("50");
timestamps (ms), ``delay``, ``ttl`` and ``duration`` are strings; a field Kue has no
value for is left out (``result``, ``error``, ``failed_at``, ``started_at``...).
pykue's own extras: ``completed_at`` (a string like the other times) and ``stalls``.
"""

from __future__ import annotations

from typing import Any

from pykue.web.reads import parse_json

TIMES = ("created_at", "promote_at", "updated_at", "failed_at", "started_at")


def _number(value: str | None, default: int = 0) -> int:
    try:
        return int(value) if value not in (None, "") else default
    except ValueError:
        return default


def _set(out: dict[str, Any], name: str, value: str | None) -> None:
    """``out[name] = value`` if there is a value (Kue leaves such fields out)."""
    if value not in (None, ""):
        out[name] = value


def job_json(fields: dict[str, str], *, id_as_text: bool) -> dict[str, Any]:
    """Kue's JSON of the job whose hash is ``fields``; ``id_as_text``: as ``/job/:id`` sends it."""
    raw_id = fields.get("id", "")
    out: dict[str, Any] = {
        "id": raw_id if id_as_text or not raw_id.isdigit() else int(raw_id),
        "type": fields.get("type", ""),
        "data": parse_json(fields.get("data") or "{}"),
    }
    if fields.get("result"):
        out["result"] = parse_json(fields["result"])
    out["priority"] = _number(fields.get("priority"))
    progress = fields.get("progress")
    out["progress"] = progress if progress not in (None, "", "0") else 0
    if fields.get("progress_data"):
        out["progress_data"] = parse_json(fields["progress_data"])
    out["state"] = fields.get("state", "")
    _set(out, "error", fields.get("error"))
    _set(out, "created_at", fields.get("created_at"))
    # Kue: when the job becomes runnable (created_at + delay for a job that never waited)
    _set(out, "promote_at", fields.get("promote_at") or fields.get("created_at"))
    for name in ("updated_at", "failed_at", "started_at"):
        _set(out, name, fields.get(name))
    started, completed = _number(fields.get("started_at")), _number(fields.get("completed_at"))
    if out["state"] == "complete" and started and completed:
        out["duration"] = str(completed - started)
    for name in ("delay", "ttl"):
        if _number(fields.get(name)) > 0:
            out[name] = fields[name]
    made = _number(fields.get("attempts_made"))
    most = _number(fields.get("max_attempts"), 1) or 1
    out["attempts"] = {"made": made, "remaining": max(0, most - made), "max": most}
    _set(out, "completed_at", fields.get("completed_at"))
    out["stalls"] = _number(fields.get("stalls"))
    return out
