"""Checks shared by the graders of tasks 1-10: the "not connected" path and clean failures."""

from __future__ import annotations

import asyncio
import socket
import subprocess

import pytest
import redis
import redis.asyncio

from harness.compare import expect_lines
from harness.process import Finished, script_env


def require(condition: bool, message: str) -> None:
    """Fail the grader with ``message`` alone (no grader source) unless ``condition`` holds."""
    if not condition:
        pytest.fail(message, pytrace=False)


_HELD_PORTS: list[socket.socket] = []


def closed_url() -> tuple[str, int]:
    """A Redis URL where nobody listens (the connection is refused), and its port.

    The port stays bound, never listening, by this process: a connection to it is refused,
    and no server started meanwhile by another test can take it (a merely free port was
    once taken by a web server, and the script said "Connection closed by server").
    """
    held = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    held.bind(("127.0.0.1", 0))
    _HELD_PORTS.append(held)
    port = held.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0", port


def refused_message(port: int) -> str:
    """redis-py's (synchronous client's) message for a refused connection to ``port``."""
    return f"Error 111 connecting to 127.0.0.1:{port}. Connection refused."


def asyncio_refused_message(url: str) -> str:
    """redis.asyncio's message when nobody listens at ``url`` (it differs from the sync one)."""

    async def attempt() -> str:
        client = redis.asyncio.from_url(url)
        try:
            await client.ping()
        except redis.exceptions.ConnectionError as error:
            return str(error)
        finally:
            await client.aclose()
        raise AssertionError(f"something answers at {url}")

    return asyncio.run(attempt())


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


NOT_CONNECTED = "Redis client not connected to the server: "


def expect_redis_down_line(label: str, start, script: str, timeout: float = 10) -> None:
    """Tasks 6-10: with Redis down, one "not connected" line, exit code 1, nothing else.

    ``start`` is the grader's ``start`` fixture. A processor that waits for Redis forever
    is stopped after ``timeout`` seconds and fails with what to do instead.
    """
    url, port = closed_url()
    live = start(script, env_override=script_env(url))
    try:
        code = live.proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        live.kill()
        require(
            False,
            f"{label} (server down): {script} was still running {timeout:g}s after it "
            "started, with Redis down. It must print one line, "
            f"'{NOT_CONNECTED}ERROR_MESSAGE', and exit with code 1: ping Redis first "
            "(queue.client.ping()) and catch redis.exceptions.ConnectionError, as in task 1."
            f"\n  stdout:\n{_shown(live.lines)}\n  stderr (first lines):\n"
            f"{_shown(live.stderr_lines[:5])}",
        )
    live.wait_exit(timeout=5)  # the pipes are read to their end
    out = [line for line in live.lines if line.strip()]
    err = [line for line in live.stderr_lines if line.strip()]
    refused = refused_message(port)
    require(
        len(out) == 1 and out[0].startswith(NOT_CONNECTED) and refused in out[0] and not err,
        f"{label} (server down): {script} must print exactly one line, "
        f"'{NOT_CONNECTED}{refused}', and nothing on stderr.\n"
        + (
            "Hint: catch the error (redis.exceptions.ConnectionError, or pykue.RedisUnavailable "
            "and its .reason) and print the line instead of letting the traceback out.\n"
            if any("Traceback" in line for line in err)
            else ""
        )
        + f"  stdout:\n{_shown(live.lines)}\n  stderr:\n{_shown(live.stderr_lines[-15:])}",
    )
    require(
        code == 1,
        f"{label} (server down): {script} must exit with code 1 (sys.exit(1)), not {code}",
    )


def _shown(lines: list[str]) -> str:
    return "\n".join(f"    {line}" for line in lines) if lines else "    (nothing)"
