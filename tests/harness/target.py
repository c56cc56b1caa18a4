"""The folder being graded (solutions/, exercises/ or a learner's path) and its files.

A task is "not started" when its file is missing or still byte-for-byte a shipped stub
(known by its hash in ``scripts/stubs.sha256``); the grader then fails with that one line.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from harness.grading import not_started
from harness.process import REPO_ROOT
from toolkit.registry import task_of_file
from toolkit.stubs import is_stub

STUBS = REPO_ROOT / "exercises"
SOLUTIONS = REPO_ROOT / "solutions"


def resolve_target(option: str) -> Path:
    """Turn ``--target`` (solutions, exercises or a path) into a folder."""
    named = {"solutions": SOLUTIONS, "exercises": STUBS}
    folder = named.get(option, Path(option).expanduser())
    folder = folder if folder.is_absolute() else (Path.cwd() / folder)
    if not folder.is_dir():
        raise pytest.UsageError(f"--target {option}: no such folder {folder}")
    return folder.resolve()


class Target:
    """Files of the graded folder, checked for being started before use."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        # A broken variant's folder (with VARIANT.md) may hold only the files it breaks;
        # the rest comes from the reference solutions.
        self.fallback = SOLUTIONS if (folder / "VARIANT.md").is_file() else None

    def label(self, filename: str) -> str:
        task = task_of_file(filename)
        return f"task {task.number}" if task else filename

    def script(self, filename: str) -> Path:
        """Path of ``filename`` in the graded folder; fails as "not started" if untouched."""
        path = self.folder / filename
        if not path.is_file() and self.fallback is not None:
            path = self.fallback / filename
        label = self.label(filename)
        if not path.is_file():
            not_started(f"{label} not started: {path} does not exist")
        if is_stub(path):
            not_started(f"{label} not started: {filename} is still the stub (write the TODO parts)")
        return path

    def load_module(self, filename: str, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
        """Import ``filename`` (a numbered file, not an importable name) as a module.

        The module runs with the graded folder on ``sys.path``; ``monkeypatch`` undoes that.
        """
        path = self.script(filename)
        monkeypatch.syspath_prepend(str(self.folder))
        name = "graded_" + path.stem.replace("-", "_")
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        monkeypatch.setitem(sys.modules, name, module)
        try:
            spec.loader.exec_module(module)
        except Exception as exc:  # the learner's code: report, don't crash the harness
            pytest.fail(
                f"{self.label(filename)}: importing {filename} raised {type(exc).__name__}: {exc}",
                pytrace=False,
            )
        return module

    def function(self, module: ModuleType, name: str, filename: str):
        """``module.name``, or a clear "missing function" failure."""
        found = getattr(module, name, None)
        if not callable(found):
            pytest.fail(
                f"{self.label(filename)}: MISSING FUNCTION {name}() in {filename}. "
                "Did you misname it?",
                pytrace=False,
            )
        return found
