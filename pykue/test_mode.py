"""Test mode: jobs are recorded in memory instead of stored; no Redis is touched.

``queue.test_mode.enter(process=False)`` — ``save()`` appends to ``test_mode.jobs`` and
gives ids 1, 2, 3 ...; ``job.emit(event, *args)`` runs the callbacks as if the event
happened. With ``process=True`` a saved job runs at once, in-process, through the
handler given to ``queue.process()``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pykue.job import Job
    from pykue.queue import Queue


class TestMode:
    """The test-mode switch and record of one queue object."""

    __test__ = False  # not a pytest test class

    def __init__(self, queue: Queue) -> None:
        self.queue = queue
        self.active = False
        self.process = False
        self.jobs: list[Job] = []
        self._next_id = 1
        self._handlers: dict[str, Callable[..., Any]] = {}

    def enter(self, process: bool = False) -> None:
        """Start recording saved jobs (and run them at once when ``process``)."""
        self.active = True
        self.process = process
        self.clear()

    def exit(self) -> None:
        """Back to normal (Redis) mode; forgets recorded jobs and test handlers."""
        self.active = False
        self.process = False
        self.clear()
        self._handlers.clear()

    def clear(self) -> None:
        """Forget the recorded jobs; ids start again at 1."""
        self.jobs.clear()
        self._next_id = 1

    # -- used by Queue -------------------------------------------------------------------

    def save(self, job: Job) -> None:
        if job.unique_key:
            for other in self.jobs:
                if other.unique_key == job.unique_key:
                    job.id, job.state, job.duplicate = other.id, other.state, True
                    return
        job.id = self._next_id
        self._next_id += 1
        job.state = "delayed" if job.delay_ms else "inactive"
        self.jobs.append(job)
        job.emit("enqueue", job.type)
        if self.process and job.type in self._handlers:
            self.run(job)

    def restart(self, job_id: int, states: list[str]) -> bool:
        job = next((j for j in self.jobs if j.id == job_id), None)
        if job is None or job.state not in states:
            return False
        job.state, job.attempts_made, job.progress_percent = "inactive", 0, 0
        job.emit("enqueue", job.type)
        if self.process and job.type in self._handlers:
            self.run(job)
        return True

    def register(self, job_type: str, handler: Callable[..., Any]) -> None:
        self._handlers[job_type] = handler
        if self.process:
            for job in list(self.jobs):
                if job.type == job_type and job.state in ("inactive", "delayed"):
                    self.run(job)

    def run(self, job: Job) -> None:
        """Run ``job`` now, in this thread, through its type's handler (all attempts)."""
        from pykue.worker import run_handler  # avoid an import cycle

        handler = self._handlers[job.type]
        while True:
            job.state = "active"
            job.emit("start", job.type)
            outcome, payload = run_handler(handler, job, threading.Event())
            job.attempts_made += 1
            if outcome == "complete":
                job.emit("complete", payload)
                return
            if job.attempts_made < job.max_attempts:
                job.emit("failed attempt", payload, job.attempts_made)
                continue
            job.emit("failed", payload)
            return
