"""Classroom CI: a ``scripts/grade --json`` report as a step summary and as Classroom's results.

  python -m toolkit.classroom summary RESULTS    Markdown: one row per task (for
                                                 $GITHUB_STEP_SUMMARY)
  python -m toolkit.classroom classroom RESULTS  one line of base64 JSON, the format GitHub
                                                 Classroom's autograding reporter reads from
                                                 ``<RUNNER>_RESULTS`` (``--raw``: the JSON)
  python -m toolkit.classroom check RESULTS      exit 1, naming them, while any task fails

Run from ``scripts/`` (or with ``PYTHONPATH=scripts``); only the standard library is used,
so any Python 3.11 runs it. ``.github/workflows/classroom.yml`` calls all three.

The Classroom document is ``{"version": 1, "status", "max_score", "tests": [...]}`` with
one test per task that has a grader: ``name``, ``status`` (pass / fail / error),
``score``, ``max_score``, ``message`` (the first failure), ``test_code`` (the command that
shows the details), ``filename``, ``line_no`` and ``execution_time``. A task that is not
started or timed out is a failed test; a task without a grader is left out.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from pathlib import Path

CLASSROOM_VERSION = 1
ICONS = {
    "pass": "✅",
    "fail": "❌",
    "not_started": "⬜",
    "timeout": "⏱️",
    "error": "⚠️",
    "no_grader": "➖",
}
SHOWN = {"not_started": "not started", "no_grader": "no grader", "timeout": "timed out"}
MESSAGE_LINES = 40  # of a failure, in the summary and in Classroom's message


class ReportError(Exception):
    pass


def load(path: Path) -> dict:
    """A ``scripts/grade --json`` report (results.json version 3 with ``tasks``)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ReportError(f"cannot read the grading report {path}: {error}") from error
    if not isinstance(document, dict) or not isinstance(document.get("tasks"), list):
        raise ReportError(f"{path} is not a scripts/grade --json report (no 'tasks')")
    return document


def _first_failure(entry: dict) -> str | None:
    failures = [str(f) for f in entry.get("failures") or [] if f]
    if not failures:
        return None
    lines = failures[0].rstrip().splitlines()
    if len(lines) > MESSAGE_LINES:
        lines = [*lines[:MESSAGE_LINES], f"... ({len(lines) - MESSAGE_LINES} more lines)"]
    return "\n".join(lines)


def _cell(text: str) -> str:
    """Text for one Markdown table cell."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def summary(document: dict, points: int = 1) -> str:
    """The Markdown step summary: a table of the tasks, then each failure, collapsed."""
    entries = document["tasks"]
    graded = [e for e in entries if e.get("status") != "no_grader"]
    passed = sum(e.get("status") == "pass" for e in graded)
    lines = [
        f"## Grading: {passed}/{len(graded)} tasks pass",
        "",
        "| # | Task | Status | Points |",
        "|---:|---|---|---:|",
    ]
    for e in entries:
        status = str(e.get("status"))
        score = "—" if status == "no_grader" else f"{points if status == 'pass' else 0}/{points}"
        lines.append(
            f"| {e.get('number')} | {_cell(str(e.get('title', '')))} | "
            f"{ICONS.get(status, '❌')} {SHOWN.get(status, status)} | {score} |"
        )
    lines += ["", f"**Points: {passed * points}/{len(graded) * points}**", ""]
    if document.get("message"):
        lines += [f"> ⚠️ {_cell(str(document['message']))}", ""]
    for e in graded:
        message = _first_failure(e)
        if e.get("status") == "pass" or not message:
            continue
        lines += [
            "<details>",
            f"<summary>Task {e.get('number')}: {_html(str(e.get('title', '')))} — "
            f"{SHOWN.get(str(e.get('status')), e.get('status'))}</summary>",
            "",
            "```text",
            message.replace("```", "'''"),
            "```",
            "",
            f"Run `scripts/grade {e.get('number')}` for the diff and a hint.",
            "</details>",
            "",
        ]
    return "\n".join(lines)


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def classroom(document: dict, points: int = 1) -> dict:
    """The results GitHub Classroom's autograding reporter reads: one test per task."""
    tests = []
    for e in document["tasks"]:
        status = str(e.get("status"))
        if status == "no_grader":
            continue
        outcome = status if status in ("pass", "error") else "fail"
        tests.append(
            {
                "name": f"Task {e.get('number')}: {e.get('title', '')}",
                "status": outcome,
                "score": points if outcome == "pass" else 0,
                "max_score": points,
                "message": _first_failure(e) if outcome != "pass" else None,
                "test_code": f"scripts/grade {e.get('number')}",
                "filename": ", ".join(e.get("files") or []),
                "line_no": 0,
                "execution_time": "",
            }
        )
    statuses = {t["status"] for t in tests}
    if "error" in statuses or (document.get("status") == "error" and not tests):
        overall = "error"
    else:
        overall = "pass" if tests and statuses == {"pass"} else "fail"
    return {
        "version": CLASSROOM_VERSION,
        "status": overall,
        "max_score": points * len(tests),
        "tests": tests,
    }


def encoded(document: dict) -> str:
    return base64.b64encode(json.dumps(document).encode("utf-8")).decode("ascii")


def failing(document: dict) -> list[dict]:
    return [e for e in document["tasks"] if e.get("status") not in ("pass", "no_grader")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m toolkit.classroom",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", choices=("summary", "classroom", "check"))
    parser.add_argument("results", type=Path, help="the file scripts/grade --json wrote")
    parser.add_argument("--points", type=int, default=1, help="points per task (default 1)")
    parser.add_argument("--raw", action="store_true", help="classroom: JSON, not base64")
    args = parser.parse_args(argv)
    try:
        document = load(args.results)
    except ReportError as error:
        print(f"classroom: {error}", file=sys.stderr)
        return 2
    if args.command == "summary":
        print(summary(document, args.points))
        return 0
    if args.command == "classroom":
        result = classroom(document, args.points)
        print(json.dumps(result, indent=2) if args.raw else encoded(result))
        return 0
    bad = failing(document)
    if not document["tasks"]:
        print("classroom: the report holds no task", file=sys.stderr)
        return 1
    if bad:
        named = ", ".join(f"{e.get('number')} ({SHOWN.get(e['status'], e['status'])})" for e in bad)
        print(f"{len(bad)} task(s) do not pass yet: {named}", file=sys.stderr)
        return 1
    print("Every task passes.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
