"""Start a Redis for scripts and tests: a real ``redis-server``, or embedded fakeredis.

Both kinds listen on TCP, start from a *copy* of ``dump.rdb`` (never the repository's
file) and expose the same small interface, so callers need not care which one runs.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from toolkit.rdb import read_string_keys

REPO_ROOT = Path(__file__).resolve().parents[2]
DUMP_RDB = REPO_ROOT / "dump.rdb"


def free_port(host: str = "127.0.0.1") -> int:
    """Ask the kernel for a TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def port_is_open(host: str, port: int, timeout: float = 0.2) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def redis_binary() -> str | None:
    """Path of ``redis-server`` on PATH, or None."""
    return shutil.which("redis-server")


@dataclass
class RunningRedis:
    """A Redis this process started: where it listens and how to stop it."""

    kind: str  # "real" or "fake"
    host: str
    port: int
    workdir: Path
    _stop: object = field(repr=False, default=None)

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def stop(self) -> None:
        if self._stop is not None:
            self._stop()
            self._stop = None


def _wait_until_open(host: str, port: int, timeout: float, alive) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_is_open(host, port):
            return
        if not alive():
            break
        time.sleep(0.02)
    raise RuntimeError(f"Redis did not start listening on {host}:{port}")


def start_real(
    port: int, host: str = "127.0.0.1", workdir: Path | None = None, rdb: Path = DUMP_RDB
) -> RunningRedis:
    """Start ``redis-server`` on ``port`` with a copy of ``rdb`` in ``workdir``."""
    binary = redis_binary()
    if binary is None:
        raise RuntimeError("redis-server is not installed (try scripts/install-redis)")
    workdir = Path(workdir or tempfile.mkdtemp(prefix="redis-"))
    workdir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(rdb, workdir / "dump.rdb")
    cmd = [
        binary,
        "--port",
        str(port),
        "--bind",
        host,
        "--dir",
        str(workdir),
        "--dbfilename",
        "dump.rdb",
        "--save",
        "",
        "--appendonly",
        "no",
        "--logfile",
        str(workdir / "redis.log"),
        "--protected-mode",
        "no",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop() -> None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    try:
        _wait_until_open(host, port, 10, lambda: proc.poll() is None)
    except RuntimeError:
        stop()
        raise
    return RunningRedis("real", host, port, workdir, stop)


def _fake_server_class():
    """fakeredis's TCP server, adjusted to behave like redis-server where it matters here.

    - A listen backlog of 1024 (socketserver's default is 5): a burst of 200 HTTP requests
      opens many Redis connections at once, and a short backlog resets some of them.
    - An error reply (e.g. NOSCRIPT for EVALSHA) keeps the connection open, as Redis does;
      fakeredis 2.40 closes it, which breaks redis-py's EVALSHA-then-load fallback.
    """
    import redis
    from fakeredis import TcpFakeServer
    from fakeredis._clients._tcp_server import TCPFakeRequestHandler

    class Handler(TCPFakeRequestHandler):
        def setup(self) -> None:
            super().setup()
            client = self.current_client
            read_response = client.read_response

            def read_response_keeping_errors(*args, **kwargs):
                try:
                    return read_response(*args, **kwargs)
                except redis.exceptions.ResponseError as error:
                    return error  # sent as an error reply; the connection stays open

            client.read_response = read_response_keeping_errors

    class Server(TcpFakeServer):
        request_queue_size = 1024

        def __init__(self, address, **kwargs):
            super().__init__(address, **kwargs)
            self.RequestHandlerClass = Handler

    return Server


def serve_fake(port: int, host: str = "127.0.0.1", rdb: Path = DUMP_RDB):
    """Create a fakeredis TCP server preloaded with the string keys of ``rdb``.

    Returns the server object; call ``serve_forever()`` on it (blocking).
    """
    from fakeredis import FakeRedis

    server = _fake_server_class()((host, port), server_version=(7, 0))
    server.daemon_threads = True
    preload = FakeRedis(server=server.fake_server)
    for key, value in read_string_keys(rdb).items():
        preload.set(key, value)
    return server


def start_fake(
    port: int, host: str = "127.0.0.1", workdir: Path | None = None, rdb: Path = DUMP_RDB
) -> RunningRedis:
    """Serve embedded fakeredis on ``port`` from a thread of this process."""
    workdir = Path(workdir or tempfile.mkdtemp(prefix="fakeredis-"))
    workdir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(rdb, workdir / "dump.rdb")
    server = serve_fake(port, host, workdir / "dump.rdb")
    thread = threading.Thread(target=server.serve_forever, name="fakeredis", daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()

    _wait_until_open(host, port, 10, thread.is_alive)
    return RunningRedis("fake", host, port, workdir, stop)


def wanted_kind() -> str:
    """ "real" or "fake": ``REDIS_TEST_SERVER`` if set, else real when installed."""
    kind = os.environ.get("REDIS_TEST_SERVER", "").strip().lower()
    if kind not in ("", "real", "fake"):
        raise RuntimeError(f"REDIS_TEST_SERVER must be 'real' or 'fake', not {kind!r}")
    if kind == "real" and redis_binary() is None:
        raise RuntimeError("REDIS_TEST_SERVER=real but redis-server is not installed")
    return kind or ("real" if redis_binary() else "fake")


def start_any(kind: str | None = None, host: str = "127.0.0.1", attempts: int = 5) -> RunningRedis:
    """Start a Redis of ``kind`` (default: :func:`wanted_kind`) on a free port."""
    kind = kind or wanted_kind()
    starter = start_real if kind == "real" else start_fake
    error: Exception | None = None
    for _ in range(attempts):  # a free port can be taken between probe and bind
        try:
            return starter(free_port(host), host)
        except (RuntimeError, OSError) as exc:
            error = exc
    raise RuntimeError(f"could not start a {kind} Redis: {error}")


def add_missing_dump_keys(url: str, rdb: Path = DUMP_RDB) -> list[str]:
    """Set each key of ``rdb`` that the Redis at ``url`` lacks (SET NX); return those set.

    A Redis that was not started from ``dump.rdb`` (one already running on 6379, say)
    lacks ``Holberton``, which the course's outputs expect; existing keys are left alone.
    """
    import redis

    client = redis.Redis.from_url(url)
    try:
        return [
            key.decode()
            for key, value in read_string_keys(rdb).items()
            if client.set(key, value, nx=True)
        ]
    finally:
        client.close()
