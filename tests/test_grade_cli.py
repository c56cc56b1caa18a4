"""The learner tooling as a person uses it: scripts/grade, scripts/grade --watch, scripts/reset.

These are not graders (no task marker). Every test grades a temporary copy of exercises/
with one file replaced (solved or broken), and keeps its progress in a temporary state
file, so the repository's exercises/ and .grade-state.json are never touched. Task 2 is
the guinea pig: its grader is quick.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pexpect
import pytest

from harness.grading import NotStarted, TimedOut, build_report, kind_of, task_status
from toolkit.grade_cli import (
    STATE_FILE_ENV,
    Saves,
    TaskResult,
    _result,
    learner_file,
    next_task,
    passed_numbers,
    progress_line,
    record,
    task_files,
)
from toolkit.registry import task, tasks

REPO = Path(__file__).resolve().parents[1]
GRADE = REPO / "scripts" / "grade"
RESET = REPO / "scripts" / "reset"
TASK = task(2)
FILE = TASK.scripts[0]  # 1-redis_op.py


def committed_stub(name: str) -> bytes:
    return subprocess.run(
        ["git", "-C", str(REPO), "show", f"HEAD:exercises/{name}"], capture_output=True, check=True
    ).stdout


def make_workspace(folder: Path, solved: bool = False, broken: bool = False) -> Path:
    """A copy of exercises/ in ``folder``/exercises, with task 2's file solved or broken."""
    target = folder / "exercises"
    shutil.copytree(REPO / "exercises", target, ignore=shutil.ignore_patterns("__pycache__"))
    solution = (REPO / "solutions" / FILE).read_text(encoding="utf-8")
    if solved:
        (target / FILE).write_text(solution, encoding="utf-8")
    if broken:
        assert "Reply: " in solution
        (target / FILE).write_text(solution.replace("Reply: ", "reply: "), encoding="utf-8")
    return target


def cli_env(folder: Path) -> dict[str, str]:
    env = dict(os.environ)
    env[STATE_FILE_ENV] = str(folder / "state.json")
    env["NO_COLOR"] = "1"
    return env


def cli(script: Path, *args: str, folder: Path, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(script), *args],
        cwd=REPO,
        env=cli_env(folder),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=180,
    )


def row(output: str, number: int) -> str:
    found = re.search(rf"^ *{number} +{re.escape(task(number).title)} +(.+)$", output, re.M)
    assert found, f"no row for task {number} in:\n{output}"
    return found.group(1).strip()


# --- scripts/grade: the table -------------------------------------------------------------


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    """``scripts/grade --target TMP --json F`` once, on a copy where only task 2 is solved."""
    folder = tmp_path_factory.mktemp("table")
    target = make_workspace(folder, solved=True)
    report = folder / "report.json"
    done = cli(GRADE, "--target", str(target), "--json", str(report), folder=folder)
    return done, json.loads(report.read_text(encoding="utf-8")), folder


def test_table_has_a_row_per_task_a_progress_bar_and_the_next_task(table):
    done, _, _ = table
    out = done.stdout
    assert row(out, 2) == "pass", out
    assert row(out, 1) == "not started", out  # task 1 has a grader and is still the stub
    for each in tasks():
        shown = ("pass", "fail", "not started", "no grader", "timed out", "error")
        assert row(out, each.number) in shown
    progress = re.search(r"^Progress: \[(#*)(-*)\] (\d+)/(\d+)$", out, re.M)
    assert progress, out
    assert int(progress.group(4)) == len(tasks()) and int(progress.group(3)) >= 1
    assert len(progress.group(1)) == int(progress.group(3))
    assert re.search(r"^Next: task \d+ — ", out, re.M), out
    assert done.returncode == 1, "tasks still unstarted: the exit code must say so"


