"""Kue 0.11.6's own code against the dashboard (issue 14, point 1): optional, real.

- Kue's ``test/jsonapi.js``, unchanged, run by mocha against Kue's own app (the baseline)
  and against the dashboard: 13 of 13 must pass on both.
- Kue's UI (its views and ``lib/http/public``) served at the dashboard's origin, driven in
  Chromium: every action it offers works, and with a token, after signing in on our page.

Needs node, npm (Kue is installed into run/kue-0.11.6 on first use), the Kue repository
(for jsonapi.js) and, for the UI, chromium and playwright: each test skips saying which is
missing. See kue_original.py.
"""

from __future__ import annotations

import threading
from contextlib import ExitStack, contextmanager

import pytest
from conftest import wait_until
from dashboard_server import serving
from kue_original import render_ui, run_jsonapi, serve_kue_ui

from harness.browser import chromium
from harness.webserver import start_redis
from pykue.check import check
from pykue.web import create_app
from toolkit.redis_servers import redis_binary

SECRET = "correct-horse-battery-staple"


@pytest.fixture
def kue_redis():
    """A redis-server of its own for Kue's side (its node client sends INFO and QUIT, which
    the embedded fakeredis lacks); the dashboard stays on the session's test Redis."""
    if redis_binary() is None:
        pytest.skip("Kue conformance: Kue's own queue needs a real redis-server (none installed)")
    server = start_redis("real")
    yield server
    server.stop()


@pytest.mark.parametrize("server", ["kue-0.11.6", "pykue"])
def test_kues_own_jsonapi_test(server, make_queue, kue_redis):
    if server == "kue-0.11.6":
        run = run_jsonapi(kue_redis.url, None)  # Kue's app on Kue's queue: the baseline
    else:
        for served in serving(make_queue()):
            run = run_jsonapi(kue_redis.url, served.url)
            assert check(served.queue) == []
    assert (run.passing, run.failing) == (13, 0), run.output[-4000:]


# -- Kue's UI --------------------------------------------------------------------------


@pytest.fixture
def jobs(make_queue):
    """A queue with jobs for every list of Kue's UI; a failed one with a log and an error.
    (A long lease: the busy job must stay active however loaded the machine is.)"""
    queue = make_queue(lease_ms=30_000)
    release = threading.Event()
    for n in range(3):
        queue.create("email", {"title": f"mail {n}", "to": f"user{n}@example.com"}).save()
    queue.create("video", {"title": "film", "file": "cat.mp4"}).save()
    queue.create("video", {"title": "later"}).delay(600_000).save()
    bad = queue.create("report", {"title": "broken report"}).save()
    busy = queue.create("slow", {"title": "busy"}).save()

    def report(job):
        job.log("building report")
        raise RuntimeError("disk full")

    queue.process("report", report)
    queue.process("slow", lambda job: release.wait(30))
    wait_until(lambda: queue.get_job(bad.id).state == "failed", "the report to fail")
    wait_until(lambda: queue.get_job(busy.id).state == "active", "the slow job to start")
    yield queue
    release.set()


@pytest.fixture
def kue_ui(jobs, tmp_path):
    """``kue_ui(**create_app options)``: Kue's UI and our API at one origin; a page on it."""
    rendered = render_ui(tmp_path / "kue-ui", jobs.types())
    with ExitStack() as stack:

        def open_ui(**options):
            app = serve_kue_ui(create_app(jobs, **options), rendered)
            served = stack.enter_context(contextmanager(serving)(jobs, app))
            browser = stack.enter_context(chromium())
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.set_default_timeout(10_000)
            return served, page

        yield open_ui


def job_element(page, job_id: int):
    return page.locator(f"#job-{job_id}")


def runs(queue, job_id: int) -> int:
    """How many times the failing report job ran (one log line per run)."""
    return len(queue.get_job(job_id).logs())


def press(page, job_id: int, link: str) -> None:
    """Click one of a job's links as a user does: they slide apart when the job is hovered."""
    job = job_element(page, job_id)
    job.locator(".contents").hover()
    job.locator(link).click()


def test_ui_lists_jobs_and_counts_per_state(kue_ui, jobs):
    from playwright.sync_api import expect

    served, page = kue_ui()
    page.goto(served.url + "/inactive")
    expect(page.locator("li.inactive .count")).to_have_text("4")
    expect(page.locator("li.failed .count")).to_have_text("1")
    expect(page.locator("li.delayed .count")).to_have_text("1")
    expect(page.locator("li.active .count")).to_have_text("1")
    expect(page.locator("#jobs .job")).to_have_count(4)
    expect(job_element(page, 1).locator(".meta .title")).to_have_text("mail 0")
    expect(job_element(page, 4).locator(".meta .type")).to_have_text("video")
    page.locator("li.failed a").click()
    expect(page.locator("#jobs .job")).to_have_count(1)
    expect(job_element(page, 6).locator(".errorMessage")).to_have_text("disk full")
    page.locator("li.active a").click()
    expect(job_element(page, 7)).to_be_visible()
    page.locator("li.delayed a").click()
    expect(job_element(page, 5).locator(".meta .title")).to_contain_text("later")


