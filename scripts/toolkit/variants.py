"""Broken variants of the solutions, stored as small patches (``tests/broken/*.patch``).

A variant is one bug put into a reference solution, to prove that a grader catches it.
Each is one file ``tests/broken/taskNN-name.patch``: a few header lines, then a unified
diff against the task's ``solutions/`` file(s)::

    Broken: Does not catch ConnectionError: with the server down it crashes.
    Caught by: test_server_down_prints_not_connected_and_exits_1
    Changes: 6 lines
    --- solutions/0-redis_client.py
    +++ broken/0-redis_client.py
    @@ -12,7 +12,4 @@
    ...

``Broken`` says what is wrong, ``Caught by`` names the grader (a test function of task
NN's ``tests/test_taskNN_*.py``) that must fail on it first, ``Changes`` counts the
diff's ``-`` and ``+`` lines. :func:`materialise` copies the task's solution files into
a folder and applies the diff exactly (no fuzz; a hunk may only move when its old lines
occur once in the file); it raises :class:`VariantError` when a hunk no longer applies
or the diff changes another number of lines than ``Changes`` declares.

A full-copy folder ``tests/broken/taskNN-name/`` (the broken file(s) plus ``VARIANT.md``,
the older layout) is still accepted as a variant. ``make`` turns such a folder into a
patch and deletes the folder::

    python -m toolkit.variants make tests/broken/task16-x [--caught-by TEST] [--keep]
    python -m toolkit.variants check              # every variant still applies
    python -m toolkit.variants show NAME DIR      # write NAME's files into DIR

(from ``scripts/``, or ``PYTHONPATH=scripts python -m toolkit.variants ...``).
"""

from __future__ import annotations

import argparse
import difflib
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from toolkit.registry import task

