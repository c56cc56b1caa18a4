"""``POST /job``: create one job or a list of jobs, answered as Kue answers.

Kue 0.11.6: one job -> 200 ``{"message": "job created", "id": N}``; a list -> 200 and one
such entry per job, in order; a list with bad jobs -> the others are still created, each
bad one is ``{"error": "..."}`` in its place, and the status is 400; an empty body
(``[]``, ``{}``) -> 204 with no body. A job without a type is refused with Kue's words,
"Must provide job type". Unlike Kue, we refuse what we cannot store as asked (unknown
keys or options, a wrong priority, attempts below 1) instead of ignoring it.
"""

from __future__ import annotations

import json
from typing import Any

from pykue import admin
from pykue.errors import JobDataError
from pykue.job import PRIORITIES
from pykue.queue import Queue
from pykue.web.errors import ApiError
from pykue.web.params import job_type as check_type

MAX_BATCH = 1000  # jobs in one POST /job list
KEYS = {"type", "data", "options"}
OPTIONS = {"priority", "attempts", "delay", "ttl", "backoff", "removeOnComplete", "searchKeys"}


def parse_body(raw: bytes) -> Any:
    """The request body as JSON (400 if it is not)."""
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise ApiError(400, f"body must be JSON: {str(exc)[:200]}") from None


def is_empty(body: Any) -> bool:
    """Kue answers 204 to these bodies (lodash ``isEmpty``: ``[]``, ``{}``, null)."""
    return body is None or body == [] or body == {}


def _options(raw: Any, where: str) -> dict[str, Any]:
    options = raw if raw is not None else {}
    if not isinstance(options, dict):
        raise ApiError(400, f"{where}.options must be an object")
    unknown = set(options) - OPTIONS
    if unknown:
        raise ApiError(
            400, f"{where}.options has unknown keys {sorted(unknown)}: use {sorted(OPTIONS)}"
        )
    options = {name: _whole(value) for name, value in options.items()}
    if isinstance(options.get("backoff"), dict):
        options["backoff"] = {k: _whole(v) for k, v in options["backoff"].items()}
    _check_option_types(options, where)
    return options


def _whole(value: Any) -> Any:
    """JSON's 842.0 is the integer 842 (JSON Schema says so; Python parses a float)."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _check_option_types(options: dict[str, Any], where: str) -> None:
    """What :func:`pykue.admin.build_job` would coerce is refused instead (as the schema says)."""
    priority = options.get("priority")
    is_name = isinstance(priority, str) and priority in PRIORITIES
    is_number = isinstance(priority, int) and not isinstance(priority, bool)
    if "priority" in options and not (is_name or is_number):
        names = ", ".join(PRIORITIES)
        raise ApiError(400, f"{where}.options.priority must be one of {names} or an integer")
    if "removeOnComplete" in options and not isinstance(options["removeOnComplete"], bool):
        raise ApiError(400, f"{where}.options.removeOnComplete must be true or false")
    keys = options.get("searchKeys")
    if "searchKeys" in options and not (
        isinstance(keys, str) or (isinstance(keys, list) and all(isinstance(k, str) for k in keys))
    ):
        raise ApiError(400, f"{where}.options.searchKeys must be a string or a list of strings")


def build(queue: Queue, spec: Any, where: str) -> Any:
    """An unsaved job from one ``{type, data, options}`` (ApiError 400 when it is wrong)."""
    if not isinstance(spec, dict):
        raise ApiError(400, f'{where} must be an object {{"type", "data", "options"}}')
    unknown = set(spec) - KEYS
    if unknown:
        raise ApiError(400, f"{where} has unknown keys {sorted(unknown)}: use type, data, options")
    name = spec.get("type")
    if name is None or name == "":
        raise ApiError(400, "Must provide job type")
    if not isinstance(name, str):
        raise ApiError(400, f"{where}.type must be a string (the job type)")
    check_type(name)
    options = _options(spec.get("options"), where)
    data = spec.get("data")
    try:
        return admin.build_job(queue, name, {} if data is None else data, options)
    except JobDataError as exc:
        raise ApiError(400, f"{where}: {exc}") from None
    except (ValueError, TypeError, RecursionError) as exc:
        raise ApiError(400, f"{where}: {str(exc)[:300]}") from None


def create_one(queue: Queue, spec: Any) -> dict[str, Any]:
    """Save one job; ``{"message": "job created", "id": N}``."""
    job = admin.save_quietly(queue, build(queue, spec, "job"))
    return {"message": "job created", "id": job.id}


def create_many(queue: Queue, specs: list[Any]) -> tuple[int, list[dict[str, Any]]]:
    """Save each job of the list that is right; (status, one entry per job in order)."""
    if len(specs) > MAX_BATCH:
        raise ApiError(400, f"a list of jobs must hold 1..{MAX_BATCH} jobs, not {len(specs)}")
    out: list[dict[str, Any]] = []
    for i, spec in enumerate(specs):
        try:
            job = build(queue, spec, f"job[{i}]")
        except ApiError as exc:
            out.append({"error": exc.message})
            continue
        out.append({"message": "job created", "id": admin.save_quietly(queue, job).id})
    status = 400 if any("error" in entry for entry in out) else 200
    return status, out
