"""Exact output comparison with a unified diff and a line of help for the usual slips."""

from __future__ import annotations

import difflib
import re
from collections import Counter

import pytest

from harness.crash import crash_report


def _hints(expected: list[str], actual: list[str]) -> list[str]:
    hints = []
    if [line.rstrip() for line in actual] == expected:
        hints.append("Some lines end with spaces or tabs: remove the trailing whitespace.")
    if [line for line in actual if line.strip()] == expected:
        hints.append("There are extra blank lines: print only the expected lines.")
    if [line.lower() for line in actual] == [line.lower() for line in expected]:
        hints.append("Only upper/lower case differs: copy the messages exactly.")

    def numbers_blanked(lines: list[str]) -> list[str]:
        return [re.sub(r"\d+", "N", line) for line in lines]

    if actual != expected and numbers_blanked(actual) == numbers_blanked(expected):
        hints.append(
            "Only numbers differ: check ids and counts (a fresh database starts job ids at 1)."
        )
    if any(line in {repr(want.encode()) for want in expected} for line in actual):
        hints.append(
            "A line shows b'...': that is bytes; create the client with decode_responses=True."
        )
    if Counter(actual) == Counter(expected):
        hints.append("The right lines came in the wrong order.")
    if not actual:
        hints.append("Nothing was printed: is the main code called at the end of the file?")
    elif len(actual) < len(expected) and actual == expected[: len(actual)]:
        hints.append("The output stops early: the script exited or waited before it was done.")
    return hints


STDERR_LINES = 8


def _crash(actual: list[str]) -> list[str]:
    """The script's own crash (error line, its frames), when ``actual`` came from a script."""
    stderr = getattr(actual, "stderr_lines", None)
    if not stderr:
        return []
    return crash_report("\n".join(stderr), getattr(actual, "script", None))


def diff_message(label: str, expected: list[str], actual: list[str], what: str = "output") -> str:
    """A learner-facing message: the script's crash if any, what differs as a unified diff, hints.

    When the script crashed, its error comes first and replaces the output hints, which
    would blame the wrong thing ("Nothing was printed" for a syntax error).
    """
    crash = _crash(actual)
    stderr = [] if crash else list(getattr(actual, "stderr_lines", []))[-STDERR_LINES:]
    diff = difflib.unified_diff(expected, list(actual), "expected", "actual", lineterm="", n=2)
    text = [*crash, f"{label}: the {what} is not what the task expects.", *diff]
    if stderr:
        text += ["The script wrote to stderr (last lines):", *(f"    {line}" for line in stderr)]
    if not crash and not (stderr and not actual):
        text += [f"Hint: {hint}" for hint in _hints(expected, list(actual))]
    return "\n".join(text)


def expect_lines(label: str, expected: list[str], actual: list[str], what: str = "output") -> None:
    """Fail with a diff unless ``actual`` is exactly ``expected``, line for line."""
    if actual != expected:
        pytest.fail(diff_message(label, expected, actual, what), pytrace=False)


def expect_same_lines_any_order(
    label: str,
    expected: list[str],
    actual: list[str],
    groups: dict[str, list[str]],
    what: str = "output",
) -> None:
    """Check concurrent output: the exact multiset of lines, each group's lines in order.

    ``groups`` maps a name (e.g. "job 3") to the lines of that group in their required
    order; lines of different groups may interleave freely.
    """
    if Counter(actual) != Counter(expected):
        missing = list((Counter(expected) - Counter(actual)).elements())
        extra = list((Counter(actual) - Counter(expected)).elements())
        parts = [f"{label}: the set of {what} lines is not what the task expects."]
        parts += [f"  missing: {line}" for line in missing]
        parts += [f"  unexpected: {line}" for line in extra]
        parts += [f"Hint: {hint}" for hint in _hints(sorted(expected), sorted(actual))]
        parts.append("Full output:")
        parts += [f"    {line}" for line in actual]
        pytest.fail("\n".join(parts), pytrace=False)
    for name, ordered in groups.items():
        wanted = set(ordered)
        seen = [line for line in actual if line in wanted]
        if seen != ordered:
            pytest.fail(
                f"{label}: the lines of {name} come in the wrong order.\n"
                + diff_message(label, ordered, seen, f"order of {name}'s lines"),
                pytrace=False,
            )
