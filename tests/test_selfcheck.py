"""The repository checks itself (SPEC section 6).

- every exercise stub has TODO markers and fails its grader as "not started";
- ``exercises/`` and ``solutions/`` mirror each other file for file;
- every broken variant ``tests/broken/taskNN-*`` makes task NN's grader fail, and each
  graded task has at least two of them.

The graders themselves run ONCE per session, in one pytest subprocess over
``exercises/`` and every variant folder (each variant only against its own task), and
the tests below read its JSON report. Every solution passing is the main run's job.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from toolkit.registry import task, tasks
from toolkit.stubs import current as current_stub_hashes
from toolkit.stubs import is_stub, shipped

REPO = Path(__file__).resolve().parents[1]
TESTS = REPO / "tests"
BROKEN = TESTS / "broken"
EXERCISES = REPO / "exercises"
SOLUTIONS = REPO / "solutions"


def grader_modules() -> dict[int, list[Path]]:
    """Task number -> its grader modules ``tests/test_taskNN_*.py``."""
    found: dict[int, list[Path]] = {}
    for path in sorted(TESTS.glob("test_task*.py")):
        match = re.fullmatch(r"test_task(\d\d)_\w+\.py", path.name)
        if match:
            found.setdefault(int(match.group(1)), []).append(path)
    return found


def variant_folders() -> list[Path]:
    """Every broken variant folder ``tests/broken/taskNN-name``."""
    if not BROKEN.is_dir():
        return []
    return sorted(p for p in BROKEN.iterdir() if p.is_dir() and re.match(r"task\d\d-", p.name))


def variant_task(folder: Path) -> int:
    return int(folder.name[4:6])


def learner_files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")} - {
        "VARIANT.md"
    }


# "-n N" for pytest-xdist (SELFCHECK_WORKERS=0 runs the graders in one process).
SELFCHECK_WORKERS = ["-n", os.environ.get("SELFCHECK_WORKERS", "4"), "--dist", "loadgroup"]
if SELFCHECK_WORKERS[1] == "0":
    SELFCHECK_WORKERS = []

GRADERS = grader_modules()
VARIANTS = variant_folders()
# Tasks whose learner files are scripts with stubs (task 0's file is dump.rdb: no stub).
STUB_TASKS = [t for t in tasks() if t.number in GRADERS and t.scripts]
MIRRORED = sorted(learner_files(EXERCISES) | learner_files(SOLUTIONS))


@pytest.fixture(scope="session")
def graded(tmp_path_factory) -> dict[tuple[str, int], dict]:
    """Run the graders on exercises/ and every variant; (folder name, task) -> result."""
    report = tmp_path_factory.mktemp("selfcheck") / "report.json"
    # Each variant is graded by its own task's modules only; exercises/ by all of them.
    # "-k" matches "[name" at the start of the parametrized test id.
    selection = ["[exercises"] + [
        f"(test_task{variant_task(v):02d} and [{v.name})" for v in VARIANTS
    ]
    command = [
        sys.executable,
        "-m",
        "pytest",
        *(str(p) for paths in GRADERS.values() for p in paths),
        "-q",
        "-p",
        "no:randomly",
        # The graders mostly wait on the scripts they run: spread them over processes.
        *SELFCHECK_WORKERS,
        "--stop-task-on-failure",
        "--report-json",
        str(report),
        "--target",
        "exercises",
        *(arg for v in VARIANTS for arg in ("--target", str(v))),
        "-k",
        " or ".join(selection),
    ]
    try:
        proc = subprocess.run(
            command, cwd=REPO, capture_output=True, text=True, timeout=600, check=False
        )
    except subprocess.TimeoutExpired:
        pytest.fail("the self-check run of the graders took more than 600s", pytrace=False)
    if not report.is_file():
        pytest.fail(
            f"the self-check run wrote no report (exit {proc.returncode}):\n"
            f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}",
            pytrace=False,
        )
    results = json.loads(report.read_text(encoding="utf-8"))
    return {(Path(r["target"]).name, r["task"]): r for r in results}


def require_pristine(*filenames: str) -> None:
    """Stub checks apply to the shipped stubs: a learner's edited file is skipped, with why.

    In CI (a clean checkout) an edited stub is a failure: the manifest must be regenerated.
    """
    edited = [name for name in filenames if not is_stub(EXERCISES / name)]
    if not edited:
        return
    message = f"exercises/{', '.join(edited)} differ from the shipped stubs in scripts/stubs.sha256"
    if os.environ.get("CI"):
        pytest.fail(f"{message}: run `python -m toolkit.stubs --write` in scripts/", pytrace=False)
    pytest.skip(f"{message} (your own work): the stub self-check applies to pristine stubs")


def failures(result: dict) -> str:
    return "\n".join(result["failures"])


@pytest.mark.parametrize("number", [t.number for t in STUB_TASKS], ids=lambda n: f"task{n}")
def test_stub_fails_its_grader_as_not_started(graded, number):
    require_pristine(*task(number).scripts)
    result = graded.get(("exercises", number))
    assert result is not None, f"task {number}: no grader ran on exercises/"
    assert not result["passed"], f"task {number}: the untouched stub passes its grader"
    assert result["failures"] and all("not started" in f for f in result["failures"]), (
        f"task {number}: the stub should fail with 'task {number} not started', got:\n"
        + failures(result)
    )


@pytest.mark.parametrize("number", [t.number for t in STUB_TASKS], ids=lambda n: f"task{n}")
def test_graded_task_has_stub_and_solution(number):
    for filename in task(number).scripts:
        assert (EXERCISES / filename).is_file(), f"task {number}: exercises/{filename} missing"
        assert (SOLUTIONS / filename).is_file(), f"task {number}: solutions/{filename} missing"


def test_stub_manifest_names_every_exercise_file():
    assert sorted(shipped()) == sorted(current_stub_hashes()), (
        "scripts/stubs.sha256 and exercises/ list different files: "
        "run `python -m toolkit.stubs --write` in scripts/"
    )


@pytest.mark.parametrize("filename", sorted(learner_files(EXERCISES)))
def test_stub_has_todo_markers(filename):
    require_pristine(filename)
    assert "TODO" in (EXERCISES / filename).read_text(encoding="utf-8"), (
        f"exercises/{filename} has no TODO marker for the learner"
    )


@pytest.mark.parametrize("filename", MIRRORED)
def test_exercises_and_solutions_mirror_each_other(filename):
    assert (EXERCISES / filename).is_file(), f"solutions/{filename} has no stub in exercises/"
    assert (SOLUTIONS / filename).is_file(), f"exercises/{filename} has no solution"


@pytest.mark.parametrize("number", [t.number for t in STUB_TASKS], ids=lambda n: f"task{n}")
def test_graded_task_has_two_broken_variants(number):
    found = [v.name for v in VARIANTS if variant_task(v) == number]
    assert len(found) >= 2, (
        f"task {number}: at least two broken variants tests/broken/task{number:02d}-*/ "
        f"are needed, found {found}"
    )


@pytest.mark.parametrize("folder", VARIANTS, ids=lambda p: p.name)
def test_variant_is_well_formed(folder):
    number = variant_task(folder)
    note = folder / "VARIANT.md"
    assert note.is_file() and note.read_text(encoding="utf-8").strip(), (
        f"{folder.name}: VARIANT.md must say in one line what is broken"
    )
    files = learner_files(folder)
    assert files, f"{folder.name}: holds no broken file"
    assert files <= set(task(number).files), (
        f"{folder.name}: holds {sorted(files - set(task(number).files))}, "
        f"which are not files of task {number}"
    )
    for name in files:
        assert (folder / name).read_bytes() != (SOLUTIONS / name).read_bytes(), (
            f"{folder.name}: {name} is the same as solutions/{name}"
        )


@pytest.mark.parametrize("folder", VARIANTS, ids=lambda p: p.name)
def test_broken_variant_fails_its_grader(graded, folder):
    number = variant_task(folder)
    assert number in GRADERS, f"{folder.name}: task {number} has no grader module"
    result = graded.get((folder.name, number))
    assert result is not None, f"{folder.name}: no grader of task {number} ran on it"
    assert not result["passed"], (
        f"{folder.name}: task {number}'s graders pass on this broken variant "
        f"({(folder / 'VARIANT.md').read_text(encoding='utf-8').strip()})"
    )
    assert not any("not started" in f for f in result["failures"]), (
        f"{folder.name}: failed as 'not started', not for what it breaks:\n" + failures(result)
    )
