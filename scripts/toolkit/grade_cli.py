"""``scripts/grade``: grade the learner's folder with the pytest graders, rustlings-style.

  scripts/grade                 every task: pass / fail / not started, a progress bar, what's next
  scripts/grade N               task N: the expected-vs-actual diff and the hint, or a pointer at
                                the reference solution once it passes
  scripts/grade --watch [N]     re-grade the current task whenever a file is saved
  --target PATH | --solutions   grade another folder (default exercises/) or the reference
  --json FILE                   one result per task, for instructors and classroom CI
  --class ROSTER [--out DIR]    grade a class (a CSV name,folder), each learner in isolation:
                                gradebook.csv, gradebook.html and a JSON report per learner
                                (``toolkit.gradebook``)

The graders are the ordinary pytest graders, run in a subprocess on the asked tasks'
modules only (``tests/test_taskNN_*.py``: a task with none reads "no grader") with the
harness's ``--target``, ``--task`` and ``--report-json`` options; the report gives each
task's status as data (``harness.grading``). The tasks come from the registry
(``scripts/tasks.toml``), so new tasks and graders are picked up automatically.
Progress (each task's last result, when it first passed, and a hash of the files it was
graded on) is kept in ``.grade-state.json``; a pass counts while those files are unchanged.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from toolkit.registry import Task, tasks

REPO_ROOT = Path(__file__).resolve().parents[2]
EXERCISES = REPO_ROOT / "exercises"
SOLUTIONS = REPO_ROOT / "solutions"
TESTS = REPO_ROOT / "tests"
STATE_FILE = REPO_ROOT / ".grade-state.json"
STATE_FILE_ENV = "GRADE_STATE_FILE"  # tests point this at a temporary file

# The statuses, as the report and the state file hold them (harness.grading's values).
PASS, FAIL, NOT_STARTED, TIMEOUT, ERROR = "pass", "fail", "not_started", "timeout", "error"
NO_GRADER = "no_grader"
GRADING_VERSION = 1  # of the fields beside Exercism's (harness.grading's GRADING_VERSION)
SHOWN = {NOT_STARTED: "not started", NO_GRADER: "no grader", TIMEOUT: "timed out"}
STATE_VERSION = 2
POLL_SECONDS = 0.2  # how often watch mode looks at the keys and the saves


# --- running the graders ------------------------------------------------------------------


def grader_modules(numbers: Iterable[int] | None = None) -> dict[int, list[Path]]:
    """Task number -> its grader modules ``tests/test_taskNN_*.py`` (all tasks when None)."""
    found: dict[int, list[Path]] = {}
    for path in sorted(TESTS.glob("test_task[0-9][0-9]_*.py")):
        number = int(path.name[9:11])
        if numbers is None or number in numbers:
            found.setdefault(number, []).append(path)
    return found


class GradingError(Exception):
    """pytest could not grade at all (usage error, crash): the message holds its output."""


@dataclass
class TaskResult:
    """One task's outcome on the graded folder."""

    task: Task
    status: str
    failures: list[str] = field(default_factory=list)
    tests_run: int = 0

    def to_json(self) -> dict:
        return {
            "number": self.task.number,
            "title": self.task.title,
            "files": list(self.task.files),
            "status": self.status,
            "tests_run": self.tests_run,
            "failures": self.failures,
        }


@dataclass
class Grading:
    """The results of one pytest run, one per asked task, plus what went wrong around them."""

    target: Path
    results: dict[int, TaskResult]
    graders: set[int]  # every task that has graders, asked or not
    problems: list[str]
    output: str
    seconds: float
    tests: list[dict] = field(default_factory=list)  # the report's per-grader entries


def _pytest_env(extra: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    scripts = str(REPO_ROOT / "scripts")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (scripts, env.get("PYTHONPATH")) if p)
    env.update(extra)
    return env


