"""pop-queue's own page, unmodified, in Chromium against task 16 (issue 14 point 3).

The page's three files (``ui/index.html``, ``app.js``, ``styles.css`` of
github.com/uuuchit/pop-queue at commit 12fadb7, the last whose ``app.js`` is plain
JavaScript calling the API at its own origin) are copied from the local mirror of that
repository into a temporary folder, never into the repository, and the script serves
them at ``/ui/`` (``UI_FOLDER``). Later commits call ``http://localhost:3210`` (4d4b46b)
or are JSX for a bundler (HEAD): no browser runs those unmodified.

Scenarios, as a user of pop-queue's page sees them: every job listed with its name and
identifier; its status; a real "Created At" date; "Picked At" and "Finished At" of a
finished job; its progress; the "Requeue Job" button requeues the failed jobs (alert
"Job requeued successfully", the jobs run again); with nothing failed, the alert shows
our error. Skips, saying why, where chromium or the mirror is missing.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_task16_job_manager import FILE, LABEL, details, wait_demo_finished

from harness.browser import chromium, skip_without_browser
from harness.originals import git, original_repo
from harness.webserver import Servers

ORIGINAL = "uuuchit/pop-queue"
COMMIT = "12fadb7"
UI_FILES = ("index.html", "app.js", "styles.css")


def original_ui(folder: Path) -> Path:
    """pop-queue's ui/ files at COMMIT, written into ``folder``; skips without a copy."""
    mirror, why = original_repo(ORIGINAL)
    if mirror is None:
        pytest.skip(f"pop-queue's page: {why}")
    folder.mkdir()
    for name in UI_FILES:
        shown = git(mirror, "show", f"{COMMIT}:ui/{name}", capture_output=True, check=False)
        if shown.returncode != 0:
            pytest.skip(f"pop-queue's page: {COMMIT}:ui/{name} is not in {mirror}")
        (folder / name).write_bytes(shown.stdout)
    return folder


@pytest.fixture
def served_ui(target, env, tmp_path):
    """The script serving pop-queue's page at /ui/, its demo jobs finished."""
    target.script(FILE)
    skip_without_browser()
    folder = original_ui(tmp_path / "ui")
    servers = Servers(target, dict(env, UI_FOLDER=str(folder)))
    try:
        server = servers.script(FILE)
        wait_demo_finished(server)
        yield server
    finally:
        servers.close()


def shown_jobs(page) -> dict[str, str]:
    """The text of each ``.job`` box pop-queue's page drew, by identifier."""
    boxes = page.locator("#job-details .job")
    texts = [boxes.nth(i).inner_text() for i in range(boxes.count())]
    return {re.search(r"Identifier: (\S+)", text).group(1): text for text in texts}


@pytest.mark.task(16)
def test_pop_queues_page_lists_the_jobs_and_requeues(target, served_ui, monkeypatch, redis_url):
    from playwright.sync_api import expect

    server = served_ui
    with chromium() as browser:
        page = browser.new_page()
        page.set_default_timeout(10_000)
        alerts: list[str] = []
        page.on("dialog", lambda dialog: (alerts.append(dialog.message), dialog.accept()))
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(server.url + "/ui/")
        expect(page.locator("h1")).to_have_text("Job Management")  # pop-queue's own page
        expect(page.locator("#job-details .job")).to_have_count(3)
        jobs = shown_jobs(page)
        assert sorted(jobs) == ["avatar-42", "welcome-ada", "welcome-bob"], jobs
        for identifier, status in (("welcome-ada", "done"), ("welcome-bob", "failed")):
            text = jobs[identifier]
            assert f"Status: {status}" in text, f"{LABEL}: pop-queue's page shows {text!r}"
            for line in ("Created At", "Picked At", "Finished At"):
                value = re.search(rf"{line}: (.*)", text).group(1)
                assert value not in ("N/A", "Invalid Date") and re.search(r"\d{4}", value), (
                    f"{LABEL}: pop-queue's page shows '{line}: {value}' for the finished "
                    f"job {identifier}: it needs {line} as a date"
                )
        assert "Progress: 100%" in jobs["welcome-ada"], jobs["welcome-ada"]

        page.locator("#requeue-job").click()
        ran = wait_demo_finished(server, {2: 8, 3: 8})
        assert wait_alerts(page, alerts, 1) == ["Job requeued successfully"], (
            f"{LABEL}: pop-queue's Requeue Job button (a POST with no body) should requeue "
            f"the failed jobs; the page alerted {alerts}"
        )
        assert (ran[1]["runs"], ran[2]["runs"], ran[3]["runs"]) == (1, 8, 8), ran

        module = target.load_module(FILE, monkeypatch)
        manager = module.JobManager(redis_url)
        try:
            for job_id in (2, 3):
                manager.queue.get_job(job_id).set_state("complete")
        finally:
            manager.shutdown()
        page.reload()
        expect(page.locator("#job-details .job")).to_have_count(3)
        assert all("Status: done" in text for text in shown_jobs(page).values())
        page.locator("#requeue-job").click()
        assert wait_alerts(page, alerts, 2)[1:] == [
            "Failed to requeue job: no failed job to requeue"
        ], f"{LABEL}: with nothing failed, pop-queue's page should show our error: {alerts}"
        assert not errors, f"{LABEL}: pop-queue's page raised {errors}"
    assert {job["state"] for job in details(server).values()} == {"complete"}


def wait_alerts(page, alerts: list[str], count: int, timeout_ms: int = 5000) -> list[str]:
    """Wait until ``count`` alerts came (Playwright delivers them while the page is
    waited on), at most ``timeout_ms``; the alerts."""
    waited = 0
    while len(alerts) < count and waited < timeout_ms:
        page.wait_for_timeout(50)
        waited += 50
    return alerts
