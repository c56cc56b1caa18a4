"""Kue 0.11.6's own clients against the dashboard, stated as facts (issue 14, point 1).

Each test sends the exact requests Kue's clients send and checks the replies they accept:
its ``test/jsonapi.js`` (supertest, JSON bodies) and its UI (``lib/http/public/javascripts``:
jQuery ``$.ajax`` to relative URLs, no body, the same origin). The job JSON is checked
against what real Kue 0.11.6 answered on a private redis-server (measured 2026-12-02, see
the README's "Coming from Kue"). Runs on both Redis backends; the same clients, run for
real (node, Chromium), are in test_dashboard_kue_conformance.py.
"""

from __future__ import annotations

import threading

import pytest
from conftest import wait_until
from dashboard_server import serving

from pykue.check import check

TYPE = "test:inserts"  # jsonapi.js's job type


@pytest.fixture
def dashboard(make_queue):
    yield from serving(make_queue())


def kue_ui(dashboard, method: str, path: str):
    """A request as Kue's UI sends it from a page of the dashboard's own origin:
    ``o.ajax({type: method, url: './' + path})``: no body, jQuery's header, same origin."""
    headers = {"X-Requested-With": "XMLHttpRequest", "Sec-Fetch-Site": "same-origin"}
    if method != "GET":
        headers["Origin"] = dashboard.url  # browsers send Origin on same-origin PUT/DELETE
    return dashboard.http.request(method, "/" + path, headers=headers)


def jsonapi_job(n: int, priority: int = 0) -> dict:
    """A job as jsonapi.js's jobsPopulate() makes it."""
    return {
        "type": TYPE,
        "data": {"title": n, "data": TYPE + ":data"},
        "options": {"priority": priority},
    }


# -- test/jsonapi.js, request by request --------------------------------------------------


def test_jsonapi_create_get_update_delete(dashboard):
    http = dashboard.http
    one = http.post("/job", json=jsonapi_job(0, -10))
    assert one.status_code == 200  # .expect(200)
    assert one.json() == {"message": "job created", "id": 1}  # two keys, id a Number
    many = http.post("/job", json=[jsonapi_job(n, p) for n, p in enumerate([10, 0, -5, -10, -15])])
    assert many.status_code == 200
    assert many.json() == [{"message": "job created", "id": i} for i in range(2, 7)]

    job = http.get("/job/1").json()
    assert (job["id"], job["type"], job["state"]) == ("1", TYPE, "inactive")  # .eql(1): loose
    moved = http.put("/job/1/state/active")
    assert moved.status_code == 200 and moved.json() == {"message": "updated state"}
    assert http.get("/job/1").json()["state"] == "active"
    gone = http.delete("/job/1")
    assert gone.json() == {"message": "job 1 removed"}  # .to.contain(jobId)
    assert check(dashboard.queue) == []


def test_jsonapi_search(dashboard):
    for n in range(5):
        dashboard.http.post("/job", json=jsonapi_job(n))
    dashboard.http.post("/job", json={"type": "other", "data": {"title": "unrelated"}})
    nothing = dashboard.http.get("/job/search")  # .query({})
    assert (nothing.status_code, nothing.json()) == (200, [])
    found = dashboard.http.get("/job/search", params={"q": TYPE + ":data"})
    assert found.json() == ["1", "2", "3", "4", "5"]  # strings, as reds answers


def test_jsonapi_range_and_stats(dashboard):
    for n in range(6):
        dashboard.http.post("/job", json=jsonapi_job(n))
    assert len(dashboard.http.get("/jobs/0..3").json()) == 4
    assert len(dashboard.http.get(f"/jobs/{TYPE}/inactive/0..20/asc").json()) == 6
    stats = dashboard.http.get("/stats").json()
    assert {"inactiveCount", "completeCount", "activeCount", "delayedCount"} <= set(stats)


@pytest.mark.parametrize("empty", [[], {}])
def test_jsonapi_empty_post_is_204_with_no_body(dashboard, empty):
    reply = dashboard.http.post("/job", json=empty)
    assert (reply.status_code, reply.text) == (204, "")
    assert dashboard.http.get("/stats").json()["inactiveCount"] == 0