def _pytest_command(target: Path, modules: Iterable[Path], *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pytest",
        *(str(path) for path in modules),  # only these: importing all graders takes seconds
        "-q",
        "-m",
        "task",  # graders only: not a module's helper tests
        "--target",
        str(target),
        "--continue-on-collection-errors",
        "-p",
        "no:hypothesispytest",  # no grader uses hypothesis; its plugin imports it (0.7 s)
        *extra,
    ]


def _workers(count: int) -> list[str]:
    """xdist options for grading ``count`` tasks: each task's graders stay in one worker,
    in order (``--dist loadgroup``), the tasks spread over a few. One task: no workers
    (starting them costs more than they save). ``GRADE_WORKERS`` overrides the number."""
    workers = int(os.environ.get("GRADE_WORKERS") or min(3, count))
    return ["-n", str(workers), "--dist", "loadgroup"] if count > 1 and workers > 1 else []


def run_graders(target: Path, numbers: list[int] | None = None) -> Grading:
    """Run the graders of ``numbers`` (all tasks when None) on ``target`` and map the report."""
    asked = [t for t in tasks() if numbers is None or t.number in numbers]
    graded = set(grader_modules())
    modules = [p for paths in grader_modules([t.number for t in asked]).values() for p in paths]
    started = time.monotonic()
    entries: list[dict] = []
    tests: list[dict] = []
    problems: list[str] = []
    output = ""
    if modules:
        with tempfile.TemporaryDirectory(prefix="grade-") as tmp:
            report = Path(tmp) / "report.json"
            command = _pytest_command(
                target,
                modules,
                "--report-json",
                str(report),
                # One focused failure per task: the first failing grader says what to fix,
                # and stubs are graded quickly.
                "--stop-task-on-failure",
                *_workers(len(asked)),
            )
            proc = subprocess.run(
                command,
                cwd=REPO_ROOT,
                env=_pytest_env({}),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
            )
            output = proc.stdout + proc.stderr
            if proc.returncode not in (0, 1, 5) or not report.is_file():
                raise GradingError(output)
            document = json.loads(report.read_text(encoding="utf-8"))
        entries, tests = document["tasks"], document["tests"]
        if document["status"] == ERROR and document["message"]:
            problems = [
                "a grader module failed to load: " + line
                for line in document["message"].splitlines()
                if line.strip()
            ][:5]
    by_task = {entry["task"]: entry for entry in entries}
    results = {t.number: _result(t, by_task.get(t.number), t.number in graded) for t in asked}
    seconds = time.monotonic() - started
    return Grading(target, results, graded, problems, output, seconds, tests)


def _result(task: Task, entry: dict | None, has_grader: bool) -> TaskResult:
    if entry is None:
        if not has_grader:
            return TaskResult(task, NO_GRADER)
        return TaskResult(task, FAIL, ["its graders ran no test (run with --verbose to see why)"])
    status = entry["status"]
    failures = [f for f in entry.get("failures", []) if f]
    run_count = int(entry.get("tests_run", 0))
    if status == PASS:
        return TaskResult(task, PASS, [], run_count)
    return TaskResult(
        task, status, failures or ["failed (run with --verbose to see why)"], run_count
    )


# --- progress, kept between runs ------------------------------------------------------------


def state_file() -> Path:
    return Path(os.environ.get(STATE_FILE_ENV) or STATE_FILE)


