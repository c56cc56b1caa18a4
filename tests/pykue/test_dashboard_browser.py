"""pykue's dashboard in a real browser: counts, a failed job's detail, Restart, complete;
a page of another site cannot change anything (see harness/browser.py for the browser)."""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager

import pytest
from conftest import wait_until
from dashboard_server import serving

from harness.browser import chromium

SCREENSHOT = os.environ.get("PYKUE_DASHBOARD_SCREENSHOT")  # a path: save one (development)


@pytest.fixture
def dashboard_url(make_queue):
    """The dashboard served by uvicorn in a thread on a free port; its URL."""
    for served in serving(make_queue()):
        yield served.url


def test_restart_a_failed_job_from_the_dashboard(dashboard_url, make_queue):
    from playwright.sync_api import expect

    queue = make_queue()
    fail_first = threading.Event()
    fail_first.set()

    def handler(job, done):
        job.log("sending to %s", job.data["to"])
        job.progress(1, 2)
        if fail_first.is_set():
            done(Exception("mailbox full"))
        else:
            done(None, {"sent": True})

    evil = queue.create("email", {"to": "<script>window.pwned = 1</script>"}).save()
    queue.create("email", {"to": "alice"}).delay(60_000).save()
    queue.create("sms", {"to": "bob"}).save()  # no sms worker: stays queued
    queue.process("email", handler)
    wait_until(lambda: queue.get_job(evil.id).state == "failed", "the email job to fail")

    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.set_default_timeout(10_000)
        page.goto(dashboard_url + "/")
        expect(page.locator("#count-failed")).to_have_text("1")
        expect(page.locator("#count-inactive")).to_have_text("1")
        expect(page.locator("#count-delayed")).to_have_text("1")
        expect(page.locator("#count-complete")).to_have_text("0")

        # the failed list is shown first; open the job
        row = page.locator(f'#rows tr[data-id="{evil.id}"]')
        expect(row).to_contain_text("failed")
        row.click()
        expect(page.locator("#detail-state")).to_have_text("failed")
        expect(page.locator("#detail-error")).to_have_text("mailbox full")
        expect(page.locator("#detail-log")).to_have_text(
            "sending to <script>window.pwned = 1</script>"
        )
        expect(page.locator("#detail-progress")).to_have_text("50%")
        expect(page.locator("#detail-data")).to_contain_text(
            '"to": "<script>window.pwned = 1</script>"'
        )
        assert page.evaluate("window.pwned") is None, "job data ran as a script"
        if SCREENSHOT:
            page.screenshot(path=SCREENSHOT, full_page=True)

        fail_first.clear()  # the next run succeeds
        page.get_by_role("button", name="Restart").click()
        expect(page.locator("#status")).to_have_text(f"Job {evil.id} restarted")
        # counts and detail refresh by themselves
        expect(page.locator("#detail-state")).to_have_text("complete")
        expect(page.locator("#count-complete")).to_have_text("1")
        expect(page.locator("#count-failed")).to_have_text("0")
        expect(page.locator("#detail-result")).to_contain_text('"sent": true')

        # lists per state and type
        page.locator('#counts button[data-state="inactive"]').click()
        expect(page.locator("#rows tr")).to_have_count(1)
        expect(page.locator("#rows tr")).to_contain_text("sms")
        page.locator('#counts button[data-state="delayed"]').click()
        page.locator("#type").select_option("sms")
        expect(page.locator("#empty")).to_be_visible()
        page.locator("#type").select_option("email")
        expect(page.locator("#rows tr")).to_have_count(1)

        # delete the delayed job
        page.locator("#rows tr").click()
        expect(page.locator("#detail-state")).to_have_text("delayed")
        page.get_by_role("button", name="Delete").click()
        expect(page.locator("#status")).to_have_text("Job 2 deleted")
        expect(page.locator("#count-delayed")).to_have_text("0")
        assert queue.get_job(2) is None


HOSTILE = """<!doctype html><title>cats</title>
<img src="{dash}/inactive/1">
<script>
const dash = "{dash}";
fetch(dash + "/job", {{method: "POST", mode: "no-cors", body: '{{"type": "evil"}}'}});
fetch(dash + "/job", {{method: "POST", mode: "no-cors",
                      headers: {{"Content-Type": "text/plain"}}, body: '{{"type": "evil"}}'}});
fetch(dash + "/job/1/state/complete", {{method: "PUT"}}).catch(() => {{}});
fetch(dash + "/job/1", {{method: "DELETE"}}).catch(() => {{}});
setTimeout(() => {{ document.title = "done"; }}, 1500);
</script>"""


def test_a_page_of_another_site_cannot_change_anything(make_queue):
    from playwright.sync_api import expect
    from starlette.applications import Starlette
    from starlette.responses import HTMLResponse
    from starlette.routing import Route

    queue = make_queue()
    queue.create("email", {"to": "bob"}).save()
    queue.create("email", {"to": "eve"}).save()
    with contextmanager(serving)(queue) as dash:
        dash.http.put("/job/1/state/failed")
        hostile = HTMLResponse(HOSTILE.format(dash=dash.url))
        evil = Starlette(routes=[Route("/", lambda _request: hostile)])
        with contextmanager(serving)(None, evil) as other, chromium() as browser:
            before = queue.counts(), queue.types()
            page = browser.new_page()
            page.goto(other.url.replace("127.0.0.1", "localhost") + "/")  # another site
            expect(page).to_have_title("done")
            assert (queue.counts(), queue.types()) == before
            assert queue.get_job(1).state == "failed" and queue.get_job(2).state == "inactive"
