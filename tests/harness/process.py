"""Run learner scripts as real processes and read their output line by line.

``run_script`` runs a script to its end; ``start_script`` starts a long-running one
(subscriber, processor, server) and lets a grader wait for a given line. A script
that hangs fails the grader with a timeout message that shows the output so far.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness import forkserver
from harness.crash import crash_report

REPO_ROOT = Path(__file__).resolve().parents[2]


def script_env(redis_url: str, **extra: str) -> dict[str, str]:
    """The environment a graded script runs with: REDIS_URL, unbuffered output, pykue importable."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env.update(
        REDIS_URL=redis_url,
        PYTHONUNBUFFERED="1",
        PYTHONPATH=str(REPO_ROOT),
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.update(extra)
    return env


KEEP_LINES = 5000  # lines kept per stream; after that only the last TAIL_LINES and a count
TAIL_LINES = 20
MAX_LINE_CHARS = 10_000  # a longer line is split, so one endless line cannot fill memory
SHOW_HEAD, SHOW_TAIL = 20, 10  # what a failure message shows of a long output


class Output(list):
    """A stream's lines, capped: the first KEEP_LINES, then the last TAIL_LINES and a count.

    It is a plain list for the graders; ``script`` and ``stderr_lines`` let
    :mod:`harness.compare` show the learner's own crash beside an output diff.
    """

    def __init__(self, script: Path | None = None, stderr_lines: list[str] | None = None):
        super().__init__()
        self.script = script
        self.stderr_lines = stderr_lines if stderr_lines is not None else []
        self.cut = 0
        self.tail: deque[str] = deque(maxlen=TAIL_LINES)

    def add(self, line: str) -> None:
        if len(self) < KEEP_LINES:
            self.append(line)
            return
        if len(self.tail) == TAIL_LINES:
            self.cut += 1
        self.tail.append(line)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _show(lines: list[str]) -> str:
    """Lines indented for a failure message; a long output shows its first and last lines."""
    if not lines:
        return "    (nothing)"
    kept, tail = list(lines), list(getattr(lines, "tail", ()))
    total = len(kept) + getattr(lines, "cut", 0) + len(tail)
    if total <= SHOW_HEAD + SHOW_TAIL:
        shown = kept + tail
    else:
        head, end = kept[:SHOW_HEAD], (kept[SHOW_HEAD:] + tail)[-SHOW_TAIL:]
        cut = total - len(head) - len(end)
        shown = [*head, f"... ({_plural(cut, 'line')} cut) ...", *end]
    return "\n".join(f"    {line}" for line in shown)


@dataclass
class Finished:
    """What a script that ran to its end printed, and how it exited."""

    stdout: list[str]
    stderr: str
    returncode: int


def run_script(
    path: Path,
    env: dict[str, str],
    *,
    label: str,
    timeout: float = 20,
    args: tuple[str, ...] = (),
) -> Finished:
    """Run ``python path`` to its end; fail the test as a timeout if it hangs."""
    live = LiveScript(path, env, label=label, args=args)
    try:
        code = live.wait_exit(timeout)
    finally:
        live.kill()
    return Finished(live.lines, live.stderr, code)


class CollectedProcess:
    """A process started with pipes, whose stdout and stderr lines are collected as they come."""

    def __init__(
        self,
        argv: list[str],
        env: dict[str, str],
        *,
        cwd: Path,
        script: Path | None = None,
        fork: str | None = None,
    ) -> None:
        """Start ``argv``; with ``fork`` ("script", "web"), from that fork server if it can."""
        self.stderr_lines: Output = Output(script)
        self.lines: Output = Output(script, self.stderr_lines)
        self._changed = threading.Condition()
        server = forkserver.fork_server(env, fork) if fork and forkserver.enabled() else None
        if server is not None and server.can_fork(argv, env):
            self.proc = server.start(argv, env, cwd)
        else:
            self.proc = subprocess.Popen(
                argv,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
        self._readers = [
            threading.Thread(target=self._pump, args=(self.proc.stdout, self.lines), daemon=True),
            threading.Thread(
                target=self._pump, args=(self.proc.stderr, self.stderr_lines), daemon=True
            ),
        ]
        for reader in self._readers:
            reader.start()

    def _pump(self, stream, sink: Output) -> None:
        for line in iter(lambda: stream.readline(MAX_LINE_CHARS), ""):
            with self._changed:
                sink.add(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def kill(self) -> None:
        """Stop the process and everything it started, at once (cleanup)."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
        for reader in self._readers:
            reader.join(timeout=5)

    def _output_ended(self) -> bool:
        """True once the process exited and both pipes were read to their end."""
        return self.proc.poll() is not None and not any(r.is_alive() for r in self._readers)


class LiveScript(CollectedProcess):
    """A script running in the background whose stdout lines are collected as they come."""

    def __init__(self, path: Path, env: dict[str, str], *, label: str, args: tuple[str, ...] = ()):
        self.path = path
        self.label = label
        argv = [sys.executable, str(path), *args]
        super().__init__(argv, env, cwd=path.parent, script=path, fork="script")

    @property
    def stderr(self) -> str:
        return "\n".join(self.stderr_lines)

    def _timeout(self, what: str, timeout: float) -> None:
        detail = f"\n  stderr:\n{_show(self.stderr_lines)}" if self.stderr_lines else ""
        self.kill()
        pytest.fail(
            f"{self.label}: {self.path.name} was still running after {timeout:g}s "
            f"(waiting for {what}); it was stopped. Output so far:\n{_show(self.lines)}{detail}",
            pytrace=False,
        )

    def wait_until(self, predicate, what: str, timeout: float = 10) -> None:
        """Wait until ``predicate(lines)`` holds; fail as a timeout otherwise."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(self.lines):
                left = deadline - time.monotonic()
                if left <= 0:
                    self._timeout(what, timeout)
                if self._output_ended():
                    if predicate(self.lines):
                        return
                    pytest.fail(self._exited_early(what), pytrace=False)
                self._changed.wait(min(left, 0.1))

    def _exited_early(self, what: str) -> str:
        crash = crash_report(self.stderr, self.path)
        head = [*crash, ""] if crash else []
        return "\n".join(head) + (
            f"{self.label}: {self.path.name} exited (code {self.proc.returncode}) "
            f"before printing {what}. Output:\n{_show(self.lines)}\n  stderr:\n"
            f"{_show(self.stderr_lines)}"
        )

    def wait_for_line(self, line: str, timeout: float = 10) -> None:
        """Wait until ``line`` has been printed (exactly)."""
        self.wait_until(lambda lines: line in lines, repr(line), timeout)

    def wait_for_count(self, count: int, timeout: float = 10) -> None:
        """Wait until at least ``count`` lines have been printed."""
        self.wait_until(lambda lines: len(lines) >= count, _plural(count, "line"), timeout)

    def wait_exit(self, timeout: float = 10) -> int:
        """Wait for the script to exit by itself; return its exit code."""
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            code = None
        if code is None:  # failed outside the except: no "During handling of ..." chain
            self._timeout("the script to exit by itself", timeout)
        for reader in self._readers:
            reader.join(timeout=5)
        return code

    def signal(self, signum: int = signal.SIGTERM, timeout: float = 10) -> int:
        """Send ``signum``, wait for the exit, return the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signum)
        return self.wait_exit(timeout)
