"""How strong are the graders? Their mutation score on the reference solutions.

Usage (from the repository root, in the venv, after ``pip install -r requirements-bench.txt``)::

    python benchmarks/grader_mutation.py                       # every task 1-16 (hours)
    python benchmarks/grader_mutation.py --task 2 --task 12    # some tasks
    python benchmarks/grader_mutation.py --sample 15           # 15 mutants per task, seeded
    python benchmarks/grader_mutation.py --list                # count the mutants, run nothing

What is measured: for each task, every mutant of its ``solutions/`` file(s) is graded by
that task's graders (``tests/test_taskNN_*.py``) exactly as a learner's folder is:
``pytest -x tests/test_taskNN_*.py --target=DIR``, where DIR is a fresh temporary copy
of ``solutions/`` with the one file mutated (``solutions/`` itself is never written). A
mutant is *killed* when a grader fails (exit 1), *survives* when all pass, *timed out*
when the run exceeds ``--timeout`` (default: four times the unmutated run, at least 30 s),
and an *error* on any other exit (a broken grader run, counted nowhere). The score is
(killed + timed out) / (mutants - equivalent): a timed-out mutant is one whose graders
did not pass, as in mutmut and Stryker. Mutants listed in ``equivalent_mutants.toml``
beside this file behave exactly like the solution: they are not run and not scored.

Why cosmic-ray (pinned in requirements-bench.txt): its operators are a plain library,
``cosmic_ray.mutating.mutate_code(source, operator, occurrence)`` returns the mutated
source text, so this script can write it into its own temporary folder and run the
subprocess-based graders there, two at a time. It mutates module-level code too (most
course scripts are module level). mutmut 3 instead rewrites whole modules into
trampolines switched by an environment variable and drives its own in-process pytest
run over a ``mutants/`` copy, which fits neither scripts run as subprocesses nor graders
that take a ``--target`` folder. The operators used are cosmic-ray's core ones that need
no arguments (binary, comparison, unary and boolean operator swaps, break/continue,
exception replacement, number changes, decorator removal, zero-iteration loops).

Each run starts its own Redis (the grading harness does, on a free port), never 6379.
The surviving mutants' diffs go to ``--report`` (default ``run/grader_mutation.md``).
"""

from __future__ import annotations

import argparse
import difflib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "scripts"))

from toolkit.registry import task as registry_task  # noqa: E402

SOLUTIONS = REPO_ROOT / "solutions"
TESTS = REPO_ROOT / "tests"
EQUIVALENTS = Path(__file__).resolve().with_name("equivalent_mutants.toml")
DEFAULT_TASKS = list(range(1, 17))
OUTCOMES = ("killed", "survived", "timeout", "error", "equivalent")


@dataclass
class Mutant:
    """One mutation of one solution file."""

    task: int
    file: str
    operator: str
    occurrence: int
    source: str
    original: str
    before: str = ""  # the changed line(s) of the solution, stripped
    after: str = ""  # what the mutant has there instead
    line: int = 0
    outcome: str = ""
    seconds: float = 0.0
    output: str = ""

    @property
    def ident(self) -> str:
        return f"{self.file}:{self.line}:{self.operator.split('/')[-1]}#{self.occurrence}"

    def diff(self) -> str:
        return "".join(
            difflib.unified_diff(
                self.original.splitlines(keepends=True),
                self.source.splitlines(keepends=True),
                f"solutions/{self.file}",
                f"mutant/{self.file}",
                n=2,
            )
        )


@dataclass
class TaskResult:
    number: int
    made: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    baseline: float = 0.0
    note: str = ""

    @property
    def score(self) -> float | None:
        scored = self.made - self.counts["equivalent"] - self.counts["error"]
        if scored <= 0 or self.note:
            return None
        return (self.counts["killed"] + self.counts["timeout"]) / scored


# --- making mutants -----------------------------------------------------------------------


def operators() -> list[tuple[str, object]]:
    """cosmic-ray's core operators that take no arguments, by name."""
    import cosmic_ray.plugins

    found = []
    for name in cosmic_ray.plugins.operator_names():
        cls = cosmic_ray.plugins.get_operator(name)
        if name.startswith("core/") and not cls.arguments():
            found.append((name, cls()))
    return found


