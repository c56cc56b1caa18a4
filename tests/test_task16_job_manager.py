"""Task 16 — ``103-job_manager.py``: define / now / start, retries, requeue, the job page.

The module is imported in-process for the manager's API (handlers of the grader's own,
several managers racing on one identifier). The script runs as a real server on a free
port: one instance on a Redis of this module's own serves the read-only checks (demo
output, ``/api/job-details``, error replies, the HTML page); the requeue, signal and
``config.json`` checks start their own instance.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import sys
import threading
import time
from collections import Counter

import pytest

from harness.compare import expect_lines, expect_same_lines_any_order
from harness.process import script_env
from harness.webserver import HOST, Servers, WebServer, start_redis
from toolkit.redis_servers import free_port

FILE = "103-job_manager.py"
LABEL = "task 16"

START = [
    "Job 1 created for identifier welcome-ada",
    "Job 1 already exists for identifier welcome-ada",
    "Job 2 created for identifier welcome-bob",
    "Job 3 created for identifier avatar-42",
]


def attempts(job_id: int, first: str, error: str) -> list[str]:
    """The lines of a demo job that fails all 4 attempts."""
    lines = []
    for n in range(1, 5):
        lines += [first, f"Job {job_id} attempt {n}/4 failed: {error}"]
    return [*lines, f"Job {job_id} failed after 4 attempts"]


GROUPS = {
    "job 1": ["Sending email to ada@example.com", "Job 1 completed (attempt 1/4)"],
    "job 2": attempts(2, "Sending email to bob", "handler returned False"),
    "job 3": attempts(3, "Resizing avatars/42.png to 128px", "avatars/42.png does not exist"),
}
RUN_LINES = [line for lines in GROUPS.values() for line in lines]
FINISHED = ("complete", "failed")


def page_line(port: int) -> str:
    return f"Job page: http://{HOST}:{port}/"


# -- helpers ---------------------------------------------------------------------------------


@pytest.fixture
def module(target, monkeypatch):
    return target.load_module(FILE, monkeypatch)


@pytest.fixture
def managers(module, redis_url):
    """``make(retries=3, url=None)``: a JobManager on the test database; shut down after."""
    made = []

    def make(retries: int = 3, url: str | None = None):
        manager = module.JobManager(url or redis_url, retries=retries)
        made.append(manager)
        return manager

    yield make
    for manager in made:
        manager.shutdown()


def wait_for(manager, job_id: int, timeout: float = 10) -> dict:
    """Poll ``job_details()`` until job ``job_id`` is complete or failed; its details."""
    deadline = time.monotonic() + timeout
    while True:
        found = {job["id"]: job for job in manager.job_details()}
        job = found.get(job_id)
        if job is not None and job["state"] in FINISHED:
            return job
        if time.monotonic() > deadline:
            pytest.fail(
                f"{LABEL}: job {job_id} did not finish (complete or failed) within "
                f"{timeout:g}s. job_details() says: {json.dumps(job)}",
                pytrace=False,
            )
        time.sleep(0.02)


def wait_calls(calls: Counter, wanted: dict, timeout: float = 5) -> None:
    """Wait until the handler-call counts reach ``wanted`` (the test then checks them)."""
    deadline = time.monotonic() + timeout
    while any(calls[k] < n for k, n in wanted.items()) and time.monotonic() < deadline:
        time.sleep(0.02)


def details(server: WebServer) -> dict[int, dict]:
    reply = server.http.get("/api/job-details")
    if reply.status_code != 200:
        server.fail(f"GET /api/job-details answered {reply.status_code} {reply.text[:300]}")
    try:
        jobs = reply.json()
    except ValueError:
        server.fail(f"GET /api/job-details is not JSON: {reply.text[:300]}")
    if not isinstance(jobs, list):
        server.fail(f"GET /api/job-details should be a JSON list, got {reply.text[:300]}")
    return {job.get("id"): job for job in jobs}


def wait_demo_finished(server: WebServer, runs: dict[int, int] | None = None) -> dict:
    """Wait until jobs 1-3 are complete or failed (with at least ``runs`` runs); details.

    A finished job does not change any more, so a wrong result is reported at once by the
    test's own checks rather than as a timeout.
    """
    timeout = 8 if runs else 15
    runs = runs or {1: 0, 2: 0, 3: 0}
    deadline = time.monotonic() + timeout
    while True:
        jobs = details(server)
        if all(
            jobs.get(i, {}).get("state") in FINISHED and (not n or jobs[i].get("runs", 0) >= n)
            for i, n in runs.items()
        ):
            return jobs
        if time.monotonic() > deadline:
            shown = json.dumps([jobs.get(i) for i in runs], indent=1)
            server.fail(f"jobs {sorted(runs)} did not finish within {timeout}s; details:\n{shown}")
        time.sleep(0.05)


def settled_lines(server: WebServer, count: int, timeout: float = 3) -> list[str]:
    """The app's lines once ``count`` arrived, or whatever came within ``timeout`` s.

    Called once the jobs are finished: their lines were printed before that, so only the
    pipe may still be carrying them. The test compares the lines and shows a diff.
    """
    deadline = time.monotonic() + timeout
    while len(server.app_lines()) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    return server.app_lines()


def post_requeue(server: WebServer, body: bytes | str):
    return server.http.post(
        "/api/requeue-job", content=body, headers={"Content-Type": "application/json"}
    )


@pytest.fixture(scope="module")
def demo(target, redis_server):
    """The script on a Redis of this module's own (no test flushes it): (server, url)."""
    own = start_redis(redis_server.kind)
    servers = Servers(target, script_env(own.url))
    try:
        yield servers.script(FILE), own.url
    finally:
        servers.close()
        own.stop()


