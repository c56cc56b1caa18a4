"""The repository checks itself (SPEC section 6).

- every exercise stub has TODO markers and fails its grader as "not started";
- ``exercises/`` and ``solutions/`` mirror each other file for file;
- every broken variant ``tests/broken/taskNN-*.patch`` (see ``toolkit.variants``) still
  applies to its solution, changes the lines it declares, and makes the grader it names
  (``Caught by:``) fail first; each graded task has at least two of them.

The graders themselves run ONCE per session, in one pytest subprocess over
``exercises/`` and every variant (materialised in a temporary folder, graded by its own
task's graders only, the named grader first, stopping at the first failure), and the
tests below read its JSON report (``harness.grading``). Every solution passing is the
main run's job.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.grading import NOT_STARTED, PASS
from harness.subgrade import grade_in_subprocess
from toolkit.grade_cli import grader_modules
from toolkit.registry import task, tasks
from toolkit.stubs import current as current_stub_hashes
from toolkit.stubs import is_stub, shipped
from toolkit.variants import Variant, VariantError, discover, materialise
from toolkit.variants import load as load_variant

REPO = Path(__file__).resolve().parents[1]
TESTS = REPO / "tests"
EXERCISES = REPO / "exercises"
SOLUTIONS = REPO / "solutions"


def learner_files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")}


# "-n N" for pytest-xdist (SELFCHECK_WORKERS=0 runs the graders in one process).
SELFCHECK_WORKERS = ["-n", os.environ.get("SELFCHECK_WORKERS", "4"), "--dist", "loadgroup"]
if SELFCHECK_WORKERS[1] == "0":
    SELFCHECK_WORKERS = []

GRADERS = grader_modules()
try:
    VARIANTS: list[Variant] = discover()
    DISCOVERY_ERROR = None
except VariantError as error:  # reported by test_variants_are_found, not as a crash
    VARIANTS, DISCOVERY_ERROR = [], str(error)
# Tasks whose learner files are scripts with stubs (task 0's file is dump.rdb: no stub).
STUB_TASKS = [t for t in tasks() if t.number in GRADERS and t.scripts]
MIRRORED = sorted(learner_files(EXERCISES) | learner_files(SOLUTIONS))


def by_name(variant: Variant) -> str:
    return variant.name


@pytest.fixture(scope="session")
def materialised(tmp_path_factory) -> dict[str, Path | VariantError]:
    """Each variant's folder (solutions plus its edit), or why it could not be made."""
    root = tmp_path_factory.mktemp("variants")
    made: dict[str, Path | VariantError] = {}
    for variant in VARIANTS:
        try:
            made[variant.name] = materialise(variant, root / variant.name)
        except VariantError as error:
            made[variant.name] = error
    return made


@pytest.fixture(scope="session")
def graded(materialised, tmp_path_factory) -> dict[tuple[str, int], dict]:
    """Run the graders on exercises/ and every variant; (folder name, task) -> summary."""
    report = tmp_path_factory.mktemp("selfcheck") / "report.json"
    folders = [path for path in materialised.values() if isinstance(path, Path)]
    summaries = grade_in_subprocess(
        (p for paths in GRADERS.values() for p in paths),
        [
            # The graders mostly wait on the scripts they run: spread them over processes.
            *SELFCHECK_WORKERS,
            "--stop-task-on-failure",
            "--target",
            "exercises",
            *(arg for folder in folders for arg in ("--target", str(folder))),
        ],
        report,
        "the self-check run of the graders",
    )
    return {(Path(r["target"]).name, r["task"]): r for r in summaries}


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


def test_variants_are_found():
    assert DISCOVERY_ERROR is None, DISCOVERY_ERROR