def changed_lines(original: str, mutated: str) -> tuple[int, str, str]:
    """First changed line number, and the removed and added text (stripped, joined)."""
    before, after, first = [], [], 0
    old, new = original.splitlines(), mutated.splitlines()
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new).get_opcodes():
        if tag == "equal":
            continue
        first = first or i1 + 1
        before += [line.strip() for line in old[i1:i2]]
        after += [line.strip() for line in new[j1:j2]]
    return first, " / ".join(before), " / ".join(after)


def mutants_of(number: int) -> list[Mutant]:
    """Every distinct, compilable mutant of task ``number``'s solution files."""
    from cosmic_ray.ast import ast_nodes, get_ast
    from cosmic_ray.mutating import mutate_code

    found: list[Mutant] = []
    for filename in registry_task(number).scripts:
        original = (SOLUTIONS / filename).read_text(encoding="utf-8")
        nodes = list(ast_nodes(get_ast(original)))
        seen = {original}
        for name, operator in operators():
            positions = sum(1 for node in nodes for _ in operator.mutation_positions(node))
            for occurrence in range(positions):
                try:
                    source = mutate_code(original, operator, occurrence)
                except Exception:  # an operator that cannot handle this node (cosmic-ray bug)
                    continue
                if source is None or source in seen:
                    continue
                seen.add(source)
                try:
                    with warnings.catch_warnings():  # e.g. "is" with a literal
                        warnings.simplefilter("ignore")
                        compile(source, filename, "exec")
                except SyntaxError:
                    continue  # not a program a learner could hand in
                mutant = Mutant(number, filename, name, occurrence, source, original)
                mutant.line, mutant.before, mutant.after = changed_lines(original, source)
                found.append(mutant)
    return found


def load_equivalents(path: Path = EQUIVALENTS) -> list[dict]:
    if not path.is_file():
        return []
    return tomllib.loads(path.read_text(encoding="utf-8")).get("equivalent", [])


def is_equivalent(mutant: Mutant, equivalents: list[dict]) -> dict | None:
    for entry in equivalents:
        if (
            entry.get("task", mutant.task) == mutant.task
            and mutant.task in entry.get("tasks", [mutant.task])
            and entry.get("file", mutant.file) == mutant.file
            and entry["before"] == mutant.before
            and entry["after"] == mutant.after
        ):
            return entry
    return None


# --- grading one folder -------------------------------------------------------------------


def graders(number: int) -> list[Path]:
    return sorted(TESTS.glob(f"test_task{number:02d}_*.py"))


def grade(number: int, folder: Path, timeout: float) -> tuple[str, float, str]:
    """Run task ``number``'s graders on ``folder``: (outcome, seconds, output tail)."""
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-x",
        "-p",
        "no:cacheprovider",
        "-n",
        "0",
        *(str(p) for p in graders(number)),
        f"--target={folder}",
    ]
    started = time.monotonic()
    proc = subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own group: a timeout ends the graded scripts too
    )
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
        return "timeout", time.monotonic() - started, output[-2000:]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    outcome = {0: "survived", 1: "killed"}.get(proc.returncode, "error")
    return outcome, time.monotonic() - started, output[-2000:]


def grade_mutant(mutant: Mutant, timeout: float, scratch: Path) -> Mutant:
    with tempfile.TemporaryDirectory(prefix="mutant-", dir=scratch) as tmp:
        folder = Path(tmp) / "solutions"
        shutil.copytree(SOLUTIONS, folder, ignore=shutil.ignore_patterns("__pycache__"))
        (folder / mutant.file).write_text(mutant.source, encoding="utf-8")
        mutant.outcome, mutant.seconds, mutant.output = grade(mutant.task, folder, timeout)
    return mutant


# --- the run ------------------------------------------------------------------------------


