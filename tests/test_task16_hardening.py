"""Task 16 under hostile input and other sites' pages (issue 13 points 2, 3, 5, 8; 11.5).

- job data holding a lone surrogate (stored by another client) is shown, not a 500;
- JSON nested 1,000+ levels deep is a 400, never a RecursionError;
- state changes from another site's page are refused (403/415), the Host is checked;
- a taken port is one line naming ``PORT=``, and the page line never comes;
- the OpenAPI schema lists the statuses the app answers, and schemathesis (bounded,
  seeded) finds nothing wrong.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest
from test_task16_job_manager import FILE, LABEL, details, wait_demo_finished
from web_checks import expect_other_hosts_refused

from harness.fuzz import assert_schema_holds
from harness.webserver import HOST, server_env
from toolkit.redis_servers import free_port

JSON = {"Content-Type": "application/json"}
DEEP = '{"jobId": ' + "[" * 1500 + "]" * 1500 + "}"


@pytest.fixture
def server(target, servers):
    started = servers.script(FILE)
    wait_demo_finished(started)
    return started


@pytest.mark.task(16)
def test_lone_surrogates_in_job_data_are_shown_not_a_500(target, server, redis_client):
    # What another client (or an older pykue) may have stored: JSON text with "\ud800".
    redis_client.hset("{jobmanager}:job:2", "data", '{"to": "bob\\ud800"}')
    for path in ("/", "/api/job-details"):
        reply = server.http.get(path)
        assert reply.status_code == 200 and "bob\ufffd" in reply.text, (
            f"{LABEL}: with a lone surrogate in job 2's data, GET {path} answered "
            f"{reply.status_code} {reply.text[:200]}; show it (as U+FFFD), do not fail"
        )
    assert details(server)[2]["data"] == {"to": "bob\ufffd"}


@pytest.mark.task(16)
def test_deep_or_poisoned_json_is_a_400(target, server):
    bodies = {
        "nested 1,500 deep": DEEP,
        "NaN": '{"jobId": NaN}',
        "a lone surrogate": '{"jobId": "\\ud800"}',
        "5000 digits": '{"jobId": ' + "9" * 5000 + "}",
    }
    for what, body in bodies.items():
        for headers in (JSON, {"Origin": server.url}):  # checked at the door, or by the app
            reply = server.http.post("/api/requeue-job", content=body, headers=headers)
            assert reply.status_code == 400 and "error" in reply.json(), (
                f"{LABEL}: POST /api/requeue-job with {what} JSON ({headers}) answered "
                f"{reply.status_code} {reply.text[:200]}; expected 400 with an error"
            )
    reply = server.http.post("/api/requeue-job", content='{"jobId": "' + "9" * 5000 + '"}')
    assert reply.status_code == 415, f"{LABEL}: a body that is not sent as JSON: 415"


@pytest.mark.task(16)
def test_other_sites_cannot_requeue(target, server):
    before = details(server)
    refused = {
        "a page of another origin": ({"Origin": "http://evil.example"}, 403),
        "a cross-site no-cors fetch": ({"Sec-Fetch-Site": "cross-site", **JSON}, 403),
        "a same-site page (another port)": ({"Sec-Fetch-Site": "same-site"}, 403),
        "a text/plain form post": ({"Content-Type": "text/plain"}, 415),
        "an opaque origin (sandboxed frame)": ({"Origin": "null"}, 403),
    }
    for what, (headers, status) in refused.items():
        reply = server.http.post("/api/requeue-job", content='{"jobId": 2}', headers=headers)
        assert reply.status_code == status, (
            f"{LABEL}: a requeue from {what} answered {reply.status_code} "
            f"{reply.text[:200]}; expected {status} (protect(app) refuses it)"
        )
    assert details(server)[2]["runs"] == before[2]["runs"], f"{LABEL}: job 2 ran again"
    expect_other_hosts_refused(server, "/api/job-details")
    own = server.http.post(
        "/api/requeue-job", content='{"jobId": 2}', headers={"Origin": server.url}
    )
    assert own.status_code == 200, f"{LABEL}: the app's own page may requeue: {own.text}"


@pytest.mark.task(16)
def test_a_taken_port_is_one_line_and_no_page_link(target, env):
    port = free_port(HOST)
    with socket.socket() as taken:
        taken.bind((HOST, port))
        taken.listen()
        run = subprocess.run(
            [sys.executable, str(target.script(FILE))],
            env=server_env(env, port),
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    said = [line for line in run.stderr.splitlines() if line.strip()]
    assert run.returncode == 1 and len(said) == 1 and "PORT=" in said[0], (
        f"{LABEL}: on a taken port the script must exit 1 after ONE line naming PORT= "
        f"(serve(app) says it); exit {run.returncode}, stderr:\n{run.stderr[-2000:]}"
    )
    assert "Job page" not in run.stdout, (
        f"{LABEL}: the page link was printed although nothing listens: {run.stdout}"
    )


@pytest.mark.task(16)
def test_openapi_lists_the_real_statuses_and_schemathesis_passes(target, server):
    schema = server.http.get("/openapi.json").json()
    requeue = schema["paths"]["/api/requeue-job"]["post"]
    wanted = {"200", "400", "403", "404", "409", "413", "415", "503"}
    assert wanted <= set(requeue["responses"]), (
        f"{LABEL}: POST /api/requeue-job documents {sorted(requeue['responses'])}"
    )
    body = requeue.get("requestBody", {}).get("content", {}).get("application/json", {})
    assert "jobId" in json.dumps(body), f"{LABEL}: the schema shows the body it reads"
    assert {"200", "503"} <= set(schema["paths"]["/api/job-details"]["get"]["responses"])
    assert_schema_holds(server.url, max_examples=30, max_seconds=600)
