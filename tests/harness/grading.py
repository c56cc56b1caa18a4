"""The grading plugin: options, the graded folders, the order of graders, and the report.

Loaded by pyproject's ``addopts`` (``-p harness.grading``) before any conftest, so its
options are known in any form and from any working directory::

  --target solutions|exercises|PATH   folder to grade (repeatable; default solutions)
  --task N                            only the graders of task N (repeatable)
  --report-json FILE                  the JSON report (see below)
  --stop-task-on-failure              after a task's first failing grader on a target,
                                      skip that task's other graders there

A broken variant's folder (with ``VARIANT.md``, see ``toolkit.variants``) is graded by
its own task's graders only, the grader named on its ``Caught by:`` line first.

The report follows Exercism's test runner interface (``results.json`` version 3): the
top-level ``version``, ``status`` and ``message``, and per grader run ``name``,
``status`` (pass / fail / error), ``message``, ``output`` and ``task_id``. Beside them,
``grading_version`` (:data:`GRADING_VERSION`) and ``tasks``: one entry per (target,
task) with its ``status`` as data: pass, fail, not_started, timeout or error.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

PASS, FAIL, NOT_STARTED, TIMEOUT, ERROR = "pass", "fail", "not_started", "timeout", "error"
GRADING_VERSION = 1
VARIANT_NOTE = "VARIANT.md"
VARIANT_NAME = re.compile(r"task(\d\d)-[a-z0-9-]+")
STOPPED = "an earlier grader of this task already failed on this target"


class NotStarted(pytest.fail.Exception):
    """The task's file is missing or still the shipped stub (a failure of its own kind)."""


class TimedOut(pytest.fail.Exception):
    """The graded program did not do what was awaited in time."""


def not_started(message: str):
    raise NotStarted(message, pytrace=False)


def timed_out(message: str):
    raise TimedOut(message, pytrace=False)


# --- options and targets -------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("grading")
    group.addoption("--target", action="append", default=[], help="folder to grade")
    group.addoption("--task", action="append", type=int, default=[], help="grade task N only")
    group.addoption("--report-json", default=None, help="write a JSON report to this file")
    group.addoption(
        "--stop-task-on-failure",
        action="store_true",
        help="skip a task's remaining graders on a target after its first failure",
    )


def pytest_configure(config: pytest.Config) -> None:
    from harness.target import resolve_target

    config.addinivalue_line("markers", "task(number): grades course task NUMBER")
    targets = config.getoption("--target") or ["solutions"]
    config._graded_targets = [resolve_target(t) for t in targets]
    config._failed_pairs = set()
    config._grading_results = []
    config.pluginmanager.register(GradingResults(config), "grading-results")


def variant_of(folder: Path) -> tuple[int, str | None] | None:
    """(task, the grader that must catch it) of a broken variant's folder, else None."""
    note = folder / VARIANT_NOTE
    match = VARIANT_NAME.fullmatch(folder.name)
    if not match or not note.is_file():
        return None
    caught = re.search(r"^Caught by:\s*(\S+)", note.read_text(encoding="utf-8"), re.M)
    return int(match.group(1)), caught.group(1) if caught else None


def task_number(item: pytest.Item) -> int | None:
    marker = item.get_closest_marker("task")
    return marker.args[0] if marker else None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "target" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("task")
    number = marker.args[0] if marker else None
    folders = [
        folder
        for folder in metafunc.config._graded_targets
        if (variant := variant_of(folder)) is None or variant[0] == number
    ]
    metafunc.parametrize(
        "target", folders, ids=[f.name for f in folders], indirect=True, scope="session"
    )


def _target_of(item: pytest.Item) -> str | None:
    callspec = getattr(item, "callspec", None)
    folder = callspec.params.get("target") if callspec else None
    return str(folder) if folder else None


GRADER_MODULE = re.compile(r"test_task(\d\d)_\w+\.py")


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """With ``--task``, leave other test modules uncollected (only ``test_taskNN_*`` grade)."""
    wanted = config.getoption("--task")
    if not wanted:
        return None
    if collection_path.is_dir():  # a folder without graders (tests/pykue, ...)
        return not any(collection_path.glob("test_task[0-9][0-9]_*.py")) or None
    name = collection_path.name
    if name.startswith("test_") and name.endswith(".py"):
        match = GRADER_MODULE.fullmatch(name)
        return match is None or int(match.group(1)) not in wanted or None
    return None


@pytest.hookimpl(tryfirst=True)  # before xdist reads the xdist_group markers
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted = set(config.getoption("--task"))
    if wanted:
        keep = [item for item in items if task_number(item) in wanted]
        config.hook.pytest_deselected(items=[i for i in items if i not in keep])
        items[:] = keep
    if config.getoption("--stop-task-on-failure"):
        # Under xdist --dist loadgroup, one task's graders on one target run in one worker,
        # in order, so the task's first failure there can skip the rest of it; the tasks
        # spread over the workers.
        for item in items:
            group = f"{_target_of(item) or 'none'}::task{task_number(item)}"
            item.add_marker(pytest.mark.xdist_group(name=group))


@pytest.hookimpl(tryfirst=True)  # after every modifyitems, before xdist sends the order
def pytest_collection_finish(session: pytest.Session) -> None:
    """A variant's declared grader (``Caught by:``) runs first on it."""

    def declared(item: pytest.Item) -> bool:
        target = _target_of(item)
        variant = variant_of(Path(target)) if target else None
        return bool(variant and variant[1] and item.originalname == variant[1])

    items = session.items
    first = [item for item in items if declared(item)]
    if first:
        items[:] = first + [item for item in items if not declared(item)]