def test_ui_details_show_the_log_and_error(kue_ui):
    from playwright.sync_api import expect

    served, page = kue_ui()
    page.goto(served.url + "/failed")
    job_element(page, 6).locator(".contents").click()
    expect(job_element(page, 6).locator(".details")).to_have_class("details show")
    expect(job_element(page, 6).locator("ul.log li")).to_have_text(["building report"])
    expect(job_element(page, 6).locator(".error pre")).to_have_text("disk full")
    expect(job_element(page, 6).locator("td.state")).to_have_text("failed")


def test_ui_changes_priority_and_state(kue_ui, jobs):
    from playwright.sync_api import expect

    served, page = kue_ui()
    page.goto(served.url + "/inactive")
    job = job_element(page, 2)
    job.locator(".contents").click()
    job.locator("td.priority").click()  # Kue swaps the cell for a <select>
    job.locator("tr", has_text="Priority:").locator("select").select_option("-10")  # high
    wait_until(lambda: jobs.get_job(2).priority_value == -10, "the priority to change")
    job.locator("td.state").click()
    job.locator("tr", has_text="State:").locator("select").select_option("complete")
    wait_until(lambda: jobs.get_job(2).state == "complete", "the state to change")
    expect(page.locator("li.complete .count")).to_have_text("1")
    expect(page.locator("#jobs .job")).to_have_count(3)  # it left the inactive list
    assert check(jobs) == []


def test_ui_restarts_and_deletes(kue_ui, jobs):
    from playwright.sync_api import expect

    served, page = kue_ui()
    page.goto(served.url + "/failed")
    press(page, 6, "a.restart")  # GET ./inactive/6
    wait_until(lambda: runs(jobs, 6) == 2, "the restarted job to run again")
    page.locator("li.inactive a").click()
    press(page, 3, "a.remove")  # DELETE ./job/3
    wait_until(lambda: jobs.get_job(3) is None, "the job to be deleted")
    expect(job_element(page, 3)).to_have_count(0)
    assert check(jobs) == []


def test_ui_search_box_filters_the_list(kue_ui):
    from playwright.sync_api import expect

    served, page = kue_ui()
    page.goto(served.url + "/inactive")
    expect(page.locator("#jobs .job")).to_have_count(4)
    # One keyup with the whole word: Kue's search.js sends a request per keyup and shows
    # whichever reply comes last, so typing letter by letter races its own replies.
    page.locator("#search").fill("user")
    page.locator("#search").press("1")
    expect(job_element(page, 2)).to_be_visible()
    for hidden in (1, 3, 4):
        expect(job_element(page, hidden)).to_be_hidden()
    page.locator("#search").fill("")
    page.locator("#search").press("Backspace")  # keyup with an empty box: show all
    expect(job_element(page, 1)).to_be_visible()


def test_ui_filter_by_type_and_sort(kue_ui):
    from playwright.sync_api import expect

    served, page = kue_ui()
    page.goto(served.url + "/inactive")
    page.locator("#filter").select_option("video")
    page.locator("li.inactive a").click()
    expect(page.locator("#jobs .job")).to_have_count(1)
    expect(job_element(page, 4)).to_be_visible()
    page.locator("#filter").select_option("")
    page.locator("#sort").select_option(index=2)  # desc
    page.locator("li.inactive a").click()
    expect(page.locator("#jobs .job .id").first).to_have_text("4")


def test_ui_with_a_token_works_after_signing_in_on_our_page(kue_ui, jobs):
    from playwright.sync_api import expect

    served, page = kue_ui(token=SECRET)
    page.goto(served.url + "/failed")
    press(page, 6, "a.restart")
    page.wait_for_timeout(500)
    assert (jobs.get_job(6).state, runs(jobs, 6)) == ("failed", 1)  # 401: nothing changed
    page.goto(served.url + "/#token=" + SECRET)  # our page signs in, then drops the token
    expect(page.locator("#status")).to_have_text("Signed in")
    assert SECRET not in page.url
    page.goto(served.url + "/failed")
    press(page, 6, "a.restart")
    wait_until(lambda: runs(jobs, 6) == 2, "the restarted job to run again")
    page.locator("li.inactive a").click()
    press(page, 1, "a.remove")
    wait_until(lambda: jobs.get_job(1) is None, "the job to be deleted")
