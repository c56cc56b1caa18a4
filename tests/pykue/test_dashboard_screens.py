"""The dashboard's page laid out at 1280x800 (a laptop) and 390x844 (a phone), issue 11 point 7.

Layout facts from element boxes, with long type names, data, errors and log lines on the
page: nothing reaches past the viewport's width (no sideways scrolling), and every
timestamp is on one line (never wrapped mid-date). The screenshots are saved in
run/screenshots/ to look at.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import wait_until
from dashboard_server import serving

from harness.browser import OVERFLOWING, WRAPPED_TIMES, chromium

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "run" / "screenshots"


@pytest.fixture
def busy_dashboard(make_queue):
    queue = make_queue()
    long_type = "nightly-warehouse-inventory-reconciliation-report"

    def fail(job):
        job.log("reconciling warehouse %s against the ledger for the whole of last month", 7)
        job.progress(3, 4)
        raise RuntimeError("ledger service answered 503 Service Unavailable " * 3)

    for n in range(12):
        queue.create(
            long_type if n % 3 == 0 else "email",
            {
                "to": f"customer-{n}@a-rather-long-domain-name.example.com",
                "body": "word " * 80,
            },
        ).save()
    queue.process(long_type, fail)
    wait_until(lambda: queue.count("failed") == 4, "the long jobs to fail")
    yield from serving(queue)


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
def test_nothing_overflows_and_timestamps_stay_on_one_line(busy_dashboard, width, height):
    from playwright.sync_api import expect

    SHOTS.mkdir(parents=True, exist_ok=True)
    with chromium() as browser:
        page = browser.new_page(viewport={"width": width, "height": height})
        page.set_default_timeout(10_000)
        page.goto(busy_dashboard.url + "/")
        expect(page.locator("#rows tr")).to_have_count(4)  # the failed list
        page.locator("#rows tr").first.click()
        expect(page.locator("#detail-state")).to_have_text("failed")
        expect(page.locator("#detail-log")).to_contain_text("reconciling warehouse 7")
        page.screenshot(path=SHOTS / f"dashboard-{width}x{height}.png", full_page=True)
        sideways = page.evaluate("document.documentElement.scrollWidth") - width
        assert sideways <= 0, f"the page scrolls sideways by {sideways}px at {width}px"
        assert page.evaluate(OVERFLOWING) == []
        assert page.evaluate(WRAPPED_TIMES) == []
        times = page.locator("#rows td.time")
        assert times.count() == 4 and all(times.nth(i).inner_text() for i in range(4))
        assert page.locator("#detail-created").inner_text()[:2] == "20"  # 2026-12-02 21:13:28
        page.locator('#counts button[data-state="inactive"]').click()
        expect(page.locator("#rows tr")).to_have_count(8)
        page.screenshot(path=SHOTS / f"dashboard-{width}x{height}-queued.png", full_page=True)
        assert page.evaluate(OVERFLOWING) == []
        assert page.evaluate(WRAPPED_TIMES) == []
