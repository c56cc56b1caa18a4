"""The queue: create and save jobs, look them up, run workers, deliver events, shut down.

A facade: the jobs live in a backend (:mod:`pykue.backend`): Redis, or in memory while
test mode is on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

import redis

from pykue import signals
from pykue.backend import Connection
from pykue.emitter import Emitter
from pykue.errors import PykueError, RedisUnavailable
from pykue.job import Job
from pykue.keys import STATES, check_state, check_states
from pykue.memory_backend import MemoryBackend
from pykue.redis_backend import RedisBackend
from pykue.redis_conn import RedisConnection
from pykue.test_mode import TestMode


def create_queue(
    redis_url: str | None = None,
    prefix: str = "q",
    *,
    redis: redis.Redis | None = None,  # noqa: A002 - Kue-like keyword
    lease_ms: int = 10_000,
    max_stalls: int = 3,
    poll_interval: float = 1.0,
) -> Queue:
    """A queue on Redis (``redis_url``, else env REDIS_URL, else localhost:6379/0).

    Nothing connects until the queue is used, so test mode needs no Redis at all.
    ``lease_ms``: how long a worker's hold on an active job lasts without renewal;
    ``max_stalls``: how many lapsed leases a job survives before it fails.
    """
    return Queue(
        redis_url=redis_url,
        prefix=prefix,
        client=redis,
        lease_ms=lease_ms,
        max_stalls=max_stalls,
        poll_interval=poll_interval,
    )


def check_type(job_type: object) -> str:
    """``job_type`` if it is a non-empty str (any characters: keys encode it), else
    ValueError."""
    if not isinstance(job_type, str) or not job_type:
        raise ValueError(f"a job type must be a non-empty str, not {job_type!r}")
    return job_type


class Queue(Emitter):
    """Jobs of every type under one prefix; see :func:`create_queue`."""

    def __init__(
        self,
        redis_url: str | None = None,
        prefix: str = "q",
        client: redis.Redis | None = None,
        lease_ms: int = 10_000,
        max_stalls: int = 3,
        poll_interval: float = 1.0,
    ) -> None:
        super().__init__()
        self.conn = RedisConnection(redis_url, prefix, client, lease_ms, max_stalls)
        self.redis = RedisBackend(self.conn, self, poll_interval)
        self.link = Connection(self.redis)  # what this queue's jobs talk to
        self.test_mode = TestMode(self.link, self.redis, MemoryBackend(self))

    # the Redis side, for tools (admin, check, dashboard) and scripts that use Redis too
    prefix = property(lambda self: self.conn.prefix)
    keys = property(lambda self: self.conn.keys)
    client = property(lambda self: self.conn.client)
    url = property(lambda self: self.conn.url)
    url_shown = property(lambda self: self.conn.url_shown)
    cluster = property(lambda self: self.conn.cluster)
    lease_ms = property(lambda self: self.conn.lease_ms)
    max_stalls = property(lambda self: self.conn.max_stalls)
    hub = property(lambda self: self.redis.hub)
    groups = property(lambda self: self.redis.groups)

    def __repr__(self) -> str:
        return f"<Queue {self.prefix!r} at {self.url_shown}>"

    def unavailable(self, reason: object) -> RedisUnavailable:
        """The error to raise when Redis fails us."""
        return self.conn.unavailable(reason)

    def translate(self, exc: redis.RedisError) -> PykueError:
        """The pykue error for a redis-py one (see :meth:`RedisConnection.translate`)."""
        return self.conn.translate(exc)

    def _call(self, fn: Callable[[], Any]) -> Any:
        """Run a Redis call; turn redis-py errors into pykue errors."""
        return self.conn.call(fn)

    def _prepare(self) -> None:
        self.conn.prepare()

    def ping(self) -> bool:
        """True when Redis answers; raises RedisUnavailable (with the cause) when not."""
        return bool(self.conn.call(lambda: self.conn.client.ping()))

    # -- creating jobs -------------------------------------------------------------------

    def create(self, job_type: str, data: Any = None) -> Job:
        """A new job of ``job_type`` (not saved yet); data must be JSON."""
        return Job(self.link, check_type(job_type), data)

    def create_bulk(self, job_type: str, items: Iterable[Any]) -> list[Job]:
        """Create and save one job per data item in a single pipelined round trip."""
        jobs = [Job(self.link, check_type(job_type), data) for data in items]
        self.link.backend.save_bulk(jobs)
        return jobs

    # -- events --------------------------------------------------------------------------

    def on(self, event: str, fn: Callable[..., Any]) -> Queue:
        """Queue-level event: "job complete" fn(id, result), "job failed" fn(id, error) ..."""
        super().on(event, fn)
        self.link.backend.listen()
        return self

    def wait_for_jobs(self, jobs: list[Job] | None = None, timeout: float | None = None) -> bool:
        """Block until the jobs saved by this queue object (or ``jobs``) are finished.

        True when all finished; False on timeout, Ctrl+C or SIGTERM (which return cleanly).
        """
        return self.link.backend.wait(jobs, timeout)

    def restart(
        self, job: Job | int | str, only_from: tuple[str, ...] | list[str] = ("failed", "complete")
    ) -> bool:
        """Move a job (a Job or an id) back to inactive with its attempts reset, atomically,
        if it is in one of the states ``only_from``; False (nothing changed) if it is in
        another state or does not exist. A Job object saved here follows its new run."""
        states = check_states(only_from)
        if isinstance(job, Job):
            return self.link.backend.restart(job.id, states, job)
        return self.link.backend.restart(int(job), states, None)

    # -- lookup --------------------------------------------------------------------------

    def get_job(self, job_id: int | str) -> Job | None:
        """The job with ``job_id`` as stored now, or None."""
        return self.link.backend.get(job_id)

    def jobs(
        self,
        state: str | None = None,
        type: str | None = None,  # noqa: A002 - the API's name
        start: int = 0,
        stop: int = -1,
        order: str = "asc",
    ) -> list[Job]:
        """Jobs filtered by state and/or type, ``start``..``stop`` inclusive.

        Ordered by id, except inactive jobs: in the order they will run.
        """
        check_state(state)
        return self.link.backend.jobs(state, type, start, stop, order == "desc")

    def count(self, state: str, type: str | None = None) -> int:  # noqa: A002
        """How many jobs are in ``state`` (of ``type`` if given)."""
        check_state(state)
        return self.link.backend.count(state, type)

    def counts(self, type: str | None = None) -> dict[str, int]:  # noqa: A002
        """{"inactive": n, "delayed": n, "active": n, "complete": n, "failed": n}."""
        return {state: self.count(state, type) for state in STATES}

    def types(self) -> list[str]:
        """Every job type saved in this queue, sorted."""
        return self.link.backend.types()

    # -- processing ----------------------------------------------------------------------

    def process(
        self,
        job_type: str,
        handler: Callable[..., Any],
        concurrency: int = 1,
        *,
        prefetch: int = 1,
    ) -> None:
        """Run ``handler`` on jobs of ``job_type`` in ``concurrency`` background workers.

        Handler forms: ``(job, done)``; ``(job)`` returning a result or raising;
        ``async def (job)``. Returns at once.

        ``prefetch=K`` (opt-in, K > 1): each worker takes up to K jobs in one call, each
        leased and fenced on its own, runs them in turn and finishes them together with
        taking the next K (one round trip per K jobs). Their leases and TTLs start when
        they are taken; a worker killed while holding them loses none (the stall sweep
        returns them and they run again). Test mode accepts it and runs jobs one by one.
        """
        if not isinstance(prefetch, int) or isinstance(prefetch, bool) or not 1 <= prefetch <= 1000:
            raise ValueError(f"prefetch must be an int from 1 to 1000, not {prefetch!r}")
        self.link.backend.process(job_type, handler, concurrency, prefetch)

    def run(self, timeout: float = 5) -> None:
        """Block until SIGINT/SIGTERM, then :meth:`shutdown` (``timeout``); returns normally.

        A second SIGINT/SIGTERM during the shutdown hurries it: active jobs are given back
        at once instead of being waited for.
        """
        with signals.stop_event() as stop:
            try:
                while not stop.wait(0.5):
                    pass
            finally:
                with signals.stop_event() as hurry:  # the next signal lands here
                    self.shutdown(timeout, hurry=hurry)

    def shutdown(self, timeout: float = 5, hurry: threading.Event | None = None) -> None:
        """Stop taking jobs, let active ones finish within ``timeout`` s, give back the rest.

        Then stop the event thread and close the connections. ``hurry``: an Event that,
        once set, ends the wait for active jobs at once (they are given back).
        """
        self.redis.shutdown(timeout, hurry)  # workers started before test mode stop too
