"""The graders' fixtures: the test Redis, the graded folder, and running its scripts.

The options (``--target``, ``--task``, ``--report-json``, ``--stop-task-on-failure``), the
parametrization over targets and the JSON report are the plugin ``harness.grading``,
which pyproject's addopts load before any conftest.
"""

from __future__ import annotations

import pytest
import redis

from harness.process import LiveScript, run_script, script_env
from harness.target import Target
from toolkit.rdb import read_string_keys
from toolkit.redis_servers import DUMP_RDB, start_any

# --- fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_server():
    """A Redis for this test session on a free port: real when installed, else fakeredis.

    ``REDIS_TEST_SERVER=real|fake`` forces one. Never the Redis on port 6379.
    """
    server = start_any()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def dump_keys() -> dict[bytes, bytes]:
    """The keys of ``dump.rdb`` that every test database starts with."""
    return read_string_keys(DUMP_RDB)


@pytest.fixture
def redis_url(redis_server, dump_keys) -> str:
    """URL of a fresh database holding only the keys of ``dump.rdb``."""
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    for key, value in dump_keys.items():
        client.set(key, value)
    client.close()
    return redis_server.url


@pytest.fixture
def redis_client(redis_url):
    """A client (str replies) on the fresh test database, for checking what scripts stored."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    client.close()


@pytest.fixture(scope="session")
def target(request) -> Target:
    """The graded folder (parametrized over every ``--target``)."""
    return Target(request.param)


@pytest.fixture
def env(redis_url) -> dict[str, str]:
    """Environment for a graded script: REDIS_URL of the fresh test database, unbuffered."""
    return script_env(redis_url)


@pytest.fixture
def run(target, env):
    """``run(filename, timeout=20, env=None)``: run a graded script to its end."""

    def _run(filename: str, timeout: float = 20, env_override: dict | None = None, args=()):
        path = target.script(filename)
        return run_script(
            path, env_override or env, label=target.label(filename), timeout=timeout, args=args
        )

    return _run


@pytest.fixture
def start(target, env):
    """``start(filename, env=None)``: start a long-running graded script; killed at teardown."""
    started: list[LiveScript] = []

    def _start(filename: str, env_override: dict | None = None, args=()) -> LiveScript:
        path = target.script(filename)
        live = LiveScript(path, env_override or env, label=target.label(filename), args=args)
        started.append(live)
        return live

    yield _start
    for live in started:
        live.kill()


@pytest.fixture
def servers(target, env):
    """The web graders' ``harness.webserver.Servers`` on the test database; stopped after."""
    from harness.webserver import Servers  # web graders only: keeps other tasks' start-up lean

    started = Servers(target, env)
    yield started
    started.close()
