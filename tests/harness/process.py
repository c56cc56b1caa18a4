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
from dataclasses import dataclass
from pathlib import Path

import pytest

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


def _show(lines: list[str]) -> str:
    return "\n".join(f"    {line}" for line in lines) if lines else "    (nothing)"


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
    try:
        proc = subprocess.run(
            [sys.executable, str(path), *args],
            cwd=path.parent,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"").decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
        pytest.fail(
            f"{label}: {path.name} did not finish within {timeout:g}s. Output so far:\n"
            f"{_show(out.splitlines())}",
            pytrace=False,
        )
    return Finished(proc.stdout.splitlines(), proc.stderr, proc.returncode)


class CollectedProcess:
    """A process started with pipes, whose stdout and stderr lines are collected as they come."""

    def __init__(self, argv: list[str], env: dict[str, str], *, cwd: Path) -> None:
        self.lines: list[str] = []
        self.stderr_lines: list[str] = []
        self._changed = threading.Condition()
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

    def _pump(self, stream, sink: list[str]) -> None:
        for line in stream:
            with self._changed:
                sink.append(line.rstrip("\n"))
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
        super().__init__([sys.executable, str(path), *args], env, cwd=path.parent)

    @property
    def stderr(self) -> str:
        return "\n".join(self.stderr_lines)

    def _timeout(self, what: str, timeout: float) -> None:
        detail = f"\n  stderr:\n{_show(self.stderr_lines[-15:])}" if self.stderr_lines else ""
        pytest.fail(
            f"{self.label}: {self.path.name} timed out after {timeout:g}s waiting for {what}. "
            f"Output so far:\n{_show(self.lines)}{detail}",
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
                    pytest.fail(
                        f"{self.label}: {self.path.name} exited (code {self.proc.returncode}) "
                        f"before printing {what}. Output:\n{_show(self.lines)}\n  stderr:\n"
                        f"{_show(self.stderr_lines[-15:])}",
                        pytrace=False,
                    )
                self._changed.wait(min(left, 0.1))

    def wait_for_line(self, line: str, timeout: float = 10) -> None:
        """Wait until ``line`` has been printed (exactly)."""
        self.wait_until(lambda lines: line in lines, repr(line), timeout)

    def wait_for_count(self, count: int, timeout: float = 10) -> None:
        """Wait until at least ``count`` lines have been printed."""
        self.wait_until(lambda lines: len(lines) >= count, f"{count} lines", timeout)

    def wait_exit(self, timeout: float = 10) -> int:
        """Wait for the script to exit by itself; return its exit code."""
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._timeout("the script to exit by itself", timeout)
        for reader in self._readers:
            reader.join(timeout=5)
        return code

    def signal(self, signum: int = signal.SIGTERM, timeout: float = 10) -> int:
        """Send ``signum``, wait for the exit, return the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signum)
        return self.wait_exit(timeout)