REPO_ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = REPO_ROOT / "solutions"
BROKEN = REPO_ROOT / "tests" / "broken"
NOTE = "VARIANT.md"  # the note of a full-copy folder, and of a materialised variant
NAME = re.compile(r"task(\d\d)-[a-z0-9-]+")
HUNK = re.compile(r"@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
CONTEXT_LINES = 2
MAX_FOLDER_CHANGES = 60  # a full-copy folder must stay a small edit of its solution


class VariantError(Exception):
    """A variant that cannot be used: it no longer applies, or is malformed."""


@dataclass
class Hunk:
    start: int  # 1-based first old line
    old: list[str]
    new: list[str]


@dataclass
class Variant:
    """One broken variant: its name, what is broken, and how to make its files."""

    path: Path  # the .patch file, or the full-copy folder
    summary: str
    caught_by: str | None = None
    changes: int | None = None  # declared number of -/+ lines (patches)
    hunks: dict[str, list[Hunk]] = field(default_factory=dict)  # file name -> hunks

    @property
    def name(self) -> str:
        return self.path.name.removesuffix(".patch")

    @property
    def task(self) -> int:
        return int(self.name[4:6])

    @property
    def is_folder(self) -> bool:
        return self.path.is_dir()

    @property
    def files(self) -> list[str]:
        """The task files this variant changes."""
        if self.is_folder:
            return sorted(
                p.name
                for p in self.path.iterdir()
                if p.is_file() and p.name != NOTE and not p.name.startswith(".")
            )
        return sorted(self.hunks)

    def broken_text(self, filename: str, solutions: Path = SOLUTIONS) -> str:
        """The broken content of ``filename``; VariantError when it cannot be made."""
        if self.is_folder:
            return (self.path / filename).read_text(encoding="utf-8")
        source = solutions / filename
        if not source.is_file():
            raise VariantError(f"{self.path.name}: {source} does not exist")
        return apply(self.path.name, filename, source.read_text(encoding="utf-8"), self.hunks)


# --- reading --------------------------------------------------------------------------------


def load(path: Path) -> Variant:
    """The variant stored at ``path`` (a ``.patch`` file or a full-copy folder)."""
    name = path.name.removesuffix(".patch")
    if not NAME.fullmatch(name):
        raise VariantError(f"{path}: a variant is named taskNN-some-words(.patch)")
    if path.is_dir():
        note = path / NOTE
        text = note.read_text(encoding="utf-8").strip() if note.is_file() else ""
        if not text:
            raise VariantError(f"{path}: {NOTE} must say in one line what is broken")
        headers = _headers(text.splitlines())
        summary = headers.get("broken", text.splitlines()[0])
        return Variant(path, summary, headers.get("caught by"))
    return _parse_patch(path, path.read_text(encoding="utf-8"))


def _headers(lines: list[str]) -> dict[str, str]:
    found = {}
    for line in lines:
        key, sep, value = line.partition(":")
        if sep and key.strip().lower() in ("broken", "caught by", "changes"):
            found[key.strip().lower()] = value.strip()
    return found


def _parse_patch(path: Path, text: str) -> Variant:
    lines = text.splitlines()
    first_diff = next((i for i, line in enumerate(lines) if line.startswith("--- ")), None)
    if first_diff is None:
        raise VariantError(f"{path.name}: no diff (a '--- solutions/FILE' line) in it")
    headers = _headers(lines[:first_diff])
    if not headers.get("broken"):
        raise VariantError(f"{path.name}: needs a 'Broken: what is wrong' line before the diff")
    declared = headers.get("changes", "").split()
    if not declared or not declared[0].isdigit():
        raise VariantError(f"{path.name}: needs a 'Changes: N lines' line before the diff")
    variant = Variant(path, headers["broken"], headers.get("caught by"), int(declared[0]))
    index = first_diff
    filename = None
    while index < len(lines):
        line = lines[index]
        if line.startswith("--- "):
            filename = Path(line[4:].split("\t")[0].strip()).name
            index += 2  # the "+++" line
            variant.hunks.setdefault(filename, [])
            continue
        match = HUNK.match(line)
        if not match or filename is None:
            raise VariantError(f"{path.name}:{index + 1}: expected a '@@ -a,b +c,d @@' line")
        hunk, index = _read_hunk(path.name, lines, index + 1, match)
        variant.hunks[filename].append(hunk)
    marked = _count_marked(lines[first_diff:])
    if marked != variant.changes:
        raise VariantError(
            f"{path.name}: the diff changes {marked} lines but 'Changes:' declares "
            f"{variant.changes} (regenerate it with `python -m toolkit.variants make`)"
        )
    return variant


def _count_marked(lines: list[str]) -> int:
    return sum(
        1
        for line in lines
        if line[:1] in "+-" and not line.startswith(("--- ", "+++ ")) and not HUNK.match(line)
    )


def _read_hunk(name: str, lines: list[str], index: int, match: re.Match) -> tuple[Hunk, int]:
    start = int(match.group(1))
    old_count = int(match.group(2) or 1)
    new_count = int(match.group(4) or 1)
    old: list[str] = []
    new: list[str] = []
    while index < len(lines) and (len(old) < old_count or len(new) < new_count):
        line = lines[index]
        kind, body = line[:1], line[1:]
        if kind == " " or line == "":
            old.append(body)
            new.append(body)
        elif kind == "-":
            old.append(body)
        elif kind == "+":
            new.append(body)
        elif kind != "\\":  # "\ No newline at end of file"
            break
        index += 1
    if len(old) != old_count or len(new) != new_count:
        raise VariantError(
            f"{name}: the hunk '{match.group(0)}' declares {old_count} old and {new_count} "
            f"new lines but holds {len(old)} and {len(new)}"
        )
    return Hunk(start, old, new), index


# --- applying -------------------------------------------------------------------------------


def apply(variant: str, filename: str, text: str, hunks: dict[str, list[Hunk]]) -> str:
    """``text`` (solutions/FILENAME) with the hunks applied exactly; VariantError if not."""
    lines = text.split("\n")
    shift = 0
    for number, hunk in enumerate(hunks[filename], 1):
        at = _locate(lines, hunk, hunk.start - 1 + shift)
        if at is None:
            raise VariantError(
                f"{variant}: hunk {number} (line {hunk.start}) no longer applies to "
                f"solutions/{filename}; it expects:\n"
                + "\n".join(f"    {line}" for line in hunk.old)
                + "\nedit the variant's folder copy and run `python -m toolkit.variants make`"
            )
        lines[at : at + len(hunk.old)] = hunk.new
        shift = at - (hunk.start - 1) + len(hunk.new) - len(hunk.old)
    return "\n".join(lines)


def _locate(lines: list[str], hunk: Hunk, expected: int) -> int | None:
    """Where the hunk's old lines stand: at ``expected``, else at their one other place."""
    size = len(hunk.old)
    if lines[expected : expected + size] == hunk.old:
        return expected
    places = [i for i in range(len(lines) - size + 1) if lines[i : i + size] == hunk.old]
    return places[0] if len(places) == 1 else None


def materialise(variant: Variant, into: Path, solutions: Path = SOLUTIONS) -> Path:
    """Write the variant's task files (solutions plus the edit) and its note into ``into``."""
    files = task(variant.task).files
    unknown = sorted(set(variant.files) - set(files))
    if not variant.files:
        raise VariantError(f"{variant.path.name}: changes no file")
    if unknown:
        raise VariantError(f"{variant.path.name}: {unknown} are not files of task {variant.task}")
    into.mkdir(parents=True, exist_ok=True)
    for filename in files:
        source = solutions / filename
        if filename in variant.files:
            broken = variant.broken_text(filename, solutions)
            original = source.read_text(encoding="utf-8") if source.is_file() else ""
            if broken == original:
                raise VariantError(f"{variant.path.name}: {filename} is the same as its solution")
            if variant.is_folder and changed_lines(original, broken) > MAX_FOLDER_CHANGES:
                raise VariantError(
                    f"{variant.path.name}: {filename} differs from its solution in "
                    f"{changed_lines(original, broken)} lines (at most {MAX_FOLDER_CHANGES})"
                )
            (into / filename).write_text(broken, encoding="utf-8")
        elif source.is_file():
            shutil.copyfile(source, into / filename)
    note = [f"Broken: {variant.summary}"]
    if variant.caught_by:
        note.append(f"Caught by: {variant.caught_by}")
    (into / NOTE).write_text("\n".join(note) + "\n", encoding="utf-8")
    return into


def changed_lines(old: str, new: str) -> int:
    diff = difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=0)
    return _count_marked(list(diff))


