"""Task 11 — 8-job_test.py: the learner's own tests of task 10.

The learner's test module runs with pytest in a child process, in a temporary folder
next to an ``8-job.py``: the learner's own and the reference solution's (all tests must
pass, at least 3), then each broken ``8-job.py`` of ``tests/task11_mutants/`` (some test
must fail on each).
"""

import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.target import SOLUTIONS

TEST_FILE = "8-job_test.py"
TASK_10 = "8-job.py"
MUTANTS = Path(__file__).resolve().parent / "task11_mutants"


@dataclass
class PytestRun:
    returncode: int
    tests: int
    failed: int
    output: str


def run_learner_tests(tmp_path: Path, name: str, tests: Path, task_10: Path, env) -> PytestRun:
    """Run ``tests`` with pytest in a fresh folder holding ``task_10`` as 8-job.py."""
    folder = tmp_path / name
    folder.mkdir()
    shutil.copyfile(tests, folder / TEST_FILE)
    shutil.copyfile(task_10, folder / TASK_10)
    # An ini file of its own: the repository's pytest config and conftest stay out.
    (folder / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\n")
    report = folder / "report.xml"
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", f"--junitxml={report}", TEST_FILE],
            cwd=folder,
            # Only pytest itself: no third-party plugins (faster, and nothing else interferes).
            env={**env, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
            capture_output=True,
            text=True,
            timeout=30,
        )
    except subprocess.TimeoutExpired:
        proc = None
    if proc is None:
        pytest.fail(f"task 11: pytest {TEST_FILE} did not finish within 30s", pytrace=False)
    tests = failed = 0
    if report.is_file():
        root = ET.parse(report).getroot()
        suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
        for suite in suites:
            tests += int(suite.get("tests", 0))
            failed += int(suite.get("failures", 0)) + int(suite.get("errors", 0))
    return PytestRun(proc.returncode, tests, failed, (proc.stdout + proc.stderr).strip())


def mutants() -> list[Path]:
    return sorted(MUTANTS.glob("*.py"))


def what_is_broken(mutant: Path) -> str:
    """The first paragraph of the mutant's docstring, after "a broken 8-job.py: "."""
    paragraph = mutant.read_text(encoding="utf-8").strip('"\n').split("\n\n", 1)[0]
    return " ".join(paragraph.split()).split(": ", 1)[-1]


@pytest.mark.task(11)
def test_learner_tests_pass_on_the_learners_task_10(target, env, tmp_path):
    tests = target.script(TEST_FILE)
    run = run_learner_tests(tmp_path, "own", tests, target.script(TASK_10), env)
    if run.returncode != 0:
        pytest.fail(
            f"task 11: `pytest {TEST_FILE}` fails on your own {TASK_10} (exit code "
            f"{run.returncode}); fix the tests or task 10 first. pytest said:\n{run.output}",
            pytrace=False,
        )
    if run.tests < 3:
        pytest.fail(
            f"task 11: {TEST_FILE} has {run.tests} test(s); write at least 3 (the TypeError, "
            "the jobs recorded in test mode, the printed lines).",
            pytrace=False,
        )


@pytest.mark.task(11)
def test_learner_tests_pass_on_a_correct_task_10(target, env, tmp_path):
    """Tests must check what task 10 asks, not the quirks of one implementation."""
    tests = target.script(TEST_FILE)
    own = target.script(TASK_10)
    reference = SOLUTIONS / TASK_10
    if own.read_bytes() == reference.read_bytes():
        return  # the first test already ran them on this very file
    run = run_learner_tests(tmp_path, "reference", tests, reference, env)
    if run.returncode != 0:
        pytest.fail(
            f"task 11: `pytest {TEST_FILE}` fails on a correct {TASK_10} (the reference "
            f"solution): your tests expect something task 10 does not ask for. "
            f"pytest said:\n{run.output}",
            pytrace=False,
        )


@pytest.mark.task(11)
def test_learner_tests_catch_each_broken_task_10(target, env, tmp_path):
    tests = target.script(TEST_FILE)
    target.script(TASK_10)  # task 10 must be started for this task to make sense
    broken = mutants()
    with ThreadPoolExecutor(max_workers=3) as pool:
        runs = list(pool.map(lambda m: run_learner_tests(tmp_path, m.stem, tests, m, env), broken))
    unrunnable = [
        (mutant, run)
        for mutant, run in zip(broken, runs, strict=True)
        if run.returncode not in (0, 1, 2) or (run.returncode and run.failed == 0)
    ]
    if unrunnable:
        mutant, run = unrunnable[0]
        pytest.fail(
            f"task 11: pytest could not run {TEST_FILE} on a broken {TASK_10} in which "
            f"{what_is_broken(mutant)} (exit code {run.returncode}). pytest said:\n{run.output}",
            pytrace=False,
        )
    missed = [m for m, run in zip(broken, runs, strict=True) if run.returncode == 0]
    if missed:
        listed = "\n".join(f"  - {what_is_broken(m)}" for m in missed)
        pytest.fail(
            f"task 11: your tests all pass on {len(missed)} broken version(s) of {TASK_10} "
            f"(of {len(broken)} tried), in which:\n{listed}\n"
            "Add tests (or asserts) that catch these.",
            pytrace=False,
        )
