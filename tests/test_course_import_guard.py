"""Tasks 1-13: every shipped stub and solution says how to fix a missing package.

Run outside the venv (``python3 exercises/0-redis_client.py`` with no redis-py), a
script must print one line that says to activate the venv, not a bare
``ModuleNotFoundError`` traceback: all of its third-party imports sit in one ``try``.
"""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

from harness.process import REPO_ROOT
from toolkit.registry import tasks

FOLDERS = ("exercises", "solutions")
COURSE_FILES = sorted(
    f"{folder}/{name}"
    for task in tasks()
    if 1 <= task.number <= 13
    for name in task.scripts
    for folder in FOLDERS
)
ADVICE = "run `. .venv/bin/activate` first, or use scripts/run"


def third_party(node: ast.stmt) -> list[str]:
    """The top-level module names a module-level import statement needs from outside the
    standard library (``__future__`` and relative imports need nothing)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        names = [node.module]
    else:
        return []
    roots = {name.split(".")[0] for name in names}
    return sorted(root for root in roots if root not in sys.stdlib_module_names)


def guarded(node: ast.stmt) -> bool:
    """``try: <imports> except ModuleNotFoundError: sys.exit(...)``."""
    return isinstance(node, ast.Try) and any(
        isinstance(handler.type, ast.Name) and handler.type.id == "ModuleNotFoundError"
        for handler in node.handlers
    )


@pytest.mark.parametrize("relative", COURSE_FILES)
def test_third_party_imports_sit_in_the_guard(relative):
    tree = ast.parse((REPO_ROOT / relative).read_text(encoding="utf-8"))
    bare = [
        f"line {node.lineno}: {', '.join(third_party(node))}"
        for node in tree.body
        if third_party(node)
    ]
    assert not bare, f"{relative}: third-party imports outside the one-line guard: {bare}"
    guards = [node for node in tree.body if guarded(node)]
    needs = [name for guard in guards for node in guard.body for name in third_party(node)]
    assert len(guards) <= 1, f"{relative}: more than one import guard"
    if guards:
        assert needs, f"{relative}: the import guard holds no third-party import"


@pytest.mark.parametrize("relative", COURSE_FILES)
def test_outside_the_venv_the_script_says_how_to_fix_it(relative, tmp_path):
    """``python -S`` leaves site-packages out: redis, fastapi, pytest are all missing."""
    path = REPO_ROOT / relative
    has_guard = any(guarded(node) for node in ast.parse(path.read_text()).body)
    run = subprocess.run(
        [sys.executable, "-S", str(path)],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    if not has_guard:  # standard-library imports only (8-job.py): nothing to say
        assert run.returncode == 0 and not run.stderr, run.stderr
        return
    lines = run.stderr.splitlines()
    assert run.returncode == 1 and len(lines) == 1 and lines[0].endswith(ADVICE), (
        f"{relative} outside the venv exited {run.returncode} and printed:\n{run.stderr}"
    )
    assert lines[0].startswith("No module named "), lines[0]
    assert run.stdout == "", run.stdout
