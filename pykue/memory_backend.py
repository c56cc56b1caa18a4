"""The in-memory backend (test mode): jobs are kept in this process; no Redis is touched.

``save()`` appends to :attr:`MemoryBackend.saved` and gives ids 1, 2, 3 ...;
``job.emit(event, *args)`` runs the callbacks as if the event happened. With ``run_jobs``
a saved job runs at once, in this thread, through the handler given to ``process()``.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any

from pykue.backend import Backend
from pykue.emitter import Emitter
from pykue.events import deliver_here
from pykue.handlers import run_handler
from pykue.job import Job


def _by_run_order(job: Job) -> tuple[int, int]:
    return (job.priority_value, job.id or 0)


class MemoryBackend(Backend):
    """Jobs of one queue in a list; ``listeners``: the queue's own callbacks."""

    def __init__(self, listeners: Emitter) -> None:
        self.listeners = listeners
        self.run_jobs = False  # run saved jobs at once (test mode's process=True)
        self.saved: list[Job] = []  # in the order saved
        self._next_id = 1
        self._handlers: dict[str, Callable[..., Any]] = {}
        self._logs: weakref.WeakKeyDictionary[Job, list[str]] = weakref.WeakKeyDictionary()

    def clear(self) -> None:
        """Forget the jobs; ids start again at 1."""
        self.saved.clear()
        self._next_id = 1

    def forget_handlers(self) -> None:
        self._handlers.clear()

    # -- saving and moving jobs ----------------------------------------------------------

    def save(self, job: Job) -> None:
        if job.unique_key:
            for other in self.saved:
                if other.unique_key == job.unique_key:
                    job.id, job.state, job.duplicate = other.id, other.state, True
                    return
        job.id = self._next_id
        self._next_id += 1
        job.state = "delayed" if job.delay_ms else "inactive"
        self.saved.append(job)
        job.emit("enqueue", job.type)
        self._run_if_wanted(job)

    def save_bulk(self, jobs: list[Job]) -> None:
        for job in jobs:
            self.save(job)

    def progress(self, job: Job, percent: int, data: Any, data_json: str) -> None:
        job.emit("progress", percent, data)

    def log(self, job: Job, line: str) -> None:
        self._logs.setdefault(job, []).append(line)

    def logs(self, job: Job) -> list[str]:
        return list(self._logs.get(job, ()))

    def remove(self, job: Job) -> bool:
        if job in self.saved:
            self.saved.remove(job)
        job.emit("remove", job.type)
        return True

    def set_state(self, job: Job, state: str, delay_ms: int) -> None:
        if state == "inactive":
            job.attempts_made, job.progress_percent, job.stalls = 0, 0, 0

    def restart(self, job_id: int, states: list[str], job: Job | None) -> bool:
        found = self.get(job_id)
        if found is None or found.state not in states:
            return False
        for obj in {id(o): o for o in (found, job) if o is not None}.values():
            obj.state, obj.attempts_made, obj.progress_percent = "inactive", 0, 0
        found.emit("enqueue", found.type)
        self._run_if_wanted(found)
        return True

    # -- reading -------------------------------------------------------------------------

    def read_fields(self, job_id: int, names: list[str]) -> list[str | None]:
        return [None] * len(names)  # a job kept here has every attribute set

    def get(self, job_id: int | str) -> Job | None:
        return next((j for j in self.saved if str(j.id) == str(job_id)), None)

    def jobs_matching(self, state: str | None, job_type: str | None) -> list[Job]:
        return [
            j
            for j in self.saved
            if (state is None or j.state == state) and (job_type is None or j.type == job_type)
        ]

    def jobs(
        self, state: str | None, job_type: str | None, start: int, stop: int, desc: bool
    ) -> list[Job]:
        found = self.jobs_matching(state, job_type)
        # by id; inactive jobs in the order they would run, as in Redis
        found.sort(key=_by_run_order if state == "inactive" else lambda j: j.id, reverse=desc)
        return found[start : None if stop == -1 else stop + 1]

    def count(self, state: str, job_type: str | None) -> int:
        return len(self.jobs_matching(state, job_type))

    def types(self) -> list[str]:
        return sorted({j.type for j in self.saved})

    # -- events and workers --------------------------------------------------------------

    def emit(self, job: Job, event: str, args: list) -> None:
        deliver_here(job, event, args, self.listeners._fire)

    def listen(self) -> None:
        pass  # events are delivered as they happen, in this thread

    def wait(self, jobs: list[Job] | None, timeout: float | None) -> bool:
        return True  # saved jobs ran (or will never run) already

    def process(
        self, job_type: str, handler: Callable[..., Any], concurrency: int, prefetch: int = 1
    ) -> None:
        # prefetch is accepted and ignored: jobs run here one by one, in this thread
        self._handlers[job_type] = handler
        if self.run_jobs:
            waiting = [j for j in self.saved if j.type == job_type]
            for job in sorted(waiting, key=_by_run_order):
                if job.state in ("inactive", "delayed"):
                    self.run(job)

    def shutdown(self, timeout: float, hurry: threading.Event | None) -> None:
        pass

    def _run_if_wanted(self, job: Job) -> None:
        if self.run_jobs and job.type in self._handlers:
            self.run(job)

    def run(self, job: Job) -> None:
        """Run ``job`` now, in this thread, through its type's handler (all attempts)."""
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
