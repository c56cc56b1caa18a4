"""Start graded web apps (tasks 12 and 13) as real server processes and talk HTTP to them.

Two ways to start a graded app, both on a free port of 127.0.0.1:

- :func:`start_script` runs ``python N-name.py`` with ``PORT``/``HOST`` set, the way a
  learner runs it (uvicorn runs inside the script);
- :func:`start_uvicorn` runs ``python -m uvicorn N-name:app --app-dir FOLDER --workers 2``.
  A numbered file name such as ``9-stock`` is not a valid identifier, so ``import 9-stock``
  is a syntax error; but uvicorn loads ``module:attr`` with ``importlib.import_module``,
  which takes any name found on ``sys.path``, and ``--app-dir`` puts the file's folder
  there (spawned workers inherit that ``sys.path``). No shim or copy is needed.

:func:`burst` fires many requests at once over pre-opened connections, so a server that
reads-then-writes in two steps is caught interleaving them.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from harness.grading import timed_out
from harness.process import CollectedProcess
from toolkit.redis_servers import RunningRedis, free_port, port_is_open, start_fake, start_real

HOST = "127.0.0.1"
STARTUP_LINE = "Application startup complete."


def _show(lines: list[str]) -> str:
    return "\n".join(f"    {line}" for line in lines) if lines else "    (nothing)"


class WebServer(CollectedProcess):
    """A server process whose stdout and stderr lines are collected as they come."""

    def __init__(self, argv: list[str], env: dict[str, str], *, cwd: Path, label: str, port: int):
        self.label = label
        self.port = port
        self.url = f"http://{HOST}:{port}"
        self.argv = argv
        self._http: httpx.Client | None = None
        super().__init__(argv, env, cwd=cwd, fork="web")

    @property
    def http(self) -> httpx.Client:
        """One keep-alive HTTP client for this server (a new client per request is slow)."""
        if self._http is None:
            self._http = httpx.Client(base_url=self.url, timeout=10, trust_env=False)
        return self._http

    @property
    def name(self) -> str:
        return " ".join(Path(a).name if "/" in a else a for a in self.argv[1:])

    @property
    def output(self) -> str:
        """Everything printed on stdout so far, as one text (lines joined by newlines)."""
        with self._changed:
            return "\n".join(self.lines)

    def app_lines(self) -> list[str]:
        """The stdout lines the app printed itself (uvicorn's own log lines left out)."""
        with self._changed:
            return [line for line in self.lines if not _is_uvicorn_log(line)]

    def fail(self, message: str, timeout: bool = False) -> None:
        """Fail the test with ``message`` and the output so far (``timeout``: as a timeout)."""
        text = (
            f"{self.label}: {message}\n  command: {self.name}\n  stdout so far:\n"
            f"{_show(self.lines[-20:])}\n  stderr so far:\n{_show(self.stderr_lines[-20:])}"
        )
        if timeout:
            timed_out(text)
        pytest.fail(text, pytrace=False)

    def wait_until(self, predicate, what: str, timeout: float = 10) -> None:
        """Wait until ``predicate(stdout_lines, stderr_lines)`` holds, else fail as a timeout."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(self.lines, self.stderr_lines):
                if self._output_ended():
                    if predicate(self.lines, self.stderr_lines):
                        return
                    self.fail(f"the server exited (code {self.proc.returncode}) before {what}.")
                left = deadline - time.monotonic()
                if left <= 0:
                    self.fail(f"timed out after {timeout:g}s waiting for {what}.", timeout=True)
                self._changed.wait(min(left, 0.1))

    def wait_for_app_lines(self, count: int, timeout: float = 10) -> list[str]:
        """Wait until the app printed at least ``count`` lines of its own; return them."""
        self.wait_until(
            lambda out, _err: sum(not _is_uvicorn_log(line) for line in out) >= count,
            f"{count} printed line(s)",
            timeout,
        )
        return self.app_lines()

    def wait_ready(self, workers: int = 1, timeout: float = 20) -> WebServer:
        """Wait until the port answers and ``workers`` app processes finished their startup."""
        deadline = time.monotonic() + timeout
        while not port_is_open(HOST, self.port):
            if self.proc.poll() is not None:
                self.wait_until(lambda *_: False, "listening on its port", 0)
            if time.monotonic() > deadline:
                self.fail(f"nothing listened on port {self.port} after {timeout:g}s.", timeout=True)
            time.sleep(0.05)
        if workers > 1:
            # The uvicorn parent listens before its workers have imported the app: wait
            # until every worker said its startup is complete.
            self.wait_until(
                lambda _out, err: sum(STARTUP_LINE in line for line in err) >= workers,
                f"{workers} workers to finish their startup",
                max(0.1, deadline - time.monotonic()),
            )
        return self

    def signal(self, signum: int = signal.SIGTERM, timeout: float = 10) -> int:
        """Send ``signum`` to the server; wait for its exit and return the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signum)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.fail(f"did not exit within {timeout:g}s after signal {signum}.", timeout=True)
        for reader in self._readers:
            reader.join(timeout=5)
        return code

    def kill(self) -> None:
        """Stop the server and every process it started, at once (cleanup)."""
        if self._http is not None:
            self._http.close()
        super().kill()


