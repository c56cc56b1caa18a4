"""Run graders in a pytest subprocess and read back their per-task summary.

The self-check (broken variants, stubs) and the alternative solutions both grade many
folders in one pytest run of their own: one place says how, and what a failed run shows.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def grade_in_subprocess(
    modules: Iterable[Path], args: list[str], report: Path, what: str, timeout: float = 600
) -> list[dict]:
    """``pytest MODULES ARGS --report-json REPORT``; the report's per-task summaries.

    Fails the calling test, with the run's output, when it times out or writes no report.
    """
    command = [
        sys.executable,
        "-m",
        "pytest",
        *(str(m) for m in modules),
        "-q",
        "-p",
        "no:randomly",
        "-p",
        "no:hypothesispytest",  # no grader uses hypothesis; its plugin costs 0.7 s a process
        "--report-json",
        str(report),
        *args,
    ]
    try:
        proc = subprocess.run(
            command, cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{what} took more than {timeout:g}s", pytrace=False)
    if not report.is_file():
        pytest.fail(
            f"{what} wrote no report (exit {proc.returncode}):\n"
            f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}",
            pytrace=False,
        )
    return json.loads(report.read_text(encoding="utf-8"))["tasks"]
