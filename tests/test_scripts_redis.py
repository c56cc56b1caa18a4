"""The Redis scripts of task 0 and ``scripts/run``: start, status, stop, run a task.

Every test uses a free port and its own runtime folder (``RUN_DIR``), never 6379 or the
repository's ``run/``; the repository's ``dump.rdb`` must come out unchanged.
"""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import redis

from harness.process import REPO_ROOT
from toolkit.redis_servers import DUMP_RDB, free_port, port_is_open, redis_binary

SCRIPTS = REPO_ROOT / "scripts"
ENTRY_POINTS = ["install-redis", "start-redis", "stop-redis", "status-redis", "run"]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def script_env(tmp_path, port) -> dict[str, str]:
    """REDIS_URL on a free port, runtime state in tmp_path, this test run's venv."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env.update(REDIS_URL=f"redis://localhost:{port}/0", RUN_DIR=str(tmp_path / "run"))
    if sys.prefix != sys.base_prefix:  # running in a venv: the scripts use it, no install
        env["VENV_DIR"] = sys.prefix
    return env


def sh(name: str, *args: str, env: dict[str, str], timeout: float = 60):
    return subprocess.run(
        [str(SCRIPTS / name), *args],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def cleanup(script_env, port):
    """Stop whatever start-redis left on the test port, even when the test failed."""
    yield
    if port_is_open("127.0.0.1", port):
        sh("stop-redis", "--port", str(port), env=script_env)
    for pidfile in Path(script_env["RUN_DIR"]).glob("redis-*/*.pid"):
        try:
            os.kill(int(pidfile.read_text().strip()), signal.SIGKILL)
        except (ValueError, ProcessLookupError):
            pass


@pytest.mark.parametrize("name", ENTRY_POINTS)
def test_entry_point_is_executable_and_has_help(name):
    path = SCRIPTS / name
    assert os.access(path, os.X_OK), f"scripts/{name} is not executable"
    done = sh(name, "--help", env=dict(os.environ))
    assert done.returncode == 0 and done.stdout.startswith("Usage: scripts/"), done.stderr


@pytest.mark.parametrize("kind", ["real", "embedded"])
def test_start_status_stop(kind, script_env, port, cleanup):
    if kind == "real" and redis_binary() is None:
        pytest.skip("redis-server is not installed (scripts/install-redis installs it)")
    before = sha256(DUMP_RDB)
    started = sh("start-redis", *(["--embedded"] if kind == "embedded" else []), env=script_env)
    assert started.returncode == 0, started.stderr
    banner = "Started redis-server" if kind == "real" else "Started the embedded Redis"
    assert started.stdout.startswith(banner) and str(port) in started.stdout, started.stdout
    assert len(started.stdout.splitlines()) == 1, started.stdout

    client = redis.Redis(port=port, decode_responses=True)
    assert client.get("Holberton") == "School"
    client.set("written-in-the-copy", "1")
    client.close()
    assert (Path(script_env["RUN_DIR"]) / f"redis-{port}" / "dump.rdb").is_file()

    status = sh("status-redis", env=script_env)
    assert status.returncode == 0, status.stdout
    assert "started by scripts/start-redis" in status.stdout
    assert ("embedded" in status.stdout) == (kind == "embedded"), status.stdout

    again = sh("start-redis", env=script_env)
    assert again.returncode == 0
    assert again.stdout.startswith("A Redis already answers"), again.stdout

    stopped = sh("stop-redis", env=script_env)
    assert stopped.returncode == 0 and stopped.stdout.startswith("Stopped"), stopped.stdout
    assert not port_is_open("127.0.0.1", port)
    status = sh("status-redis", "--port", str(port), env=script_env)
    assert status.returncode == 1 and "No Redis is running" in status.stdout
    nothing = sh("stop-redis", "--port", str(port), env=script_env)
    assert nothing.returncode == 0 and "nothing to stop" in nothing.stdout
    assert sha256(DUMP_RDB) == before, "the repository's dump.rdb was modified"


def test_stop_redis_leaves_a_redis_it_did_not_start_alone(redis_server, script_env):
    stopped = sh("stop-redis", "--port", str(redis_server.port), env=script_env)
    assert stopped.returncode == 0 and "nothing to stop" in stopped.stdout
    assert redis.Redis(port=redis_server.port).ping()
    status = sh("status-redis", "--port", str(redis_server.port), env=script_env)
    assert status.returncode == 0 and "not started by scripts/start-redis" in status.stdout


def test_start_redis_refuses_a_port_taken_by_something_else(script_env, port):
    listener = socket.create_server(("127.0.0.1", port))

    def hang_up() -> None:  # accept and close: a server that is not Redis
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conn.close()

    threading.Thread(target=hang_up, daemon=True).start()
    try:
        started = sh("start-redis", env=script_env)
    finally:
        listener.close()
    assert started.returncode == 1
    assert "not Redis" in started.stderr, started.stderr


def test_run_2_solution_prints_task_2_lines(redis_url, script_env):
    env = {**script_env, "REDIS_URL": redis_url}
    done = sh("run", "2", "--solution", env=env)
    assert done.stdout.splitlines() == [
        "Redis client connected to the server",
        "School",
        "Reply: OK",
        "100",
    ], done.stderr
    assert done.returncode == 0


def test_run_adds_the_dump_keys_a_running_redis_lacks(redis_url, redis_client, script_env):
    """A Redis not started from dump.rdb (e.g. one already on 6379) gets Holberton added."""
    redis_client.delete("Holberton")
    redis_client.set("Mine", "kept")
    done = sh("run", "2", "--solution", env={**script_env, "REDIS_URL": redis_url})
    assert done.stdout.splitlines()[:2] == ["Redis client connected to the server", "School"]
    assert "lacked the key(s) of dump.rdb; set Holberton" in done.stderr
    assert redis_client.get("Mine") == "kept"
    again = sh("run", "2", "--solution", env={**script_env, "REDIS_URL": redis_url})
    assert "lacked" not in again.stderr


def test_run_5_solution_runs_subscriber_and_publisher(redis_url, script_env):
    env = {**script_env, "REDIS_URL": redis_url}
    done = sh("run", "5", "--solution", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    subscriber = [line.split(" | ", 1)[1] for line in lines if line.startswith("5-subscriber")]
    publisher = [line.split(" | ", 1)[1] for line in lines if line.startswith("5-publisher")]
    assert subscriber == [
        "Redis client connected to the server",
        "Holberton Student #1 starts course",
        "Holberton Student #2 starts course",
        "KILL_SERVER",
    ]
    assert publisher[0] == "Redis client connected to the server" and len(publisher) == 5


def test_run_starts_a_redis_when_none_answers(script_env, port, cleanup):
    env = {k: v for k, v in script_env.items() if k != "REDIS_URL"}
    done = sh("run", "2", "--solution", env={**env, "SCRIPTS_RUN_REDIS_PORT": str(port)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[1:] == ["School", "Reply: OK", "100"]
    assert "Started" in done.stderr and str(port) in done.stderr, done.stderr
    assert port_is_open("127.0.0.1", port)


def test_run_refuses_an_untouched_exercise(redis_url, script_env):
    stub = REPO_ROOT / "exercises" / "0-redis_client.py"
    committed = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "show", "HEAD:exercises/0-redis_client.py"],
        capture_output=True,
    )
    if committed.returncode != 0 or committed.stdout != stub.read_bytes():
        pytest.skip("exercises/0-redis_client.py is not the committed stub here")
    done = sh("run", "1", env={**script_env, "REDIS_URL": redis_url})
    assert done.returncode == 1
    assert done.stdout == ""
    assert "task 1 not started: edit exercises/0-redis_client.py" in done.stderr


def test_run_unknown_task(script_env):
    done = sh("run", "99", env=script_env)
    assert done.returncode == 2 and "no task 99" in done.stderr
