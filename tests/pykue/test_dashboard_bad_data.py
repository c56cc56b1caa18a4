"""Bad data stored by an older version (or by hand): the dashboard's readers degrade, never
answer 500 (issue 13, point 2). Each job is saved normally, then its stored fields are
overwritten the way an older pykue could have written them."""

from __future__ import annotations

import pytest
import redis
from dashboard_server import serving

BAD_DATA = {
    "lone surrogate": b'{"to": "\\ud800bob"}',
    "lone surrogate key": b'{"\\udfff": 1}',
    "not UTF-8": b'{"to": "\xff\xfebob"}',
    "not JSON": b"{to: bob",
    "too deep": b"[" * 300 + b"]" * 300,
}


@pytest.fixture
def spoiled(make_queue, redis_url):
    """A queue with one good job (id 1) and one job per kind of bad data (ids 2...)."""
    queue = make_queue()
    queue.create("email", {"to": "alice"}).save()
    raw = redis.Redis.from_url(redis_url)
    for name, data in BAD_DATA.items():
        job = queue.create("email", {"to": name}).save()
        raw.hset(queue.keys.job(job.id), mapping={"data": data, "result": data, "error": data})
        raw.rpush(queue.keys.log(job.id), b"sent to \xff", "fine")
    raw.close()
    return queue


@pytest.fixture
def dashboard(spoiled):
    yield from serving(spoiled)


READS = [
    "/stats",
    "/job/types",
    "/jobs/0..-1",
    "/jobs/0..-1/desc",
    "/jobs/inactive/0..-1/asc",
    "/jobs/email/inactive/0..-1/desc",
    "/jobs/email/inactive/stats",
    "/job/search?q=bob",
    "/job/search?q=alice",
]


def test_every_reader_answers_200(dashboard):
    for path in READS + [f"/job/{n}" for n in range(1, 7)] + [f"/job/{n}/log" for n in range(1, 7)]:
        reply = dashboard.http.get(path)
        assert reply.status_code == 200, f"{path}: {reply.status_code} {reply.text[:300]}"
    assert len(dashboard.http.get("/jobs/0..-1").json()) == 1 + len(BAD_DATA)


def test_bad_text_is_shown_with_replacement_characters(dashboard):
    assert dashboard.http.get("/job/2").json()["data"] == {"to": "\ufffdbob"}
    assert dashboard.http.get("/job/3").json()["data"] == {"\ufffd": 1}
    assert dashboard.http.get("/job/4").json()["data"] == {"to": "\ufffd\ufffdbob"}
    assert dashboard.http.get("/job/5").json()["data"] == "{to: bob"  # shown as its text
    deep = dashboard.http.get("/job/6").json()["data"]
    assert deep == "[" * 300 + "]" * 300  # too deep to send as JSON: its text
    assert dashboard.http.get("/job/4/log").json() == ["sent to \ufffd", "fine"]
    assert dashboard.http.get("/job/2").json()["error"] == '{"to": "\\ud800bob"}'  # text as stored


def test_search_and_changes_still_work(dashboard, spoiled):
    assert dashboard.http.get("/job/search?q=bob").json() == ["2", "4", "5"]
    assert dashboard.http.put("/job/2/state/failed").status_code == 200
    assert dashboard.http.put("/job/4/state/active").status_code == 200
    assert dashboard.http.get("/jobs/failed/0..-1").json()[0]["id"] == 2
    assert dashboard.http.delete("/job/5").status_code == 200
    assert spoiled.get_job(5) is None


def test_a_key_of_the_wrong_type_reads_as_absent(dashboard, spoiled, redis_url):
    raw = redis.Redis.from_url(redis_url)
    raw.delete(spoiled.keys.job(1), spoiled.keys.log(1))
    raw.set(spoiled.keys.job(1), "not a hash")
    raw.set(spoiled.keys.log(1), "not a list")
    raw.close()
    assert dashboard.http.get("/job/1").status_code == 404
    assert dashboard.http.get("/jobs/0..-1").status_code == 200
    assert dashboard.http.get("/job/search?q=alice").json() == []
