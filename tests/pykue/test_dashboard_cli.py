"""``python -m pykue dashboard``: the command line, run as a user runs it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from conftest import wait_until

from pykue.web.token import TOKEN_ENV
from toolkit.redis_servers import free_port

REPO = Path(__file__).resolve().parents[2]
SECRET = "correct-horse-battery-staple"


class Dashboard:
    """``python -m pykue dashboard ARGS`` on a free port of ``host``; stopped by ``stop()``."""

    def __init__(self, redis_url: str, *args: str, host: str = "127.0.0.1", env=None) -> None:
        self.port = free_port()
        self.url = f"http://{host}:{self.port}"
        argv = [sys.executable, "-m", "pykue", "dashboard", "--port", str(self.port)]
        argv += ["--host", host, "--redis", redis_url, "--prefix", "t", *args]
        environment = {k: v for k, v in os.environ.items() if k != TOKEN_ENV}
        environment.update(PYTHONUNBUFFERED="1", PYTHONPATH=str(REPO), **(env or {}))
        self.proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment
        )

    def first_line(self) -> str:
        return self.proc.stdout.readline().strip()

    def wait(self) -> None:
        def answers():
            try:
                return httpx.get(self.url + "/stats", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(answers, "the dashboard to answer", timeout=10)

    def stop(self, signum: int | None = signal.SIGTERM) -> tuple[int, str, str]:
        """Send ``signum`` (None: none, wait for the exit); (exit code, stdout, stderr)."""
        if signum is not None and self.proc.poll() is None:
            self.proc.send_signal(signum)
        out, err = self.proc.communicate(timeout=20)
        return self.proc.returncode, out, err


@pytest.fixture
def start(redis_url):
    started: list[Dashboard] = []

    def run(*args: str, **options) -> Dashboard:
        dashboard = Dashboard(redis_url, *args, **options)
        started.append(dashboard)
        return dashboard

    yield run
    for dashboard in started:
        if dashboard.proc.poll() is None:
            dashboard.proc.kill()
            dashboard.proc.communicate(timeout=10)


def test_cli_serves_the_dashboard_on_localhost_and_stops_on_sigterm(start, make_queue):
    make_queue().create("email").save()
    dashboard = start()
    assert dashboard.first_line() == f"pykue dashboard for queue 't' on {dashboard.url}/"
    dashboard.wait()
    assert httpx.get(dashboard.url + "/stats").json()["inactiveCount"] == 1
    assert httpx.put(dashboard.url + "/job/1/state/failed").status_code == 200  # no token set
    code, _out, err = dashboard.stop()
    assert code == 0 and "Traceback" not in err and "warning" not in err


def test_cli_token_from_the_environment_guards_every_change(start, make_queue):
    make_queue().create("email").save()
    dashboard = start(env={TOKEN_ENV: SECRET})
    dashboard.first_line()
    assert "changes need the token" in dashboard.first_line()
    dashboard.wait()
    assert httpx.put(dashboard.url + "/job/1/state/failed").status_code == 401
    bearer = {"Authorization": f"Bearer {SECRET}"}
    assert httpx.put(dashboard.url + "/job/1/state/failed", headers=bearer).status_code == 200
    assert SECRET not in "".join(dashboard.stop()[1:])  # never printed


def test_cli_beyond_localhost_without_a_token_warns_and_serves_its_own_name(start):
    dashboard = start(host="127.0.0.2")  # loopback, but not one of the localhost names
    dashboard.wait()
    assert httpx.get(dashboard.url + "/stats").status_code == 200  # Host 127.0.0.2 allowed
    rebound = httpx.get(dashboard.url + "/stats", headers={"Host": "evil.example"})
    assert rebound.status_code == 400 and "ALLOWED_HOSTS" in rebound.json()["error"]
    _code, _out, err = dashboard.stop()
    assert "warning: the dashboard on 127.0.0.2 lets anyone" in err and "--token" in err


def test_cli_taken_port_is_one_clear_line(start):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        dashboard = start("--port", str(port))  # the last --port wins
        code, out, err = dashboard.stop(signum=None)
    assert code == 1 and out == ""
    assert err.strip().splitlines() == [
        f"Port {port} on 127.0.0.1 is already in use: is another server still running? "
        f"Stop it (Ctrl+C in its terminal), or choose another port, e.g. PORT={port + 1}"
    ]


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["dashboard", "--port", "70000"], 2, "port must be 1..65535"),
        (["dashboard", "--port", "x"], 2, "not a port number"),
        (["dashboard", "--token", "short"], 2, "at least 16 characters"),
        (["nonsense"], 2, "invalid choice"),
        (["dashboard", "--redis", "redis://127.0.0.1:{free}/0"], 1, "cannot reach Redis"),
        (["check", "--redis", "redis://127.0.0.1:{free}/0"], 1, "cannot reach Redis"),
    ],
)
def test_cli_errors_are_clear(args, code, words):
    args = [a.replace("{free}", str(free_port())) for a in args]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run(
        [sys.executable, "-m", "pykue", *args], capture_output=True, text=True, env=env, timeout=30
    )
    assert done.returncode == code, done.stdout + done.stderr
    assert words in done.stderr
    assert "Traceback" not in done.stderr
