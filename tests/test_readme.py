"""The README as a learner follows it: its task table, and its grading and running commands.

Every line of a README code block that invokes ``pytest``, ``scripts/grade``,
``scripts/run`` or ``scripts/test`` is listed in :data:`HOW` with what it must do; the few
that cannot run in a test say why. A new command in the README fails
``test_every_readme_command_is_checked`` until it is added here. Commands run from the
repository root against this session's test Redis (``REDIS_URL``, never 6379), with
``.venv/bin`` first on PATH (the README's "activate" step) and a temporary progress file.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from toolkit.readme_table import README, current, render

REPO = Path(__file__).resolve().parents[1]
INVOKES = re.compile(r"^(pytest|scripts/(grade|run|test))\b")


def test_readme_task_table_matches_registry():
    assert current(README.read_text(encoding="utf-8")) == render(), (
        "README.md's task table differs from scripts/tasks.toml: run "
        "`python -m toolkit.readme_table --write` from scripts/ (or `cd scripts && ...`)"
    )


def readme_commands() -> list[str]:
    """The commands of README.md's code blocks that run the graders or the scripts."""
    text = README.read_text(encoding="utf-8")
    found = []
    for body in re.findall(r"^```[a-z]*\n(.*?)^```", text, re.M | re.S):
        for line in body.splitlines():
            command = re.split(r"\s+#", line, maxsplit=1)[0].strip()
            if INVOKES.match(command) and command not in found:
                found.append(command)
    return found


@dataclass
class Expect:
    """What a README command must do when run (``extra`` arguments keep it fast)."""

    code: int
    says: str
    extra: tuple[str, ...] = ()
    stdin: str = ""


@dataclass
class Skip:
    reason: str


HOW: dict[str, Expect | Skip] = {
    "scripts/run 2 --solution": Expect(0, "Reply: OK"),
    "scripts/run 2": Expect(1, "task 2 not started"),
    "scripts/run 5": Expect(1, "task 5 not started"),
    "scripts/run 12": Skip("starts task 12's web server, which runs until Ctrl+C"),
    "scripts/run 13": Skip("starts task 13's web server, which runs until Ctrl+C"),
    "scripts/test": Skip("the whole suite (minutes); test_readme runs it with one task"),
    "pytest": Skip("the whole suite (minutes); the --task forms below run the same options"),
    "scripts/grade": Expect(1, "Progress: ["),
    "scripts/grade 2": Expect(1, "task 2 not started"),
    "scripts/grade --watch": Expect(0, "Bye.", stdin="q\n"),
    "scripts/grade --watch 2": Expect(0, "Bye.", stdin="q\n"),
    "pytest --target exercises": Expect(1, "not started", extra=("--task", "1")),
    "pytest --target exercises --task 2": Expect(1, "task 2 not started"),
    "scripts/grade --class examples/classroom/roster.csv --task 1 --task 2": Expect(
        1, "gradebook: wrote"
    ),
    "scripts/grade --target exercises --json report.json": Expect(1, "Progress: ["),
    "pytest --target exercises --report-json report.json": Expect(
        1, "not started", extra=("--task", "2")
    ),
}


def command_env(redis_url: str, tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        REDIS_URL=redis_url,
        GRADE_STATE_FILE=str(tmp_path / "state.json"),
        NO_COLOR="1",
        PYTEST_WORKERS="0",  # scripts/test's one-task runs: no worker processes to start
        PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
    )
    return env


def run_command(argv: list[str], env, cwd: Path = REPO, stdin: str = ""):
    return subprocess.run(
        argv, cwd=cwd, env=env, input=stdin, capture_output=True, text=True, timeout=300
    )


def test_every_readme_command_is_checked():
    missing = [command for command in readme_commands() if command not in HOW]
    assert not missing, f"README commands with no entry in tests/test_readme.py HOW: {missing}"


@pytest.mark.parametrize("command", readme_commands(), ids=str)
def test_readme_command_works(command, redis_url, tmp_path):
    how = HOW.get(command)
    if how is None:
        pytest.fail(f"{command!r} is not in HOW", pytrace=False)
    if isinstance(how, Skip):
        pytest.skip(how.reason)
    argv = [
        str(tmp_path / "report.json") if word == "report.json" else word
        for word in shlex.split(command)
    ]
    done = run_command([*argv, *how.extra], command_env(redis_url, tmp_path), stdin=how.stdin)
    said = done.stdout + done.stderr
    assert "unrecognized arguments" not in said, f"{command}: {said[-2000:]}"
    assert done.returncode == how.code, f"{command}: exit {done.returncode}\n{said[-3000:]}"
    assert how.says in said, f"{command}: no {how.says!r} in:\n{said[-3000:]}"
    if "report.json" in command:
        assert (tmp_path / "report.json").is_file(), f"{command}: wrote no report"


@pytest.mark.parametrize(
    "argv",
    [
        ["pytest", "--target", "exercises", "--task", "1"],  # from tests/, space-separated
        ["scripts/test", "--target", "exercises", "--task", "2"],  # scripts/test --help's
    ],
    ids=str,
)
def test_grading_options_are_known_in_any_form_and_folder(argv, redis_url, tmp_path):
    cwd = REPO / "tests" if argv[0] == "pytest" else REPO
    program = str(REPO / argv[0]) if argv[0].startswith("scripts/") else argv[0]
    done = run_command([program, *argv[1:], "-q"], command_env(redis_url, tmp_path), cwd=cwd)
    said = done.stdout + done.stderr
    assert done.returncode == 1 and "not started" in said, said[-3000:]
    assert re.search(r"FAILED \S*test_task0", said), said[-3000:]
