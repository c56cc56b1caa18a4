"""``scripts/grade --class ROSTER``: grade a whole class, each learner in isolation.

The roster is a CSV with the header ``name,folder``. A folder is a path on this machine
(relative paths are relative to the roster), or anything ``git clone`` reads (a URL, a
local bare repository): a clone that holds ``exercises/`` is graded there.

Each learner is graded in a workspace of its own under a private run directory:

- ``work/`` is a copy of the learner's folder (symbolic links are kept as links, never
  followed by the copy), ``home/`` and ``tmp/`` its HOME and TMPDIR;
- the graders run from one shared *grader copy* of this project (``tests/``, ``scripts/``,
  ``pykue/``, ``pyproject.toml``, ``dump.rdb``): without ``solutions/`` (but task 10's
  ``8-job.py``, which task 11's grader runs the learner's tests on), without the broken
  variants and the alternative solutions;
- the grading runs in one pytest process with its own Redis on a free port (the harness
  starts one per session), bounded by a wall-clock timeout, ``RLIMIT_NPROC`` (processes),
  ``RLIMIT_CPU``, and ``RLIMIT_AS`` (memory) on the learner's own scripts (see
  :data:`SITECUSTOMIZE`: Chromium, which the browser graders drive, needs far more).

As root on Linux (``unshare`` available) each learner also gets, see :func:`isolation`:
its own numeric uid (no passwd entry) owning its workspace, mode 0700, so that it cannot
read another learner's workspace; new mount, PID and network namespaces: the project's
and its git worktrees' ``solutions/``, ``tests/broken``, ``tests/alternatives``, the git
directory, the roster's source folders and the output folder are covered by empty
read-only mounts, only its own processes are visible, and the network is a loopback of
its own (no other learner's Redis, no Redis on 6379, no internet). When the grading ends
or times out, its namespace's first process exits and the kernel kills every process
left in it, daemons included. Elsewhere (not root) only the limits and the process group
apply, and the gradebook says so.

Outputs, in ``--out`` (default ``run/gradebook/``): ``gradebook.csv``, ``gradebook.html``
and ``learners/NN-NAME.json`` (each learner's results.json, see ``scripts/grade --json``).
"""

from __future__ import annotations

import argparse
import csv
import ctypes
import fcntl
import html
import json
import os
import re
import resource
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from toolkit.registry import Task, tasks

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO_ROOT / "run" / "gradebook"
DEFAULT_TIMEOUT = 900.0  # seconds per learner: every task of the solutions takes ~2-4 min
DEFAULT_MEMORY_MB = 2048  # RLIMIT_AS of each learner script (address space, not resident)
DEFAULT_PROCESSES = 512  # RLIMIT_NPROC: counted per uid, so per learner only with a uid each
UID_BASE = 1_900_000_000  # learners' uids: no passwd entry, far above any real account

# What the grader copy holds of the project, and what it leaves out.
GRADER_PARTS = ("tests", "scripts", "pykue", "exercises", "pyproject.toml", "dump.rdb")
LEFT_OUT = ("alternatives", "broken", "__pycache__", ".pytest_cache", "*.pyc")
NEEDED_SOLUTIONS = ("8-job.py",)  # task 11's grader runs the learner's tests on it
SECRET_PARTS = ("solutions", "tests/broken", "tests/alternatives")

# The cells, as the gradebook shows them.
SHOWN = {
    "pass": "pass",
    "fail": "fail",
    "not_started": "not started",
    "timeout": "timeout",
    "error": "error",
    "no_grader": "no grader",
}


# --- the roster -----------------------------------------------------------------------------


@dataclass
class Learner:
    index: int
    name: str
    folder: str  # as the roster gives it
    source: str  # a resolved path, or the git URL

    @property
    def slug(self) -> str:
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", self.name).strip("-.")[:40] or "learner"
        return f"{self.index:02d}-{safe}"


class RosterError(Exception):
    pass


def looks_like_git(folder: str) -> bool:
    return bool(
        re.match(r"^[a-z][a-z0-9+.-]*://", folder) or re.match(r"^[\w.-]+@[\w.-]+:", folder)
    )


