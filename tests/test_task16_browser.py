"""Task 16 in a real browser: the job page's Requeue button runs a failed job again, and
a page of another site cannot requeue anything (its no-cors POSTs are refused).

Headless Debian chromium driven by Playwright (harness/browser.py: skips, saying why,
where chromium or the playwright package is missing).

It relies on the page of the stub (kept as given): rows ``tr`` with cells of class
``state``, ``attempts`` and ``runs``, a ``Requeue`` button per row, and ``#status``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from harness.browser import chromium, skip_without_browser

FILE = "103-job_manager.py"
LABEL = "task 16"


def wait_until_finished(server, identifier: str, timeout: float = 15) -> dict:
    """Poll the API until the job with ``identifier`` is complete or failed; its details."""
    deadline = time.monotonic() + timeout
    while True:
        jobs = server.http.get("/api/job-details").json()
        job = next((j for j in jobs if j.get("identifier") == identifier), None)
        if job is not None and job.get("state") in ("complete", "failed"):
            return job
        if time.monotonic() > deadline:
            server.fail(f"job {identifier!r} did not finish within {timeout:g}s: {job}")
        time.sleep(0.05)


@pytest.mark.task(16)
def test_requeue_button_runs_the_failed_job_again(target, servers, redis_url, monkeypatch):
    target.script(FILE)  # an unstarted task fails here, before any browser
    skip_without_browser()
    from playwright.sync_api import expect

    module = target.load_module(FILE, monkeypatch)
    server = servers.script(FILE)  # answers once the demo jobs 1-3 are saved
    manager = module.JobManager(redis_url)
    try:
        manager.now({"note": "<script>window.pwned = 1</script>"}, "not_defined", "xss-check")
    finally:
        manager.shutdown()
    bob = wait_until_finished(server, "welcome-bob")
    assert (bob.get("state"), bob.get("runs")) == ("failed", 4), (
        f"{LABEL}: the demo job welcome-bob should have failed after 4 runs before the "
        f"browser clicks Requeue; /api/job-details says {bob}"
    )

    with chromium() as browser:
        page = browser.new_page()
        page.set_default_timeout(10_000)
        page.goto(server.url + "/")
        row = page.locator("tr", has=page.locator("td", has_text="welcome-bob"))
        expect(row.locator(".state")).to_have_text("failed")
        expect(row.locator(".runs")).to_have_text("4")

        evil = page.locator("tr", has=page.locator("td", has_text="xss-check"))
        expect(evil, f"{LABEL}: the page should show the job's data as text").to_contain_text(
            "<script>window.pwned = 1</script>"
        )
        assert page.evaluate("window.pwned") is None, (
            f"{LABEL}: a job's data ran as a script in the job page: escape it"
        )

        row.get_by_role("button", name="Requeue").click()
        expect(page.locator("#status")).to_have_text(f"Job {bob['id']} requeued")
        # The page refreshes its rows by itself: the job ran 4 more times and failed.
        ran_again = f"{LABEL}: after Requeue, the job should run again (Runs 4 -> 8)"
        expect(row.locator(".runs"), ran_again).to_have_text("8")
        expect(row.locator(".state")).to_have_text("failed")
        expect(row.locator(".attempts")).to_have_text("4/4")
    ran = server.app_lines().count("Sending email to bob")
    assert ran == 8, f"{LABEL}: after Requeue, job {bob['id']} should have run 8 times, not {ran}"


HOSTILE = """<!doctype html><title>cats</title><script>
const app = "{app}";
Promise.allSettled([
  fetch(app + "/api/requeue-job", {{method: "POST", mode: "no-cors"}}),
  fetch(app + "/api/requeue-job", {{method: "POST", mode: "no-cors",
    headers: {{"Content-Type": "text/plain"}}, body: '{{"jobId": 2}}'}}),
  fetch(app + "/api/requeue-job", {{method: "POST", mode: "no-cors",
    body: new URLSearchParams({{jobId: "2"}})}}),
]).then(() => {{ document.title = "done"; }});
</script>"""


@contextmanager
def other_site(html: str) -> Iterator[str]:
    """``html`` served at http://localhost:PORT/ from a thread, until the block ends."""
    body = html.encode()

    class Page(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.task(16)
def test_a_page_of_another_site_cannot_requeue(target, servers):
    target.script(FILE)
    skip_without_browser()
    from playwright.sync_api import expect

    server = servers.script(FILE)
    bob = wait_until_finished(server, "welcome-bob")
    # Another site on this machine (localhost is another site than 127.0.0.1): Chromium
    # blocks a page of the internet from loopback by itself, which would prove nothing.
    with other_site(HOSTILE.format(app=server.url)) as url, chromium() as browser:
        page = browser.new_page()
        page.set_default_timeout(10_000)
        page.goto(url)
        expect(page).to_have_title("done")
    jobs = {job["id"]: job for job in server.http.get("/api/job-details").json()}
    assert (jobs[bob["id"]]["state"], jobs[bob["id"]]["runs"]) == ("failed", 4), (
        f"{LABEL}: a page of another site sent no-cors POSTs to /api/requeue-job and job "
        f"{bob['id']} ran again: {jobs[bob['id']]}; protect(app) must refuse them (403/415)"
    )