def run_task(number: int, args: argparse.Namespace, equivalents: list[dict], scratch: Path):
    result = TaskResult(number)
    mutants = mutants_of(number)
    if args.sample and len(mutants) > args.sample:
        mutants = sorted(
            random.Random(f"{args.seed}-{number}").sample(mutants, args.sample),
            key=lambda m: (m.file, m.line, m.operator, m.occurrence),
        )
    result.made = len(mutants)
    if args.list:
        return result, mutants
    with tempfile.TemporaryDirectory(prefix="baseline-", dir=scratch) as tmp:
        folder = Path(tmp) / "solutions"
        shutil.copytree(SOLUTIONS, folder, ignore=shutil.ignore_patterns("__pycache__"))
        outcome, result.baseline, output = grade(number, folder, timeout=600)
    if outcome != "survived":
        result.note = f"the unmutated solutions do not pass ({outcome}); task skipped"
        print(f"task {number}: {result.note}\n{output}", file=sys.stderr)
        return result, []
    timeout = args.timeout or max(30.0, 4 * result.baseline)
    to_run = []
    for mutant in mutants:
        if is_equivalent(mutant, equivalents):
            mutant.outcome = "equivalent"
        else:
            to_run.append(mutant)
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for done, mutant in enumerate(
            pool.map(lambda m: grade_mutant(m, timeout, scratch), to_run), 1
        ):
            print(
                f"  task {number} [{done}/{len(to_run)}] {mutant.outcome:8} "
                f"{mutant.seconds:5.1f}s {mutant.ident}",
                file=sys.stderr,
                flush=True,
            )
    for mutant in mutants:
        result.counts[mutant.outcome] += 1
    return result, mutants


def table(results: list[TaskResult]) -> str:
    rows = [
        "| task | mutants | killed | survived | timed out | equivalent | errors | score |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    total = TaskResult(0)
    for r in results:
        total.made += r.made
        for key in OUTCOMES:
            total.counts[key] += r.counts[key]
        rows.append(_row(str(r.number), r))
    rows.append(_row("total", total))
    return "\n".join(rows)


def _row(label: str, r: TaskResult) -> str:
    c = r.counts
    score = "n/a" if r.score is None else f"{100 * r.score:.0f}%"
    return (
        f"| {label} | {r.made} | {c['killed']} | {c['survived']} | {c['timeout']} "
        f"| {c['equivalent']} | {c['error']} | {score} |"
    )


def write_report(path: Path, command: str, summary: str, mutants: list[Mutant]) -> None:
    lines = [
        "# Grader mutation report",
        "",
        f"Command: `{command}`",
        "",
        summary,
        "",
        "## Surviving mutants",
        "",
        "Each one passes every grader of its task. Kill it with a grader check a learner's",
        "wrong program would also fail, or list it in benchmarks/equivalent_mutants.toml.",
        "",
    ]
    for m in (m for m in mutants if m.outcome == "survived"):
        lines += [
            f"### task {m.task}: {m.ident}",
            "",
            f"- before: `{m.before}`",
            f"- after: `{m.after}`",
            "",
            "```diff",
            m.diff().rstrip(),
            "```",
            "",
        ]
    errors = [m for m in mutants if m.outcome == "error"]
    if errors:
        lines += ["## Errors (the grader run itself broke)", ""]
        for m in errors:
            lines += [f"### task {m.task}: {m.ident}", "", "```", m.output.rstrip(), "```", ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", type=int, action="append", help="only task N (repeatable)")
    parser.add_argument("--sample", type=int, default=0, help="at most N mutants per task")
    parser.add_argument("--seed", default="0", help="seed of --sample (default 0)")
    parser.add_argument("--jobs", type=int, default=2, help="mutants graded at once (default 2)")
    parser.add_argument("--timeout", type=float, default=0, help="seconds per mutant")
    parser.add_argument(
        "--report", type=Path, default=REPO_ROOT / "run" / "grader_mutation.md", help="report file"
    )
    parser.add_argument("--list", action="store_true", help="only count the mutants")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Started in the background by a shell, this process may inherit SIGINT ignored, and
    # so would every graded script: the graders' Ctrl+C checks would then fail. A handler
    # here is reset to the default in each child.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    equivalents = load_equivalents()
    numbers = args.task or DEFAULT_TASKS
    started = time.monotonic()
    results, everything = [], []
    scratch = REPO_ROOT / "run" / "mutants"
    scratch.mkdir(parents=True, exist_ok=True)
    for number in numbers:
        result, mutants = run_task(number, args, equivalents, scratch)
        results.append(result)
        everything += mutants
        if args.list:
            print(f"task {number}: {result.made} mutants")
    if args.list:
        return 0
    elapsed = time.monotonic() - started
    summary = table(results) + f"\n\nRun time: {elapsed:.0f} s with --jobs {args.jobs}."
    notes = [f"task {r.number}: {r.note}" for r in results if r.note]
    summary += "".join(f"\n\n{n}" for n in notes)
    command = "python benchmarks/grader_mutation.py " + " ".join(argv or sys.argv[1:])
    write_report(args.report, command.strip(), summary, everything)
    print(summary)
    print(f"\nSurviving mutants' diffs: {args.report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
