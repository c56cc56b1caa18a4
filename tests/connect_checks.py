"""Checks shared by the graders of tasks 1-5: the "not connected" path and clean failures."""

from __future__ import annotations

import pytest

from harness.compare import expect_lines
from harness.process import Finished
from toolkit.redis_servers import free_port


def require(condition: bool, message: str) -> None:
    """Fail the grader with ``message`` alone (no grader source) unless ``condition`` holds."""
    if not condition:
        pytest.fail(message, pytrace=False)


def closed_url() -> tuple[str, int]:
    """A Redis URL where nobody listens (the connection is refused), and its port."""
    port = free_port()
    return f"redis://127.0.0.1:{port}/0", port


def refused_message(port: int) -> str:
    """redis-py's (synchronous client's) message for a refused connection to ``port``."""
    return f"Error 111 connecting to 127.0.0.1:{port}. Connection refused."


def expect_not_connected(label: str, script: str, finished: Finished, message: str) -> None:
    """The server-down transcript: one "not connected" line, exit code 1, no traceback."""
    expected = [f"Redis client not connected to the server: {message}"]
    expect_lines(f"{label} (server down)", expected, finished.stdout)
    require(
        "Traceback" not in finished.stderr,
        f"{label}: with the server down, {script} must not crash with a traceback; catch "
        f"redis.exceptions.ConnectionError.\nstderr:\n{finished.stderr}",
    )
    require(
        finished.returncode == 1,
        f"{label}: with the server down, {script} must exit with code 1 (sys.exit(1)), "
        f"not {finished.returncode}",
    )


def expect_exit_0(label: str, script: str, finished: Finished) -> None:
    """The script ended by itself with exit code 0."""
    require(
        finished.returncode == 0,
        f"{label}: {script} exited with code {finished.returncode}, expected 0.\n"
        f"stderr:\n{finished.stderr}",
    )