def read_roster(path: Path) -> list[Learner]:
    """The learners of a ``name,folder`` CSV, in order (blank lines skipped)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as error:
        raise RosterError(f"cannot read the roster {path}: {error.strerror}") from error
    rows = csv.DictReader(text.splitlines())
    if rows.fieldnames is None or not {"name", "folder"} <= {f.strip() for f in rows.fieldnames}:
        raise RosterError(f"{path}: the first line must be the header 'name,folder'")
    learners: list[Learner] = []
    for row in rows:
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
        name, folder = row.get("name", ""), row.get("folder", "")
        if not name and not folder:
            continue
        if not name:
            raise RosterError(f"{path}: line {rows.line_num}: a folder without a name")
        if looks_like_git(folder):
            source = folder
        else:
            given = Path(folder).expanduser()
            source = str(given if given.is_absolute() else (path.parent / given).absolute())
        learners.append(Learner(len(learners) + 1, name, folder, source))
    if not learners:
        raise RosterError(f"{path}: no learners")
    return learners


# --- isolation --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Isolation:
    """What the sandbox can do on this machine (probed once)."""

    uids: bool  # a uid per learner (needs root)
    namespaces: bool  # mount, PID and network namespaces (root and util-linux unshare)

    def describe(self) -> str:
        if self.namespaces:
            return (
                "a uid per learner (workspace mode 0700), mount/PID/network namespaces "
                "(solutions and other folders hidden, loopback of its own), "
                "RLIMIT_AS/NPROC/CPU, wall-clock timeout"
            )
        if self.uids:
            return "a uid per learner (workspace mode 0700), RLIMIT_AS/NPROC/CPU, timeout"
        return (
            "none between learners (not root): RLIMIT_AS/CPU, a wall-clock timeout and the "
            "process group only; learners' scripts can read each other's workspaces and "
            "solutions/"
        )


NAMESPACES = ["unshare", "--mount", "--pid", "--net", "--fork", "--mount-proc", "--kill-child"]


def isolation(wanted: bool = True) -> Isolation:
    if not wanted or os.name != "posix" or os.geteuid() != 0:
        return Isolation(False, False)
    probe = (
        subprocess.run(
            [*NAMESPACES, "true"], capture_output=True, stdin=subprocess.DEVNULL, check=False
        )
        if shutil.which("unshare")
        else None
    )
    namespaces = probe is not None and probe.returncode == 0
    # A uid of its own needs the namespaces: they make the Python in use reachable to it.
    return Isolation(namespaces, namespaces)


def secret_paths(extra: list[Path]) -> list[Path]:
    """What a learner's processes must not see: the answers, the git history, the others."""
    roots = {REPO_ROOT}
    listed = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "worktree", "list", "--porcelain"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    roots |= {Path(line[9:]) for line in listed.stdout.splitlines() if line.startswith("worktree ")}
    found = [root / part for root in sorted(roots) for part in SECRET_PARTS]
    common = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "rev-parse", "--path-format=absolute", "--git-common-dir"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    if common.returncode == 0 and common.stdout.strip():
        found.append(Path(common.stdout.strip()))
    found += extra
    return [p for p in dict.fromkeys(found) if p.exists()]


def hidden(paths: list[Path], keep: list[Path]) -> list[Path]:
    """``paths`` without those that hold what the grading itself needs (``keep``): hiding
    a folder that holds the run directory or the Python in use would hide them too."""
    needed = [k.absolute() for k in keep]
    return [
        p for p in paths if not any(k == p.absolute() or p.absolute() in k.parents for k in needed)
    ]


# --- inside the sandbox (``python -m toolkit.gradebook _sandbox SPEC``) ------------------------

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_BIND, MS_REC, MS_PRIVATE = (
    1,
    2,
    4,
    8,
    4096,
    16384,
    1 << 18,
)


def _mount(source: str, target: str, kind: str | None, flags: int, data: str | None) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    result = libc.mount(
        source.encode(),
        target.encode(),
        kind.encode() if kind else None,
        ctypes.c_ulong(flags),
        data.encode() if data else None,
    )
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"mount {target}: {os.strerror(error)}")


def _hide(path: str) -> None:
    """Cover ``path`` with an empty read-only tmpfs (a folder) or /dev/null (a file)."""
    if os.path.isdir(path):
        flags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC
        _mount("none", path, "tmpfs", flags, "size=4k,mode=0555")
    else:
        _mount("/dev/null", path, None, MS_BIND, None)