UVICORN_LOG = re.compile(r"^(DEBUG|INFO|WARNING|ERROR|CRITICAL):(\s|$)")


def _is_uvicorn_log(line: str) -> bool:
    """True for uvicorn's own log lines ("INFO:     ..."), which graders ignore."""
    return UVICORN_LOG.match(line) is not None


def server_env(env: dict[str, str], port: int, redis_url: str | None = None) -> dict[str, str]:
    """``env`` plus PORT/HOST (and another REDIS_URL if given)."""
    out = dict(env, PORT=str(port), HOST=HOST)
    if redis_url is not None:
        out["REDIS_URL"] = redis_url
    return out


def start_script(path: Path, env: dict[str, str], *, label: str) -> WebServer:
    """``python path`` on a free port (PORT/HOST in the environment); not yet waited for."""
    port = free_port(HOST)
    argv = [sys.executable, str(path)]
    return WebServer(argv, server_env(env, port), cwd=path.parent, label=label, port=port)


def start_uvicorn(path: Path, env: dict[str, str], *, label: str, workers: int = 2) -> WebServer:
    """``python -m uvicorn STEM:app --app-dir FOLDER --workers N`` on a free port."""
    port = free_port(HOST)
    argv = [
        sys.executable,
        "-m",
        "uvicorn",
        f"{path.stem}:app",
        "--app-dir",
        str(path.parent),
        "--workers",
        str(workers),
        "--host",
        HOST,
        "--port",
        str(port),
        "--no-access-log",
    ]
    return WebServer(argv, server_env(env, port), cwd=path.parent, label=label, port=port)


def start_redis(kind: str, port: int | None = None) -> RunningRedis:
    """A Redis of ``kind`` ("real"/"fake") of a test's own, e.g. to stop and restart it."""
    port = port or free_port(HOST)
    return (start_real if kind == "real" else start_fake)(port, HOST)


class Servers:
    """Servers a test started; all killed at teardown (use through a fixture)."""

    def __init__(self, target, env: dict[str, str]):
        self.target = target
        self.env = env
        self.started: list[WebServer] = []

    def script(self, filename: str, env: dict[str, str] | None = None) -> WebServer:
        """Start ``python FILENAME`` from the graded folder and wait until it answers."""
        path = self.target.script(filename)
        server = start_script(path, env or self.env, label=self.target.label(filename))
        self.started.append(server)
        return server.wait_ready()

    def uvicorn(self, filename: str, workers: int = 2) -> WebServer:
        """Start the graded app under ``uvicorn --workers N``; wait for every worker."""
        path = self.target.script(filename)
        server = start_uvicorn(path, self.env, label=self.target.label(filename), workers=workers)
        self.started.append(server)
        return server.wait_ready(workers=workers, timeout=30)

    def close(self) -> None:
        for server in self.started:
            server.kill()


