"""``scripts/grade --class ROSTER``: a class graded at once, each learner in isolation.

Not graders (no task marker). The roster is built in tmp_path from solutions/, the
exercises/ stubs, broken variants (tests/broken/*.patch), a bare git repository, a
missing folder, a file where a folder should be, and hostile learners. Only tasks 1 and
2 are graded: their graders are quick.
"""

from __future__ import annotations

import csv
import html
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from toolkit import gradebook
from toolkit.variants import BROKEN, load

REPO = Path(__file__).resolve().parents[1]
GRADE = REPO / "scripts" / "grade"
IGNORE = shutil.ignore_patterns("__pycache__")
HOSTILE_NAME = "<script>alert('x')</script>"

# Task 1's file of a hostile learner: it touches memory until refused, forks until refused
# (each child leaves its session, lets go of the output and sleeps, holding the learner's
# process limit), says how far it got, and never exits.
FORKS_AND_EATS = """\
import os
import time

chunks = []
try:
    while len(chunks) < 200:
        chunks.append(b"x" * 2**25)  # 32 MiB at a time, touched
    print("memory: never refused", flush=True)
except MemoryError:
    print("memory: refused", flush=True)
del chunks
for _ in range(300):
    try:
        child = os.fork()
    except OSError:
        print("forks: refused", flush=True)
        break
    if child == 0:
        os.setsid()
        quiet = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(quiet, fd)
        time.sleep(3600)
        os._exit(0)
time.sleep(3600)
"""

# Task 1's file that never exits, and leaves a daemon of its own session behind.
NEVER_EXITS = """\
import os
import time

if os.fork() == 0:
    os.setsid()
    time.sleep(3600)
time.sleep(3600)
"""


def solved(folder: Path) -> Path:
    shutil.copytree(REPO / "solutions", folder, ignore=IGNORE)
    return folder


def with_variant(folder: Path, name: str) -> Path:
    """The solutions with the broken variant ``name`` applied (no VARIANT.md: a learner)."""
    solved(folder)
    variant = load(BROKEN / f"{name}.patch")
    for filename in variant.files:
        (folder / filename).write_text(variant.broken_text(filename), encoding="utf-8")
    return folder


def bare_repo(tmp_path: Path, folder: Path) -> Path:
    """A bare git repository holding ``folder`` (what `git clone` reads, as a URL would)."""
    work, bare = tmp_path / "clone-src", tmp_path / "learner.git"
    shutil.copytree(folder, work / "exercises")
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "work"]):
        subprocess.run(["git", "-C", str(work), *args], check=True, env=env)
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(bare)], check=True)
    return bare


