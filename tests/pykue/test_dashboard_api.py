"""pykue's dashboard API (issue #8 item 1): Kue's routes and shapes over real HTTP.

The app runs in uvicorn in a thread on a free port against the test Redis; workers run in
this process. A hypothesis test throws generated input at every route: never a 500.
What Kue's own clients send and accept is stated in test_dashboard_kue.py.
"""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from urllib.parse import quote

import pytest
from conftest import wait_until
from dashboard_server import Served, serving
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pykue
from pykue.check import check
from pykue.web import routes
from toolkit.redis_servers import free_port

REPO = Path(__file__).resolve().parents[2]
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def dashboard(make_queue):
    yield from serving(make_queue())


def fill_every_state(make_queue) -> tuple[dict[str, int], threading.Event]:
    """One job in each state (the active one held by a live worker until the Event is set).

    Returns {state: job id} and the Event that lets the active job finish.
    """
    producer = make_queue()
    # A lease far longer than the test: the active job stays active even when a loaded
    # machine delays the heartbeat past the fixture's usual 400 ms (it did, at load 11).
    worker = make_queue(lease_ms=30_000)
    release = threading.Event()
    ids = {}
    ids["complete"] = producer.create("ok", {"n": 1}).save().id
    ids["failed"] = producer.create("bad", {"n": 2}).save().id
    ids["delayed"] = producer.create("later", {"n": 3}).delay(60_000).save().id
    ids["inactive"] = producer.create("nobody", {"n": 4}).save().id
    ids["active"] = producer.create("slow", {"n": 5}).save().id
    worker.process("ok", lambda job: {"sent": True})
    worker.process("bad", lambda job: (_ for _ in ()).throw(RuntimeError("blacklisted")))
    worker.process("slow", lambda job: release.wait(20))

    def state(job_id):
        job = producer.get_job(job_id)
        return job and job.state

    for name in ("complete", "failed", "active"):
        wait_until(lambda n=name: state(ids[n]) == n, f"job {ids[name]} to be {name}")
    return ids, release


def test_stats_and_types_count_every_state(dashboard, make_queue):
    ids, release = fill_every_state(make_queue)
    try:
        stats = dashboard.http.get("/stats")
        assert stats.status_code == 200
        assert stats.json() == {
            "inactiveCount": 1,
            "delayedCount": 1,
            "activeCount": 1,
            "completeCount": 1,
            "failedCount": 1,
            "workTime": None,
        }
        assert dashboard.http.get("/job/types").json() == ["bad", "later", "nobody", "ok", "slow"]
        assert dashboard.http.get("/jobs/bad/failed/stats").json() == {"count": 1}
        assert dashboard.http.get("/jobs/ok/failed/stats").json() == {"count": 0}
        assert check(dashboard.queue) == []
    finally:
        release.set()


def test_job_json_has_kues_shape_and_log(dashboard, make_queue):
    queue = make_queue()

    def handler(job, finish):
        job.log("sending to %s", job.data["to"])
        job.progress(1, 2)
        finish(Exception("mailbox full"))

    job = queue.create("email", {"to": "bob"}).priority("high").attempts(1).save()
    queue.process("email", handler)
    wait_until(lambda: queue.get_job(job.id).state == "failed", "the job to fail")
    body = dashboard.http.get(f"/job/{job.id}").json()
    assert body["id"] == str(job.id)  # Kue sends the route's own id: a string
    assert (body["type"], body["data"], body["state"]) == ("email", {"to": "bob"}, "failed")
    assert (body["priority"], body["progress"], body["error"]) == (-10, "50", "mailbox full")
    assert body["attempts"] == {"made": 1, "remaining": 0, "max": 1}
    assert {"created_at", "updated_at", "failed_at", "started_at"} <= set(body)
    assert "result" not in body and "delay" not in body  # Kue leaves out what has no value
    assert dashboard.http.get(f"/job/{job.id}/log").json() == ["sending to bob"]


def test_lists_by_state_type_range_and_order(dashboard, make_queue):
    queue = make_queue()
    for n in range(5):
        queue.create("email" if n % 2 == 0 else "sms", {"n": n}).save()
    get = dashboard.http.get

    def ids(path):
        response = get(path)
        assert response.status_code == 200, response.text
        return [job["id"] for job in response.json()]

    assert ids("/jobs/0..-1/asc") == [1, 2, 3, 4, 5]
    assert ids("/jobs/0..1/desc") == [2, 1]  # Kue: the first two, reversed
    assert ids("/jobs/1..2") == [2, 3]
    assert ids("/jobs/3..1") == []  # Kue: ZRANGE 3 1
    assert ids("/jobs/inactive/0..-1/asc") == [1, 2, 3, 4, 5]
    assert ids("/jobs/inactive/0..0/desc") == [5]
    assert ids("/jobs/failed/0..-1/asc") == []
    assert ids("/jobs/email/inactive/0..-1/asc") == [1, 3, 5]
    assert ids("/jobs/sms/inactive/0..-1/desc") == [4, 2]
    assert ids("/jobs/email/inactive/1..1") == [3]
    assert get("/jobs/email/inactive/stats").json() == {"count": 3}