def test_json_holds_one_result_per_task(table):
    _, report, _ = table
    by_number = {entry["number"]: entry for entry in report["tasks"]}
    assert sorted(by_number) == [t.number for t in tasks()]
    assert by_number[2]["status"] == "pass" and by_number[2]["failures"] == []
    assert by_number[2]["title"] == TASK.title
    assert by_number[1]["status"] == "not_started"
    assert any("not started" in failure for failure in by_number[1]["failures"])
    assert report["total"] == len(tasks()) and report["passed"] >= 1


def test_json_follows_exercism_results_version_3(table):
    _, report, _ = table
    assert report["version"] == 3 and report["status"] == "fail" and report["message"] is None
    assert report["grading_version"] == 1
    assert report["tests"], "every grader run is listed"
    for test in report["tests"]:
        assert {"name", "status", "message", "output", "task_id"} <= set(test), test
        assert test["status"] in ("pass", "fail", "error"), test
    task2 = [t for t in report["tests"] if t["task_id"] == 2]
    assert task2 and all(t["status"] == "pass" and t["message"] is None for t in task2)
    task1 = [t for t in report["tests"] if t["task_id"] == 1]
    assert task1[0]["status"] == "fail" and task1[0]["grading_status"] == "not_started"


def test_progress_is_saved_in_the_state_file(table):
    _, _, folder = table
    state = json.loads((folder / "state.json").read_text(encoding="utf-8"))
    (slot,) = state["targets"].values()
    assert slot["tasks"]["2"]["status"] == "pass" and slot["tasks"]["2"]["first_passed_at"]
    assert slot["tasks"]["1"]["status"] == "not_started"


def test_progress_bar_counts_a_pass_only_while_its_files_are_unchanged(tmp_path, monkeypatch):
    monkeypatch.setenv(STATE_FILE_ENV, str(tmp_path / "state.json"))
    folder = tmp_path / "work"
    folder.mkdir()
    (folder / FILE).write_text("solved\n", encoding="utf-8")
    slot = record([TaskResult(TASK, "pass")], folder)
    assert passed_numbers(slot, folder) == {2}
    (folder / FILE).write_text("edited since\n", encoding="utf-8")
    assert passed_numbers(slot, folder) == set(), "a pass graded on other files is stale"


def test_task_0_names_the_dump_rdb_at_the_root():
    shown = task_files(task(0), REPO / "exercises")
    assert shown in ("dump.rdb", str(REPO / "dump.rdb")), shown


def test_a_skipped_grader_leaves_its_task_unproven():
    assert task_status(["pass", "skip"]) == "fail"
    assert task_status(["pass", "pass"]) == "pass"
    assert task_status(["not_started"]) == "not_started"
    assert task_status(["pass", "timeout"]) == "timeout"
    skipped = {
        "name": "t::x",
        "status": "skip",
        "message": "not checked: redis-server is not installed",
        "output": None,
        "task_id": 0,
        "target": "/x",
        "test": "x",
    }
    report = build_report([skipped], [])
    assert report["tasks"][0]["status"] == "fail"
    assert report["tasks"][0]["failures"] == ["not checked: redis-server is not installed"]
    assert report["tests"][0]["status"] == "fail"


def test_progress_bar_counts_passed_tasks():
    assert progress_line(5, 17) == "Progress: [#####------------] 5/17"
    assert progress_line(0, 3) == "Progress: [---] 0/3"


def test_report_entries_map_to_statuses():
    stub = {"status": "not_started", "tests_run": 1, "failures": ["task 2 not started: x"]}
    broken = {"status": "fail", "tests_run": 2, "failures": ["task 2: the output is not ..."]}
    assert _result(TASK, {"status": "pass", "tests_run": 3}, True).status == "pass"
    assert _result(TASK, stub, True).status == "not_started"
    assert _result(TASK, broken, True).status == "fail"
    assert _result(TASK, {"status": "timeout", "failures": []}, True).status == "timeout"
    assert _result(TASK, None, False).status == "no_grader"
    assert _result(TASK, None, True).status == "fail"  # collected, but nothing ran