@pytest.mark.parametrize("number", [t.number for t in STUB_TASKS], ids=lambda n: f"task{n}")
def test_stub_fails_its_grader_as_not_started(graded, number):
    require_pristine(*task(number).scripts)
    result = graded.get(("exercises", number))
    assert result is not None, f"task {number}: no grader ran on exercises/"
    assert result["status"] == NOT_STARTED, (
        f"task {number}: the untouched stub should fail as not started, it is "
        f"{result['status']}:\n" + failures(result)
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
    found = [v.name for v in VARIANTS if v.task == number]
    assert len(found) >= 2, (
        f"task {number}: at least two broken variants tests/broken/task{number:02d}-*.patch "
        f"are needed, found {found}"
    )


@pytest.mark.parametrize("variant", VARIANTS, ids=by_name)
def test_variant_applies_and_names_its_grader(variant, materialised):
    made = materialised[variant.name]
    assert not isinstance(made, VariantError), str(made)
    assert variant.task in GRADERS, f"{variant.name}: task {variant.task} has no grader module"
    assert variant.caught_by, (
        f"{variant.name}: needs a 'Caught by: test_name' line naming the grader that catches it"
    )
    sources = "".join(p.read_text(encoding="utf-8") for p in GRADERS[variant.task])
    assert f"def {variant.caught_by}(" in sources, (
        f"{variant.name}: 'Caught by: {variant.caught_by}' is no grader of task {variant.task} "
        f"({', '.join(p.name for p in GRADERS[variant.task])})"
    )


@pytest.mark.parametrize("variant", VARIANTS, ids=by_name)
def test_broken_variant_fails_its_grader(graded, variant):
    result = graded.get((variant.name, variant.task))
    assert result is not None, f"{variant.name}: no grader of task {variant.task} ran on it"
    assert result["status"] != PASS, (
        f"{variant.name}: task {variant.task}'s graders pass on this broken variant "
        f"({variant.summary})"
    )
    assert result["status"] != NOT_STARTED, (
        f"{variant.name}: failed as 'not started', not for what it breaks:\n" + failures(result)
    )
    first = result["first_failing_test"]
    assert first == variant.caught_by, (
        f"{variant.name}: declared 'Caught by: {variant.caught_by}', but that grader passes "
        f"on it and {first} catches it first: name that one (or fix the grader):\n"
        + failures(result)
    )


# --- toolkit.variants itself ----------------------------------------------------------------

SOLUTION = "def f():\n    return 1\n\n\ndef g():\n    return 2\n"
PATCH = """Broken: f returns 0.
Caught by: test_f
Changes: 2 lines
--- solutions/0-redis_client.py
+++ broken/0-redis_client.py
@@ -1,2 +1,2 @@
 def f():
-    return 1
+    return 0
"""


def write_variant(folder: Path, text: str, solution: str = SOLUTION) -> tuple[Variant, Path]:
    (folder / "solutions").mkdir()
    (folder / "solutions" / "0-redis_client.py").write_text(solution, encoding="utf-8")
    patch = folder / "task01-f-returns-0.patch"
    patch.write_text(text, encoding="utf-8")
    return load_variant(patch), folder / "solutions"


def test_a_variant_applies_to_its_solution(tmp_path):
    variant, solutions = write_variant(tmp_path, PATCH)
    made = materialise(variant, tmp_path / "out", solutions)
    assert (made / "0-redis_client.py").read_text(encoding="utf-8") == SOLUTION.replace(
        "return 1", "return 0"
    )
    assert "Caught by: test_f" in (made / "VARIANT.md").read_text(encoding="utf-8")


def test_a_variant_that_no_longer_applies_fails_loudly(tmp_path):
    variant, solutions = write_variant(tmp_path, PATCH, SOLUTION.replace("return 1", "return 9"))
    with pytest.raises(VariantError, match="no longer applies"):
        materialise(variant, tmp_path / "out", solutions)


def test_a_variant_changing_more_lines_than_declared_fails_loudly(tmp_path):
    bigger = PATCH.replace("@@ -1,2 +1,2 @@", "@@ -1,2 +1,3 @@").replace(
        "+    return 0\n", "+    return 0\n+    pass\n"
    )
    with pytest.raises(VariantError, match="changes 3 lines but 'Changes:' declares 2"):
        write_variant(tmp_path, bigger)