def discover(folder: Path = BROKEN) -> list[Variant]:
    """Every variant under ``folder``; VariantError when one is both a patch and a folder."""
    if not folder.is_dir():
        return []
    paths = sorted(
        p
        for p in folder.iterdir()
        if NAME.fullmatch(p.name.removesuffix(".patch")) and (p.is_dir() or p.suffix == ".patch")
    )
    names = [p.name.removesuffix(".patch") for p in paths]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise VariantError(f"both a folder and a patch for {twice}: run `make` on the folder")
    return [load(p) for p in paths]


# --- making -------------------------------------------------------------------------------


def render(summary: str, caught_by: str | None, diffs: dict[str, tuple[str, str]]) -> str:
    """The patch text of a variant: headers, then one diff per changed file."""
    body: list[str] = []
    for filename, (old, new) in sorted(diffs.items()):
        body += difflib.unified_diff(
            old.splitlines(),
            new.splitlines(),
            f"solutions/{filename}",
            f"broken/{filename}",
            lineterm="",
            n=CONTEXT_LINES,
        )
    head = [f"Broken: {summary}"]
    if caught_by:
        head.append(f"Caught by: {caught_by}")
    head.append(f"Changes: {_count_marked(body)} lines")
    return "\n".join(head + body) + "\n"


