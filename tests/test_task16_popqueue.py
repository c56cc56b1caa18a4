"""Task 16 as pop-queue's own clients use it (issue 14 point 3), stated as facts.

pop-queue (github.com/uuuchit/pop-queue) ships a page, ``ui/index.html`` + ``app.js`` +
``styles.css``. Its ``app.js`` (the plain-JavaScript one, up to commit 12fadb7):

- ``GET /api/job-details`` and, per job of the list, shows ``job.name``,
  ``job.identifier``, ``job.status``, ``new Date(job.createdAt)``, ``job.pickedAt`` /
  ``job.finishedAt`` (else "N/A") and ``job.progress + '%'`` (else "N/A");
- its one "Requeue Job" button sends ``fetch('/api/requeue-job', {method: 'POST'})``:
  no body and no Content-Type; it alerts "Job requeued successfully" when the reply is
  ok, else ``Failed to requeue job: ${errorData.error}``.

pop-queue's README: ``curl -X POST http://localhost:3000/api/requeue-job -H
"Content-Type: application/json" -d '{"jobId": "yourJobId"}'``; its server answers 200
``{"message": "Job requeued successfully"}``, or 400 ``{"error": "Invalid or missing
jobId"}``. pop-queue marks a finished job ``status: 'done'``, one that failed for good
``'failed'``. Its library: ``new PopQueue(dbUrl, redisUrl, dbName, collectionName,
retries)``, and ``now(job, name, identifier, score)`` with a known identifier queues that
job again.

The browser counterpart (the unmodified page in Chromium) is test_task16_popqueue_ui.py.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
from test_task16_job_manager import FILE, LABEL, wait_demo_finished

from harness.process import script_env
from harness.webserver import Servers, start_redis


@pytest.fixture(scope="module")
def demo(target, redis_server):
    """The script on a Redis of this module's own: (server, url); tests that change jobs
    wait for them to finish again, so the next test sees the demo's end state."""
    own = start_redis(redis_server.kind)
    servers = Servers(target, script_env(own.url))
    try:
        yield servers.script(FILE), own.url
    finally:
        servers.close()
        own.stop()


def as_the_ui_sends_it(server):
    """``fetch('/api/requeue-job', {method: 'POST'})`` from a page of the server's origin,
    with the headers Chromium adds to it."""
    headers = {"Origin": server.url, "Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors"}
    return server.http.post("/api/requeue-job", headers=headers)


@pytest.mark.task(16)
def test_job_details_carry_pop_queues_fields(target, demo):
    server, _ = demo
    jobs = wait_demo_finished(server)
    expected = {1: ("welcome-ada", "done", 100), 2: ("welcome-bob", "failed", None)}
    expected[3] = ("avatar-42", "failed", None)
    for job_id, (identifier, status, progress) in expected.items():
        job = jobs[job_id]
        seen = (job.get("identifier"), job.get("status"))
        assert seen == (identifier, status), (
            f"{LABEL}: pop-queue's page shows job.status; job {job_id} should have status "
            f"{status!r} (pop-queue's word for a {job['state']} job), got {seen}"
        )
        picked, finished = job.get("pickedAt"), job.get("finishedAt")
        assert isinstance(picked, int) and isinstance(finished, int), (
            f"{LABEL}: job {job_id} is finished: pickedAt and finishedAt must be epoch ms "
            f"(pop-queue's page shows N/A otherwise), got {picked!r} and {finished!r}"
        )
        assert job["createdAt"] <= picked <= finished, (
            f"{LABEL}: job {job_id}: createdAt <= pickedAt <= finishedAt, got "
            f"{job['createdAt']}, {picked}, {finished}"
        )
        if progress is not None:
            assert job.get("progress") == progress, f"{LABEL}: job {job_id}'s progress"


@pytest.mark.task(16)
def test_the_original_pages_requeue_request_requeues_the_failed_jobs(target, demo):
    server, _ = demo
    before = wait_demo_finished(server)
    reply = as_the_ui_sends_it(server)
    body = reply.json()
    assert reply.status_code == 200 and body.get("message") == "Job requeued successfully", (
        f"{LABEL}: pop-queue's page POSTs /api/requeue-job with no body: that requeues every "
        f"failed job; answered {reply.status_code} {reply.text[:300]}"
    )
    failed = sorted(i for i, job in before.items() if job["state"] == "failed")
    assert body.get("jobIds") == failed, f"{LABEL}: jobs {failed} had failed: {body}"
    jobs = wait_demo_finished(server, {i: before[i]["runs"] + 4 for i in failed})
    runs = {i: jobs[i]["runs"] - before[i]["runs"] for i in sorted(before)}
    assert runs == {i: 4 if i in failed else 0 for i in sorted(before)}, (
        f"{LABEL}: each failed job runs 4 more times, the complete ones do not run: {runs}"
    )


@pytest.mark.task(16)
def test_nothing_failed_is_an_error_the_page_can_show(target, managers_on_demo):
    server, manager = managers_on_demo
    for job in manager.job_details():
        if job["state"] == "failed":
            manager.queue.get_job(job["id"]).set_state("complete")
    reply = as_the_ui_sends_it(server)
    assert reply.status_code == 409 and reply.json().get("error"), (
        f"{LABEL}: with no failed job, a requeue with no body answers 409 and an error "
        f"(the page alerts 'Failed to requeue job: ' + error); got {reply.status_code} "
        f"{reply.text[:200]}"
    )


