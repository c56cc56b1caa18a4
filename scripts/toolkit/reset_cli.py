"""``scripts/reset N``: put task N's exercise files back to the stub, after asking.

The stub is read from git: the newest version of ``exercises/FILE`` whose SHA-256 is the
shipped stub's (``scripts/stubs.sha256``), so a reset gives exactly the file the course
shipped, even after the learner committed their work. ``--yes`` skips the question;
``--target PATH`` resets the files in another folder. Progress in ``.grade-state.json`` is
kept: the task is marked "not started" again, and the date it first passed stays.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from toolkit.grade_cli import (
    EXERCISES,
    NOT_STARTED,
    load_state,
    now,
    save_state,
    shown,
    state_file,
    target_state,
)
from toolkit.registry import task as registry_task
from toolkit.stubs import stub_from_git


def confirm(question: str) -> bool:
    print(question + " [y/N] ", end="", flush=True)
    try:
        answer = sys.stdin.readline() if sys.stdin else ""
    except (OSError, KeyboardInterrupt):
        answer = ""
    if not answer:
        print()
    return answer.strip().lower() in ("y", "yes")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/reset", description="Restore a task's exercise files to the stub."
    )
    parser.add_argument("task", type=int, metavar="N", help="the task to reset")
    parser.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    parser.add_argument("--target", metavar="PATH", help="folder to reset (default exercises/)")
    args = parser.parse_args(argv)

    try:
        task = registry_task(args.task)
    except KeyError as error:
        print(f"reset: {error.args[0]}", file=sys.stderr)
        return 2
    folder = Path(args.target).expanduser().resolve() if args.target else EXERCISES
    if not folder.is_dir():
        print(f"reset: --target {args.target}: no such folder", file=sys.stderr)
        return 2

    stubs = {name: stub_from_git(name) for name in task.files}
    missing = [name for name, stub in stubs.items() if stub is None]
    stubs = {name: stub for name, stub in stubs.items() if stub is not None}
    if not stubs:
        print(
            f"reset: task {task.number} has no exercise file to reset "
            f"({', '.join(task.files)}: no shipped stub found in git).",
            file=sys.stderr,
        )
        return 1
    for name in missing:
        print(f"reset: {name} has no stub in git; left as it is.", file=sys.stderr)

    changed = {
        name: stub
        for name, stub in stubs.items()
        if not (folder / name).is_file() or (folder / name).read_bytes() != stub
    }
    if not changed:
        print(f"Task {task.number} is already the stub: nothing to reset.")
        return 0
    paths = ", ".join(shown(folder / name) for name in changed)
    if not args.yes and not confirm(
        f"Reset task {task.number} — {task.title}? This replaces {paths} with the stub; "
        "your changes there will be lost."
    ):
        print("Nothing changed.")
        return 1

    for name, stub in changed.items():
        (folder / name).write_bytes(stub)
        print(f"Restored {shown(folder / name)} (the stub from git).")

    state = load_state()
    entry = target_state(state, folder)["tasks"].setdefault(str(task.number), {})
    entry.update(status=NOT_STARTED, reset_at=now())
    save_state(state)
    print(
        f"Your progress is kept in {shown(state_file())}. "
        f"Run `scripts/grade {task.number}` when you are ready."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
