"""The dashboard's optional token (issue 13, point 5): when set, every state change needs it,
by ``Authorization: Bearer`` or by the session cookie the page gets from ``POST /session``."""

from __future__ import annotations

import pytest
from dashboard_server import serving

from pykue.web.token import COOKIE, Token

SECRET = "correct-horse-battery-staple"
BEARER = {"Authorization": f"Bearer {SECRET}"}
CHANGES = [
    ("POST", "/job", {"type": "email"}),
    ("PUT", "/job/1/state/failed", None),
    ("PUT", "/job/1/state/active", None),
    ("PUT", "/job/1/priority/high", None),
    ("GET", "/inactive/1", None),
    ("DELETE", "/job/1", None),
]


@pytest.fixture
def queue(make_queue):
    queue = make_queue()
    queue.create("email", {"to": "bob"}).save()
    return queue


@pytest.fixture
def dashboard(queue):
    yield from serving(queue, token=SECRET)


def snapshot(queue) -> tuple:
    job = queue.get_job(1)
    return queue.counts(), job and (job.state, job.priority_value)


@pytest.mark.parametrize(("method", "path", "body"), CHANGES)
@pytest.mark.parametrize("sent", [{}, {"Authorization": "Bearer wrong-token-wrong-token"}])
def test_a_change_without_the_token_is_401_and_changes_nothing(
    dashboard, queue, method, path, body, sent
):
    before = snapshot(queue)
    reply = dashboard.http.request(method, path, json=body, headers=sent)
    assert reply.status_code == 401, reply.text
    assert "needs its token" in reply.json()["error"]
    assert reply.headers["www-authenticate"].startswith("Bearer")
    assert snapshot(queue) == before


@pytest.mark.parametrize(("method", "path", "body"), CHANGES)
def test_a_change_with_the_bearer_token_is_done(dashboard, method, path, body):
    reply = dashboard.http.request(method, path, json=body, headers=BEARER)
    assert reply.status_code == 200, reply.text


def test_reads_need_no_token(dashboard):
    for path in ("/", "/stats", "/job/1", "/job/1/log", "/jobs/0..-1", "/job/search?q=bob"):
        assert dashboard.http.get(path).status_code == 200, path


def test_the_page_signs_in_with_a_session_cookie(dashboard, queue):
    http = dashboard.http
    assert http.get("/session").json() == {"tokenRequired": True, "signedIn": False}
    wrong = http.post("/session", json={"token": "not-the-token-at-all"})
    assert wrong.status_code == 401 and COOKIE not in http.cookies
    right = http.post("/session", json={"token": SECRET})
    assert right.status_code == 204
    cookie = right.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert SECRET not in cookie  # an HMAC of the token, not the token
    assert http.get("/session").json() == {"tokenRequired": True, "signedIn": True}
    assert http.put("/job/1/state/failed").status_code == 200  # the cookie is enough
    assert queue.get_job(1).state == "failed"
    assert http.delete("/session").status_code == 204
    assert http.put("/job/1/state/complete").status_code == 401
    assert http.get("/session").json()["signedIn"] is False


def test_no_token_configured_means_no_check(make_queue):
    queue = make_queue()
    for served in serving(queue):
        assert served.http.get("/session").json() == {"tokenRequired": False, "signedIn": False}
        assert served.http.post("/job", json={"type": "email"}).status_code == 200


def test_a_short_token_is_refused():
    with pytest.raises(ValueError, match="at least 16 characters"):
        Token("short")