def test_restart_a_failed_job_and_a_worker_completes_it(dashboard, make_queue):
    queue = make_queue()
    job = queue.create("flaky", {"n": 1}).save()
    runs = []

    def handler(job):
        runs.append(job.id)
        if len(runs) == 1:
            raise RuntimeError("first run fails")
        return "ok"

    queue.process("flaky", handler)
    wait_until(lambda: queue.get_job(job.id).state == "failed", "the job to fail")
    response = dashboard.http.put(f"/job/{job.id}/state/inactive")
    assert (response.status_code, response.json()) == (200, {"message": "updated state"})
    wait_until(lambda: queue.get_job(job.id).state == "complete", "the restarted job to complete")
    assert runs == [job.id, job.id]
    assert dashboard.http.get(f"/job/{job.id}").json()["result"] == "ok"
    assert check(queue) == []


def test_put_state_moves_between_state_sets(dashboard, make_queue):
    queue = make_queue()
    job = queue.create("nobody").save()
    for state in ("failed", "complete", "delayed", "inactive", "failed"):
        assert dashboard.http.put(f"/job/{job.id}/state/{state}").status_code == 200
        assert dashboard.http.get(f"/job/{job.id}").json()["state"] == state
        counts = dashboard.http.get("/stats").json()
        assert counts[f"{state}Count"] == 1
        assert sum(v for k, v in counts.items() if k.endswith("Count")) == 1
        assert check(queue) == []


def test_put_priority_reorders_the_waiting_jobs(dashboard, make_queue):
    queue = make_queue()
    for n in range(3):
        queue.create("email", {"n": n}).save()
    response = dashboard.http.put("/job/3/priority/critical")
    assert (response.status_code, response.json()) == (200, {"message": "updated priority"})
    order = [j["id"] for j in dashboard.http.get("/jobs/email/inactive/0..-1/asc").json()]
    assert order == [3, 1, 2]
    assert dashboard.http.put("/job/1/priority/7").status_code == 200
    order = [j["id"] for j in dashboard.http.get("/jobs/email/inactive/0..-1/asc").json()]
    assert order == [3, 2, 1]
    assert dashboard.http.get("/job/3").json()["priority"] == -15
    assert check(queue) == []
    seen = []
    queue.process("email", lambda job: seen.append(job.id))
    wait_until(lambda: len(seen) == 3, "the three jobs to run")
    assert seen == [3, 2, 1]


def test_delete_removes_the_job_everywhere(dashboard, make_queue):
    queue = make_queue()
    job = queue.create("email", {"n": 1}).save()
    queue.create("email", {"n": 2}).save()
    response = dashboard.http.delete(f"/job/{job.id}")
    assert (response.status_code, response.json()) == (200, {"message": f"job {job.id} removed"})
    assert dashboard.http.get(f"/job/{job.id}").status_code == 404
    assert dashboard.http.delete(f"/job/{job.id}").status_code == 404
    assert dashboard.http.get("/stats").json()["inactiveCount"] == 1
    assert check(queue) == []


def test_post_creates_one_job_or_a_list(dashboard):
    post = dashboard.http.post
    one = post(
        "/job",
        json={
            "type": "email",
            "data": {"to": "<script>alert(1)</script>"},
            "options": {"priority": "high", "attempts": 3},
        },
    )
    assert (one.status_code, one.json()) == (200, {"message": "job created", "id": 1})
    job = dashboard.http.get("/job/1").json()
    assert (job["priority"], job["attempts"]["max"], job["state"]) == (-10, 3, "inactive")
    assert job["data"] == {"to": "<script>alert(1)</script>"}
    many = post(
        "/job",
        json=[{"type": "sms"}, {"type": "sms", "data": [1], "options": {"delay": 60_000}}],
    )
    assert many.status_code == 200
    assert many.json() == [{"message": "job created", "id": 2}, {"message": "job created", "id": 3}]
    assert dashboard.http.get("/job/3").json()["state"] == "delayed"
    assert dashboard.http.get("/job/2").json()["data"] == {}
    assert check(dashboard.queue) == []