def test_jsonapi_batch_with_a_bad_job_creates_the_others(dashboard):
    jobs = [jsonapi_job(0), jsonapi_job(1), jsonapi_job(2)]
    del jobs[1]["type"]
    reply = dashboard.http.post("/job", json=jobs)
    assert reply.status_code == 400
    assert reply.json() == [
        {"message": "job created", "id": 1},
        {"error": "Must provide job type"},
        {"message": "job created", "id": 2},
    ]
    assert dashboard.http.get("/stats").json()["inactiveCount"] == 2


# -- Kue's UI (lib/http/public/javascripts), request by request ---------------------------


def test_ui_lists_counts_and_details(dashboard, make_queue):
    queue = make_queue()
    for n in range(3):
        queue.create("email", {"title": f"mail {n}"}).save()
    queue.create("video", {"title": "film"}).save()
    stats = kue_ui(dashboard, "GET", "stats").json()  # pollStats
    assert stats["inactiveCount"] == 4 and "error" not in stats  # res.error would show
    listed = kue_ui(dashboard, "GET", "jobs/inactive/0..10/asc").json()  # refreshJobs
    assert [j["id"] for j in listed] == [1, 2, 3, 4]
    filtered = kue_ui(dashboard, "GET", "jobs/email/inactive/0..10/desc").json()  # #filter
    assert [j["id"] for j in filtered] == [3, 2, 1]
    job = listed[0]  # what Job.prototype.render and renderUpdate read
    assert job["data"]["title"] == "mail 0" and job["type"] == "email"
    assert job["attempts"]["made"] == 0 and job["attempts"]["max"] == 1
    assert isinstance(job["created_at"], str) and int(job["created_at"]) > 0
    assert kue_ui(dashboard, "GET", "job/1/log").json() == []  # the details' log


def test_ui_priority_state_restart_delete(dashboard, make_queue):
    queue = make_queue()
    queue.create("email", {"title": "a"}).save()
    queue.create("email", {"title": "b"}).save()
    reply = kue_ui(dashboard, "PUT", "job/2/priority/-10")  # the priority <select>: a number
    assert (reply.status_code, reply.json()) == (200, {"message": "updated priority"})
    assert [j["id"] for j in dashboard.http.get("/jobs/email/inactive/0..-1").json()] == [2, 1]
    reply = kue_ui(dashboard, "PUT", "job/1/state/failed")  # the state <select>
    assert (reply.status_code, reply.json()) == (200, {"message": "updated state"})
    assert queue.get_job(1).state == "failed"
    reply = kue_ui(dashboard, "GET", "inactive/1")  # the Restart link: a GET
    assert (reply.status_code, reply.json()) == (200, {"message": "job 1 inactive"})
    assert queue.get_job(1).state == "inactive"
    reply = kue_ui(dashboard, "DELETE", "job/2")  # the x link
    assert (reply.status_code, reply.json()) == (200, {"message": "job 2 removed"})
    assert queue.get_job(2) is None
    assert check(queue) == []


def test_ui_search_box_gets_ids_as_strings(dashboard, make_queue):
    queue = make_queue()
    queue.create("email", {"title": "Invoice for Bob", "to": "bob@example.com"}).save()
    queue.create("email", {"title": "Welcome Alice"}).save()
    queue.create("invoices", {"n": 3}).save()
    # search.js: o.get('./job/search?q=' + encodeURIComponent(val)), then ~ids.indexOf(id)
    assert kue_ui(dashboard, "GET", "job/search?q=inv").json() == ["1", "3"]  # data or type
    assert kue_ui(dashboard, "GET", "job/search?q=bob%20invoice").json() == ["1"]  # every word
    assert kue_ui(dashboard, "GET", "job/search?q=EXAMPLE.COM").json() == ["1"]
    assert kue_ui(dashboard, "GET", "job/search?q=carol").json() == []


def test_ui_restart_from_another_site_is_refused(dashboard, make_queue):
    queue = make_queue()
    queue.create("email").save()
    queue.create("email").save()
    admin_set = dashboard.http.put("/job/1/state/failed")
    assert admin_set.status_code == 200
    # <img src="http://127.0.0.1:PORT/inactive/1"> on another site's page
    img = dashboard.http.get("/inactive/1", headers={"Sec-Fetch-Site": "cross-site"})
    assert img.status_code == 403
    foreign = dashboard.http.get("/inactive/1", headers={"Origin": "http://evil.example"})
    assert foreign.status_code == 403
    assert queue.get_job(1).state == "failed"