def load_state() -> dict:
    try:
        state = json.loads(state_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        state = {}
    if not isinstance(state, dict) or not isinstance(state.get("targets"), dict):
        state = {"targets": {}}
    if state.get("version") != STATE_VERSION:  # version 1 said "not started", kept no hash
        for slot in state["targets"].values():
            for entry in slot.get("tasks", {}).values():
                entry["status"] = {"not started": NOT_STARTED}.get(entry.get("status"), "fail")
    state["version"] = STATE_VERSION
    return state


def save_state(state: dict) -> None:
    """Write the state atomically; a read-only checkout (CI) only loses the progress."""
    path = state_file()
    try:
        handle, temporary = tempfile.mkstemp(prefix=path.name, dir=path.parent)
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(json.dumps(state, indent=2, sort_keys=True) + "\n")
        os.chmod(temporary, 0o644)  # mkstemp makes it private; it is an ordinary file
        os.replace(temporary, path)
    except OSError as error:
        print(f"grade: could not save progress in {path}: {error}", file=sys.stderr)


def target_key(target: Path) -> str:
    """How a graded folder is named in the state file: exercises, solutions or its path."""
    named = {EXERCISES.resolve(): "exercises", SOLUTIONS.resolve(): "solutions"}
    return named.get(target.resolve(), str(target.resolve()))


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def target_state(state: dict, target: Path) -> dict:
    slot = state["targets"].setdefault(target_key(target), {})
    slot.setdefault("tasks", {})
    return slot


def files_hash(task: Task, target: Path) -> str:
    """SHA-256 over the task's files in ``target`` as they are now (absent files count)."""
    digest = hashlib.sha256()
    for path in task_paths(task, target):
        digest.update(path.name.encode() + b"\0")
        digest.update(path.read_bytes() if path.is_file() else b"(absent)")
    return digest.hexdigest()


def record(results: Iterable[TaskResult], target: Path) -> dict:
    """Store the results (not "no grader") in the state file; return the target's progress.

    Each result keeps the hash of the files it was graded on: see :func:`passed_numbers`.
    """
    state = load_state()
    slot = target_state(state, target)
    stamp = now()
    for result in results:
        if result.status == NO_GRADER:
            continue
        entry = slot["tasks"].setdefault(str(result.task.number), {})
        entry["status"] = result.status
        entry["graded_at"] = stamp
        entry["files_sha256"] = files_hash(result.task, target)
        if result.status == PASS:
            entry.setdefault("first_passed_at", stamp)
        slot["last_graded_at"] = stamp
    save_state(state)
    return slot


def passed_numbers(slot: dict, target: Path) -> set[int]:
    """The tasks whose last grading passed, on files that have not changed since."""
    known = {t.number: t for t in tasks()}
    return {
        int(n)
        for n, entry in slot.get("tasks", {}).items()
        if entry.get("status") == PASS
        and int(n) in known
        and entry.get("files_sha256") == files_hash(known[int(n)], target)
    }


# --- output -----------------------------------------------------------------------------------


class Style:
    """ANSI colours when writing to a terminal (and NO_COLOR is unset)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def _wrap(self, code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.enabled else text

    def bold(self, text: str) -> str:
        return self._wrap("1", text)

    def dim(self, text: str) -> str:
        return self._wrap("2", text)

    def status(self, status: str, text: str | None = None) -> str:
        """``text`` (default: the status itself) in the status's colour."""
        code = {PASS: "32", NOT_STARTED: "33", NO_GRADER: "2"}.get(status, "31")
        return self._wrap(code, SHOWN.get(status, status) if text is None else text)


def say(*lines: str) -> None:
    for line in lines:
        print(line, flush=True)


def shown(path: Path) -> str:
    """A path as the learner would type it: relative to the current folder when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def progress_line(passed: int, total: int) -> str:
    return f"Progress: [{'#' * passed}{'-' * (total - passed)}] {passed}/{total}"


def next_task(statuses: dict[int, str], graded: set[int], after: int | None = None) -> Task | None:
    """The first task with a grader that does not pass, looking after ``after`` first."""
    todo = [t for t in tasks() if t.number in graded and statuses.get(t.number) != PASS]
    later = [t for t in todo if after is None or t.number > after]
    return (later or todo or [None])[0]


def task_paths(task: Task, folder: Path) -> list[Path]:
    """Where the task's files are: in ``folder``, or at the repository's root for the files
    that live there (task 0's dump.rdb)."""
    return [
        REPO_ROOT / name
        if not (folder / name).exists() and (REPO_ROOT / name).is_file()
        else folder / name
        for name in task.files
    ]


def task_files(task: Task, folder: Path) -> str:
    return ", ".join(shown(path) for path in task_paths(task, folder))


def solution_files(task: Task) -> list[Path]:
    return [SOLUTIONS / name for name in task.files if (SOLUTIONS / name).is_file()]


def show_table(grading: Grading, style: Style) -> None:
    results = list(grading.results.values())
    width = max(len(r.task.title) for r in results) if results else 10
    say(f"Graded {shown(grading.target)}/ in {grading.seconds:.1f} s", "")
    say(style.bold(f" {'#':>2}  {'Task':<{width}}  Status"))
    for r in results:
        say(f" {r.task.number:>2}  {r.task.title:<{width}}  {style.status(r.status)}")
    say("")
    for problem in grading.problems:
        say(style.dim("warning: " + problem))
    passed = sum(r.status == PASS for r in results)
    say(progress_line(passed, len(tasks())))
    statuses = {n: r.status for n, r in grading.results.items()}
    graded = {n for n, r in grading.results.items() if r.status != NO_GRADER}
    upcoming = next_task(statuses, graded)
    if upcoming is not None:
        say(
            f"Next: task {upcoming.number} — {upcoming.title} "
            f"({task_files(upcoming, grading.target)}). "
            f"Run `scripts/grade {upcoming.number}` for the details."
        )
    elif graded:
        say("Every task that has a grader passes. Well done!")
    missing = len(results) - len(graded)
    if missing:
        say(style.dim(f"({missing} task(s) have no grader yet.)"))


def show_task(result: TaskResult, target: Path, style: Style, hint: bool = True) -> None:
    task = result.task
    say(
        style.bold(f"Task {task.number} — {task.title}") + f"  [{style.status(result.status)}]",
        f"Files: {task_files(task, target)}",
    )
    if result.status == PASS:
        say(style.status(PASS, f"Task {task.number} passed."))
        if target.resolve() != SOLUTIONS.resolve():
            for path in solution_files(task):
                say(f"Solution for comparison: {shown(path)}")
        return
    if result.status == NO_GRADER:
        say(f"Task {task.number} has no grader yet.")
        return
    say("")
    for failure in result.failures:
        say(failure.rstrip(), "")
    if result.status == NOT_STARTED:
        say(f"Objective: {task.objective}")
    if hint:
        say(f"Hint for task {task.number}: {task.hint}")


# --- the commands -------------------------------------------------------------------------


def resolve_target(args: argparse.Namespace) -> Path:
    if args.solutions:
        return SOLUTIONS
    folder = Path(args.target).expanduser() if args.target else EXERCISES
    if not folder.is_dir():
        raise SystemExit(f"grade: --target {args.target}: no such folder")
    return folder.resolve()


def write_json(path: str, grading: Grading) -> None:
    """Exercism's results.json (version 3) of the graders run, with one entry per task."""
    results = list(grading.results.values())
    graded = [r for r in results if r.status != NO_GRADER]
    if grading.problems:
        status, message = ERROR, "\n".join(grading.problems)
    else:
        status, message = (PASS if graded and exit_code(results) == 0 else FAIL), None
    document = {
        "version": 3,
        "status": status,
        "message": message,
        "tests": grading.tests,
        "grading_version": GRADING_VERSION,
        "target": str(grading.target),
        "graded_at": now(),
        "passed": sum(r.status == PASS for r in results),
        "total": len(tasks()),
        "tasks": [r.to_json() for r in results],
    }
    Path(path).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def exit_code(results: Iterable[TaskResult]) -> int:
    graded = [r for r in results if r.status != NO_GRADER]
    return 0 if graded and all(r.status == PASS for r in graded) else 1


def grade_once(args: argparse.Namespace, target: Path, style: Style) -> int:
    numbers = [args.task] if args.task is not None else None
    grading = run_graders(target, numbers)
    if args.verbose:
        say(grading.output)
    slot = record(grading.results.values(), target)
    if args.json:
        write_json(args.json, grading)
    if numbers is None:
        show_table(grading, style)
    else:
        result = grading.results[args.task]
        show_task(result, target, style)
        for problem in grading.problems:
            say(style.dim("warning: " + problem))
        say("", progress_line(len(passed_numbers(slot, target)), len(tasks())))
        if result.status == PASS:
            statuses = {n: PASS for n in passed_numbers(slot, target)}
            upcoming = next_task(statuses, grading.graders, after=args.task)
            if upcoming is not None:
                command = f"scripts/grade {upcoming.number}"
                say(f"Next: task {upcoming.number} — {upcoming.title} (`{command}`)")
    return exit_code(grading.results.values())


QUIT, HINT, REGRADE = "quit", "hint", "re-grade"
KEY_COMMANDS = {"q": QUIT, "h": HINT, "r": REGRADE, "\n": REGRADE, "\r": REGRADE}


class Keys:
    """Commands typed by the learner: single key presses in a terminal (cbreak mode, no
    Enter needed), or whole lines when stdin is a pipe ("q", "h", or an empty line)."""

    def __init__(self) -> None:
        self.fd = sys.stdin.fileno() if sys.stdin else -1
        self.saved = None
        self.closed = self.fd < 0
        self.tty = not self.closed and os.isatty(self.fd)
        self.pending = ""  # typed but not yet turned into commands (a partial line)
        self.commands: list[str] = []

    def __enter__(self) -> Keys:
        if self.tty:
            import termios
            import tty

            self.saved = termios.tcgetattr(self.fd)
            tty.setcbreak(self.fd)
        return self

    def __exit__(self, *exc) -> None:
        if self.saved is not None:
            import termios

            termios.tcsetattr(self.fd, termios.TCSADRAIN, self.saved)

    def next(self, timeout: float) -> str | None:
        """The next command, waiting up to ``timeout`` seconds for one (None: nothing)."""
        if not self.commands and not self.closed:
            ready, _, _ = select.select([self.fd], [], [], timeout)
            if ready:
                data = os.read(self.fd, 1024)
                if not data:  # end of input: keep watching files, stop reading keys
                    self.closed = True
                self._parse(data.decode(errors="replace").lower())
        elif not self.commands:
            time.sleep(timeout)
        return self.commands.pop(0) if self.commands else None

    def _parse(self, typed: str) -> None:
        if self.tty:
            self.commands += [KEY_COMMANDS[c] for c in typed if c in KEY_COMMANDS]
            return
        *lines, self.pending = (self.pending + typed).split("\n")
        for line in lines:
            word = line.strip()[:1] or "\n"  # an empty line is Enter
            if word in KEY_COMMANDS:
                self.commands.append(KEY_COMMANDS[word])


def learner_file(change, path: str) -> bool:
    """Whether a change to ``path`` is a save to notice: the folder's Python files only.

    Only ``*.py``: what the learner edits. Files that graded scripts may write while they
    run (data, caches) must not trigger a new grading, or watch mode would never rest.
    """
    parts = Path(path).parts
    return path.endswith(".py") and "__pycache__" not in parts and not parts[-1].startswith(".")


class Saves:
    """Saves in a folder, noticed by ``watchfiles`` (native file events, with its own
    polling fallback) in a background thread. A burst of writes (an editor's save) comes
    as one change: watchfiles waits until the folder has been quiet for ``step`` ms."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.stop = threading.Event()
        self.changed = threading.Event()
        self.paths: set[str] = set()  # every path whose change was noticed
        self.thread = threading.Thread(target=self._watch, name="watch-saves", daemon=True)

    def __enter__(self) -> Saves:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(timeout=2)

    def _watch(self) -> None:
        from watchfiles import watch  # only watch mode needs it

        for changes in watch(
            self.folder,
            watch_filter=learner_file,
            stop_event=self.stop,
            rust_timeout=500,
            raise_interrupt=False,
        ):
            self.paths |= {path for _, path in changes}
            self.changed.set()

    def forget(self) -> None:
        """Start afresh: only saves from now on count (called before each grading, so that
        a save during a grading re-grades)."""
        self.changed.clear()

    def saved(self) -> bool:
        return self.changed.is_set()


def task_by_number(number: int) -> Task:
    return next(t for t in tasks() if t.number == number)


def watch(args: argparse.Namespace, target: Path, style: Style) -> int:
    """Re-grade the current task whenever a file of ``target`` changes; move on when it passes."""
    clear = "\x1b[H\x1b[2J" if sys.stdout.isatty() else ""
    say(f"Watching {shown(target)}/ …")
    with Saves(target) as saves:
        return _watch(args, target, style, saves, clear)


def _watch(args: argparse.Namespace, target: Path, style: Style, saves: Saves, clear: str) -> int:
    ready: Grading | None = None  # a grading that already holds the current task's result
    if args.task is not None:
        current = task_by_number(args.task)
    else:
        saves.forget()
        ready = run_graders(target)
        statuses = {n: r.status for n, r in ready.results.items()}
        current = next_task(statuses, ready.graders)
        if current is None:
            record(ready.results.values(), target)
            show_table(ready, style)
            if not ready.graders:
                return 1
            current = task_by_number(max(ready.graders))
    redraw = True
    with Keys() as keys:
        while True:
            if ready is None:
                saves.forget()  # before grading: a save during grading re-grades
                say(style.dim(f"Grading task {current.number}…"))
            try:
                grading, ready = ready or run_graders(target, [current.number]), None
            except GradingError as error:  # e.g. a grader module being edited: keep watching
                say(f"pytest could not run the graders:\n{error}")
                say(style.dim("[Enter] re-grade   [h] hint   [q] quit"))
                if wait_for_change(keys, saves, current):
                    return 0
                continue
            result = grading.results[current.number]
            slot = record(grading.results.values(), target)
            if redraw and clear:
                print(clear, end="", flush=True)
            redraw = True
            say(f"Watching {shown(target)}/ — graded at {now()}", "")
            show_task(result, target, style, hint=False)
            for problem in grading.problems:
                say(style.dim("warning: " + problem))
            say("", progress_line(len(passed_numbers(slot, target)), len(tasks())))
            if result.status == PASS:
                statuses = {n: PASS for n in passed_numbers(slot, target)}
                upcoming = next_task(statuses, grading.graders, after=current.number)
                if upcoming is not None:
                    say("", style.bold(f"Moving on to task {upcoming.number} — {upcoming.title}"))
                    current = upcoming
                    redraw = False  # keep the pass and the solution pointer on screen
                    continue
                say("Every task that has a grader passes. Well done!")
            elif result.status != NO_GRADER:
                say("Save a file to re-grade; press h for a hint.")
            say(style.dim("[Enter] re-grade   [h] hint   [q] quit"))
            if wait_for_change(keys, saves, current):
                return 0


def wait_for_change(keys: Keys, saves: Saves, current: Task) -> bool:
    """Wait for a save in the watched folder or Enter (False: re-grade), or ``q`` (True: quit)."""
    while True:
        if saves.saved():
            return False
        command = keys.next(POLL_SECONDS)
        if command == QUIT:
            say("Bye.")
            return True
        if command == HINT:
            say(f"Hint for task {current.number}: {current.hint}")
            continue
        if command == REGRADE:
            return False


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scripts/grade",
        description="Grade your exercises with the course's graders.",
        epilog="Without N: a table of every task, a progress bar and the next task to do.",
    )
    parser.add_argument("task", nargs="?", type=int, metavar="N", help="grade task N only")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--target", metavar="PATH", help="folder to grade (default exercises/)")
    where.add_argument("--solutions", action="store_true", help="grade the reference solutions/")
    parser.add_argument("--watch", action="store_true", help="re-grade the current task on save")
    parser.add_argument("--json", metavar="FILE", help="write one result per task to FILE")
    parser.add_argument("-v", "--verbose", action="store_true", help="show pytest's own output")
    group = parser.add_argument_group("a class at once (toolkit.gradebook)")
    group.add_argument(
        "--class",
        dest="roster",
        metavar="ROSTER",
        help="grade a class: a CSV "
        "with the header name,folder (a path, or a git URL or bare repository)",
    )
    group.add_argument("--out", metavar="DIR", help="where the gradebook goes (run/gradebook/)")
    group.add_argument(
        "--task",
        dest="tasks",
        metavar="N",
        type=int,
        action="append",
        help="grade task N only (repeatable; default every task)",
    )
    group.add_argument(
        "--jobs",
        type=int,
        metavar="N",
        help="learners graded at once (default: the number of cores)",
    )
    group.add_argument(
        "--timeout",
        type=float,
        metavar="S",
        help="wall-clock limit per learner in seconds (default %(default)s)",
        default=None,
    )
    group.add_argument(
        "--memory-mb",
        type=int,
        metavar="MB",
        help="address-space limit (RLIMIT_AS) of each learner script; 0: none",
    )
    group.add_argument(
        "--processes",
        type=int,
        metavar="N",
        help="process limit (RLIMIT_NPROC) per learner; 0: none",
    )
    group.add_argument(
        "--no-isolation",
        action="store_true",
        help="grade without the uid and namespaces even as root (the limits still apply)",
    )
    group.add_argument("--keep", action="store_true", help="keep the workspaces (debugging)")
    return parser


def grade_class(args: argparse.Namespace) -> int:
    """``--class ROSTER``: the gradebook (toolkit.gradebook does the work)."""
    from toolkit import gradebook

    defaults = {
        "timeout": gradebook.DEFAULT_TIMEOUT,
        "memory_mb": gradebook.DEFAULT_MEMORY_MB,
        "processes": gradebook.DEFAULT_PROCESSES,
    }
    chosen = {k: getattr(args, k) for k in defaults if getattr(args, k) is not None}
    try:
        outcomes = gradebook.grade_class(
            Path(args.roster),
            Path(args.out) if args.out else gradebook.DEFAULT_OUT,
            numbers=args.tasks,
            jobs=args.jobs,
            isolate=not args.no_isolation,
            keep=args.keep,
            **{**defaults, **chosen},
        )
    except gradebook.RosterError as error:
        print(f"grade: {error}", file=sys.stderr)
        return 2
    return 0 if all(o.passed == len(o.cells) for o in outcomes) else 1


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.roster is not None:
        if args.task is not None or args.watch or args.target or args.solutions or args.json:
            parser.error("--class takes --task N (not N), --out and the limits only")
        return grade_class(args)
    if args.tasks or args.out:
        parser.error("--task and --out go with --class (one task: scripts/grade N)")
    if args.task is not None and args.task not in {t.number for t in tasks()}:
        known = ", ".join(str(t.number) for t in tasks())
        print(f"grade: no task {args.task} (tasks are {known})", file=sys.stderr)
        return 2
    target = resolve_target(args)
    style = Style(sys.stdout.isatty() and not os.environ.get("NO_COLOR"))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        if args.watch:
            return watch(args, target, style)
        return grade_once(args, target, style)
    except GradingError as error:
        print("grade: pytest could not run the graders:\n" + str(error), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130 if not args.watch else 0
    except BrokenPipeError:  # e.g. `scripts/grade | head`: stop quietly, as other tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