BAD_REQUESTS = [
    ("GET", "/job/999", None, 404, "job 999 not found"),
    ("GET", "/job/999/log", None, 404, "not found"),
    ("GET", "/job/abc", None, 400, "positive integer"),
    ("GET", "/job/0", None, 400, "positive integer"),
    ("GET", "/job/01", None, 400, "positive integer"),
    ("GET", "/jobs/sleeping/0..1/asc", None, 400, "unknown state"),
    ("GET", "/jobs/0..x/asc", None, 400, "range must be FROM..TO"),
    ("GET", "/jobs/0..2/sideways", None, 400, "asc or desc"),
    ("GET", "/jobs/0..99999999999999999999/asc", None, 400, "range must be FROM..TO"),
    ("GET", "/jobs/email/zzz/stats", None, 400, "unknown state"),
    ("GET", "/job/search?q=" + "w" * 501, None, 400, "at most 500 characters"),
    ("GET", "/inactive/999", None, 404, "not found"),
    ("GET", "/nowhere", None, 404, "no such route"),
    ("PUT", "/job/1/state/bogus", None, 400, "unknown state"),
    ("PUT", "/job/999/state/failed", None, 404, "not found"),
    ("PUT", "/job/1/priority/urgent", None, 400, "priority must be one of"),
    ("PUT", "/job/1/priority/99999", None, 400, "-4095..4095"),
    ("PUT", "/job/999/priority/high", None, 404, "not found"),
    ("DELETE", "/job/x", None, 400, "positive integer"),
    ("POST", "/job", b"{nope", 400, "not valid JSON"),
    ("POST", "/job", b'{"type": "a", "data": NaN}', 400, "NaN is not a JSON number"),
    ("POST", "/job", b'{"type": "a", "data": "\\ud800"}', 400, "lone surrogate"),
    ("POST", "/job", b"42", 400, "must be an object"),
    ("POST", "/job", b'{"data": {}}', 400, "Must provide job type"),
    ("POST", "/job", b'{"type": ""}', 400, "Must provide job type"),
    ("POST", "/job", b'{"type": 5}', 400, "job.type must be a string"),
    ("POST", "/job", b'{"type": "a", "colour": 1}', 400, "unknown keys"),
    ("POST", "/job", b'{"type": "a", "options": {"speed": 1}}', 400, "unknown keys"),
    ("POST", "/job", b'{"type": "a", "options": {"priority": "top"}}', 400, "priority"),
    ("POST", "/job", b'{"type": "a", "options": {"priority": "5"}}', 400, "priority"),
    ("POST", "/job", b'{"type": "a", "options": {"attempts": 0}}', 400, "attempts"),
    ("POST", "/job", b'{"type": "a", "options": {"delay": -5}}', 400, "delay"),
    ("POST", "/job", b'{"type": "a", "options": {"removeOnComplete": 1}}', 400, "true or false"),
    ("POST", "/job", b'{"type": "a", "data": ' + b"[" * 80 + b"]" * 80 + b"}", 400, "deeper"),
    ("POST", "/job", b"[" * 50_000, 400, "deeper than 64"),
    ("POST", "/job", b'{"type": "' + b"x" * 1_000_001 + b'"}', 413, "larger than"),
]


def test_bad_requests_get_a_clear_json_error(dashboard, make_queue):
    make_queue().create("email").save()  # job 1
    wrong = []
    for method, path, body, status, words in BAD_REQUESTS:
        response = dashboard.http.request(method, path, content=body, headers=JSON)
        error = response.json().get("error", "") if response.text.startswith("{") else ""
        if response.status_code != status or words not in error:
            shown = (body or b"")[:60]
            wrong.append(
                f"{method} {path[:60]} {shown!r}: {response.status_code} {response.text[:200]}"
            )
    assert not wrong, "expected clear JSON errors:\n" + "\n".join(wrong)
    assert dashboard.http.get("/stats").json()["inactiveCount"] == 1  # nothing was created


def test_a_body_that_is_not_json_is_refused_unless_a_page_of_ours_sends_it(dashboard):
    form = dashboard.http.post(
        "/job", content=b"type=email", headers={"Content-Type": "text/plain"}
    )
    assert form.status_code == 415  # a cross-site <form> or no-cors fetch cannot send JSON
    assert dashboard.http.get("/stats").json()["inactiveCount"] == 0


