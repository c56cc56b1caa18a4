"""The grading harness: options, the test Redis, the graded folder, and the JSON report.

Options:
  --target solutions|exercises|PATH   folder to grade (repeatable; default solutions)
  --task N                            only the graders of task N (repeatable)
  --report-json FILE                  one result per (target, task) for instructors and CI
  --stop-task-on-failure              after a task's first failing grader on a target,
                                      skip that task's other graders there (self-checks)
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import redis

from harness.process import LiveScript, run_script, script_env
from harness.target import Target, resolve_target
from toolkit.rdb import read_string_keys
from toolkit.redis_servers import DUMP_RDB, start_any
from toolkit.registry import task as registry_task


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
    targets = config.getoption("--target") or ["solutions"]
    config._graded_targets = [resolve_target(t) for t in targets]
    config._grading_results = []
    config._failed_pairs = set()
    config.pluginmanager.register(GradingResults(config), "grading-results")


def task_number(item: pytest.Item) -> int | None:
    marker = item.get_closest_marker("task")
    return marker.args[0] if marker else None


@pytest.hookimpl(tryfirst=True)  # before xdist reads the xdist_group markers
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--stop-task-on-failure"):
        # Under xdist --dist loadgroup, one target's graders run in one worker, in order, so
        # a task's first failure there can skip the rest of that task.
        for item in items:
            item.add_marker(pytest.mark.xdist_group(name=_target_of(item) or "none"))
    wanted = set(config.getoption("--task"))
    if not wanted:
        return
    keep = [item for item in items if task_number(item) in wanted]
    config.hook.pytest_deselected(items=[i for i in items if i not in keep])
    items[:] = keep


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "target" in metafunc.fixturenames:
        folders = metafunc.config._graded_targets
        metafunc.parametrize(
            "target", folders, ids=[f.name for f in folders], indirect=True, scope="session"
        )


def _target_of(item: pytest.Item) -> str | None:
    callspec = getattr(item, "callspec", None)
    folder = callspec.params.get("target") if callspec else None
    return str(folder) if folder else None


def pytest_runtest_setup(item: pytest.Item) -> None:
    config = item.config
    if config.getoption("--stop-task-on-failure"):
        pair = (_target_of(item), task_number(item))
        if pair in config._failed_pairs:
            pytest.skip("an earlier grader of this task already failed on this target")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    """Tag each report with its task and target; they travel with it (also from xdist workers)."""
    report = yield
    number = task_number(item)
    if number is not None:
        report.user_properties.append(("grading", {"task": number, "target": _target_of(item)}))
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
        failed_here = report.failed or (report.when == "call" and report.outcome != "skipped")
        if tags is None or not failed_here:
            return
        self.config._grading_results.append(
            {
                "nodeid": report.nodeid,
                "target": tags["target"],
                "task": tags["task"],
                "when": report.when,
                "outcome": report.outcome,
                "message": _short(report),
            }
        )


def _short(report: pytest.TestReport) -> str:
    if not report.failed:
        return ""
    text = getattr(report.longrepr, "reprcrash", None)
    full = str(report.longrepr)
    return full if len(full) < 4000 else (text.message if text else full[:4000])


def pytest_sessionfinish(session: pytest.Session) -> None:
    path = session.config.getoption("--report-json")
    if not path or hasattr(session.config, "workerinput"):  # an xdist worker: the controller writes
        return
    results: dict[tuple[str, int], dict] = {}
    for entry in session.config._grading_results:
        key = (entry["target"], entry["task"])
        slot = results.setdefault(
            key,
            {
                "target": entry["target"],
                "task": entry["task"],
                "passed": True,
                "tests": [],
                "failures": [],
            },
        )
        slot["tests"].append({"nodeid": entry["nodeid"], "outcome": entry["outcome"]})
        if entry["outcome"] == "failed":
            slot["passed"] = False
            slot["failures"].append(entry["message"])
    report = []
    for (_, number), slot in sorted(results.items(), key=lambda kv: (kv[0][0] or "", kv[0][1])):
        slot["title"] = registry_task(number).title
        slot["tests_run"] = sum(1 for t in slot["tests"] if t["outcome"] != "skipped")
        report.append(slot)
    Path(path).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


# --- fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_server():
    """A Redis for this test session on a free port: real when installed, else fakeredis.

    ``REDIS_TEST_SERVER=real|fake`` forces one. Never the Redis on port 6379.
    """
    server = start_any()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def dump_keys() -> dict[bytes, bytes]:
    """The keys of ``dump.rdb`` that every test database starts with."""
    return read_string_keys(DUMP_RDB)


@pytest.fixture
def redis_url(redis_server, dump_keys) -> str:
    """URL of a fresh database holding only the keys of ``dump.rdb``."""
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    for key, value in dump_keys.items():
        client.set(key, value)
    client.close()
    return redis_server.url


@pytest.fixture
def redis_client(redis_url):
    """A client (str replies) on the fresh test database, for checking what scripts stored."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    client.close()


@pytest.fixture(scope="session")
def target(request) -> Target:
    """The graded folder (parametrized over every ``--target``)."""
    return Target(request.param)


@pytest.fixture
def env(redis_url) -> dict[str, str]:
    """Environment for a graded script: REDIS_URL of the fresh test database, unbuffered."""
    return script_env(redis_url)


@pytest.fixture
def run(target, env):
    """``run(filename, timeout=20, env=None)``: run a graded script to its end."""

    def _run(filename: str, timeout: float = 20, env_override: dict | None = None, args=()):
        path = target.script(filename)
        return run_script(
            path, env_override or env, label=target.label(filename), timeout=timeout, args=args
        )

    return _run


@pytest.fixture
def start(target, env):
    """``start(filename, env=None)``: start a long-running graded script; killed at teardown."""
    started: list[LiveScript] = []

    def _start(filename: str, env_override: dict | None = None, args=()) -> LiveScript:
        path = target.script(filename)
        live = LiveScript(path, env_override or env, label=target.label(filename), args=args)
        started.append(live)
        return live

    yield _start
    for live in started:
        live.kill()
