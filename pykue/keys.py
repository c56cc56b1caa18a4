"""Every Redis key pykue uses, in one place.

All keys of one queue share the hash tag ``{prefix}``, so every Lua script touches a
single Redis Cluster slot. Scripts get the fixed keys as KEYS (:data:`FIXED_KEYS`) and
build the keys of one job or type with the helpers of ``lua/_lib.lua``, which
tests/pykue/test_pykue_schema.py checks against this module.
"""

from __future__ import annotations

STATES = ("inactive", "delayed", "active", "complete", "failed")

# The job's hash: the fields add_job.lua writes, in its order (the fields the worker's hot
# path reads and writes first: a small hash is a list scanned from the front) ...
JOB_FIELDS = (
    "state",
    "token",
    "id",
    "type",
    "attempts_made",
    "max_attempts",
    "priority",
    "ttl",
    "progress",
    "remove_on_complete",
    "data",
    "updated_at",
    "started_at",
    "completed_at",
    "result",
    "backoff",
    "delay",
    "created_at",
    "stalls",
)
# ... and those later moves add (unique: add_job.lua too, when the job has a unique key).
LATER_FIELDS = ("unique", "promote_at", "progress_data", "error", "failed_at", "ttl_deadline")
# What a worker's fetch returns (lua/_lib.lua take_next), in order; the other attributes
# of a fetched job are read when first used (pykue.job.LAZY_FIELDS).
FETCHED_FIELDS = ("id", "data", "priority", "max_attempts", "attempts_made")

# The keys every Lua script gets as KEYS, in this order (lua/_lib.lua binds them to
# K_IDS, K_SEQ ...): names of :class:`Keys` properties. The keys of one job or one type
# are built inside the scripts from the prefix (ARGV[1]), as :class:`Keys` builds them.
FIXED_KEYS = ("ids", "seq", "all_jobs", "active", "delayed", "types", "unique", "events")


def check_state(state: str | None) -> None:
    """ValueError unless ``state`` is None or one of :data:`STATES`."""
    if state is not None and state not in STATES:
        raise ValueError(f"unknown state {state!r}; use one of {', '.join(STATES)}")


def check_states(states: str | tuple[str, ...] | list[str]) -> list[str]:
    """``states`` (one or several) as a list, each checked by :func:`check_state`."""
    found = [states] if isinstance(states, str) else list(states)
    for state in found:
        check_state(state)
    return found


def type_part(job_type: str) -> str:
    """``job_type`` as written in key names: ``%`` and ``:`` percent-encoded, so that no
    type's keys can be another type's (type ``x:complete`` would otherwise own
    ``type:x:complete``, the set of type ``x``'s complete jobs). Names without either
    character are unchanged, so queues saved before this encoding keep their keys."""
    if "%" in job_type or ":" in job_type:
        return job_type.replace("%", "%25").replace(":", "%3A")
    return job_type


def type_from_part(part: str) -> str:
    """The job type a key's :func:`type_part` names."""
    return part.replace("%3A", ":").replace("%25", "%") if "%" in part else part


class Keys:
    """Key names of the queue with ``prefix`` (default ``q``): ``{q}:job:7`` and so on."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.base = "{" + prefix + "}:"
        self.fixed = [getattr(self, name) for name in FIXED_KEYS]  # KEYS of every script

    @property
    def ids(self) -> str:
        """Counter: INCR gives the next job id (1, 2, 3 ...)."""
        return self.base + "ids"

    @property
    def seq(self) -> str:
        """Counter: orders jobs that enter ``inactive`` (FIFO within a priority)."""
        return self.base + "seq"

    def job(self, job_id: int | str) -> str:
        """Hash: every field of one job."""
        return f"{self.base}job:{job_id}"

    def log(self, job_id: int | str) -> str:
        """List: the job's log lines."""
        return f"{self.base}job:{job_id}:log"

    @property
    def all_jobs(self) -> str:
        """Sorted set of every job id (score = id)."""
        return self.base + "jobs"

    def state(self, state: str) -> str:
        """Sorted set of the ids in ``state`` (score = id): delayed, complete, failed only.

        Inactive jobs are in the :meth:`wait` sets, active ones in :attr:`active`.
        """
        return f"{self.base}jobs:{state}"

    def of_type(self, job_type: str, state: str | None = None) -> str:
        """Sorted set of the ids of ``job_type`` (in delayed/complete/failed ``state``)."""
        if state is None:
            return f"{self.base}type:{type_part(job_type)}"
        return f"{self.base}type:{type_part(job_type)}:{state}"

    def wait(self, job_type: str) -> str:
        """Sorted set of inactive ids of ``job_type``, score = priority * 2^40 + seq."""
        return f"{self.base}wait:{type_part(job_type)}"

    @property
    def delayed(self) -> str:
        """Sorted set of delayed ids, score = time (ms) they become inactive."""
        return self.base + "delayed"

    @property
    def active(self) -> str:
        """Sorted set of active ids, score = the earlier of lease expiry and TTL deadline."""
        return self.base + "active"

    @property
    def types(self) -> str:
        """Set of every job type ever saved."""
        return self.base + "types"

    def notify(self, job_type: str) -> str:
        """List idle workers BLPOP on; a token is pushed when a job of the type is ready."""
        return f"{self.base}notify:{type_part(job_type)}"

    @property
    def unique(self) -> str:
        """Hash: unique key -> id of the job saved with it (``job.unique(key)``)."""
        return self.base + "unique"

    @property
    def events(self) -> str:
        """Pub/sub channel of the queue's job events (JSON: event, id, args; or a list)."""
        return self.base + "events"