# -- the manager, in-process -----------------------------------------------------------------


@pytest.mark.task(16)
def test_now_with_a_known_identifier_creates_no_second_job(target, managers):
    manager = managers()
    first = manager.now({"n": 1}, "note", "order-7")
    again = manager.now({"n": 2}, "note", "order-7")
    other = manager.now({"n": 3}, "note", "order-8")
    assert tuple(first) == (1, True), f"{LABEL}: the first now() should return (1, True)"
    assert tuple(again) == (1, False), (
        f"{LABEL}: now() with the identifier of job 1 returned {tuple(again)}; "
        "it must create nothing and return (1, False)"
    )
    assert tuple(other) == (2, True), f"{LABEL}: a new identifier should create job 2"
    jobs = {job["id"]: job for job in manager.job_details()}
    assert sorted(jobs) == [1, 2], f"{LABEL}: expected jobs 1 and 2, found {sorted(jobs)}"
    assert (jobs[1]["identifier"], jobs[1]["data"]) == ("order-7", {"n": 1})
    assert (jobs[2]["identifier"], jobs[2]["data"]) == ("order-8", {"n": 3})


def race(racers, identifier: str) -> tuple[list[tuple], list[str]]:
    """Every manager calls ``now(..., identifier)`` at the same moment; results, errors."""
    barrier = threading.Barrier(len(racers))
    results, errors = [], []

    def one(manager):
        barrier.wait()
        try:
            results.append(tuple(manager.now({"by": id(manager)}, "note", identifier)))
        except Exception as exc:  # reported by the test, with the others
            errors.append(repr(exc))

    threads = [threading.Thread(target=one, args=(m,)) for m in racers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(15)
    return results, errors


@pytest.mark.task(16)
def test_now_is_one_atomic_step_across_managers(target, managers):
    racers = [managers() for _ in range(8)]
    for manager in racers:  # connect first, so the race is not decided by connecting
        manager.job_details()
    for round_number in range(5):
        results, errors = race(racers, f"race-{round_number}")
        assert not errors, f"{LABEL}: now() raised while racing: {errors}"
        created = [job_id for job_id, made in results if made]
        assert len(created) == 1 and len({job_id for job_id, _ in results}) == 1, (
            f"{LABEL}: 8 managers called now() with the same identifier at once and got "
            f"{sorted(results)}: exactly one must create the job, all must get its id "
            "(check and create in ONE atomic step, e.g. SET NX)"
        )
    assert len(racers[0].job_details()) == 5, f"{LABEL}: 5 identifiers must give 5 jobs"


@pytest.mark.task(16)
def test_handlers_true_false_and_exceptions_with_retries(target, managers):
    manager = managers(retries=2)
    calls: Counter = Counter()
    lock = threading.Lock()

    def counted(outcome):
        def handler(job):
            with lock:
                calls[job.id] += 1
                n = calls[job.id]
            return outcome(n)

        return handler

    def raises(n):
        raise ValueError("card declined")

    async def async_false(job):
        with lock:
            calls[job.id] += 1
        return False

    manager.define("ok", counted(lambda n: True))
    manager.define("flaky", counted(lambda n: n >= 2))  # False once, then True
    manager.define("no", counted(lambda n: False))
    manager.define("boom", counted(raises))
    manager.define("async_no", async_false)
    ids = {
        name: manager.now({"name": name}, name, f"id-{name}").job_id
        for name in ("ok", "flaky", "no", "boom", "async_no")
    }
    manager.start()
    expected = {
        "ok": ("complete", 1, None),
        "flaky": ("complete", 2, None),
        "no": ("failed", 3, "handler returned False"),
        "boom": ("failed", 3, "card declined"),
        "async_no": ("failed", 3, "handler returned False"),
    }
    for name, (state, runs, error) in expected.items():
        job = wait_for(manager, ids[name])
        seen = (job["state"], calls[ids[name]], job["error"] if state == "failed" else None)
        assert seen == (state, runs, error), (
            f"{LABEL}: with retries=2, a handler that {describe(name)} should end "
            f"{state} after {runs} run(s) (error {error!r}); it ended {job['state']} after "
            f"{calls[ids[name]]} run(s) (error {job['error']!r})"
        )
        assert (job["attempts"], job["maxAttempts"], job["runs"]) == (runs, 3, runs), (
            f"{LABEL}: job details of the {name!r} job: attempts/maxAttempts/runs should be "
            f"{runs}/3/{runs}, got {job['attempts']}/{job['maxAttempts']}/{job['runs']}"
        )


def describe(name: str) -> str:
    return {
        "ok": "returns True",
        "flaky": "returns False once, then True",
        "no": "returns False",
        "boom": "raises ValueError('card declined')",
        "async_no": "is async and returns False",
    }[name]


@pytest.mark.task(16)
def test_run_at_delays_the_job(target, managers):
    manager = managers()
    ran_at = []
    manager.define("later", lambda job: ran_at.append(time.time() * 1000) or True)
    manager.start()
    run_at = int(time.time() * 1000) + 600
    job_id = manager.now({}, "later", "later-1", run_at=run_at).job_id
    state = {job["id"]: job for job in manager.job_details()}[job_id]["state"]
    assert state == "delayed", f"{LABEL}: a job with run_at in the future is {state!r}"
    wait_for(manager, job_id)
    assert ran_at and ran_at[0] >= run_at - 50, (
        f"{LABEL}: the job ran {run_at - ran_at[0]:.0f} ms before its run_at"
    )


@pytest.mark.task(16)
def test_requeue_runs_a_failed_or_complete_job_again(target, module, managers):
    manager = managers(retries=0)
    calls: Counter = Counter()
    manager.define("no", lambda job: calls.update([job.id]) or False)
    manager.define("ok", lambda job: calls.update([job.id]) or True)
    failed = manager.now({}, "no", "no-1").job_id
    done = manager.now({}, "ok", "ok-1").job_id
    manager.start()
    wait_for(manager, failed)
    wait_for(manager, done)
    manager.requeue(failed)
    manager.requeue(done)
    wait_calls(calls, {failed: 2, done: 2})
    again = wait_for(manager, failed)
    wait_for(manager, done)
    assert (calls[failed], calls[done]) == (2, 2), (
        f"{LABEL}: after requeue(), the failed and the complete job should each have run "
        f"twice; they ran {calls[failed]} and {calls[done]} time(s)"
    )
    assert (again["attempts"], again["runs"]) == (1, 2), (
        f"{LABEL}: a requeued job starts its attempts over (attempts 1) and its log keeps "
        f"both runs (runs 2); got attempts {again['attempts']}, runs {again['runs']}"
    )
    with pytest.raises(module.JobNotFound):
        manager.requeue(999)


# -- the script: demo output, API and page (one shared server) -------------------------------


@pytest.mark.task(16)
def test_demo_output(target, demo):
    server, _ = demo
    wait_demo_finished(server)
    lines = settled_lines(server, len(START) + 1 + len(RUN_LINES))
    expect_lines(LABEL, [*START, page_line(server.port)], lines[: len(START) + 1])
    expect_same_lines_any_order(LABEL, RUN_LINES, lines[len(START) + 1 :], GROUPS)


@pytest.mark.task(16)
def test_job_details_api(target, demo):
    server, _ = demo
    jobs = wait_demo_finished(server)
    expected = {
        1: ("send_email", "welcome-ada", "complete", 1, None),
        2: ("send_email", "welcome-bob", "failed", 4, "handler returned False"),
        3: ("resize_image", "avatar-42", "failed", 4, "avatars/42.png does not exist"),
    }
    for job_id, (name, identifier, state, runs, error) in expected.items():
        job = jobs[job_id]
        missing = {"id", "name", "identifier", "state", "attempts", "maxAttempts", "runs"}
        missing |= {"data", "error", "log", "createdAt", "updatedAt"}
        missing -= set(job)
        assert not missing, f"{LABEL}: job {job_id} in /api/job-details lacks {sorted(missing)}"
        seen = (job["name"], job["identifier"], job["state"], job["attempts"], job["error"])
        assert seen == (name, identifier, state, runs, error), (
            f"{LABEL}: /api/job-details job {job_id}: expected name, identifier, state, "
            f"attempts, error = {(name, identifier, state, runs, error)}, got {seen}"
        )
        assert job["maxAttempts"] == 4 and len(job["log"]) == runs, (
            f"{LABEL}: job {job_id}: maxAttempts should be 4 and the log {runs} line(s)"
        )
        assert isinstance(job["createdAt"], int) and isinstance(job["updatedAt"], int), (
            f"{LABEL}: createdAt and updatedAt are epoch milliseconds (int)"
        )
    assert jobs[1]["data"] == {"to": "ada@example.com", "subject": "Welcome"}, (
        f"{LABEL}: job 1 keeps the data of the first now() call, got {jobs[1]['data']}"
    )


BAD_BODIES = [
    "not json",
    "[2]",
    "{}",
    '{"jobId": ""}',
    '{"jobId": true}',
    '{"jobId": 1.5}',
    '{"jobId": null}',
    '{"job": 2}',
]


@pytest.mark.task(16)
def test_requeue_api_refuses_bad_requests_clearly(target, demo, module, managers):
    server, url = demo
    wait_demo_finished(server)
    for body in BAD_BODIES:
        reply = post_requeue(server, body)
        assert reply.status_code == 400 and "error" in _json(reply), (
            f"{LABEL}: POST /api/requeue-job with body {body!r} answered "
            f'{reply.status_code} {reply.text[:200]}; expected 400 with an "error" message'
        )
    for body in ('{"jobId": 999}', '{"jobId": "no-such-identifier"}'):
        reply = post_requeue(server, body)
        assert reply.status_code == 404 and "error" in _json(reply), (
            f"{LABEL}: requeue-job {body} (no such job) answered {reply.status_code} "
            f"{reply.text[:200]}; expected 404"
        )
    waiting = managers(url=url).now({}, "not_defined", "waiting-forever").job_id
    reply = post_requeue(server, json.dumps({"jobId": waiting}))
    assert reply.status_code == 409 and "error" in _json(reply), (
        f"{LABEL}: requeue of job {waiting}, still inactive, answered {reply.status_code} "
        f"{reply.text[:200]}; expected 409 (only failed or complete jobs are requeued)"
    )


def _json(reply) -> dict:
    try:
        body = reply.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


@pytest.mark.task(16)
def test_job_page_lists_the_jobs_and_escapes_their_data(target, demo, module, managers):
    server, url = demo
    wait_demo_finished(server)
    evil = managers(url=url).now(
        {"note": "<script>alert('x')</script>", "q": "a&b"}, "not_defined", "<b>evil</b>"
    )
    reply = server.http.get("/")
    page = reply.text
    assert reply.status_code == 200 and "text/html" in reply.headers.get("content-type", ""), (
        f"{LABEL}: GET / should be an HTML page, got {reply.status_code} "
        f"{reply.headers.get('content-type')}"
    )
    for text in ("welcome-ada", "welcome-bob", "avatar-42", "send_email", "resize_image"):
        assert text in page, f"{LABEL}: the job page does not show {text!r}"
    for text in ("handler returned False", "avatars/42.png does not exist", "failed"):
        assert text in page, f"{LABEL}: the job page does not show {text!r}"
    assert "<script>alert(" not in page and "<b>evil</b>" not in page, (
        f"{LABEL}: the job page puts job {evil.job_id}'s data into the HTML unescaped: a "
        "job whose data holds <script> would run it in the browser (use html.escape)"
    )
    assert "&lt;script&gt;alert(" in page and "&lt;b&gt;evil&lt;/b&gt;" in page, (
        f"{LABEL}: the job page should show job {evil.job_id}'s data and identifier as "
        "escaped text (&lt;script&gt;...)"
    )
    buttons = len(re.findall(r"<button[^>]*>\s*Requeue\s*</button>", page, re.I))
    assert buttons >= 4, f"{LABEL}: the page should have a Requeue button per job ({buttons})"


# -- the script: requeue, signals, config.json (own servers) ---------------------------------


@pytest.mark.task(16)
def test_requeue_api_runs_the_job_again(target, servers):
    server = servers.script(FILE)
    wait_demo_finished(server)
    before = len(settled_lines(server, len(START) + 1 + len(RUN_LINES)))
    for body, job_id in (('{"jobId": 2}', 2), ('{"jobId": "1"}', 1)):
        reply = post_requeue(server, body)
        assert reply.status_code == 200 and reply.json() == {
            "message": "Job requeued successfully",
            "status": "requeued",
            "jobId": job_id,
        }, f"{LABEL}: POST /api/requeue-job {body} answered {reply.status_code} {reply.text}"
    wait_demo_finished(server, {1: 2, 2: 8})
    again = {"job 1": GROUPS["job 1"], "job 2": GROUPS["job 2"]}
    expected = [line for lines in again.values() for line in lines]
    lines = settled_lines(server, before + len(expected))
    expect_same_lines_any_order(LABEL, expected, lines[before:], again)
    code = server.signal(signal.SIGTERM)
    assert code == 0, f"{LABEL}: after SIGTERM the script should exit 0, not {code}"


def config_copy(target, tmp_path, config: dict):
    """The graded script copied into ``tmp_path`` next to a config.json holding ``config``."""
    path = tmp_path / FILE
    shutil.copyfile(target.script(FILE), path)
    (tmp_path / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return path


@pytest.mark.task(16)
def test_config_json_next_to_the_script_is_read(target, env, redis_url, tmp_path):
    port = free_port(HOST)
    path = config_copy(target, tmp_path, {"redis_url": redis_url, "retries": 1, "port": port})
    plain = {k: v for k, v in env.items() if k not in ("REDIS_URL", "PORT", "HOST")}
    argv = [sys.executable, str(path)]
    server = WebServer(argv, plain, cwd=tmp_path, label=LABEL, port=port)
    try:
        server.wait_ready()
        fails = ["Job 2 attempt 1/2 failed: handler returned False"]
        fails += ["Job 2 attempt 2/2 failed: handler returned False"]
        fails += ["Job 2 failed after 2 attempts"]
        server.wait_until(
            lambda out, _err: fails[-1] in out, "the demo with retries 1 from config.json"
        )
        lines = server.app_lines()
        expect_lines(LABEL, [*START, page_line(port)], lines[: len(START) + 1])
        seen = [line for line in lines if line.startswith(("Job 2 attempt", "Job 2 failed"))]
        expect_lines(LABEL, fails, seen, "output of job 2 (config.json says retries: 1)")
        code = server.signal(signal.SIGINT)
        assert code == 0, f"{LABEL}: after Ctrl+C (SIGINT) the script should exit 0, not {code}"
    finally:
        server.kill()


@pytest.mark.task(16)
def test_redis_url_overrides_config_json(target, env, tmp_path):
    dead = f"redis://{HOST}:{free_port(HOST)}/0"  # nothing listens there
    path = config_copy(target, tmp_path, {"redis_url": dead, "retries": 3, "port": 1})
    port = free_port(HOST)
    argv = [sys.executable, str(path)]
    server = WebServer(
        argv, dict(env, PORT=str(port), HOST=HOST), cwd=tmp_path, label=LABEL, port=port
    )
    try:
        server.wait_ready()
        lines = server.wait_for_app_lines(len(START) + 1)
        expect_lines(LABEL, [*START, page_line(port)], lines[: len(START) + 1])
        server.signal(signal.SIGTERM)
    finally:
        server.kill()
