"""The README's task table, generated from the registry so the two never disagree.

``python -m toolkit.readme_table`` prints the table; ``--write`` puts it into README.md
between the ``<!-- tasks:start -->`` and ``<!-- tasks:end -->`` markers.
"""

from __future__ import annotations

import sys
from pathlib import Path

from toolkit.registry import tasks

README = Path(__file__).resolve().parents[2] / "README.md"
START, END = "<!-- tasks:start -->", "<!-- tasks:end -->"


def render() -> str:
    """The Markdown table of every task: number, title, files, objective."""
    rows = ["| # | Task | Files | Objective |", "|---|---|---|---|"]
    for task in tasks():
        files = ", ".join(f"`{name}`" for name in task.files)
        rows.append(f"| {task.number} | {task.title} | {files} | {task.objective} |")
    return "\n".join(rows)


def current(text: str) -> str:
    """The table now between the markers of ``text`` (KeyError if the markers are missing)."""
    if START not in text or END not in text:
        raise KeyError(f"README.md lacks the {START} / {END} markers")
    return text.split(START, 1)[1].split(END, 1)[0].strip()


def write(path: Path = README) -> None:
    """Replace the table between the markers with a freshly rendered one."""
    text = path.read_text(encoding="utf-8")
    head, rest = text.split(START, 1)
    tail = rest.split(END, 1)[1]
    path.write_text(f"{head}{START}\n{render()}\n{END}{tail}", encoding="utf-8")


if __name__ == "__main__":
    if "--write" in sys.argv[1:]:
        write()
    else:
        print(render())