def git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["git", "-C", str(REPO_ROOT), *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def rebased(filename: str, copy: str) -> str:
    """``copy`` (a full copy of an older solutions/FILENAME plus a bug) moved onto today's.

    The base is the committed version of the solution nearest to the copy; its edit is
    carried onto the current solution with ``git merge-file`` (VariantError on a conflict),
    so the patch holds the bug alone, not the solution's later changes.
    """
    current = (SOLUTIONS / filename).read_text(encoding="utf-8")
    log = git("log", "--format=%H", "-n", "300", "--", f"solutions/{filename}").stdout.split()
    versions = [current] + [git("show", f"{c}:solutions/{filename}").stdout for c in log]
    bases = sorted(set(versions), key=lambda text: changed_lines(text, copy))
    for base in bases[:20]:  # the nearest first: a merge without conflict wins
        if changed_lines(base, copy) >= changed_lines(current, copy):
            return copy
        merged = merge(current, base, copy)
        if merged is not None and merged != current:
            return merged
    raise VariantError(
        f"{filename}: the copy's edit conflicts with today's solutions/{filename}; "
        "edit a fresh copy of the solution instead"
    )


def merge(current: str, base: str, copy: str) -> str | None:
    """``git merge-file``: the edit base -> copy carried onto current (None: a conflict)."""
    with tempfile.TemporaryDirectory(prefix="variant-") as scratch:
        paths = []
        for label, text in (("current", current), ("base", base), ("copy", copy)):
            paths.append(Path(scratch) / label)
            paths[-1].write_text(text, encoding="utf-8")
        merged = git("merge-file", "-p", *map(str, paths))
    return merged.stdout if merged.returncode == 0 else None


def edits(old: str, new: str) -> set[tuple[int, int, tuple[str, ...]]]:
    """The line edits turning ``old`` into ``new``: (first, end, replacement lines)."""
    a, b = old.split("\n"), new.split("\n")
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return {
        (i1, i2, tuple(b[j1:j2])) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"
    }


def with_edits(old: str, chosen: set[tuple[int, int, tuple[str, ...]]]) -> str:
    lines = old.split("\n")
    for first, end, replacement in sorted(chosen, reverse=True):
        lines[first:end] = replacement
    return "\n".join(lines)


def drop_shared(current: str, copies: list[str]) -> list[str]:
    """The copies without the edits that two or more of them make.

    Copies made from one older solution carry its differences from today's; each copy's
    own bug is the edit the others do not make. An edit that is all a copy changes is
    that copy's bug and stays (in every copy that makes it).
    """
    each = [edits(current, copy) for copy in copies]
    counts = Counter(edit for found in each for edit in found)
    bugs = {edit for found in each if all(counts[e] > 1 for e in found) for edit in found}
    shared = {edit for edit, count in counts.items() if count > 1} - bugs
    return [with_edits(current, found - shared) for found in each]


def make_all(
    folders: list[Path], caught_by: str | None = None, keep: bool = False, rebase: bool = True
) -> list[Path]:
    """Write each full-copy folder's variant as ``NAME.patch`` beside it.

    With ``rebase`` each copy's edit is first moved onto today's solution (:func:`rebased`)
    and the edits that all the given copies of one file share are dropped
    (:func:`drop_shared`): they are the solution's later changes, not the bug.
    """
    variants = [load(folder) for folder in folders]
    broken: dict[tuple[str, str], str] = {}
    for variant in variants:
        if not variant.is_folder:
            raise VariantError(f"{variant.path}: not a full-copy folder")
        for name in variant.files:
            text = variant.broken_text(name)
            broken[variant.name, name] = rebased(name, text) if rebase else text
    if rebase:
        for name in {n for _, n in broken}:
            keys = [key for key in broken if key[1] == name]
            current = (SOLUTIONS / name).read_text(encoding="utf-8")
            for key, text in zip(
                keys, drop_shared(current, [broken[k] for k in keys]), strict=True
            ):
                broken[key] = text
    return [
        write_patch(v, {n: broken[v.name, n] for n in v.files}, caught_by, keep) for v in variants
    ]


def write_patch(variant: Variant, broken: dict[str, str], caught_by: str | None, keep: bool):
    """Write ``variant`` (a folder) as a patch making ``broken``; check it; drop the folder."""
    patch = variant.path.with_name(variant.name + ".patch")
    caught_by = caught_by or variant.caught_by
    if caught_by is None and patch.is_file():  # regenerating: keep the grader it names
        caught_by = _headers(patch.read_text(encoding="utf-8").splitlines()).get("caught by")
    diffs = {
        name: ((SOLUTIONS / name).read_text(encoding="utf-8"), broken[name]) for name in broken
    }
    text = render(variant.summary, caught_by, diffs)
    made = _parse_patch(patch, text)
    for name, (original, wanted) in diffs.items():
        if wanted == original:
            raise VariantError(f"{variant.name}: {name} is the same as its solution")
        if made.broken_text(name).rstrip("\n") != wanted.rstrip("\n"):
            raise VariantError(f"{variant.name}: the patch does not reproduce {name}")
    patch.write_text(text, encoding="utf-8")
    if not keep:
        shutil.rmtree(variant.path)
    return patch


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m toolkit.variants", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    made = commands.add_parser("make", help="turn full-copy folder(s) into .patch files")
    made.add_argument("folders", nargs="+", type=Path)
    made.add_argument("--caught-by", help="the grader test function that must catch it")
    made.add_argument("--keep", action="store_true", help="keep the folder")
    made.add_argument(
        "--no-rebase",
        action="store_true",
        help="diff the copy as it is (default: carry its edit onto today's solution)",
    )
    commands.add_parser("check", help="materialise every variant (fails on a stale one)")
    show = commands.add_parser("show", help="write one variant's files into a folder")
    show.add_argument("name")
    show.add_argument("into", type=Path)
    args = parser.parse_args(argv)
    try:
        if args.command == "make":
            folders = [folder.resolve() for folder in args.folders]
            for patch in make_all(folders, args.caught_by, args.keep, not args.no_rebase):
                print(f"wrote {patch}")
        elif args.command == "show":
            variant = load(_path_of(args.name))
            print(materialise(variant, args.into))
        else:
            variants = discover()
            with tempfile.TemporaryDirectory(prefix="variants-") as scratch:
                for variant in variants:
                    materialise(variant, Path(scratch) / variant.name)
            print(f"{len(variants)} variants apply to solutions/")
    except VariantError as error:
        print(f"variants: {error}", file=sys.stderr)
        return 1
    return 0


def _path_of(name: str) -> Path:
    given = Path(name)
    if given.exists():
        return given
    for candidate in (BROKEN / f"{name}.patch", BROKEN / name):
        if candidate.exists():
            return candidate
    raise VariantError(f"no variant {name} in {BROKEN}")


if __name__ == "__main__":
    sys.exit(main())
