"""pykue.web.guard: the protections every app shares, on a small app of its own."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from typing import Annotated

import pytest
import redis
from fastapi import Body, FastAPI
from fastapi.testclient import TestClient

from pykue.web.guard import json_problem, protect, value_problem

ORIGIN = "http://localhost:1245"
JSON = {"content-type": "application/json"}


def make_app() -> FastAPI:
    app = FastAPI(title="guarded")

    @app.post("/echo")
    def echo(payload: Annotated[dict, Body()]) -> dict:
        return payload

    @app.get("/down")
    def down() -> None:
        raise redis.ConnectionError("Error 111 connecting to localhost:1. Connection refused.")

    @app.get("/full")
    def full() -> None:
        raise redis.exceptions.ResponseError(
            "OOM command not allowed when used memory > 'maxmemory'."
        )

    @app.get("/wrongtype")
    def wrongtype() -> None:
        raise redis.exceptions.ResponseError("WRONGTYPE Operation against a key")

    return protect(app, max_body=4000, hosts=["localhost", "127.0.0.1"])


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(make_app(), base_url=ORIGIN)


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b'{"a": NaN}', "NaN is not a JSON number"),
        (b'{"a": -Infinity}', "-Infinity is not a JSON number"),
        (b'{"a": 1e999}', "too large for a number"),
        (b'{"a": "\\ud800"}', "lone surrogate"),
        (b'{"\\udfff": 1}', "lone surrogate"),
        (b"[" * 65 + b"]" * 65, "deeper than 64 levels"),
        (b"[" * 1500 + b"]" * 1500, "deeper than 64 levels"),
        (b'{"a": 1' + b"9" * 3000 + b"0" * 2000 + b"}", "not valid JSON"),
        (b'{"a": ', "not valid JSON"),
        (b'"\xff"', "not UTF-8"),
    ],
)
def test_json_the_app_could_not_give_back_is_a_400(client, body, why):
    reply = client.post("/echo", content=body, headers=JSON)
    assert reply.status_code in (400, 413), reply.text
    if reply.status_code == 400:
        assert why in reply.json()["error"]


def test_good_json_passes_through_unchanged(client):
    payload = {"text": "héllo 😀", "n": [1, 2.5, None, True], "deep": [[[[{"x": 1}]]]]}
    reply = client.post("/echo", json={"payload": payload})
    assert reply.status_code == 200 and reply.json() == {"payload": payload}


def test_value_problem_walks_without_recursion():
    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    assert "deeper than 64" in value_problem(deep)
    assert value_problem({"a": [1, "b", {"c": None}]}) is None
    assert "not a JSON type" in value_problem({"a": {1, 2}})
    assert json_problem(b'{"ok": [1, 2]}') is None


def test_body_limit_is_413_with_and_without_content_length(client):
    big = b'{"a": "' + b"x" * 5000 + b'"}'
    assert client.post("/echo", content=big, headers=JSON).status_code == 413

    def chunks():
        yield big[:3000]
        yield big[3000:]

    assert client.post("/echo", content=chunks(), headers=JSON).status_code == 413


def test_state_changes_from_another_site_are_refused(client):
    body = {"payload": 1}
    assert (
        client.post("/echo", json=body, headers={"origin": "http://evil.example"}).status_code
        == 403
    )
    assert client.post("/echo", json=body, headers={"origin": "null"}).status_code == 403
    assert (
        client.post("/echo", json=body, headers={"origin": "http://localhost:9999"}).status_code
        == 403
    )
    for site in ("cross-site", "same-site"):
        assert client.post("/echo", json=body, headers={"sec-fetch-site": site}).status_code == 403
    # The app's own pages and non-browser clients are served.
    assert client.post("/echo", json=body, headers={"origin": ORIGIN}).status_code == 200
    same = {"sec-fetch-site": "same-origin", "origin": ORIGIN}
    assert client.post("/echo", json=body, headers=same).status_code == 200
    assert client.post("/echo", json=body).status_code == 200


def test_a_body_without_origin_headers_must_be_json(client):
    for kind in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; b=x"):
        reply = client.post("/echo", content=b'{"payload": 1}', headers={"content-type": kind})
        assert reply.status_code == 415, kind
        assert "application/json" in reply.json()["error"]


def test_unknown_host_is_refused_on_every_method(client):
    for method in ("GET", "POST"):
        reply = client.request(method, "/docs", headers={"host": "attacker.example"})
        assert reply.status_code == 400
        assert "ALLOWED_HOSTS" in reply.json()["error"]
    assert client.get("/docs", headers={"host": "127.0.0.1:1245"}).status_code == 200


def test_allowed_hosts_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("ALLOWED_HOSTS", "shop.example, [::1]")
    app = protect(FastAPI())
    client = TestClient(app, base_url="http://shop.example")
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/openapi.json", headers={"host": "[::1]:80"}).status_code == 200
    assert client.get("/openapi.json", headers={"host": "localhost"}).status_code == 400


def test_redis_trouble_is_a_503_with_the_cause(client):
    down = client.get("/down")
    assert down.status_code == 503 and "Connection refused" in down.json()["error"]
    assert down.headers["retry-after"] == "1"
    full = client.get("/full")
    assert full.status_code == 503 and "Redis is full" in full.json()["error"]
    other = client.get("/wrongtype")
    assert other.status_code == 500 and "WRONGTYPE" in other.json()["error"]


def test_docs_are_served_from_the_installed_package(client):
    page = client.get("/docs").text
    assert "cdn" not in page and "/docs-assets/swagger-ui-bundle.js" in page
    assert client.get("/docs-assets/swagger-ui-bundle.js").status_code == 200
    redoc = client.get("/redoc").text
    assert "/docs-assets/redoc.standalone.js" in redoc and "fonts.googleapis" not in redoc
    assert client.get("/docs-assets/redoc.standalone.js").status_code == 200


def test_schema_lists_the_statuses_the_guard_answers(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert {"400", "403", "413", "415", "503"} <= set(paths["/echo"]["post"]["responses"])
    assert "503" in paths["/down"]["get"]["responses"]
    assert "415" not in paths["/down"]["get"]["responses"]


SERVER = textwrap.dedent(
    """
    from fastapi import FastAPI
    from pykue.web.guard import serve
    serve(FastAPI(), on_listening=lambda url: print("listening on", url, flush=True))
    """
)


def test_serve_says_in_one_line_that_the_port_is_taken():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**os.environ, "PORT": str(port), "HOST": "127.0.0.1"}
        run = subprocess.run(
            [sys.executable, "-c", SERVER], env=env, capture_output=True, text=True, timeout=30
        )
    assert run.returncode == 1
    assert run.stdout == "", "nothing (no page link) may be printed before the port is bound"
    assert run.stderr.strip().splitlines() == [
        f"Port {port} on 127.0.0.1 is already in use: is another server still running? "
        f"Stop it (Ctrl+C in its terminal), or choose another port, e.g. PORT={port + 1}"
    ]


@pytest.mark.parametrize("port", ["abc", "0", "70000"])
def test_serve_refuses_a_bad_port_in_one_line(port):
    env = {**os.environ, "PORT": port}
    run = subprocess.run(
        [sys.executable, "-c", SERVER], env=env, capture_output=True, text=True, timeout=30
    )
    assert run.returncode == 1
    assert run.stderr.strip() == f"PORT must be a number from 1 to 65535, not {port!r}"
