"""Alternative correct solutions pass their task's graders (the graders do not overfit).

Each ``tests/alternatives/taskNN-NAME/`` holds a complete, really different solution of
task NN (every file of the task, none a copy of ``solutions/``). The graders run ONCE, in
one pytest subprocess over every folder (each only against its own task's graders), and
the tests below read its JSON report.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.subgrade import grade_in_subprocess
from toolkit.registry import task

REPO = Path(__file__).resolve().parents[1]
ALTERNATIVES = REPO / "tests" / "alternatives"
SOLUTIONS = REPO / "solutions"
FOLDERS = sorted(
    p for p in ALTERNATIVES.iterdir() if p.is_dir() and re.fullmatch(r"task\d\d-[\w-]+", p.name)
)
REQUIRED_TASKS = (2, 5, 9, 12, 13)


def folder_task(folder: Path) -> int:
    return int(folder.name[4:6])


def graders(number: int) -> list[Path]:
    return sorted((REPO / "tests").glob(f"test_task{number:02d}_*.py"))


@pytest.fixture(scope="session")
def graded(tmp_path_factory) -> dict[str, dict]:
    """Grade every alternative with its own task's graders: folder name -> result."""
    report = tmp_path_factory.mktemp("alternatives") / "report.json"
    numbers = sorted({folder_task(f) for f in FOLDERS})
    selection = " or ".join(f"(test_task{folder_task(f):02d} and [{f.name})" for f in FOLDERS)
    summaries = grade_in_subprocess(
        (p for n in numbers for p in graders(n)),
        ["-n", "2", *(f"--target={f}" for f in FOLDERS), "-k", selection],
        report,
        "grading the alternative solutions",
    )
    return {Path(r["target"]).name: r for r in summaries}


@pytest.mark.parametrize("number", REQUIRED_TASKS, ids=lambda n: f"task{n}")
def test_task_has_two_alternatives(number):
    found = [f.name for f in FOLDERS if folder_task(f) == number]
    assert len(found) >= 2, f"task {number}: two alternative solutions needed, found {found}"


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.name)
def test_alternative_is_a_complete_different_solution(folder):
    number = folder_task(folder)
    held = {p.name for p in folder.iterdir() if p.is_file()}
    assert held == set(task(number).scripts), (
        f"{folder.name}: holds {sorted(held)}, task {number}'s files are "
        f"{sorted(task(number).scripts)}"
    )
    for name in held:
        assert (folder / name).read_bytes() != (SOLUTIONS / name).read_bytes(), (
            f"{folder.name}: {name} is a copy of solutions/{name}"
        )


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.name)
def test_alternative_passes_its_graders(graded, folder):
    result = graded.get(folder.name)
    assert result is not None, f"{folder.name}: no grader of task {folder_task(folder)} ran"
    assert result["tests_run"] > 0, f"{folder.name}: every grader was skipped"
    assert result["status"] == "pass", (
        f"{folder.name}: a correct alternative fails its graders:\n" + "\n".join(result["failures"])
    )
