"""The task registry: one data file (``scripts/tasks.toml``) for graders, CLI and README."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

REGISTRY_FILE = Path(__file__).resolve().parents[1] / "tasks.toml"


@dataclass(frozen=True)
class Task:
    """One numbered task: what to write, where, and a hint for when it fails."""

    number: int
    title: str
    files: tuple[str, ...]
    objective: str
    hint: str

    @property
    def scripts(self) -> tuple[str, ...]:
        """The task's Python files (what a learner writes)."""
        return tuple(name for name in self.files if name.endswith(".py"))


@cache
def tasks() -> tuple[Task, ...]:
    """All tasks, in number order."""
    data = tomllib.loads(REGISTRY_FILE.read_text(encoding="utf-8"))
    found = [
        Task(
            number=entry["number"],
            title=entry["title"],
            files=tuple(entry["files"]),
            objective=entry["objective"].strip(),
            hint=entry["hint"].strip(),
        )
        for entry in data["task"]
    ]
    return tuple(sorted(found, key=lambda task: task.number))


def task(number: int) -> Task:
    """The task numbered ``number``; KeyError with the known numbers otherwise."""
    for candidate in tasks():
        if candidate.number == number:
            return candidate
    known = ", ".join(str(t.number) for t in tasks())
    raise KeyError(f"no task {number} (tasks are {known})")


def task_of_file(filename: str) -> Task | None:
    """The task that owns ``filename`` (e.g. ``1-redis_op.py``), if any."""
    for candidate in tasks():
        if filename in candidate.files:
            return candidate
    return None
