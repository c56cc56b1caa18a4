"""A job: type, JSON data, options (chainable), state, and its events."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any, Protocol

from pykue.emitter import Emitter
from pykue.errors import JobDataError, PykueError
from pykue.keys import FETCHED_FIELDS, STATES, check_states

PRIORITIES = {"low": 10, "normal": 0, "medium": -5, "high": -10, "critical": -15}


def _int(value: str | None) -> int:
    return int(value or 0)


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value else None


def _json_or_none(value: str | None) -> Any:
    return json.loads(value) if value else None


def _text_or_none(value: str | None) -> str | None:
    return value or None


def _flag(value: str | None) -> bool:
    return value == "1"


# How hash fields (pykue.keys.JOB_FIELDS) become the attributes a worker's job reads from
# Redis only when first used: field -> (attribute, parse). The worker's fetch (one script
# call per job) returns just what handlers commonly need (pykue.keys.FETCHED_FIELDS).
LOADERS: dict[str, tuple[str, Callable[[str | None], Any]]] = {
    "backoff": ("backoff_config", _json_or_none),
    "delay": ("delay_ms", _int),
    "remove_on_complete": ("remove_on_complete_flag", _flag),
    "error": ("error", _text_or_none),
    "stalls": ("stalls", _int),
    "created_at": ("created_at", _int_or_none),
    "updated_at": ("updated_at", _int_or_none),
    "started_at": ("started_at", _int_or_none),
    "promote_at": ("promote_at", _int_or_none),
    "unique": ("unique_key", _text_or_none),
    "ttl": ("ttl_ms", _int),
    "progress": ("progress_percent", _int),
}
LAZY_FIELDS = {attribute: field for field, (attribute, _) in LOADERS.items()}
_ID, _DATA, _PRIORITY, _MAX, _MADE = (
    FETCHED_FIELDS.index(f) for f in ("id", "data", "priority", "max_attempts", "attempts_made")
)


class Storage(Protocol):
    """The calls a job makes to where it is stored (:class:`pykue.backend.Backend`)."""

    def save(self, job: Job) -> None: ...
    def emit(self, job: Job, event: str, args: list) -> None: ...
    def progress(self, job: Job, percent: int, data: Any, data_json: str) -> None: ...
    def log(self, job: Job, line: str) -> None: ...
    def logs(self, job: Job) -> list[str]: ...
    def remove(self, job: Job) -> bool: ...
    def set_state(self, job: Job, state: str, delay_ms: int) -> None: ...
    def restart(self, job_id: int, states: list[str], job: Job | None) -> bool: ...
    def read_fields(self, job_id: int, names: list[str]) -> list[str | None]: ...
    def watch(self, job: Job) -> None: ...


class Link(Protocol):
    """A job's way to its storage: ``link.backend`` (test mode swaps it)."""

    backend: Storage


MAX_DEPTH = 64  # nesting levels job data may have (what the web apps accept at the door)


def has_lone_surrogate(text: str) -> bool:
    """True for text that UTF-8 cannot carry (a lone surrogate such as "\\ud800")."""
    if text.isascii():  # the common case, checked in C without encoding
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _find_unjsonable(value: Any, path: str, level: int = 1) -> str | None:
    """Where in ``value`` something JSON cannot carry sits, described; None if all is fine."""
    if value is None or isinstance(value, (bool, int)):
        return None
    if isinstance(value, str):
        if has_lone_surrogate(value):
            return f"{path} holds a lone surrogate (not valid Unicode)"
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{path} is {value!r} (JSON has no NaN/Infinity)"
    if isinstance(value, (list, tuple, dict)) and level > MAX_DEPTH:
        return f"{path.split('[')[0]} nests deeper than {MAX_DEPTH} levels"
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            found = _find_unjsonable(item, f"{path}[{i}]", level + 1)
            if found:
                return found
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"{path} has a key {key!r} of type {type(key).__name__} (JSON keys are str)"
            if has_lone_surrogate(key):
                return f"{path} has a key with a lone surrogate (not valid Unicode)"
            found = _find_unjsonable(item, f"{path}[{key!r}]", level + 1)
            if found:
                return found
        return None
    return f"{path} is a {type(value).__name__} ({value!r:.60})"


def to_json(value: Any, what: str = "job data") -> str:
    """Encode ``value`` as JSON, or raise JobDataError saying what cannot be carried."""
    if value is None:
        return "null"
    problem = _find_unjsonable(value, what)
    if problem:
        raise JobDataError(
            f"{what} must be JSON (dict, list, str, int, float, bool, None): {problem}"
        )
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


