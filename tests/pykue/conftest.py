"""Fixtures of pykue's own tests: queues on the session's test Redis (fresh db per test)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

import pykue

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def wait_until(predicate, what: str, timeout: float = 5.0, every: float = 0.01):
    """Poll ``predicate`` until it is truthy; fail with ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(every)


@pytest.fixture
def make_queue(redis_url):
    """``make_queue(**options)``: a queue on the fresh test db (short leases); shut down after."""
    made: list[pykue.Queue] = []

    def make(**options) -> pykue.Queue:
        options.setdefault("lease_ms", 400)
        options.setdefault("poll_interval", 0.2)
        queue = pykue.create_queue(redis_url, prefix=options.pop("prefix", "t"), **options)
        made.append(queue)
        return queue

    yield make
    for queue in made:
        queue.shutdown(timeout=0.5)


@pytest.fixture
def queue(make_queue) -> pykue.Queue:
    """A queue with prefix ``t`` and a 400 ms lease."""
    return make_queue()


class WorkerProcess:
    """``tests/pykue/worker_proc.py`` in a subprocess: a pykue worker we can kill."""

    def __init__(self, url: str, *args: str) -> None:
        env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=str(REPO))
        self.stderr = tempfile.TemporaryFile("w+")  # a file: a chatty worker never blocks
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "worker_proc.py"), url, *args],
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
            env=env,
        )
        line = self.proc.stdout.readline()
        if line.strip() != "ready":
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"worker did not start: {line!r} {self.error_output()}")

    def error_output(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()
        self.stderr.close()

    def stop(self, timeout: float = 10) -> int:
        """SIGTERM, then the exit code."""
        if self.proc.poll() is None:
            self.proc.terminate()
        code = self.proc.wait(timeout)
        assert "Traceback" not in self.error_output(), self.error_output()
        return code


@pytest.fixture
def worker_process(redis_url):
    """``worker_process(*args)``: start worker_proc.py on the test db; killed at teardown."""
    started: list[WorkerProcess] = []

    def start(*args: str) -> WorkerProcess:
        worker = WorkerProcess(redis_url, *args)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.kill()
