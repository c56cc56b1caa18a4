"""Test mode: the queue's jobs go to the in-memory backend instead of Redis.

``queue.test_mode.enter(process=False)`` — ``save()`` appends to ``test_mode.jobs`` and
gives ids 1, 2, 3 ...; ``job.emit(event, *args)`` runs the callbacks as if the event
happened. With ``process=True`` a saved job runs at once, in-process, through the
handler given to ``queue.process()``. See :mod:`pykue.memory_backend`.
"""

from __future__ import annotations

from pykue.backend import Backend, Connection
from pykue.job import Job
from pykue.memory_backend import MemoryBackend


class TestMode:
    """The test-mode switch of one queue: which backend its :class:`Connection` holds."""

    __test__ = False  # not a pytest test class

    def __init__(self, link: Connection, normal: Backend, memory: MemoryBackend) -> None:
        self.link = link
        self.normal = normal
        self.memory = memory

    @property
    def active(self) -> bool:
        return self.link.backend is self.memory

    @property
    def process(self) -> bool:
        return self.memory.run_jobs

    @property
    def jobs(self) -> list[Job]:
        """The jobs saved in test mode, in order."""
        return self.memory.saved

    def enter(self, process: bool = False) -> None:
        """Start recording saved jobs (and run them at once when ``process``)."""
        self.link.backend = self.memory
        self.memory.run_jobs = process
        self.clear()

    def exit(self) -> None:
        """Back to normal (Redis) mode; forgets recorded jobs and test handlers."""
        self.link.backend = self.normal
        self.memory.run_jobs = False
        self.clear()
        self.memory.forget_handlers()

    def clear(self) -> None:
        """Forget the recorded jobs; ids start again at 1."""
        self.memory.clear()
