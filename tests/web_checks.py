"""Checks shared by the graders of the web apps of tasks 12 and 13.

What ``pykue.web.guard`` gives each app (a Host allow-list, one clear line for a taken
port, 503 with the cause while Redis is full), how many connections an app holds on
Redis, and a schemathesis run over a reference app's OpenAPI schema.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis

from harness.fuzz import assert_schema_holds
from harness.webserver import Reply, WebServer, server_env, start_redis, start_script
from toolkit.redis_servers import RunningRedis, redis_binary


def require(condition: bool, message: str) -> None:
    """Fail with ``message`` alone (no grader source) unless ``condition`` holds."""
    if not condition:
        pytest.fail(message, pytrace=False)


def app_functions(target, monkeypatch, redis_url: str, filename: str, *names: str) -> list:
    """The functions ``names`` of the graded app, imported here with REDIS_URL set."""
    monkeypatch.setenv("REDIS_URL", redis_url)
    module = target.load_module(filename, monkeypatch)
    return [target.function(module, name, filename) for name in names]


def expect_other_hosts_refused(server: WebServer, path: str) -> None:
    """A request naming another host (DNS rebinding) is refused with 400, not served."""
    reply = server.http.get(path, headers={"Host": "attacker.example"})
    require(
        reply.status_code == 400,
        f"{server.label}: GET {path} with 'Host: attacker.example' answered "
        f"{reply.status_code} {reply.text[:200]}; a page of another site could read and "
        "change this app through a DNS name of its own. Keep protect(app) (given code): "
        "it serves the localhost names only (ALLOWED_HOSTS adds others).",
    )


def expect_taken_port_is_one_line(server: WebServer, env: dict[str, str]) -> None:
    """A second server on ``server``'s port exits 1 with one line that names the way out."""
    script = server.argv[1]
    second = WebServer(
        [sys.executable, script],
        server_env(env, server.port),
        cwd=Path(script).parent,
        label=server.label,
        port=server.port,
    )
    try:
        code = second.proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        second.kill()
        pytest.fail(
            f"{server.label}: a second server on the taken port {server.port} did not exit "
            "within 20s",
            pytrace=False,
        )
    second.kill()  # joins the pipe readers
    said = [line for line in second.lines + second.stderr_lines if line.strip()]
    require(
        code == 1 and len(said) == 1 and "already in use" in said[0] and "PORT=" in said[0],
        f"{server.label}: started on the taken port {server.port}, the server must say so "
        f"in one line that names PORT= and exit with code 1 (serve(app), given code, does "
        f"it); it exited with code {code} and printed:\n"
        + "\n".join(f"    {line}" for line in said[-15:]),
    )


@contextmanager
def full_redis() -> Iterator[tuple[RunningRedis, redis.Redis]]:
    """A real redis-server of the test's own, and a client on it, to fill with maxmemory.

    fakeredis has no memory limit, so this check uses redis-server on both backends.
    """
    if redis_binary() is None:
        pytest.skip("a full Redis needs redis-server's maxmemory (fakeredis has none)")
    own = start_redis("real")
    client = redis.Redis.from_url(own.url, decode_responses=True)
    try:
        yield own, client
    finally:
        client.close()
        own.stop()


def expect_full_is_503(server: WebServer, path: str, reply: Reply) -> None:
    """While Redis is full, ``path`` answers 503 with the cause, not 500 or a traceback."""
    error = reply.body.get("error", "") if isinstance(reply.body, dict) else ""
    require(
        reply.status == 503 and "maxmemory" in error,
        f"{server.label}: with Redis full (maxmemory reached), GET {path} answered "
        f"{reply.status} {reply.text[:300]}\n  the task expects 503 with the cause, such as "
        '{"status":"Redis unavailable","error":"Redis is full (maxmemory reached): ..."} '
        "(protect(app), given code, answers it when the Redis error reaches it)",
    )


def app_connections(client: redis.Redis) -> int:
    """How many connections Redis holds from others than ``client`` (CLIENT LIST)."""
    return len(client.execute_command("CLIENT", "LIST").splitlines()) - 1


def expect_reference_schema_holds(
    path, env: dict[str, str], label: str, statuses: dict[str, set[str]]
) -> None:
    """The app at ``path`` documents ``statuses`` (route -> the statuses it answers besides
    200, e.g. 404 and 503), and schemathesis (bounded, seeded) finds nothing wrong in it."""
    server = start_script(path, env, label=label)
    try:
        server.wait_ready()
        schema = server.http.get("/openapi.json").json()
        for route, wanted in statuses.items():
            documented = set(schema["paths"][route]["get"]["responses"])
            require(
                wanted | {"200"} <= documented,
                f"{label}: GET {route} documents the statuses {sorted(documented)}; it answers "
                f"{sorted(wanted | {'200'})}",
            )
        # A loaded machine (2 shared cores) needs more than the helper's default minute.
        assert_schema_holds(server.url, max_examples=30, max_seconds=600)
    finally:
        server.kill()