@pytest.fixture
def managers_on_demo(target, demo, monkeypatch):
    """(server, a JobManager on the demo's Redis); the failed jobs are failed again after."""
    server, url = demo
    wait_demo_finished(server)
    module = target.load_module(FILE, monkeypatch)
    manager = module.JobManager(url)
    failed = [job["id"] for job in manager.job_details() if job["state"] == "failed"]
    try:
        yield server, manager
    finally:
        for job_id in failed:
            manager.queue.get_job(job_id).set_state("failed")
        manager.shutdown()


@pytest.mark.task(16)
def test_readme_curl_examples_work_as_written(target, managers_on_demo):
    server, manager = managers_on_demo
    # curl -X GET http://localhost:3000/api/job-details
    reply = server.http.get("/api/job-details")
    assert reply.status_code == 200 and isinstance(reply.json(), list)
    # curl -X POST .../api/requeue-job -H "Content-Type: application/json" -d '{"jobId": ...}'
    job_id = manager.now({"to": "nobody"}, "send_email", "yourJobId").job_id
    wait_demo_finished(server, {job_id: 4})
    for text, requeued in (('{"jobId": "yourJobId"}', job_id), ('{"jobId": "welcome-bob"}', 2)):
        reply = server.http.post(
            "/api/requeue-job", content=text, headers={"Content-Type": "application/json"}
        )
        body = reply.json()
        assert reply.status_code == 200 and body.get("message") == "Job requeued successfully", (
            f"{LABEL}: curl ... -d '{text}' (a job's identifier, a string, as pop-queue's "
            f"README sends it) answered {reply.status_code} {reply.text[:300]}"
        )
        assert body.get("jobId") == requeued, f"{LABEL}: {text} names job {requeued}: {body}"
    wait_demo_finished(server, {job_id: 8, 2: 8})
    manager.queue.get_job(job_id).remove()  # the demo's jobs only, for the other tests


@pytest.mark.task(16)
def test_pop_queue_constructor_and_now_requeue_a_known_identifier(target, monkeypatch, redis_url):
    module = target.load_module(FILE, monkeypatch)
    calls: Counter = Counter()
    lock = threading.Lock()
    queue = module.PopQueue("mongodb://localhost:27017", redis_url, "myDatabase", "myCollection", 3)
    try:

        def my_job(job):
            with lock:
                calls[job.data["n"]] += 1
            return job.data["n"] == 1

        queue.define("myJob", my_job)
        queue.start()
        ok = queue.now({"n": 1}, "myJob", "jobIdentifier", int(time.time() * 1000))
        bad = queue.now({"n": 2}, "myJob", "badIdentifier", int(time.time() * 1000))
        wait_runs(queue, {ok.job_id: 1, bad.job_id: 3})
        assert (calls[1], calls[2]) == (1, 3), (
            f"{LABEL}: PopQueue(..., retries=3): a job that returns False runs 3 times in "
            f"all, as in pop-queue; ran {calls[2]} times (a good one {calls[1]})"
        )
        again = queue.now({"n": 1}, "myJob", "jobIdentifier", int(time.time() * 1000))
        assert tuple(again) == (ok.job_id, False), f"{LABEL}: one job per identifier"
        queue.now({"n": 2}, "myJob", "badIdentifier")
        wait_runs(queue, {ok.job_id: 2, bad.job_id: 6})
        assert (calls[1], calls[2]) == (2, 6), (
            f"{LABEL}: PopQueue.now() with a known identifier queues that job again (as "
            f"pop-queue does): the done job ran {calls[1]} times, the failed one {calls[2]}"
        )
        assert len(queue.job_details()) == 2, f"{LABEL}: still one job per identifier"
        late = queue.now({"n": 1}, "myJob", "lateIdentifier", delay=300)
        state = {job["id"]: job for job in queue.job_details()}[late.job_id]["state"]
        assert state == "delayed", (
            f"{LABEL}: PopQueue.now(..., delay=300) must wait 300 ms before it runs; the job "
            f"is {state!r} at once"
        )
        wait_runs(queue, {late.job_id: 1})
    finally:
        queue.shutdown()
    # No retries given: load_config()'s retries (3 unless a config.json says otherwise),
    # read as runs in all or as retries after the first run.
    retries = target.function(module, "load_config", FILE)()["retries"]
    default = module.PopQueue("mongodb://localhost:27017", redis_url, "myDatabase", "myCollection")
    try:
        default.define("defaultJob", lambda job: calls.update(["default"]) or False)
        default.start()
        failing = default.now({"n": 3}, "defaultJob", "defaultIdentifier")
        wait_runs(default, {failing.job_id: retries})
        assert calls["default"] in (retries, retries + 1), (
            f"{LABEL}: PopQueue(...) without retries takes load_config()'s retries "
            f"({retries}): a job that returns False runs {retries} or {retries + 1} times in "
            f"all; it ran {calls['default']} times"
        )
    finally:
        default.shutdown()


def wait_runs(manager, runs: dict[int, int], timeout: float = 10) -> None:
    """Wait until each job of ``runs`` is finished after at least that many runs."""
    deadline = time.monotonic() + timeout
    while True:
        jobs = {job["id"]: job for job in manager.job_details()}
        if all(
            jobs[i]["state"] in ("complete", "failed") and jobs[i]["runs"] >= n
            for i, n in runs.items()
        ):
            return
        if time.monotonic() > deadline:
            pytest.fail(f"{LABEL}: jobs did not reach {runs} runs: {jobs}", pytrace=False)
        time.sleep(0.02)
