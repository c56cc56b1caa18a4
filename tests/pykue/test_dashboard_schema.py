"""The dashboard's OpenAPI schema holds (issue 13, point 8): schemathesis, bounded and
seeded (tests/harness/fuzz.py), against the dashboard on the test Redis, with and without
its token. Every check runs: no 5xx, only the statuses and bodies the schema lists, what
the schema calls valid is accepted and what it calls invalid is refused."""

from __future__ import annotations

import pytest
from dashboard_server import serving

from harness.fuzz import assert_schema_holds
from pykue.web.schema import JOB

SECRET = "correct-horse-battery-staple"


@pytest.fixture
def filled(make_queue):
    queue = make_queue()
    for n in range(4):
        queue.create("email", {"title": f"mail {n}", "to": "bob@example.com"}).save()
    queue.create("video", {"n": 1}).delay(60_000).save()
    return queue


def test_the_schema_holds(filled):
    for served in serving(filled):
        assert_schema_holds(served.url, max_examples=15, max_seconds=600)
    assert filled.counts()  # the queue still answers after the run


def test_the_schema_holds_with_a_token(filled):
    for served in serving(filled, token=SECRET):
        assert_schema_holds(served.url, max_examples=10, max_seconds=600)


def test_the_schema_lists_every_status_the_routes_answer(filled):
    for served in serving(filled):
        paths = served.http.get("/openapi.json").json()["paths"]
    post = paths["/job"]["post"]["responses"]
    assert {"200", "204", "400", "401", "403", "413", "415", "503"} <= set(post)
    assert {"200", "400", "401", "404", "409"} <= set(
        paths["/job/{job_id}/state/{state}"]["put"]["responses"]
    )
    assert {"200", "400", "404", "503"} <= set(paths["/job/{job_id}"]["get"]["responses"])
    assert {"200", "401", "403", "404"} <= set(paths["/inactive/{job_id}"]["get"]["responses"])
    job = paths["/job/{job_id}"]["get"]["responses"]["200"]["content"]["application/json"]
    assert job["schema"] == JOB