class Job(Emitter):
    """A unit of work of ``type`` with JSON ``data``; create it with ``queue.create()``."""

    def __init__(self, link: Link, job_type: str, data: Any = None) -> None:
        super().__init__()
        self.link = link
        self.type = job_type
        self.data = {} if data is None else data
        self._data_json = to_json(self.data)
        self.id: int | None = None
        self.state: str | None = None
        self.priority_value = 0
        self.max_attempts = 1
        self.attempts_made = 0
        self.backoff_config: dict | None = None
        self.delay_ms = 0
        self.ttl_ms = 0
        self.remove_on_complete_flag = False
        self.unique_key: str | None = None
        self.duplicate = False  # save() found a live job with the same unique key
        self.result: Any = None
        self.error: str | None = None
        self.progress_percent = 0
        self.progress_data: Any = None
        self.stalls = 0
        self.created_at: int | None = None
        self.updated_at: int | None = None
        self.started_at: int | None = None
        self.promote_at: int | None = None
        self._finished = False
        self._finishing = False
        self._token: str | None = None  # set while a worker of this process holds the lease

    def __repr__(self) -> str:
        return f"<Job {self.id} {self.type!r} {self.state}>"

    # -- options (chainable) -------------------------------------------------------------

    def priority(self, level: str | int) -> Job:
        """Kue priority: low 10, normal 0, medium -5, high -10, critical -15 (lower first)."""
        if isinstance(level, str):
            if level not in PRIORITIES:
                raise ValueError(f"unknown priority {level!r}; use one of {', '.join(PRIORITIES)}")
            level = PRIORITIES[level]
        if not isinstance(level, int) or isinstance(level, bool) or abs(level) >= 4096:
            raise ValueError(f"priority must be a name or an int in -4095..4095, not {level!r}")
        self.priority_value = level
        return self

    def attempts(self, n: int) -> Job:
        """Run the job up to ``n`` times before it fails for good."""
        if int(n) < 1:
            raise ValueError("attempts must be at least 1")
        self.max_attempts = int(n)
        return self

    def backoff(self, how: bool | dict) -> Job:
        """Wait between attempts: True (fixed, the job's delay) or {"type", "delay": ms}."""
        if how is True:
            how = {"type": "fixed", "delay": self.delay_ms}
        elif not how:
            self.backoff_config = None
            return self
        if not isinstance(how, dict) or how.get("type", "fixed") not in ("fixed", "exponential"):
            raise ValueError('backoff must be True or {"type": "fixed"|"exponential", "delay": ms}')
        self.backoff_config = {"type": how.get("type", "fixed"), "delay": int(how.get("delay", 0))}
        return self

    def delay(self, ms: int) -> Job:
        """Keep the job ``delayed`` for ``ms`` milliseconds after save, then run it."""
        self.delay_ms = max(0, int(ms))
        return self

    def ttl(self, ms: int) -> Job:
        """An active attempt longer than ``ms`` fails with "TTL exceeded"."""
        self.ttl_ms = max(0, int(ms))
        return self

    def remove_on_complete(self, flag: bool = True) -> Job:
        """Delete the job from Redis as soon as it completes."""
        self.remove_on_complete_flag = bool(flag)
        return self

    def unique(self, key: str) -> Job:
        """At most one job per ``key``: if a job saved with ``key`` still exists (in any state,
        until removed), ``save()`` creates nothing and makes this object name that job
        (``job.id`` its id, ``job.duplicate`` True). Checked and created atomically."""
        if not isinstance(key, str) or not key:
            raise ValueError("a unique key must be a non-empty str")
        self.unique_key = key
        return self

    # -- saving and events ---------------------------------------------------------------

    def save(self, callback: Callable[..., Any] | None = None) -> Job:
        """Store the job (ids 1, 2, 3 ...); ``callback(err)`` is Kue's form, else it raises."""
        try:
            self.link.backend.save(self)
        except Exception as exc:
            if callback is None:
                raise
            callback(exc)
            return self
        if callback is not None:
            callback(None)
        return self

    def on(self, event: str, fn: Callable[..., Any]) -> Job:
        """Call ``fn`` each time ``event`` happens to this job; returns the job."""
        super().on(event, fn)
        if self.id is not None and not self._finished:  # saved: its events must reach it
            self.link.backend.watch(self)
        return self

    def emit(self, event: str, *args: Any) -> Job:
        """Deliver ``event`` as if it had happened (for tests): job and queue callbacks run."""
        self.link.backend.emit(self, event, list(args))
        return self

    # -- for handlers --------------------------------------------------------------------

    def progress(self, completed: float, total: float, data: Any = None) -> int:
        """Report progress; percent = min(100, completed*100//total). Returns the percent."""
        percent = int(min(100, completed * 100 // total)) if total else 0
        data_json = to_json(data, "progress data")
        self.link.backend.progress(self, percent, data, data_json)
        return percent

    def log(self, fmt: str, *args: Any) -> Job:
        """Append a log line (``fmt % args`` when args are given)."""
        line = fmt % args if args else str(fmt)
        self.link.backend.log(self, line)
        return self

    def logs(self) -> list[str]:
        """The job's log lines."""
        return self.link.backend.logs(self)

    def remove(self) -> bool:
        """Delete the job (from every state); True if it existed."""
        return self.link.backend.remove(self)

    def set_state(self, state: str, delay_ms: int = 0) -> Job:
        """Move the job to ``state`` (inactive = restart, resets attempts); atomic."""
        if state not in STATES or state == "active":
            raise PykueError(f"cannot set state {state!r}; use inactive, delayed, complete, failed")
        self.link.backend.set_state(self, state, delay_ms)
        self.state = state
        return self

    def restart(self, only_from: tuple[str, ...] | list[str] = ("failed", "complete")) -> bool:
        """Run the job again: back to inactive, attempts reset, if its state is one of
        ``only_from`` (checked atomically); False, changing nothing, if it is not (or the
        job no longer exists)."""
        return self.link.backend.restart(self.id, check_states(only_from), self)

    # -- loading -------------------------------------------------------------------------

    def __getattr__(self, name: str) -> Any:
        # only called for attributes not set: the lazy ones of a job a worker fetched
        if name not in LAZY_FIELDS or "_lazy" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        names = list(LAZY_FIELDS.values())
        values = self.link.backend.read_fields(self.id, names)
        mine = {k: v for k, v in self.__dict__.items() if k in LAZY_FIELDS}  # set since
        self._set_lazy(dict(zip(names, values, strict=True)))
        self.__dict__.update(mine)
        self.__dict__.pop("_lazy", None)
        return self.__dict__[name]

    def _set_lazy(self, fields: dict[str, str | None]) -> None:
        for field, (attribute, parse) in LOADERS.items():
            setattr(self, attribute, parse(fields.get(field)))

    @classmethod
    def fetched(cls, link: Link, job_type: str, fields: list, token: str) -> Job:
        """A job a worker just made active: ``fields`` as lua/_lib.lua take_next returns them
        (pykue.keys.FETCHED_FIELDS); the rest of its attributes are read from Redis when
        first used."""
        job = cls.__new__(cls)
        d = job.__dict__
        d["_listeners"] = {}
        d["link"] = link
        d["id"] = int(fields[_ID])
        d["type"] = job_type
        d["_data_json"] = fields[_DATA]
        d["data"] = json.loads(fields[_DATA])
        d["priority_value"] = int(fields[_PRIORITY])
        d["max_attempts"] = int(fields[_MAX])
        d["attempts_made"] = int(fields[_MADE])
        d["state"] = "active"
        d["result"] = None
        d["progress_data"] = None
        d["_finished"] = False
        d["_finishing"] = False
        d["_token"] = token
        d["duplicate"] = False
        d["_lazy"] = True
        return job

    @classmethod
    def from_fields(cls, link: Link, fields: dict[str, str]) -> Job:
        """A Job from its Redis hash."""
        job = cls.__new__(cls)
        Emitter.__init__(job)
        job.link = link
        job.type = fields.get("type", "")
        job._data_json = fields.get("data", "null")
        job.data = json.loads(job._data_json)
        job.id = int(fields["id"])
        job.state = fields.get("state")
        job.priority_value = int(fields.get("priority", 0))
        job.max_attempts = int(fields.get("max_attempts", 1))
        job.attempts_made = int(fields.get("attempts_made", 0))
        result = fields.get("result")
        job.result = json.loads(result) if result else None
        pdata = fields.get("progress_data")
        job.progress_data = json.loads(pdata) if pdata else None
        job._set_lazy(fields)
        job.duplicate = False
        job._finished = job.state in ("complete", "failed")
        job._token = None
        job._finishing = False
        return job

    def to_dict(self) -> dict[str, Any]:
        """The job as plain JSON-able data (for APIs and dashboards)."""
        return {
            "id": self.id,
            "type": self.type,
            "data": self.data,
            "state": self.state,
            "priority": self.priority_value,
            "attempts": {"made": self.attempts_made, "max": self.max_attempts},
            "backoff": self.backoff_config,
            "delay": self.delay_ms,
            "ttl": self.ttl_ms,
            "progress": self.progress_percent,
            "result": self.result,
            "error": self.error,
            "stalls": self.stalls,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "started_at": self.started_at,
            "promote_at": self.promote_at,
        }