def test_page_is_html_with_a_strict_content_security_policy(dashboard):
    response = dashboard.http.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    csp = response.headers["content-security-policy"]
    assert "script-src 'sha256-" in csp and "unsafe-inline" not in csp.split("style-src")[0]
    assert 'id="count-failed"' in response.text
    assert "innerHTML" not in response.text


def test_redis_down_is_a_503_not_a_500():
    port = free_port()
    served = Served(pykue.create_queue(f"redis://127.0.0.1:{port}/0", prefix="t"))
    try:
        response = served.http.get("/stats")
        assert response.status_code == 503
        assert "cannot reach Redis" in response.json()["error"]
    finally:
        served.close()
        served.queue.shutdown(timeout=0)


# -- property test: no input makes a route answer 500 --------------------------------------

ROUTES = sorted({route.path for route in routes.router.routes if "{" in route.path})


def fill(route: str, values: list[str]) -> str:
    """``route`` with its ``{parameters}`` replaced by ``values`` in turn."""
    it = iter(values)
    return re.sub(r"{\w+}", lambda _match: next(it), route)


SEGMENT = st.one_of(
    st.sampled_from(
        [
            "inactive",
            "active",
            "failed",
            "complete",
            "delayed",
            "stats",
            "asc",
            "desc",
            "1",
            "0",
            "-1",
            "0..-1",
            "1..0",
            "0..5",
            "email",
            "..",
            "%2F",
            "%00",
            "%ff",
            "%C3%A9",
        ]
    ),
    st.text(min_size=1, max_size=12).map(lambda s: quote(s, safe="")),
    st.integers(-(2**70), 2**70).map(str),
    st.tuples(st.integers(-(2**66), 2**66), st.integers(-(2**66), 2**66)).map(
        lambda t: f"{t[0]}..{t[1]}"
    ),
)
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
JOB_BODY = st.one_of(
    JSONISH,
    st.fixed_dictionaries(
        {"type": st.one_of(st.text(max_size=8), JSONISH)},
        optional={
            "data": JSONISH,
            "options": st.one_of(
                JSONISH,
                st.fixed_dictionaries(
                    {},
                    optional={
                        name: st.one_of(JSONISH, st.integers(-(2**64), 2**64), st.text(max_size=8))
                        for name in (
                            "priority",
                            "attempts",
                            "delay",
                            "ttl",
                            "backoff",
                            "removeOnComplete",
                        )
                    },
                ),
            ),
        },
    ),
)


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    method=st.sampled_from(["GET", "GET", "PUT", "DELETE", "POST"]),
    path=st.one_of(
        # every route of the app, its parameters filled with generated segments
        st.sampled_from(ROUTES).flatmap(
            lambda route: st.lists(SEGMENT, min_size=5, max_size=5).map(
                lambda values, route=route: fill(route, values)
            )
        ),
        # and anything under /job and /jobs
        st.tuples(st.sampled_from(["job", "jobs"]), st.lists(SEGMENT, max_size=4)).map(
            lambda t: "/" + "/".join([t[0], *t[1]])
        ),
    ),
    body=JOB_BODY,
)
def test_no_input_gets_a_500(dashboard_module, method, path, body):
    content = json.dumps(body).encode() if method == "POST" else None
    response = dashboard_module.http.request(method, path, content=content, headers=JSON)
    assert response.status_code < 500, f"{method} {path} {content!r}: {response.text}"
    if response.status_code >= 400:  # (3xx: Starlette's redirect of a trailing slash)
        assert response.headers["content-type"].startswith("application/json")
        reply = response.json()
        if isinstance(reply, list):  # a list of jobs: Kue's one entry per job, bad ones in place
            assert method == "POST" and isinstance(body, list) and len(reply) == len(body)
            assert any(isinstance(entry.get("error"), str) for entry in reply)
        else:
            assert isinstance(reply["error"], str)
    elif response.status_code == 200 and response.request.url.path != "/":  # "job/.." -> "/"
        assert response.headers["content-type"].startswith("application/json")


@pytest.fixture
def dashboard_module(make_queue):
    """The dashboard for the property test, with a job in a few states to act on."""
    queue = make_queue()
    for n in range(3):
        queue.create("email", {"n": n}).save()
    yield from serving(queue)


def test_a_method_a_path_does_not_answer_is_405_with_every_allowed_method(dashboard):
    options = dashboard.http.options("/job/1")
    assert options.status_code == 405
    assert options.headers["allow"] == "DELETE, GET"
    for path in ("/job/search", "/job/types"):  # read-only names, not job ids
        reply = dashboard.http.delete(path)
        assert (reply.status_code, reply.headers["allow"]) == (405, "GET")
        assert dashboard.http.options(path).headers["allow"] == "GET"
