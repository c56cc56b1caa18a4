"""Classroom CI: ``.github/workflows/classroom.yml`` and ``toolkit.classroom``.

Actions cannot run here, so this tests what can be: the workflow parses with the keys
Actions needs; every ``run:`` step works on a copy of the repository, in order, with
GitHub's shell and the files Actions provides (``GITHUB_OUTPUT``, ``GITHUB_STEP_SUMMARY``,
``RUNNER_TEMP``) pointed at temporary ones; and the conversions of a known results.json
give the expected summary and Classroom results. Steps named ``... [CI only]`` need sudo
on a GitHub runner (apt-get) and are not run: the test checks that only those are.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from toolkit import classroom
from toolkit.registry import tasks

REPO = Path(__file__).resolve().parents[1]
WORKFLOW = REPO / ".github" / "workflows" / "classroom.yml"
CI_ONLY = "[CI only]"
# GitHub's default shell for `run:` on Linux runners.
SHELL = ["bash", "--noprofile", "--norc", "-eo", "pipefail"]


def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def steps() -> list[dict]:
    return workflow()["jobs"]["grade"]["steps"]


def test_the_workflow_has_what_actions_needs():
    document = workflow()
    assert set(document["on"]) == {"push", "workflow_dispatch", "repository_dispatch"}
    assert document["permissions"]["checks"] == "write"
    (job,) = document["jobs"].values()
    assert job["runs-on"] == "ubuntu-latest" and job["timeout-minutes"] > 0
    for step in job["steps"]:
        assert step.get("name"), step
        assert ("run" in step) != ("uses" in step), f"one of run/uses: {step}"
    uses = [s["uses"] for s in job["steps"] if "uses" in s]
    assert uses[:2] == ["actions/checkout@v4", "actions/setup-python@v5"]
    python = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/setup-py"))
    assert python["with"]["python-version"] == "3.11"


def test_the_reporter_reads_the_results_the_workflow_writes():
    """The reporter reads ``<RUNNER>_RESULTS`` for each runner id (upper-cased)."""
    reporter = next(s for s in steps() if "autograding-grading-reporter" in s.get("uses", ""))
    assert reporter["uses"] == "classroom-resources/autograding-grading-reporter@v1"
    runners = [r.strip() for r in reporter["with"]["runners"].split(",")]
    for runner in runners:
        value = reporter["env"][f"{runner.upper()}_RESULTS"]
        assert value == "${{ steps.classroom.outputs.result }}"
    assert any(s.get("id") == "classroom" for s in steps())


def test_only_the_apt_step_is_ci_only():
    skipped = [s for s in steps() if CI_ONLY in s["name"]]
    assert len(skipped) == 1 and "sudo apt-get install" in skipped[0]["run"]
    for step in steps():
        if "run" in step and CI_ONLY not in step["name"]:
            assert "sudo" not in step["run"], step["name"]


def repository_copy(into: Path) -> Path:
    """What a fresh clone holds (tracked and new files of the working tree)."""
    listed = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-co", "--exclude-standard", "-z"],
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, into / name)
    return into


def outputs(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        key, _, value = line.partition("=")
        found[key] = value
    return found


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    """Every non-CI-only ``run:`` step, in order, on a copy of the repository."""
    tmp = tmp_path_factory.mktemp("actions")
    work = repository_copy(tmp / "repo")
    files = {
        "GITHUB_OUTPUT": tmp / "output",
        "GITHUB_STEP_SUMMARY": tmp / "summary.md",
        "RUNNER_TEMP": tmp / "runner-temp",
    }
    files["RUNNER_TEMP"].mkdir()
    base = dict(os.environ)
    base.update({k: str(v) for k, v in files.items()})
    base.update(
        # the venv of this checkout stands for the one the install step makes on a runner
        VENV_DIR=str(Path(sys.executable).parent.parent),
        GRADE_STATE_FILE=str(tmp / "state.json"),
        PATH=os.pathsep.join([str(Path(sys.executable).parent), base.get("PATH", "")]),
        NO_COLOR="1",
    )
    base.pop("PYTHONPATH", None)
    results = {}
    for number, step in enumerate(steps()):
        if "run" not in step or CI_ONLY in step["name"]:
            continue
        script = tmp / f"step{number}.sh"
        script.write_text(step["run"], encoding="utf-8")
        env = {**base, **{k: str(v) for k, v in step.get("env", {}).items()}}
        results[step["name"]] = subprocess.run(
            [*SHELL, str(script)],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
    return results, files


def test_every_run_step_works_locally(ran):
    results, files = ran
    said = {name: done.stdout + done.stderr for name, done in results.items()}
    codes = {name: done.returncode for name, done in results.items()}
    assert codes == {
        "Install the requirements (.venv, by the first scripts/ command)": 0,
        "Grade exercises/": 0,
        "Write the step summary and the Classroom results": 0,
        "Fail while any task fails": 1,  # the stubs: the run fails
    }, said
    assert "task(s) do not pass yet: " in said["Fail while any task fails"]
    assert outputs(files["GITHUB_OUTPUT"])["exit_code"] == "1"
    report = json.loads((files["RUNNER_TEMP"] / "results.json").read_text(encoding="utf-8"))
    assert [t["number"] for t in report["tasks"]] == [t.number for t in tasks()]


def test_the_step_summary_has_a_row_per_task(ran):
    _, files = ran
    report = json.loads((files["RUNNER_TEMP"] / "results.json").read_text(encoding="utf-8"))
    text = files["GITHUB_STEP_SUMMARY"].read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| ") and "---" not in line]
    assert rows[0] == "| # | Task | Status | Points |"
    assert len(rows) == 1 + len(tasks())
    by_number = {t["number"]: t["status"] for t in report["tasks"]}
    assert rows[2] == f"| 1 | {tasks()[1].title} | ⬜ not started | 0/1 |"
    passed = sum(s == "pass" for s in by_number.values())
    assert f"## Grading: {passed}/{len(tasks())} tasks pass" in text
    assert "<summary>Task 1: Redis client — not started</summary>" in text


def test_the_classroom_results_hold_one_test_per_task(ran):
    _, files = ran
    document = json.loads(base64.b64decode(outputs(files["GITHUB_OUTPUT"])["result"]))
    assert document["version"] == 1 and document["status"] == "fail"
    assert len(document["tests"]) == len(tasks()) == document["max_score"]
    first = document["tests"][1]
    assert first["name"] == f"Task 1: {tasks()[1].title}"
    assert (first["status"], first["score"], first["max_score"]) == ("fail", 0, 1)
    assert "task 1 not started" in first["message"]


# --- the conversions, on a known report ----------------------------------------------------

KNOWN = {
    "version": 3,
    "status": "fail",
    "message": None,
    "tests": [],
    "grading_version": 1,
    "tasks": [
        {"number": 1, "title": "Redis client", "files": ["0-redis_client.py"], "status": "pass",
         "tests_run": 2, "failures": []},
        {"number": 2, "title": "Ops | pipes", "files": ["1-redis_op.py"], "status": "fail",
         "tests_run": 1, "failures": ["task 2: wrong\n--- expected\n+++ actual\n-a\n+b"]},
        {"number": 3, "title": "Async", "files": ["2-redis_op_async.py"],
         "status": "not_started", "tests_run": 1, "failures": ["task 3 not started: stub"]},
        {"number": 5, "title": "Pub/sub", "files": ["5-subscriber.py", "5-publisher.py"],
         "status": "timeout", "tests_run": 1, "failures": ["task 5: still running"]},
        {"number": 9, "title": "No grader", "files": ["x.py"], "status": "no_grader",
         "tests_run": 0, "failures": []},
    ],
}  # fmt: skip


def test_summary_of_a_known_report():
    text = classroom.summary(KNOWN, points=2)
    assert text.splitlines()[:10] == [
        "## Grading: 1/4 tasks pass",
        "",
        "| # | Task | Status | Points |",
        "|---:|---|---|---:|",
        "| 1 | Redis client | ✅ pass | 2/2 |",
        "| 2 | Ops \\| pipes | ❌ fail | 0/2 |",
        "| 3 | Async | ⬜ not started | 0/2 |",
        "| 5 | Pub/sub | ⏱️ timed out | 0/2 |",
        "| 9 | No grader | ➖ no grader | — |",
        "",
    ]
    assert "**Points: 2/8**" in text
    assert "<summary>Task 2: Ops | pipes — fail</summary>\n\n```text\ntask 2: wrong\n" in text
    assert "Run `scripts/grade 5` for the diff and a hint." in text
    assert "Task 1:" not in text  # a pass shows no details


def test_classroom_results_of_a_known_report():
    document = classroom.classroom(KNOWN, points=2)
    assert document["version"] == 1 and document["status"] == "fail"
    assert document["max_score"] == 8
    assert [(t["name"], t["status"], t["score"], t["max_score"]) for t in document["tests"]] == [
        ("Task 1: Redis client", "pass", 2, 2),
        ("Task 2: Ops | pipes", "fail", 0, 2),
        ("Task 3: Async", "fail", 0, 2),
        ("Task 5: Pub/sub", "fail", 0, 2),
    ]
    assert document["tests"][0]["message"] is None
    assert document["tests"][1]["message"].startswith("task 2: wrong\n--- expected")
    assert document["tests"][3]["filename"] == "5-subscriber.py, 5-publisher.py"
    assert document["tests"][3]["test_code"] == "scripts/grade 5"
    assert json.loads(base64.b64decode(classroom.encoded(document))) == document


def test_an_error_makes_the_classroom_status_error():
    broken = {**KNOWN, "tasks": [{**KNOWN["tasks"][0], "status": "error", "failures": ["x"]}]}
    assert classroom.classroom(broken)["status"] == "error"
    passing = {**KNOWN, "tasks": [KNOWN["tasks"][0], KNOWN["tasks"][4]]}
    assert classroom.classroom(passing)["status"] == "pass"


def test_check_passes_only_when_every_task_passes(tmp_path):
    def check(document: dict) -> subprocess.CompletedProcess:
        path = tmp_path / "results.json"
        path.write_text(json.dumps(document), encoding="utf-8")
        return subprocess.run(
            [sys.executable, "-m", "toolkit.classroom", "check", str(path)],
            cwd=REPO / "scripts",
            capture_output=True,
            text=True,
        )

    failing = check(KNOWN)
    assert failing.returncode == 1
    assert failing.stderr.strip() == (
        "3 task(s) do not pass yet: 2 (fail), 3 (not started), 5 (timed out)"
    )
    passing = check({**KNOWN, "tasks": [KNOWN["tasks"][0], KNOWN["tasks"][4]]})
    assert (passing.returncode, passing.stdout.strip()) == (0, "Every task passes.")
    (tmp_path / "results.json").write_text("{}", encoding="utf-8")
    bad = subprocess.run(
        [sys.executable, "-m", "toolkit.classroom", "summary", str(tmp_path / "results.json")],
        cwd=REPO / "scripts",
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "not a scripts/grade --json report" in bad.stderr


def readme_classroom_commands() -> list[str]:
    """The README's ``toolkit.classroom`` command lines (its instructor section)."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    return [
        line.split("  #")[0].strip()
        for line in text.splitlines()
        if line.startswith("PYTHONPATH=scripts python -m toolkit.classroom ")
    ]


def test_the_readme_classroom_commands_work(tmp_path):
    commands = readme_classroom_commands()
    assert [c.split()[4] for c in commands] == ["summary", "classroom", "check"]
    (tmp_path / "report.json").write_text(json.dumps(KNOWN), encoding="utf-8")
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    (tmp_path / "scripts").symlink_to(REPO / "scripts")  # the commands run from the root
    said = {}
    for command in commands:
        done = subprocess.run(
            ["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True
        )
        said[command.split()[4]] = (done.returncode, done.stdout + done.stderr)
    assert said["summary"][0] == 0 and "| 2 | Ops \\| pipes | ❌ fail | 0/1 |" in said["summary"][1]
    assert said["classroom"][0] == 0
    assert json.loads(said["classroom"][1]) == classroom.classroom(KNOWN)
    assert said["check"] == (
        1,
        "3 task(s) do not pass yet: 2 (fail), 3 (not started), 5 (timed out)\n",
    )
