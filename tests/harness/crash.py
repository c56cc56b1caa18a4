"""Find the learner's own crash in what a script wrote to stderr.

A Python traceback ends with the error line (``NameError: name 'x' is not defined``);
its frames that are in the learner's file say where. ``crash_report`` turns that into a
few learner-facing lines: the error first, then those frames, so a grader's output diff
is no longer the only (and misleading) clue.
"""

from __future__ import annotations

import re
from pathlib import Path

_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+)')
_ERROR = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Interrupt|Exit|Warning)\b")
_LAST_FRAMES = 3


def _error_line(lines: list[str]) -> int | None:
    """Index of the final error line of the last traceback, or None without a traceback."""
    starts = [i for i, line in enumerate(lines) if line.startswith("Traceback (most recent call")]
    syntax = [i for i, line in enumerate(lines) if _ERROR.match(line)]
    if not starts and not any(
        _FRAME.match(lines[i - 1] if i else "") or "SyntaxError" in lines[i] for i in syntax
    ):
        return None
    after = starts[-1] if starts else 0
    found = [i for i in syntax if i > after]
    return found[-1] if found else None


def crash_report(stderr: str, script: Path | None) -> list[str]:
    """The learner-facing lines for the crash in ``stderr``; empty when there is none."""
    lines = stderr.splitlines()
    end = _error_line(lines)
    if end is None:
        return []
    error = lines[end].strip()
    frames: list[tuple[str, str]] = []
    for i, line in enumerate(lines[:end]):
        match = _FRAME.match(line)
        if not match or (script is not None and Path(match["file"]).name != script.name):
            continue
        code = lines[i + 1].strip() if i + 1 < end and not _FRAME.match(lines[i + 1]) else ""
        frames.append((match["line"], code))
    name = script.name if script is not None else "your script"
    where = f" at line {frames[-1][0]}" if frames else ""
    kind = error.split(":", 1)[0]
    text = error.split(":", 1)[1].strip() if ":" in error else ""
    report = [f"Hint: your script {name} raised {kind}{where}" + (f": {text}" if text else "")]
    if kind == "ModuleNotFoundError":
        report.append(
            "Hint: check the module name; if it is right, activate the course's venv first "
            "(source .venv/bin/activate) or use scripts/run."
        )
    if kind in ("SyntaxError", "IndentationError", "TabError"):
        last = max((i for i in range(end) if _FRAME.match(lines[i])), default=end)
        report += [f"    {line}" for line in lines[last + 1 : end]]
        return report
    shown = frames[-_LAST_FRAMES:]
    if shown:
        report.append(f"  {name}, last lines run:")
        report += [f"    line {number}: {code}" for number, code in shown]
    return report
