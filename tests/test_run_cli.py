"""``scripts/run N`` (toolkit/run_cli.py): which Redis it uses, what it runs, how it ends.

Never 6379: an explicit ``REDIS_URL`` points at a test Redis or a closed port; without
one, ``SCRIPTS_RUN_REDIS_PORT`` gives a free port and ``RUN_DIR`` a temporary folder.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from connect_checks import closed_url

from harness.process import REPO_ROOT
from toolkit import run_cli
from toolkit.redis_servers import free_port, port_is_open

RUN = REPO_ROOT / "scripts" / "run"


def run_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env.pop("REDIS_URL", None)
    env["RUN_DIR"] = str(tmp_path / "run")
    if sys.prefix != sys.base_prefix:
        env["VENV_DIR"] = sys.prefix
    env.update(extra)
    return env


def scripts_run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(RUN), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def test_an_explicit_redis_url_that_is_down_is_used_as_given(tmp_path):
    url, port = closed_url()
    done = scripts_run("1", "--solution", env=run_env(tmp_path, REDIS_URL=url))
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.startswith("Redis client not connected to the server:"), done.stdout
    assert f"using REDIS_URL={url} (set by you" in done.stderr, done.stderr
    assert not port_is_open("127.0.0.1", port), "scripts/run must not start a Redis there"
    assert not (tmp_path / "run").exists()


def test_without_redis_url_it_starts_and_names_the_repositorys_own_redis(tmp_path):
    port = free_port()
    env = run_env(tmp_path, SCRIPTS_RUN_REDIS_PORT=str(port))
    try:
        done = scripts_run("2", "--solution", env=env)
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines()[1:] == ["School", "Reply: OK", "100"]
        assert f"using the repository's Redis at redis://localhost:{port}/0" in done.stderr
        again = scripts_run("2", "--solution", env=env)
        assert "Started" not in again.stderr, "the running one is reused"
        assert f"redis://localhost:{port}/0" in again.stderr
    finally:
        for pidfile in (tmp_path / "run").glob("redis-*/*.pid"):
            try:
                os.kill(int(pidfile.read_text().strip()), signal.SIGKILL)
            except (ValueError, ProcessLookupError):
                pass


def test_run_10_runs_only_the_demo(tmp_path, redis_url):
    done = scripts_run("10", "--solution", env=run_env(tmp_path, REDIS_URL=redis_url))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("Notification job created: "), done.stdout
    assert " | " not in done.stdout, "one script, no prefixes"


def test_a_background_script_that_never_stops_is_reported(tmp_path, monkeypatch, capsys):
    (tmp_path / "forever.py").write_text(
        "import time\nprint('up', flush=True)\nwhile True:\n    time.sleep(0.05)\n"
    )
    (tmp_path / "quick.py").write_text("print('done')\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(run_cli, "STOP_WAIT", 0.5)
    code = run_cli.run_together(("forever.py", "quick.py"), [])
    out = capsys.readouterr()
    assert code != 0
    assert "forever.py was still running 0.5 s after quick.py ended" in out.err, out.err
    assert "forever.py | up" in out.out and "quick.py   | done" in out.out, out.out
