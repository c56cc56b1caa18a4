"""The fork server starts a script as ``python SCRIPT`` would: same output, code, env, cwd."""

from __future__ import annotations

import signal
import sys
import time

import pytest

from harness import forkserver
from harness.process import CollectedProcess, script_env

SCRIPTS = {
    "prints and exits 3": "import sys\nprint('out')\nprint('err', file=sys.stderr)\nsys.exit(3)\n",
    "sys.exit with a message": "import sys\nsys.exit('bye now')\n",
    "raises NameError": "x = 1\n\ndef f():\n    return undefined_name\n\nf()\n",
    "syntax error": "print('never'\n",
    "missing module": "import rediss\n",
    "argv, cwd, path, env, main": (
        "import os, sys\n"
        "print(sys.argv[1:], os.path.basename(os.getcwd()))\n"
        "print(sys.path[0] == os.path.dirname(os.path.abspath(__file__)))\n"
        "print(os.environ.get('GRADER_PROBE'), os.environ.get('REDIS_URL'), __name__)\n"
        "import subprocess\n"
        "probe = 'import os; print(os.environ.get(\"GRADER_PROBE\"))'\n"
        "child = subprocess.run([sys.executable, '-c', probe], capture_output=True, text=True)\n"
        "print(child.stdout.strip())\n"
    ),
    "a thread outlives the main code": (
        "import threading, time\n"
        "def later():\n    time.sleep(0.2)\n    print('thread done', flush=True)\n"
        "threading.Thread(target=later).start()\nprint('main done')\n"
    ),
    "atexit runs": "import atexit\natexit.register(lambda: print('atexit'))\nprint('main')\n",
}


def run(tmp_path, source: str, fork: bool) -> tuple[int, list[str], list[str]]:
    folder = tmp_path / ("forked" if fork else "plain") / "learner"
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "probe.py"
    script.write_text(source, encoding="utf-8")
    env = script_env("redis://127.0.0.1:1/0", GRADER_PROBE="seen")
    proc = CollectedProcess(
        [sys.executable, str(script), "a", "b c"],
        env,
        cwd=folder,
        script=script,
        fork="script" if fork else None,
    )
    assert isinstance(proc.proc, forkserver.ForkedProcess) is fork
    code = proc.proc.wait(timeout=20)
    for reader in proc._readers:
        reader.join(timeout=5)
    return code, list(proc.lines), [line.replace("forked", "plain") for line in proc.stderr_lines]


@pytest.mark.parametrize("name", SCRIPTS)
def test_a_forked_script_behaves_as_python_script(tmp_path, name):
    expected = run(tmp_path, SCRIPTS[name], fork=False)
    assert run(tmp_path, SCRIPTS[name], fork=True) == expected
    assert expected[0] in (0, 1, 3)  # the scripts above really ran (and really failed)


def test_signals_reach_the_child_and_its_exit_code_comes_back(tmp_path):
    script = tmp_path / "sleeper.py"
    script.write_text("import time\nprint('ready', flush=True)\ntime.sleep(60)\n")
    env = script_env("redis://127.0.0.1:1/0")
    proc = CollectedProcess([sys.executable, str(script)], env, cwd=tmp_path, fork="script")
    deadline = time.monotonic() + 20
    while "ready" not in proc.lines and time.monotonic() < deadline:
        time.sleep(0.02)
    assert proc.proc.poll() is None
    proc.proc.send_signal(signal.SIGTERM)
    assert proc.proc.wait(timeout=10) == -signal.SIGTERM
    proc.kill()  # a no-op now: the child is gone


def test_another_interpreter_setting_starts_a_plain_subprocess(tmp_path):
    script = tmp_path / "noop.py"
    script.write_text("pass\n")
    env = script_env("redis://127.0.0.1:1/0")
    forkserver.fork_server(env, "script")
    other = dict(env, PYTHONPATH=f"{tmp_path}")
    proc = CollectedProcess([sys.executable, str(script)], other, cwd=tmp_path, fork="script")
    assert not isinstance(proc.proc, forkserver.ForkedProcess)
    assert proc.proc.wait(timeout=20) == 0


def test_a_sitecustomize_on_another_pythonpath_runs_in_each_start(tmp_path):
    """Task 9's grader fixture: its switches are read at start-up, in every start anew."""
    (tmp_path / "sitecustomize.py").write_text("import os\nprint('switch', os.environ['PROBE'])\n")
    script = tmp_path / "noop.py"
    script.write_text("pass\n")
    seen = []
    for value in ("one", "two"):
        env = script_env("redis://127.0.0.1:1/0", PYTHONPATH=str(tmp_path), PROBE=value)
        proc = CollectedProcess([sys.executable, str(script)], env, cwd=tmp_path, fork="script")
        assert proc.proc.wait(timeout=20) == 0
        for reader in proc._readers:
            reader.join(timeout=5)
        seen += list(proc.lines)
    assert seen == ["switch one", "switch two"]