def processes_of(uid: int | None) -> list[str]:
    """The processes of ``uid`` still alive on the machine."""
    assert uid is not None and uid >= gradebook.UID_BASE, uid
    alive = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    alive.append(entry.name)
            except OSError:
                continue
    return alive


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The gradebook of a roster of nine, written by ``scripts/grade --class``."""
    tmp = tmp_path_factory.mktemp("class")
    solved(tmp / "ada")
    shutil.copytree(REPO / "exercises", tmp / "bob", ignore=IGNORE)
    with_variant(tmp / "cy", "task01-no-exit-code")
    bare = bare_repo(tmp, with_variant(tmp / "di-src", "task02-bytes"))
    hostile = shutil.copytree(REPO / "exercises", tmp / "eve", ignore=IGNORE)
    (hostile / "0-redis_client.py").write_text(FORKS_AND_EATS, encoding="utf-8")
    (tmp / "fay.txt").write_text("not a folder\n", encoding="utf-8")
    linker = tmp / "gil"
    linker.mkdir()
    for name in ("0-redis_client.py", "1-redis_op.py"):  # links to the reference answers
        (linker / name).symlink_to(REPO / "solutions" / name)
    roster = tmp / "roster.csv"
    rows = [
        ("Ada", "ada"),
        ("Bob", "bob"),
        ("Cy", "cy"),
        ("Di", str(bare)),
        (HOSTILE_NAME, "nowhere"),
        ("Eve", "eve"),
        ("Fay", "fay.txt"),
        ("Gil", "gil"),
    ]
    with roster.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["name", "folder"])
        writer.writerows(rows)
    out = tmp / "out"
    done = subprocess.run(
        [
            str(GRADE),
            "--class",
            str(roster),
            "--out",
            str(out),
            "--task",
            "1",
            "--task",
            "2",
            "--jobs",
            "2",
            "--memory-mb",
            "512",
            "--processes",
            "64",
            "--timeout",
            "120",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return done, out, tmp


def test_the_csv_has_one_row_per_learner_and_a_cell_per_task(graded):
    done, out, tmp = graded
    assert done.returncode == 1, done.stderr  # not every learner passes everything
    rows = read_csv(out / "gradebook.csv")
    # Gil's links into solutions/ dangle in the sandbox, which hides solutions/
    sandboxed = "namespaces" in done.stderr.splitlines()[0]
    gil = (
        ("Gil", "not started", "not started", "0/2")
        if sandboxed
        else ("Gil", "pass", "pass", "2/2")
    )
    cells = [(r["name"], r["task 1"], r["task 2"], r["total"]) for r in rows]
    assert cells == [
        ("Ada", "pass", "pass", "2/2"),
        ("Bob", "not started", "not started", "0/2"),
        ("Cy", "fail", "pass", "1/2"),
        ("Di", "pass", "fail", "1/2"),
        (HOSTILE_NAME, "error", "error", "0/2"),
        ("Eve", "fail", "not started", "0/2"),  # task 1 hangs: its grader stops it at 20 s
        ("Fay", "error", "error", "0/2"),
        gil,
    ], done.stderr
    notes = {r["name"]: r["note"] for r in rows}
    assert notes[HOSTILE_NAME] == f"missing: no folder {tmp / 'nowhere'}"
    assert notes["Fay"] == f"unreadable: {tmp / 'fay.txt'} is not a folder"
    assert notes["Ada"] == notes["Di"] == ""
    assert list(rows[0]) == ["name", "folder", "task 1", "task 2", "total", "note"]


def test_a_hostile_learner_is_held_by_its_limits_and_leaves_nothing_running(graded):
    done, out, _ = graded
    (report,) = (out / "learners").glob("*-Eve.json")
    document = json.loads(report.read_text(encoding="utf-8"))
    tasks = document["tasks"]
    said = " ".join(tasks[0]["failures"])
    assert "was still running after 20s" in said, said
    assert "memory: refused" in said, "RLIMIT_AS must stop it"
    if "namespaces" in done.stderr.splitlines()[0]:
        assert "forks: refused" in said, "RLIMIT_NPROC must stop it (a uid of its own)"
        assert not processes_of(document["uid"]), "a process of the learner survived"


def test_the_html_is_the_same_table_escaped_and_self_contained(graded):
    _, out, _ = graded
    page = (out / "gradebook.html").read_text(encoding="utf-8")
    assert HOSTILE_NAME not in page and html.escape(HOSTILE_NAME) in page
    assert "<script" not in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page), "no external assets"
    assert page.count("<tr>") == 1 + 8
    assert '<td class="pass">pass</td>' in page
    # a failure is one click away: its diff and the task's hint inside <details>
    di = next(row for row in page.split("<tr>") if "<th>Di</th>" in row)
    assert "<details><summary>fail</summary><pre>" in di
    assert "--- expected" in di and "Hint for task 2:" in di
    assert 'href="learners/04-Di.json"' in di


def test_each_learner_has_a_json_report(graded):
    _, out, _ = graded
    reports = sorted(p.name for p in (out / "learners").glob("*.json"))
    assert len(reports) == 8 and reports[0] == "01-Ada.json", reports
    ada = json.loads((out / "learners" / "01-Ada.json").read_text(encoding="utf-8"))
    assert ada["version"] == 3 and ada["learner"] == "Ada"
    assert [(t["number"], t["status"]) for t in ada["tasks"]] == [(1, "pass"), (2, "pass")]


def test_progress_goes_to_stderr(graded):
    done, _, _ = graded
    assert re.search(r"\[#+-*\] 8/8 graded", done.stderr), done.stderr
    assert done.stdout == ""


def test_a_learner_past_the_timeout_is_stopped_with_all_its_processes(tmp_path):
    folder = solved(tmp_path / "slow")
    (folder / "0-redis_client.py").write_text(NEVER_EXITS, encoding="utf-8")
    roster = tmp_path / "roster.csv"
    roster.write_text("name,folder\nSlow,slow\n", encoding="utf-8")
    # 10 s: before the harness's own 20 s limit on the script, so the gradebook stops it
    (slow,) = gradebook.grade_class(roster, tmp_path / "out", [1], timeout=10)
    assert slow.cells == {1: "timeout"}
    assert slow.note == "timeout: stopped after 10 s (every process killed)"
    rows = read_csv(tmp_path / "out" / "gradebook.csv")
    assert [(r["name"], r["task 1"], r["note"]) for r in rows] == [("Slow", "timeout", slow.note)]
    if gradebook.isolation().namespaces:
        assert not processes_of(slow.uid), "the daemon it left must be killed with it"


def test_roster_errors_are_one_line(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("learner,path\na,b\n", encoding="utf-8")
    done = subprocess.run(
        [str(GRADE), "--class", str(roster)], cwd=REPO, capture_output=True, text=True
    )
    assert done.returncode == 2
    assert (
        done.stderr.strip() == f"grade: {roster}: the first line must be the header 'name,folder'"
    )


def test_roster_paths_are_relative_to_the_roster(tmp_path):
    roster = tmp_path / "sub" / "roster.csv"
    roster.parent.mkdir()
    roster.write_text("name,folder\nA,../a\nB,/abs/b\nC,https://example.org/c.git\n\n")
    learners = gradebook.read_roster(roster)
    assert [lr.source for lr in learners] == [
        str(tmp_path / "sub" / ".." / "a"),
        "/abs/b",
        "https://example.org/c.git",
    ]
    assert [lr.slug for lr in learners] == ["01-A", "02-B", "03-C"]


@pytest.mark.skipif(not gradebook.isolation().namespaces, reason="needs root and unshare")
def test_a_learner_cannot_read_another_workspace_or_the_solutions(tmp_path, request):
    """The sandbox itself, probed by a script that tries what a curious learner would."""
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import json, os, socket, sys\n"
        "def read(p):\n"
        "    try:\n"
        "        return sorted(os.listdir(p)) if os.path.isdir(p) else open(p).read()[:9]\n"
        "    except OSError as e:\n"
        "        return type(e).__name__\n"
        "s = socket.socket(); s.settimeout(2)\n"
        "port = 'open' if s.connect_ex(('127.0.0.1', 6379)) == 0 else 'closed'\n"
        "print(json.dumps({'uid': os.getuid(), 'other': read(sys.argv[1]),\n"
        "  'solutions': read(sys.argv[2]), 'root': read('/root'), 'port': port,\n"
        "  'procs': len([p for p in os.listdir('/proc') if p.isdigit()])}))\n",
        encoding="utf-8",
    )
    run_dir = Path(tempfile.mkdtemp(prefix="gradebook-test-"))  # pytest's tmp is root-only
    os.chmod(run_dir, 0o711)
    request.addfinalizer(lambda: shutil.rmtree(run_dir, ignore_errors=True))
    (run_dir / "stage").mkdir(mode=0o700)
    found = gradebook.isolation()
    settings = gradebook.Settings(
        numbers=[1],
        timeout=30,
        memory_mb=512,
        processes=64,
        isolation=found,
        hide=gradebook.secret_paths([]),
        grader=gradebook.make_grader_copy(run_dir / "grader"),
        run_dir=run_dir,
        uid_base=gradebook.UID_BASE,
    )
    workspaces = []
    for index in (1, 2):
        workspace = run_dir / f"0{index}"
        workspace.mkdir(mode=0o700)
        for part in ("home", "tmp", "run", "run-work"):
            (workspace / part).mkdir()
        shutil.copy(probe, workspace / "probe.py")
        gradebook._chown_tree(workspace, gradebook.UID_BASE + index, gradebook.UID_BASE + index)
        workspaces.append(workspace)
    shutil.copy(REPO / "solutions" / "1-redis_op.py", workspaces[1] / "secret.py")
    code, output, timed_out = gradebook.run_sandboxed(
        [
            gradebook.sys.executable,
            str(workspaces[0] / "probe.py"),
            str(workspaces[1]),
            str(REPO / "solutions"),
        ],
        workspaces[0],
        settings,
        gradebook.UID_BASE + 1,
        gradebook.UID_BASE + 1,
        30,
    )
    assert (code, timed_out) == (0, False), output
    seen = json.loads(output.strip().splitlines()[-1])
    assert seen["uid"] == gradebook.UID_BASE + 1
    assert seen["other"] == "PermissionError", "another learner's workspace is readable"
    assert seen["solutions"] == [], "solutions/ must look empty"
    assert ".pyenv" not in os.listdir("/root") or seen["root"] in ([".pyenv"], "PermissionError")
    assert seen["port"] == "closed", "the network must be a loopback of its own"
    assert seen["procs"] <= 3, "only its own processes are visible"


def test_without_isolation_the_limits_and_the_timeout_still_grade(tmp_path):
    """What a gradebook run by an ordinary user does (no uid, no namespaces)."""
    solved(tmp_path / "ada")
    shutil.copytree(REPO / "exercises", tmp_path / "bob", ignore=IGNORE)
    roster = tmp_path / "roster.csv"
    roster.write_text("name,folder\nAda,ada\nBob,bob\n", encoding="utf-8")
    ada, bob = gradebook.grade_class(roster, tmp_path / "out", [1], jobs=2, isolate=False)
    assert (ada.cells, ada.uid, bob.cells) == ({1: "pass"}, None, {1: "not_started"})
    page = (tmp_path / "out" / "gradebook.html").read_text(encoding="utf-8")
    assert "none between learners (not root)" in page
