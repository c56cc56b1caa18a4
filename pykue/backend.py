"""Where jobs live: one interface, two implementations.

:class:`pykue.redis_backend.RedisBackend` keeps jobs in Redis and makes every state move
with one Lua script (``lua/``); :class:`pykue.memory_backend.MemoryBackend` keeps them in
this process (test mode). A :class:`pykue.Queue` talks to whichever its
:class:`Connection` holds; so do its jobs, which get the connection, not the queue.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pykue.job import Job


class Backend(ABC):
    """The storage of one queue's jobs and the delivery of their events."""

    # -- saving and moving jobs ----------------------------------------------------------

    @abstractmethod
    def save(self, job: Job) -> None:
        """Store a new job: set ``job.id`` and ``job.state`` (or ``job.duplicate``)."""

    @abstractmethod
    def save_bulk(self, jobs: list[Job]) -> None:
        """Store several new jobs at once."""

    @abstractmethod
    def progress(self, job: Job, percent: int, data: Any, data_json: str) -> None:
        """Record a running job's progress and deliver its "progress" event."""

    @abstractmethod
    def log(self, job: Job, line: str) -> None:
        """Append a line to the job's log."""

    @abstractmethod
    def logs(self, job: Job) -> list[str]:
        """The job's log lines."""

    @abstractmethod
    def remove(self, job: Job) -> bool:
        """Delete the job from every state; True if it existed."""

    @abstractmethod
    def set_state(self, job: Job, state: str, delay_ms: int) -> None:
        """Force the job into ``state`` (not active); PykueError if it does not exist."""

    @abstractmethod
    def restart(self, job_id: int, states: list[str], job: Job | None) -> bool:
        """Back to inactive, attempts reset, if the job is in one of ``states``."""

    # -- reading -------------------------------------------------------------------------

    @abstractmethod
    def read_fields(self, job_id: int, names: list[str]) -> list[str | None]:
        """Fields of the stored job (the lazy attributes of a job a worker fetched)."""

    @abstractmethod
    def get(self, job_id: int | str) -> Job | None:
        """The job as stored now, or None."""

    @abstractmethod
    def jobs(
        self, state: str | None, job_type: str | None, start: int, stop: int, desc: bool
    ) -> list[Job]:
        """Jobs ``start``..``stop`` (inclusive) of ``state`` and/or ``job_type``."""

    @abstractmethod
    def count(self, state: str, job_type: str | None) -> int:
        """How many jobs are in ``state`` (of ``job_type`` if given)."""

    @abstractmethod
    def types(self) -> list[str]:
        """Every job type saved, sorted."""

    # -- events and workers --------------------------------------------------------------

    @abstractmethod
    def emit(self, job: Job, event: str, args: list) -> None:
        """Deliver ``event`` about ``job`` here as if it had happened."""

    @abstractmethod
    def listen(self) -> None:
        """Queue-level listeners were added: make sure events reach them."""

    def watch(self, job: Job) -> None:  # noqa: B027 - most backends need nothing here
        """A listener was added to ``job`` after it was saved: make sure events reach it."""

    @abstractmethod
    def wait(self, jobs: list[Job] | None, timeout: float | None) -> bool:
        """Block until the jobs (default: all saved here) are finished."""

    @abstractmethod
    def process(
        self, job_type: str, handler: Callable[..., Any], concurrency: int, prefetch: int = 1
    ) -> None:
        """Run ``handler`` on jobs of ``job_type`` (``prefetch``: jobs taken per call)."""

    @abstractmethod
    def shutdown(self, timeout: float, hurry: threading.Event | None) -> None:
        """Stop the workers (active jobs finish within ``timeout`` or are given back)."""


class Connection:
    """What a job needs of its queue: the backend in use (test mode swaps it)."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
