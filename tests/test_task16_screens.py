"""Task 16's job page laid out at 1280x800 (a laptop) and 390x844 (a phone), issue 11.7.

Layout facts from element boxes, with long identifiers, data, errors and log lines on
the page: nothing reaches past the viewport's width (no sideways scrolling), every
timestamp is on one line, in local time (``2026-11-22 18:00:00``, not raw UTC ISO), and
log lines are never wrapped (a long one scrolls inside its box). The screenshots are
saved in run/screenshots/ to look at.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_task16_job_manager import FILE, LABEL, wait_demo_finished

from harness.browser import OVERFLOWING, WRAPPED_TIMES, chromium, skip_without_browser
from harness.webserver import Servers

SHOTS = Path(__file__).resolve().parents[1] / "run" / "screenshots"
LOCAL_TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
# Log lines (of <pre class="log">) that take more than one line box.
WRAPPED_LOG_LINES = """() => Array.from(document.querySelectorAll("pre.log"))
  .filter((el) => el.textContent.trim())
  .filter((el) => { const r = document.createRange(); r.selectNodeContents(el);
                    const lines = el.textContent.split("\\n").length;
                    return new Set(Array.from(r.getClientRects()).map((b) => b.top)).size
                           > lines; })
  .map((el) => el.closest("tr").dataset.jobId)"""


@pytest.fixture
def busy_page(target, env, monkeypatch, redis_url):
    """The script with its demo jobs finished and more jobs with long fields waiting."""
    target.script(FILE)
    skip_without_browser()
    servers = Servers(target, env)
    try:
        server = servers.script(FILE)
        module = target.load_module(FILE, monkeypatch)
        manager = module.JobManager(redis_url)
        try:
            for n in range(4):
                data = {"to": f"customer-{n}@a-rather-long-domain-name.example.com"}
                data["body"] = "word " * 60
                identifier = f"nightly-warehouse-inventory-reconciliation-{n}"
                manager.now(data, "nightly_report_not_started", identifier)
            job_id = manager.now({"to": "x" * 120}, "send_email", "long-address").job_id
        finally:
            manager.shutdown()
        wait_demo_finished(server, {1: 1, 2: 4, 3: 4, job_id: 4})
        yield server
    finally:
        servers.close()


@pytest.mark.task(16)
@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
def test_job_page_is_readable(target, busy_page, width, height):
    from playwright.sync_api import expect

    SHOTS.mkdir(parents=True, exist_ok=True)
    with chromium() as browser:
        page = browser.new_page(viewport={"width": width, "height": height})
        page.set_default_timeout(10_000)
        page.goto(busy_page.url + "/")
        expect(page.locator("tbody tr")).to_have_count(8)
        expect(page.locator('tr[data-job-id="2"] .runs')).to_have_text("4")
        page.screenshot(path=SHOTS / f"task16-{width}x{height}.png", full_page=True)
        sideways = page.evaluate("document.documentElement.scrollWidth") - width
        assert sideways <= 0, f"{LABEL}: the job page scrolls sideways by {sideways}px"
        assert page.evaluate(OVERFLOWING) == [], f"{LABEL}: boxes reach past the page"
        assert page.evaluate(WRAPPED_TIMES) == [], f"{LABEL}: timestamps wrap"
        assert page.evaluate(WRAPPED_LOG_LINES) == [], f"{LABEL}: log lines wrap"
        times = page.locator("time.time")
        shown = [times.nth(i).inner_text() for i in range(times.count())]
        assert shown and all(LOCAL_TIME.match(text) for text in shown), (
            f"{LABEL}: timestamps should read like 2026-11-22 18:00:00 (local): {shown[:4]}"
        )