def _loopback_up() -> None:
    """Bring ``lo`` up in the new network namespace (it starts down): SIOCSIFFLAGS."""
    iff_up, iff_loopback, iff_running = 0x1, 0x8, 0x40
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH14s", b"lo", iff_up | iff_loopback | iff_running, b"")
        fcntl.ioctl(sock, 0x8914, request)


def blocked(paths: list[Path]) -> dict[str, list[str]]:
    """For each folder an unprivileged uid cannot reach (a parent without o+x, e.g. /root
    holding pyenv's Python), the folders under it that the grading needs."""
    found: dict[str, list[str]] = {}
    for path in paths:
        path = path.resolve()
        for parent in reversed(path.parents):
            if parent != Path("/") and not os.stat(parent).st_mode & 0o001:
                found.setdefault(str(parent), []).append(str(path))
                break
    return found


def _reach(reach: dict[str, list[str]], stage: str) -> None:
    """Cover each blocking folder with an empty tmpfs (mode 0755) and bind back only the
    folders the grading needs: the rest of it (e.g. root's home) stays out of sight."""
    for number, (blocker, needed) in enumerate(sorted(reach.items())):
        staged = []
        for index, path in enumerate(needed):
            place = os.path.join(stage, f"{number}-{index}")
            os.makedirs(place, exist_ok=True)
            _mount(path, place, None, MS_BIND | MS_REC, None)
            staged.append((place, path))
        _mount("none", blocker, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=0755")
        for place, path in staged:
            os.makedirs(path, exist_ok=True)
            _mount(place, path, None, MS_BIND | MS_REC, None)


def _limit(spec: dict) -> None:
    for name, value in (
        ("RLIMIT_NPROC", spec.get("processes")),
        ("RLIMIT_CPU", spec.get("cpu_seconds")),
    ):
        if value:
            resource.setrlimit(getattr(resource, name), (int(value), int(value)))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def sandbox_main(spec_path: str) -> int:
    """The first process of a learner's sandbox: set it up, run the grading, reap, exit.

    In namespaces it is PID 1 there: it reaps orphans while the grading runs, and when it
    exits the kernel kills whatever the learner's scripts left behind.
    """
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    if spec.get("namespaces"):
        _mount("none", "/", None, MS_REC | MS_PRIVATE, None)
        for path in spec["hide"]:
            try:
                _hide(path)
            except OSError as error:
                print(f"gradebook: could not hide {path}: {error}", file=sys.stderr)
                return 70
        _loopback_up()
        _reach(spec["reach"], spec["stage"])
        for lower, upper, work in spec.get("overlays", []):
            options = f"lowerdir={lower},upperdir={upper},workdir={work}"
            _mount("overlay", lower, "overlay", MS_NOSUID | MS_NODEV, options)
    child = os.fork()
    if child == 0:
        try:
            _limit(spec)
            # A gradebook started in the background (`... &`) has SIGINT and SIGQUIT ignored,
            # and exec keeps that: the graders' signal checks need the defaults.
            for number in (signal.SIGINT, signal.SIGQUIT):
                signal.signal(number, signal.SIG_DFL)
            if spec.get("uid") is not None:
                os.setgroups([])
                os.setgid(spec["gid"])
                os.setuid(spec["uid"])
            os.umask(0o077)
            os.chdir(spec["cwd"])
            os.execve(spec["argv"][0], spec["argv"], spec["env"])
        except BaseException as error:  # noqa: BLE001 - report anything, never return
            print(f"gradebook: could not start the grading: {error}", file=sys.stderr)
            os._exit(71)
    code = 1
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        if pid == child:
            code = os.waitstatus_to_exitcode(status)
            if spec.get("namespaces"):
                break  # leaving kills the rest of the namespace
    return code if code >= 0 else 128 - code


def grade_main(argv: list[str]) -> int:
    """``_grade --target W --json F [--task N]``: grade one folder (run in the sandbox)."""
    from toolkit.grade_cli import GradingError, run_graders, write_json

    parser = argparse.ArgumentParser(prog="gradebook _grade")
    parser.add_argument("--target", required=True)
    parser.add_argument("--json", required=True)
    parser.add_argument("--task", type=int, action="append")
    args = parser.parse_args(argv)
    try:
        grading = run_graders(Path(args.target), args.task)
    except GradingError as error:
        print(f"pytest could not run the graders:\n{error}", file=sys.stderr)
        return 2
    write_json(args.json, grading)
    return 0


# --- one learner ------------------------------------------------------------------------------


@dataclass
class Outcome:
    learner: Learner
    cells: dict[int, str] = field(default_factory=dict)  # task -> pass/fail/not_started/...
    details: dict[int, list[str]] = field(default_factory=dict)  # task -> failure messages
    note: str = ""
    seconds: float = 0.0
    report: dict | None = None
    uid: int | None = None  # the uid its grading ran as (None: the gradebook's own)

    @property
    def passed(self) -> int:
        return sum(status == "pass" for status in self.cells.values())


@dataclass
class Settings:
    numbers: list[int]  # the graded tasks
    timeout: float
    memory_mb: int
    processes: int
    isolation: Isolation
    hide: list[Path]
    grader: Path  # the grader copy
    run_dir: Path
    uid_base: int


def fetch_folder(learner: Learner, into: Path, timeout: float) -> str | None:
    """Copy (or clone) the learner's folder into ``into``; None, or why it could not."""
    if looks_like_git(learner.source) or (
        Path(learner.source).is_dir()
        and (Path(learner.source) / "HEAD").is_file()
        and (Path(learner.source) / "objects").is_dir()
    ):
        clone = into.with_name("clone")
        try:
            done = subprocess.run(
                # safe.directory: a learner's repository is not root's; it is only read
                ["git", "-c", "safe.directory=*", "clone", "--quiet", "--depth", "1", "--"]
                + [learner.source, str(clone)],
                capture_output=True,
                text=True,
                stdin=subprocess.DEVNULL,
                timeout=min(timeout, 120),
                env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
                check=False,
            )
        except subprocess.TimeoutExpired:
            return "unreadable: git clone did not finish"
        if done.returncode != 0:
            lines = [line for line in done.stderr.splitlines() if line.strip()]
            return "unreadable: git clone failed: " + (lines[-1] if lines else "no output")
        shutil.rmtree(clone / ".git", ignore_errors=True)
        source = clone
    else:
        source = Path(learner.source)
        if not source.exists() and not source.is_symlink():
            return f"missing: no folder {learner.source}"
        if not source.is_dir():
            return f"unreadable: {learner.source} is not a folder"
    graded = source / "exercises" if _is_course_checkout(source) else source
    try:
        shutil.copytree(
            graded,
            into,
            symlinks=True,  # a link to solutions/ stays a link, read (or not) in the sandbox
            ignore=shutil.ignore_patterns(".git", "__pycache__", ".venv", "node_modules"),
        )
    except (OSError, shutil.Error) as error:
        return f"unreadable: {_why(error)}"
    finally:
        if source.name == "clone":
            shutil.rmtree(source, ignore_errors=True)
    return None


def _why(error: BaseException) -> str:
    if isinstance(error, shutil.Error) and error.args and isinstance(error.args[0], list):
        first = error.args[0][0]
        return f"{first[0]}: {first[2]}"
    return str(error)


def _is_course_checkout(folder: Path) -> bool:
    """A fork or clone of the course: its learner files are in exercises/."""
    known = {name for task in tasks() for name in task.scripts}
    try:
        here = {p.name for p in folder.iterdir()}
    except OSError:
        return False
    return not (here & known) and (folder / "exercises").is_dir()


def _chown_tree(top: Path, uid: int, gid: int) -> None:
    os.lchown(top, uid, gid)
    for root, dirs, files in os.walk(top):
        for name in dirs + files:
            os.lchown(os.path.join(root, name), uid, gid)


def grade_learner(learner: Learner, settings: Settings) -> Outcome:
    started = time.monotonic()
    outcome = Outcome(learner)
    workspace = settings.run_dir / learner.slug
    workspace.mkdir(mode=0o700)
    work = workspace / "work"
    problem = fetch_folder(learner, work, settings.timeout)
    if problem is not None:
        outcome.note = problem
        outcome.cells = {n: "error" for n in settings.numbers}
        outcome.details = {n: [problem] for n in settings.numbers}
        outcome.seconds = time.monotonic() - started
        return outcome
    for part in ("home", "tmp", "run", "run-work"):
        (workspace / part).mkdir(mode=0o700)
    uid = gid = None
    if settings.isolation.uids:
        uid = gid = outcome.uid = settings.uid_base + learner.index
        _chown_tree(workspace, uid, gid)
    report = workspace / "report.json"
    command = [
        sys.executable,
        "-m",
        "toolkit.gradebook",
        "_grade",
        "--target",
        str(work),
        "--json",
        str(report),
        *(f"--task={n}" for n in settings.numbers),
    ]
    code, output, timed_out = run_sandboxed(
        command, workspace, settings, uid, gid, settings.timeout
    )
    outcome.seconds = time.monotonic() - started
    if timed_out:
        outcome.note = f"timeout: stopped after {settings.timeout:g} s (every process killed)"
        outcome.cells = {n: "timeout" for n in settings.numbers}
        outcome.details = {n: [outcome.note, *_tail(output)] for n in settings.numbers}
        return outcome
    try:
        document = json.loads(report.read_text(encoding="utf-8"))
        entries = {int(e["number"]): e for e in document["tasks"]}
    except (OSError, ValueError, KeyError, TypeError) as error:
        note = f"error: the grading wrote no report (exit {code})"
        if isinstance(error, ValueError | KeyError | TypeError):
            note = f"error: the grading's report is unreadable (exit {code})"
        outcome.note = note
        outcome.cells = {n: "error" for n in settings.numbers}
        outcome.details = {n: [note, *_tail(output)] for n in settings.numbers}
        return outcome
    outcome.report = document
    for number in settings.numbers:
        entry = entries.get(number, {})
        status = str(entry.get("status", "error"))
        outcome.cells[number] = status if status in SHOWN else "error"
        outcome.details[number] = [str(f) for f in entry.get("failures", []) if f]
    if document.get("status") == "error" and document.get("message"):
        outcome.note = "warning: " + str(document["message"]).splitlines()[0]
    return outcome


def _tail(output: str, lines: int = 15) -> list[str]:
    kept = [line for line in output.splitlines() if line.strip()][-lines:]
    return ["last lines of the grading's output:\n" + "\n".join(kept)] if kept else []


def grader_env(settings: Settings, workspace: Path) -> dict[str, str]:
    keep = ("PATH", "LANG", "LC_ALL", "TERM", "REDIS_TEST_SERVER", "PLAYWRIGHT_BROWSERS_PATH")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update(
        PYTHONPATH=str(settings.grader / "scripts"),
        PYTHONDONTWRITEBYTECODE="1",
        HOME=str(workspace / "home"),
        TMPDIR=str(workspace / "tmp"),
        USER="learner",
        LOGNAME="learner",
        GRADE_WORKERS="1",  # the learners run in parallel; each grading is one process
        GRADE_STATE_FILE=str(workspace / "home" / "grade-state.json"),
        NO_COLOR="1",
    )
    if settings.memory_mb:
        env[MEMORY_ENV] = str(settings.memory_mb * 2**20)
    return env


def run_sandboxed(
    command: list[str],
    workspace: Path,
    settings: Settings,
    uid: int | None,
    gid: int | None,
    timeout: float,
) -> tuple[int, str, bool]:
    """Run ``command`` in the learner's sandbox: (exit code, output, timed out)."""
    spec = {
        "namespaces": settings.isolation.namespaces,
        "hide": [str(p) for p in settings.hide],
        "reach": blocked([Path(sys.base_prefix), Path(sys.prefix), settings.grader]),
        "stage": str(settings.run_dir / "stage"),
        # The graders write into the project's run/ (builds, screenshots): each learner
        # writes into its own layer over the grader copy's, which stays as it is.
        "overlays": [
            [str(settings.grader / "run"), str(workspace / "run"), str(workspace / "run-work")]
        ],
        "uid": uid,
        "gid": gid,
        "cwd": str(workspace),
        "argv": command,
        "env": grader_env(settings, workspace),
        # Counted per uid: without a uid of its own it would count all the user's processes.
        "processes": (settings.processes or None) if uid is not None else None,
        "cpu_seconds": int(timeout) + 5,
    }
    spec_file = settings.run_dir / f"{workspace.name}.sandbox.json"  # root's, not the learner's
    with os.fdopen(os.open(spec_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as out:
        out.write(json.dumps(spec))
    entry = [sys.executable, "-m", "toolkit.gradebook", "_sandbox", str(spec_file)]
    launcher = NAMESPACES + entry if settings.isolation.namespaces else entry
    env = {**os.environ, "PYTHONPATH": str(settings.grader / "scripts")}
    with tempfile.TemporaryFile(dir=settings.run_dir) as sink:
        proc = subprocess.Popen(
            launcher,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, killed as one
            env=env,
            cwd=settings.run_dir,
        )
        timed_out = False
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # whatever is left of the group
            except ProcessLookupError:
                pass
            proc.wait()
        sink.seek(0)
        output = sink.read()[-20_000:].decode(errors="replace")
    return proc.returncode, output, timed_out


# --- the grader copy ----------------------------------------------------------------------------

MEMORY_ENV = "GRADEBOOK_SCRIPT_MEMORY"
# The graded scripts run with the grader copy's root on PYTHONPATH (harness.process), and
# Python imports a sitecustomize from there first: the learner's scripts get RLIMIT_AS, the
# graders' own processes (pytest, redis-server, Chromium, which reserves terabytes of
# address space) do not. Task 9's grader puts a sitecustomize of its own first.
SITECUSTOMIZE = f'''"""A memory limit on the learner's scripts (written by toolkit.gradebook)."""
import os
import resource

_limit = os.environ.get("{MEMORY_ENV}")
if _limit:
    try:
        resource.setrlimit(resource.RLIMIT_AS, (int(_limit), int(_limit)))
    except (ValueError, OSError):
        pass
'''


def make_grader_copy(into: Path) -> Path:
    """The project's grading parts, without the answers (see the module docstring)."""
    into.mkdir(mode=0o755)
    for part in GRADER_PARTS:
        source = REPO_ROOT / part
        if source.is_dir():
            shutil.copytree(source, into / part, ignore=shutil.ignore_patterns(*LEFT_OUT))
        elif source.is_file():
            shutil.copy2(source, into / part)
    (into / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    (into / "run").mkdir()
    (into / "solutions").mkdir()
    for name in NEEDED_SOLUTIONS:
        if (REPO_ROOT / "solutions" / name).is_file():
            shutil.copy2(REPO_ROOT / "solutions" / name, into / "solutions" / name)
    for root, dirs, files in os.walk(into):
        for name in dirs:
            os.chmod(os.path.join(root, name), 0o755)
        for name in files:
            path = os.path.join(root, name)
            os.chmod(path, 0o755 if os.access(path, os.X_OK) else 0o644)
    return into


def prepare_graders(grader: Path, numbers: list[int]) -> None:
    """Build, as root with the network, what a grader would build in the sandbox (where
    the grader copy is read-only and there is no network): task 15's original client."""
    if 15 not in numbers:
        return
    code = (
        "import sys; sys.path[:0] = ['tests', 'scripts', '.']\n"
        "import test_task15_original_client as t\n"
        "t.build_original_client()\n"
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", code],
            cwd=grader,
            env={**os.environ, "PYTHONPATH": str(grader / "scripts")},
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=600,
        )
    except subprocess.TimeoutExpired:
        done = None
    build = grader / "run" / "message-queue"
    if done is None or done.returncode != 0:
        said = (done.stdout + done.stderr).strip().splitlines()[-1:] if done else ["timeout"]
        print(f"gradebook: task 15's original client was not built: {said}", file=sys.stderr)
    for root, dirs, _ in os.walk(grader / "run"):
        for name in dirs:  # written through each learner's overlay (see run_sandboxed)
            os.chmod(os.path.join(root, name), 0o777)
    if (build / ".lock").exists():
        os.chmod(build / ".lock", 0o666)  # the graders take this lock; it holds nothing


# --- the gradebook ------------------------------------------------------------------------------


def cell(status: str) -> str:
    return SHOWN.get(status, status)


def write_csv(path: Path, outcomes: list[Outcome], numbers: list[int]) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["name", "folder", *(f"task {n}" for n in numbers), "total", "note"])
        for o in outcomes:
            writer.writerow(
                [
                    o.learner.name,
                    o.learner.folder,
                    *(cell(o.cells.get(n, "error")) for n in numbers),
                    f"{o.passed}/{len(numbers)}",
                    o.note,
                ]
            )


STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #1d1d1f; }
table { border-collapse: collapse; }
th, td { border: 1px solid #c8c8cc; padding: .3rem .5rem; vertical-align: top; text-align: left; }
th { background: #f2f2f5; }
td.pass { background: #d9f2dc; }
td.fail, td.error { background: #f8d7d7; }
td.not_started { background: #fdf1c7; }
td.timeout { background: #f9dcc4; }
td.no_grader { background: #eee; }
details > summary { cursor: pointer; }
pre { white-space: pre-wrap; max-width: 60rem; max-height: 30rem; overflow: auto;
      background: #fafafa; border: 1px solid #ddd; padding: .5rem; font-size: .8rem; }
.note { color: #8a1c1c; }
"""


def write_html(
    path: Path, outcomes: list[Outcome], numbers: list[int], meta: dict[str, str]
) -> None:
    e = html.escape
    by_number: dict[int, Task] = {t.number: t for t in tasks()}
    head = "".join(
        f'<th title="{e(by_number[n].title)}">task {n}</th>' if n in by_number else f"<th>{n}</th>"
        for n in numbers
    )
    rows = []
    for o in outcomes:
        cells = []
        for n in numbers:
            status = o.cells.get(n, "error")
            shown = e(cell(status))
            if status == "pass":
                cells.append(f'<td class="pass">{shown}</td>')
                continue
            text = "\n\n".join(o.details.get(n, []))
            if n in by_number and status != "error":
                text += f"\n\nHint for task {n}: {by_number[n].hint}"
            body = f"<pre>{e(text.strip())}</pre>" if text.strip() else ""
            css = status if status in SHOWN else "error"
            cells.append(
                f'<td class="{css}"><details><summary>{shown}</summary>{body}</details></td>'
            )
        report = (
            f'<a href="learners/{e(o.learner.slug)}.json">JSON</a>' if o.report is not None else ""
        )
        rows.append(
            "<tr>"
            f"<th>{e(o.learner.name)}</th>"
            f"<td><code>{e(o.learner.folder)}</code></td>"
            + "".join(cells)
            + f"<td>{o.passed}/{len(numbers)}</td>"
            f'<td class="note">{e(o.note)}</td><td>{report}</td><td>{o.seconds:.0f} s</td>'
            "</tr>"
        )
    facts = "".join(f"<li>{e(k)}: {e(v)}</li>" for k, v in meta.items())
    page = (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>Gradebook</title>"
        f"<style>{STYLE}</style></head><body>\n<h1>Gradebook</h1>\n<ul>{facts}</ul>\n"
        "<table><thead><tr><th>name</th><th>folder</th>"
        f"{head}<th>total</th><th>note</th><th>report</th><th>time</th></tr></thead>\n"
        "<tbody>\n" + "\n".join(rows) + "\n</tbody></table>\n"
        "<p>Click a cell that does not pass for its failures and the task's hint.</p>\n"
        "</body></html>\n"
    )
    path.write_text(page, encoding="utf-8")


def write_reports(folder: Path, outcomes: list[Outcome]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for o in outcomes:
        document = o.report or {
            "version": 3,
            "status": "error",
            "message": o.note,
            "tests": [],
            "tasks": [],
        }
        document = {
            **document,
            "learner": o.learner.name,
            "folder": o.learner.folder,
            "uid": o.uid,
        }
        (folder / f"{o.learner.slug}.json").write_text(
            json.dumps(document, indent=2) + "\n", encoding="utf-8"
        )


class Progress:
    """A progress line on stderr: a bar on a terminal, one line per learner otherwise."""

    def __init__(self, total: int) -> None:
        self.total, self.done = total, 0
        self.tty = sys.stderr.isatty()
        self.lock = threading.Lock()
        self.started = time.monotonic()

    def finished(self, outcome: Outcome) -> None:
        with self.lock:
            self.done += 1
            width = 30
            filled = width * self.done // self.total
            bar = "#" * filled + "-" * (width - filled)
            seconds = time.monotonic() - self.started
            line = (
                f"[{bar}] {self.done}/{self.total} graded, {seconds:.0f} s — "
                f"{outcome.learner.name}: {outcome.passed}/{len(outcome.cells)} pass"
                + (f" ({outcome.note})" if outcome.note else "")
            )
            if self.tty:
                print(
                    "\r\x1b[2K" + line[:200],
                    end="" if self.done < self.total else "\n",
                    file=sys.stderr,
                    flush=True,
                )
            else:
                print(line, file=sys.stderr, flush=True)


def grade_class(
    roster: Path,
    out: Path,
    numbers: list[int] | None = None,
    jobs: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    memory_mb: int = DEFAULT_MEMORY_MB,
    processes: int = DEFAULT_PROCESSES,
    isolate: bool = True,
    keep: bool = False,
) -> list[Outcome]:
    """Grade every learner of ``roster``; write the gradebook into ``out``."""
    learners = read_roster(roster)
    known = [t.number for t in tasks()]
    numbers = sorted(set(numbers)) if numbers else known
    unknown = [n for n in numbers if n not in known]
    if unknown:
        raise RosterError(f"no task {unknown[0]} (tasks are {', '.join(map(str, known))})")
    out = out.absolute()
    out.mkdir(parents=True, exist_ok=True)
    found = isolation(isolate)
    run_dir = Path(tempfile.mkdtemp(prefix="gradebook-"))
    os.chmod(run_dir, 0o711)  # each learner reaches its own workspace, lists none
    (run_dir / "stage").mkdir(mode=0o700)
    sources = [Path(lr.source) for lr in learners if not looks_like_git(lr.source)]
    grader = make_grader_copy(run_dir / "grader")
    prepare_graders(grader, numbers)
    settings = Settings(
        numbers=numbers,
        timeout=timeout,
        memory_mb=memory_mb,
        processes=processes,
        isolation=found,
        hide=hidden(secret_paths([*sources, out]), keep=[run_dir, Path(sys.executable)])
        if found.namespaces
        else [],
        grader=grader,
        run_dir=run_dir,
        uid_base=UID_BASE + (os.getpid() % 100_000) * 1_000,
    )
    jobs = max(1, jobs or os.cpu_count() or 1)
    print(
        f"gradebook: {len(learners)} learner(s), tasks {', '.join(map(str, numbers))}, "
        f"{jobs} at a time, timeout {timeout:g} s each; isolation: {found.describe()}",
        file=sys.stderr,
    )
    progress = Progress(len(learners))
    outcomes: dict[int, Outcome] = {}
    started = time.monotonic()
    try:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = {pool.submit(grade_learner, lr, settings): lr for lr in learners}
            for future in as_completed(futures):
                learner = futures[future]
                try:
                    outcome = future.result()
                except Exception as error:  # noqa: BLE001 - one learner never stops the class
                    outcome = Outcome(learner, {n: "error" for n in numbers})
                    outcome.note = f"error: {type(error).__name__}: {error}"
                outcomes[learner.index] = outcome
                progress.finished(outcome)
    finally:
        if keep:
            print(f"gradebook: workspaces kept in {run_dir}", file=sys.stderr)
        else:
            shutil.rmtree(run_dir, ignore_errors=True)
    ordered = [outcomes[lr.index] for lr in learners]
    write_csv(out / "gradebook.csv", ordered, numbers)
    meta = {
        "roster": str(roster),
        "graded": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "tasks": ", ".join(map(str, numbers)),
        "time": f"{time.monotonic() - started:.0f} s, {jobs} learner(s) at a time",
        "isolation": found.describe(),
    }
    write_html(out / "gradebook.html", ordered, numbers, meta)
    write_reports(out / "learners", ordered)
    print(
        f"gradebook: wrote {out / 'gradebook.csv'}, {out / 'gradebook.html'} and "
        f"{out / 'learners'}/ in {time.monotonic() - started:.0f} s",
        file=sys.stderr,
    )
    return ordered


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_sandbox"]:
        return sandbox_main(argv[1])
    if argv[:1] == ["_grade"]:
        return grade_main(argv[1:])
    print("usage: scripts/grade --class ROSTER (see scripts/grade --help)", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