@dataclass
class Reply:
    """One HTTP answer: status code and parsed JSON body (None when the body is not JSON)."""

    status: int
    body: object
    text: str


def _reply(response: httpx.Response) -> Reply:
    try:
        body = response.json()
    except ValueError:
        body = None
    return Reply(response.status_code, body, response.text)


def get(server: WebServer, path: str, timeout: float = 10) -> Reply:
    """``GET path`` on ``server``; a server that does not answer fails the test clearly."""
    try:
        return _reply(server.http.get(path, timeout=timeout))
    except httpx.HTTPError as exc:
        server.fail(f"GET {path} failed: {type(exc).__name__}: {exc}")


def burst(paths: list[tuple[WebServer, str]], timeout: float = 30) -> list[Reply]:
    """Send every ``(server, path)`` GET at the same moment; replies in the same order.

    All connections are opened first, then every request is written in one go, so a
    server that reads a value and writes it back later is caught interleaving requests.
    (A bare asyncio HTTP/1.1 client: httpx's pool needs seconds for 200 parallel requests.)
    """

    async def main() -> list[Reply]:
        streams = await asyncio.gather(
            *(asyncio.open_connection(HOST, server.port) for server, _ in paths)
        )
        for (_, path), (_, writer) in zip(paths, streams, strict=True):
            writer.write(
                f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode()
            )
        await asyncio.gather(*(writer.drain() for _, writer in streams))
        raw = await asyncio.gather(*(reader.read() for reader, _ in streams))
        for _, writer in streams:
            writer.close()
        return [_parse(server, path, data) for (server, path), data in zip(paths, raw, strict=True)]

    async def bounded() -> list[Reply]:
        return await asyncio.wait_for(main(), timeout)

    try:
        return asyncio.run(bounded())
    except (OSError, TimeoutError) as exc:
        paths[0][0].fail(f"{len(paths)} parallel requests failed: {type(exc).__name__}: {exc}")


def _parse(server: WebServer, path: str, data: bytes) -> Reply:
    """A raw HTTP/1.1 response (read to EOF) as a Reply."""
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        server.fail(f"GET {path} got no HTTP answer (received {data[:200]!r}).")
    headers = dict(line.split(":", 1) for line in lines[1:] if ":" in line)
    headers = {name.strip().lower(): value.strip() for name, value in headers.items()}
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = _unchunk(body)
    text = body.decode("utf-8", "replace")
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    return Reply(int(parts[1]), parsed, text)


def _unchunk(body: bytes) -> bytes:
    out = b""
    while body:
        size_line, _, rest = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out += rest[:size]
        body = rest[size + 2 :]
    return out


def expect_reply(server: WebServer, path: str, reply: Reply, status: int, body: object) -> None:
    """Fail with a learner-facing message unless ``reply`` is ``status`` with JSON ``body``."""
    if reply.status == status and reply.body == body and _same_types(reply.body, body):
        return
    pytest.fail(
        f"{server.label}: GET {path} answered {reply.status} {reply.text[:300]}\n"
        f"  the task expects {status} {_dumps(body)}",
        pytrace=False,
    )


def _same_types(actual: object, expected: object) -> bool:
    """JSON equality that also tells 1 from "1" and 1 from 1.0 or True."""
    if type(actual) is not type(expected):
        return False
    if isinstance(expected, dict):
        return all(_same_types(actual[key], value) for key, value in expected.items())
    if isinstance(expected, list):
        return all(_same_types(a, e) for a, e in zip(actual, expected, strict=True))
    return True


def _dumps(body: object) -> str:
    return json.dumps(body, separators=(",", ":"))
