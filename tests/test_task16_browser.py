"""Task 16 in a real browser: the job page's Requeue button runs a failed job again.

Headless Debian chromium (``/usr/bin/chromium``) driven by Playwright. The test skips,
saying why, where chromium or the playwright package is missing (``apt-get install
chromium``; ``pip install -r requirements.txt``; no ``playwright install`` needed).

It relies on the page of the stub (kept as given): rows ``tr`` with cells of class
``state``, ``attempts`` and ``runs``, a ``Requeue`` button per row, and ``#status``.
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import pytest

from harness.webserver import Servers

FILE = "103-job_manager.py"
LABEL = "task 16"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def skip_without_browser() -> None:
    if not CHROMIUM.is_file():
        pytest.skip(f"browser test: {CHROMIUM} is not installed (apt-get install chromium)")
    if importlib.util.find_spec("playwright") is None:
        pytest.skip("browser test: the playwright package is not installed (requirements.txt)")


@pytest.fixture
def servers(target, env):
    started = Servers(target, env)
    yield started
    started.close()


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
    from playwright.sync_api import expect, sync_playwright

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

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
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
        finally:
            browser.close()
    ran = server.app_lines().count("Sending email to bob")
    assert ran == 8, f"{LABEL}: after Requeue, job {bob['id']} should have run 8 times, not {ran}"