def pytest_runtest_setup(item: pytest.Item) -> None:
    config = item.config
    if config.getoption("--stop-task-on-failure"):
        if (_target_of(item), task_number(item)) in config._failed_pairs:
            pytest.skip(STOPPED)


def kind_of(report: pytest.TestReport, excinfo: pytest.ExceptionInfo | None) -> str:
    """The grading status of one report: pass, fail, not_started, timeout or error."""
    if report.passed or report.skipped:
        return PASS if report.passed else "skip"
    if excinfo is None:
        return ERROR
    if excinfo.errisinstance(NotStarted):
        return NOT_STARTED
    if excinfo.errisinstance(TimedOut) or _caused_by_timeout(excinfo.value):
        return TIMEOUT
    if report.when != "call" or not excinfo.errisinstance((pytest.fail.Exception, AssertionError)):
        return ERROR  # a fixture broke, or the grader itself crashed
    return FAIL


def _caused_by_timeout(error: BaseException | None) -> bool:
    seen = 0
    while error is not None and seen < 10:
        if isinstance(error, subprocess.TimeoutExpired | TimeoutError):
            return True
        error, seen = error.__context__, seen + 1
    return False


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    """Tag each report with its task, target and status; they travel with it (also from
    xdist workers)."""
    report = yield
    number = task_number(item)
    if number is not None:
        kind = kind_of(report, call.excinfo)
        if kind == "skip" and report.longrepr and STOPPED in str(report.longrepr):
            kind = "stopped"
        report.user_properties.append(
            (
                "grading",
                {
                    "task": number,
                    "target": _target_of(item),
                    "status": kind,
                    "test": item.originalname,
                },
            )
        )
        if report.failed:
            item.config._failed_pairs.add((_target_of(item), number))
    return report


class GradingResults:
    """Collects grader results for ``--report-json`` where the session is reported.

    Under xdist that is the controller, which receives the workers' reports.
    """

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        tags = dict(report.user_properties).get("grading")
        if tags is None or tags["status"] == "stopped":
            return
        if tags["status"] == PASS and report.when != "call":
            return  # setup and teardown that passed say nothing
        if tags["status"] == "skip" and report.when == "teardown":
            return
        self.config._grading_results.append(
            {
                "name": report.nodeid,
                "status": tags["status"],
                "message": _message(report),
                "output": report.capstdout or None,
                "task_id": tags["task"],
                "target": tags["target"],
                "test": tags["test"],  # the grader function, without parameters
            }
        )

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.config._collection_errors = [
                *getattr(self.config, "_collection_errors", []),
                f"{report.nodeid}: {_message(report)}",
            ]


def _message(report) -> str | None:
    if report.skipped:
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        return "not checked: " + reason.removeprefix("Skipped: ")
    if not report.failed:
        return None
    crash = getattr(report.longrepr, "reprcrash", None)
    full = str(report.longrepr)
    return full if len(full) < 4000 else (crash.message if crash else full[:4000])


def task_status(statuses: list[str]) -> str:
    """A task's status from its graders' (a skipped grader leaves the task unproven)."""
    for status in (ERROR, TIMEOUT, FAIL):
        if status in statuses:
            return status
    if statuses and all(s == NOT_STARTED for s in statuses):
        return NOT_STARTED
    if NOT_STARTED in statuses or "skip" in statuses or not statuses:
        return FAIL
    return PASS


def build_report(results: list[dict], collection_errors: list[str]) -> dict:
    """The Exercism-style document of a session's grader results, with the task summary."""
    tasks: dict[tuple[str, int], dict] = {}
    for entry in results:
        key = (entry["target"] or "", entry["task_id"])
        slot = tasks.setdefault(
            key, {"target": entry["target"], "task": entry["task_id"], "statuses": []}
        )
        slot["statuses"].append(entry["status"])
    summary = []
    for key in sorted(tasks):
        slot = tasks[key]
        statuses = slot.pop("statuses")
        mine = [e for e in results if (e["target"] or "", e["task_id"]) == key]
        slot["status"] = task_status(statuses)
        slot["tests_run"] = sum(1 for s in statuses if s != "skip")
        slot["failures"] = [e["message"] for e in mine if e["status"] not in (PASS,)]
        failing = [e for e in mine if e["status"] not in (PASS, "skip")]
        slot["first_failure"] = failing[0]["name"] if failing else None
        slot["first_failing_test"] = failing[0]["test"] if failing else None
        summary.append(slot)
    tests = [
        {
            **entry,
            # Exercism knows pass, fail and error: a stub or a timeout is a failed test
            "status": {NOT_STARTED: FAIL, TIMEOUT: FAIL, "skip": FAIL}.get(
                entry["status"], entry["status"]
            ),
            "grading_status": entry["status"],
        }
        for entry in results
    ]
    if collection_errors:
        status, message = ERROR, "\n".join(collection_errors)
    else:
        status = PASS if tests and all(t["status"] == PASS for t in tests) else FAIL
        message = None
    return {
        "version": 3,
        "status": status,
        "message": message,
        "tests": tests,
        "grading_version": GRADING_VERSION,
        "tasks": summary,
    }


def pytest_sessionfinish(session: pytest.Session) -> None:
    path = session.config.getoption("--report-json")
    if not path or hasattr(session.config, "workerinput"):  # an xdist worker: the controller writes
        return
    report = build_report(
        session.config._grading_results, getattr(session.config, "_collection_errors", [])
    )
    Path(path).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