# -- the job JSON, as real Kue 0.11.6 sends it -------------------------------------------


def test_job_json_types_in_every_state(dashboard, make_queue):
    queue = make_queue()
    release = threading.Event()
    done = queue.create("email", {"title": "ok"}).priority("high").save()
    failed = queue.create("email", {"title": "will fail"}).attempts(2).save()
    later = queue.create("video", {"title": "later"}).delay(60_000).save()
    waiting = queue.create("video", {"title": "low"}).priority("low").ttl(5000).save()
    busy = queue.create("slow", {"title": "busy"}).save()

    def email(job, finish):
        job.progress(1, 2, {"step": "half"})
        if job.data["title"] == "will fail":
            return finish(Exception("smtp down"))
        finish(None, {"sent": True})

    queue.process("email", email)
    queue.process("slow", lambda job: release.wait(20))
    try:
        wait_until(lambda: queue.get_job(failed.id).state == "failed", "the failing job")
        wait_until(lambda: queue.get_job(done.id).state == "complete", "the good job")
        wait_until(lambda: queue.get_job(busy.id).state == "active", "the slow job")
        get = lambda job: dashboard.http.get(f"/job/{job.id}").json()  # noqa: E731

        complete = get(done)
        assert complete["id"] == str(done.id)  # the route's own id: a string
        assert (complete["priority"], complete["progress"]) == (-10, "100")
        assert complete["progress_data"] == {"step": "half"}
        assert complete["result"] == {"sent": True}
        assert complete["attempts"] == {"made": 1, "remaining": 0, "max": 1}
        for name in ("created_at", "promote_at", "updated_at", "started_at", "duration"):
            assert isinstance(complete[name], str) and complete[name].isdigit(), name
        assert "error" not in complete and "failed_at" not in complete

        fail = get(failed)
        assert (fail["state"], fail["progress"], fail["error"]) == ("failed", "50", "smtp down")
        assert fail["attempts"] == {"made": 2, "remaining": 0, "max": 2}
        assert fail["failed_at"].isdigit() and "result" not in fail and "duration" not in fail

        delayed = get(later)
        assert (delayed["state"], delayed["delay"], delayed["progress"]) == ("delayed", "60000", 0)
        assert int(delayed["promote_at"]) == int(delayed["created_at"]) + 60_000
        assert "started_at" not in delayed and "ttl" not in delayed

        inactive = get(waiting)
        assert (inactive["priority"], inactive["ttl"], inactive["progress"]) == (10, "5000", 0)
        assert inactive["promote_at"] == inactive["created_at"] and "delay" not in inactive

        active = get(busy)
        assert active["state"] == "active" and active["started_at"].isdigit()

        listed = dashboard.http.get("/jobs/0..-1").json()
        assert all(isinstance(job["id"], int) for job in listed)  # ranges: numbers
    finally:
        release.set()


def test_no_state_range_is_kues_priority_order(dashboard, make_queue):
    """Kue's ``jobs`` set is scored by priority: a range takes jobs by (priority, id), then
    answers that slice by id, reversed for desc (measured: /jobs/0..1 -> [1, 5])."""
    queue = make_queue()
    for priority in ("high", "normal", "normal", "low", "critical"):  # ids 1..5
        queue.create("email").priority(priority).save()
    ids = lambda path: [j["id"] for j in dashboard.http.get(path).json()]  # noqa: E731
    assert ids("/jobs/0..1") == [1, 5]
    assert ids("/jobs/0..1/desc") == [5, 1]
    assert ids("/jobs/1..2/desc") == [2, 1]
    assert ids("/jobs/0..-1/asc") == [1, 2, 3, 4, 5]
    assert ids("/jobs/0..-1/desc") == [5, 4, 3, 2, 1]


def test_errors_have_kues_body_and_a_real_status(dashboard):
    """Kue: 200 ``{"error": "job \\"99\\" doesnt exist"}``; ours: the same body key, 404."""
    reply = kue_ui(dashboard, "GET", "job/99")
    assert reply.status_code == 404 and isinstance(reply.json()["error"], str)