def test_next_task_is_the_first_graded_task_not_passing():
    statuses = {0: "pass", 1: "pass", 2: "fail", 3: "not_started"}
    assert next_task(statuses, {0, 1, 2, 3}).number == 2
    assert next_task(statuses, {0, 1, 3}).number == 3  # 2 has no grader: skipped
    assert next_task(statuses, {0, 1, 2, 3}, after=2).number == 3
    assert next_task(statuses, {0, 1, 2}, after=2).number == 2  # wraps around
    assert next_task({0: "pass"}, {0}) is None


# --- scripts/grade N ------------------------------------------------------------------------


def test_grade_n_on_a_stub_says_not_started(tmp_path):
    target = make_workspace(tmp_path)
    done = cli(GRADE, "2", "--target", str(target), folder=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "task 2 not started" in done.stdout
    assert f"Hint for task 2: {TASK.hint}" in done.stdout


def test_grade_n_on_a_solved_file_points_at_the_solution(tmp_path):
    target = make_workspace(tmp_path, solved=True)
    done = cli(GRADE, "2", "--target", str(target), folder=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Task 2 passed." in done.stdout
    assert f"Solution for comparison: solutions/{FILE}" in done.stdout


def test_grade_n_on_a_broken_file_shows_the_diff_and_the_hint(tmp_path):
    target = make_workspace(tmp_path, broken=True)
    done = cli(GRADE, "2", "--target", str(target), folder=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "--- expected" in done.stdout and "+++ actual" in done.stdout
    assert "-Reply: OK" in done.stdout and "+reply: OK" in done.stdout
    assert f"Hint for task 2: {TASK.hint}" in done.stdout
    assert "Solution for comparison" not in done.stdout


def test_grade_solutions_passes_and_unknown_task_is_a_usage_error(tmp_path):
    done = cli(GRADE, "2", "--solutions", folder=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Task 2 passed." in done.stdout
    unknown = cli(GRADE, "99", folder=tmp_path)
    assert unknown.returncode == 2 and "no task 99" in unknown.stderr


# --- scripts/reset N --------------------------------------------------------------------------


def test_reset_asks_then_restores_the_stub_and_keeps_progress(tmp_path):
    target = make_workspace(tmp_path, solved=True)
    assert cli(GRADE, "2", "--target", str(target), folder=tmp_path).returncode == 0
    solved = (target / FILE).read_bytes()

    refused = cli(RESET, "2", "--target", str(target), folder=tmp_path, stdin="n\n")
    assert refused.returncode == 1 and "[y/N]" in refused.stdout
    assert (target / FILE).read_bytes() == solved, "answering no must change nothing"

    done = cli(RESET, "2", "--yes", "--target", str(target), folder=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (target / FILE).read_bytes() == committed_stub(FILE)

    state = json.loads((tmp_path / "state.json").read_text(encoding="utf-8"))
    (slot,) = state["targets"].values()
    entry = slot["tasks"]["2"]
    assert entry["status"] == "not_started" and entry["first_passed_at"] and entry["reset_at"]

    again = cli(GRADE, "2", "--target", str(target), folder=tmp_path)
    assert again.returncode == 1 and "task 2 not started" in again.stdout


def test_reset_confirmed_with_y(tmp_path):
    target = make_workspace(tmp_path, broken=True)
    done = cli(RESET, "2", "--target", str(target), folder=tmp_path, stdin="y\n")
    assert done.returncode == 0, done.stdout + done.stderr
    assert (target / FILE).read_bytes() == committed_stub(FILE)


def test_state_file_is_ignored_by_git():
    ignored = subprocess.run(["git", "-C", str(REPO), "check-ignore", "-q", ".grade-state.json"])
    assert ignored.returncode == 0


# --- scripts/grade --watch, in a pseudo-terminal --------------------------------------------


def test_watch_turns_to_pass_when_the_fixed_file_is_saved(tmp_path):
    target = make_workspace(tmp_path)
    env = cli_env(tmp_path)
    env.pop("NO_COLOR")  # a terminal, as the learner has it
    child = pexpect.spawn(
        str(GRADE),
        ["--watch", "2", "--target", str(target)],
        cwd=str(REPO),
        env=env,
        encoding="utf-8",
        timeout=60,
        dimensions=(40, 120),
    )
    child.logfile_read = sys.stdout  # shown by pytest when the test fails
    try:
        child.expect_exact("task 2 not started")
        child.expect_exact("[q] quit")
        child.send("h")
        child.expect_exact(f"Hint for task 2: {TASK.hint}")

        shutil.copyfile(REPO / "solutions" / FILE, target / FILE)  # "save" the fixed file
        child.expect_exact("Task 2 passed.")
        child.expect_exact(f"Solution for comparison: solutions/{FILE}")
        child.expect(r"Progress: \[#+-*\] 1/\d+")
        child.expect_exact("[q] quit")
        child.send("q")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0


def test_watch_takes_commands_from_a_pipe_too(tmp_path):
    target = make_workspace(tmp_path)
    done = cli(GRADE, "--watch", "2", "--target", str(target), folder=tmp_path, stdin="h\nq\n")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "task 2 not started" in done.stdout
    assert f"Hint for task 2: {TASK.hint}" in done.stdout and "Bye." in done.stdout


def test_watch_notices_saves_of_python_files_only(tmp_path):
    """watchfiles reports the saves; data files, caches and hidden files are not saves."""
    (tmp_path / "__pycache__").mkdir()
    with Saves(tmp_path) as saves:
        for _ in range(100):  # until watchfiles' watcher is up: it notices this probe
            (tmp_path / "probe.py").write_text("x = 1\n", encoding="utf-8")
            if saves.changed.wait(0.1):
                break
        assert saves.saved(), "watchfiles noticed no save"
        saves.forget()
        saves.paths.clear()
        assert not saves.saved()
        (tmp_path / "data.json").write_text("{}", encoding="utf-8")
        (tmp_path / "__pycache__" / "cached.py").write_text("", encoding="utf-8")
        (tmp_path / ".hidden.py").write_text("", encoding="utf-8")
        (tmp_path / "1-redis_op.py").write_text("print('saved')\n", encoding="utf-8")
        assert saves.changed.wait(30), "the save of 1-redis_op.py was not noticed"
        saved = str(tmp_path / "1-redis_op.py")
        assert saved in saves.paths
        assert saves.paths <= {saved, str(tmp_path / "probe.py")}  # a late probe event at most


def test_only_python_files_are_saves():
    assert learner_file(None, "/w/1-redis_op.py")
    assert not learner_file(None, "/w/dump.rdb")
    assert not learner_file(None, "/w/__pycache__/x.py")
    assert not learner_file(None, "/w/.x.py")


def raised(error: BaseException, during: BaseException | None = None) -> pytest.ExceptionInfo:
    """The ExceptionInfo of ``error`` raised (while ``during`` was being handled)."""
    try:
        try:
            if during is not None:
                raise during
        finally:
            raise error
    except BaseException:  # noqa: BLE001 - any error is the point here
        return pytest.ExceptionInfo.from_current()


def test_each_failure_has_its_status_as_data():
    call = SimpleNamespace(passed=False, skipped=False, when="call")
    setup = SimpleNamespace(passed=False, skipped=False, when="setup")

    def failed():
        return pytest.fail.Exception("wrong output", pytrace=False)

    assert kind_of(call, raised(NotStarted("task 2 not started", pytrace=False))) == "not_started"
    assert kind_of(call, raised(TimedOut("no answer", pytrace=False))) == "timeout"
    late = raised(failed(), during=subprocess.TimeoutExpired("python x.py", 20))
    assert kind_of(call, late) == "timeout", "a failure reported while a timeout is handled"
    assert kind_of(call, raised(failed())) == "fail"
    assert kind_of(call, raised(AssertionError("x"))) == "fail"
    assert kind_of(call, raised(RuntimeError("grader bug"))) == "error"
    assert kind_of(setup, raised(failed())) == "error"
