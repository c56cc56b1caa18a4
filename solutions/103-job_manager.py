"""Task 16 — A job manager with a dashboard (after pop-queue).

A small job manager on top of pykue, with a web page to watch and requeue jobs.

``JobManager(redis_url, retries=3, concurrency=2, report=None)``:

- ``define(name, handler)``: jobs called ``name`` run ``handler(job)`` (a plain or an
  ``async`` function). Returning a true value means success; returning False (or
  anything false: None too) or raising means the attempt failed.
- ``now(data, name, identifier, run_at=None)`` enqueues a job and returns
  ``Enqueued(job_id, created)``. The ``identifier`` names the job: calling ``now`` again
  with an identifier already known (from any thread, process or machine) creates
  nothing and returns the existing job's id with ``created=False``. Check and create
  must be ONE atomic step in Redis. ``run_at`` (epoch milliseconds) delays the job.
- ``start()`` starts ``concurrency`` workers for every defined name.
- A failed attempt is retried, up to ``retries`` more times (``retries + 1`` runs in
  all), then the job fails for good, its error being the last attempt's message
  (``handler returned False``, or the exception's text).
- ``job_details()`` lists every job (see the API below); ``requeue(job_id)`` puts a
  failed or complete job back in the queue so it runs again (attempts start over).
- ``shutdown()`` stops the workers and closes the connections.

Every run appends a line to the job's log (``attempt 1/4 failed: ...``); the log keeps
the lines of earlier runs when a job is requeued, so ``runs`` counts all of them.

Configuration: ``config.json`` next to this file (optional) with any of
``{"redis_url": "redis://localhost:6379/0", "retries": 3, "concurrency": 2,
"host": "127.0.0.1", "port": 1245}``; the environment variables ``REDIS_URL``,
``HOST`` and ``PORT`` override the file.

The web app (``create_app(manager)``, FastAPI):

- ``GET /api/job-details`` -> a JSON list, by id: ``{"id", "name", "identifier",
  "state", "attempts", "maxAttempts", "runs", "data", "error", "log", "createdAt",
  "updatedAt", "runAt"}`` (times in epoch ms or null).
- ``POST /api/requeue-job`` with ``{"jobId": 3}`` (an int or a string of digits) ->
  ``{"status": "requeued", "jobId": 3}``; unknown job -> 404; a job that is not failed
  or complete -> 409; a body that is not such an object -> 422; the reply always has
  ``"error"`` with a message when it is not 200. Redis down -> 503.
- ``GET /`` -> an HTML page: one row per job with its details and a Requeue button
  that calls the API. Everything from a job is HTML-escaped (data holding
  ``<script>`` shows as text). The page refreshes its rows every second. Its template
  (``PAGE``, ``ROW``) is given: keep its classes, the browser test looks for them.

Run as a script (``python 103-job_manager.py``), it defines two job names
(``send_email``, ``resize_image``), enqueues four jobs (two with the same identifier)
and prints, on a fresh database, exactly::

    Job 1 created for identifier welcome-ada
    Job 1 already exists for identifier welcome-ada
    Job 2 created for identifier welcome-bob
    Job 3 created for identifier avatar-42
    Job page: http://127.0.0.1:1245/

then starts the workers and the web server. The jobs run at the same time, so lines
of different jobs interleave, but each job's lines come in this order (retries = 3)::

    Sending email to ada@example.com
    Job 1 completed (attempt 1/4)

    Sending email to bob
    Job 2 attempt 1/4 failed: handler returned False
    (the same two lines for attempts 2/4 and 3/4)
    Sending email to bob
    Job 2 attempt 4/4 failed: handler returned False
    Job 2 failed after 4 attempts

    Resizing avatars/42.png to 128px
    Job 3 attempt 1/4 failed: avatars/42.png does not exist
    (the same two lines for attempts 2/4 and 3/4)
    Resizing avatars/42.png to 128px
    Job 3 attempt 4/4 failed: avatars/42.png does not exist
    Job 3 failed after 4 attempts

Run again on the same Redis, every identifier already exists (``Job N already exists
...`` lines) and nothing runs. Ctrl+C or SIGTERM stops it (exit code 0).
"""

import asyncio
import html
import inspect
import json
import os
import signal
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

import redis
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse

import pykue

CONFIG_FILE = Path(__file__).with_name("config.json")
DEFAULTS = {
    "redis_url": "redis://localhost:6379/0",
    "retries": 3,
    "concurrency": 2,
    "host": "127.0.0.1",
    "port": 1245,
}
PREFIX = "jobmanager"  # the pykue queue's prefix and the start of our own keys

_print_lock = threading.Lock()


def say(line: str) -> None:
    """Print one line; worker threads print through this so their lines never mix."""
    with _print_lock:
        print(line)


def load_config(path: Path = CONFIG_FILE) -> dict:
    """DEFAULTS, updated from ``path`` (if it exists), then from REDIS_URL, HOST, PORT."""
    config = dict(DEFAULTS)
    if path.is_file():
        config.update(json.loads(path.read_text(encoding="utf-8")))
    for key, variable in (("redis_url", "REDIS_URL"), ("host", "HOST"), ("port", "PORT")):
        if os.environ.get(variable):
            config[key] = os.environ[variable]
    config["retries"] = int(config["retries"])
    config["concurrency"] = int(config["concurrency"])
    config["port"] = int(config["port"])
    return config


class Enqueued(NamedTuple):
    """What ``now()`` did: the job's id, and whether this call created it."""

    job_id: int
    created: bool


class JobNotFound(LookupError):
    """``requeue()`` of an id no job has."""


class JobBusy(RuntimeError):
    """``requeue()`` of a job that is not failed or complete."""


def iso(ms: int | None) -> str:
    """Epoch milliseconds as ``2026-11-22T17:00:00.123Z`` (JavaScript's toISOString)."""
    if ms is None:
        return ""
    stamp = datetime.fromtimestamp(ms / 1000, UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


class JobManager:
    """define / now / start on a pykue queue, with retries and requeue."""

    def __init__(self, redis_url: str, retries: int = 3, concurrency: int = 2, report=None):
        self.retries = int(retries)
        self.concurrency = int(concurrency)
        self.report = report or (lambda line: None)
        self.queue = pykue.create_queue(redis_url, prefix=PREFIX)
        self.redis = redis.Redis.from_url(redis_url, decode_responses=True)
        self.handlers: dict = {}
        self.started = False

    def define(self, name: str, handler) -> None:
        """Jobs called ``name`` run ``handler(job)``; True = success."""
        self.handlers[name] = handler
        if self.started:
            self.queue.process(name, self._wrap(name, handler), concurrency=self.concurrency)

    def now(self, data, name: str, identifier: str, run_at: int | None = None) -> Enqueued:
        """Enqueue a job unless ``identifier`` already has one; see the module docstring."""
        if not isinstance(identifier, str) or not identifier:
            raise ValueError("identifier must be a non-empty string")
        job = self.queue.create(name, data).attempts(self.retries + 1)  # checks the data
        if run_at is not None:
            job.delay(max(0, int(run_at) - int(time.time() * 1000)))
        # unique() makes pykue check and create in one atomic step: a second job with a
        # known identifier is never created, whoever asks and whenever.
        job.unique(identifier).save()
        return Enqueued(job.id, not job.duplicate)

    def start(self) -> None:
        """Start the workers of every defined job name."""
        self.started = True
        for name, handler in self.handlers.items():
            self.queue.process(name, self._wrap(name, handler), concurrency=self.concurrency)

    def _wrap(self, name: str, handler):
        """A pykue handler: run ``handler``, turn a false result into a failure, log, report."""
        runs_async = inspect.iscoroutinefunction(handler)

        def finish(job, outcome, error: str | None):
            attempt = f"{job.attempts_made + 1}/{job.max_attempts}"
            if error is None and outcome:
                job.log(f"attempt {attempt} completed")
                self.report(f"Job {job.id} completed (attempt {attempt})")
                return outcome
            if error is None:
                error = f"handler returned {outcome!r}"
            job.log(f"attempt {attempt} failed: {error}")
            self.report(f"Job {job.id} attempt {attempt} failed: {error}")
            if job.attempts_made + 1 >= job.max_attempts:
                self.report(f"Job {job.id} failed after {job.max_attempts} attempts")
            raise RuntimeError(error)

        def message(exc: Exception) -> str:
            return str(exc) or type(exc).__name__

        if runs_async:

            async def run_async(job):
                try:
                    outcome = await handler(job)
                except Exception as exc:
                    return finish(job, None, message(exc))
                return finish(job, outcome, None)

            return run_async

        def run(job):
            try:
                outcome = handler(job)
            except Exception as exc:
                return finish(job, None, message(exc))
            return finish(job, outcome, None)

        return run

    def job_details(self) -> list[dict]:
        """Every job, by id, as plain JSON data."""
        jobs = self.queue.jobs()
        details = []
        for job in jobs:
            log = job.logs()
            details.append(
                {
                    "id": job.id,
                    "name": job.type,
                    "identifier": job.unique_key,
                    "state": job.state,
                    "attempts": job.attempts_made,
                    "maxAttempts": job.max_attempts,
                    "runs": len(log),
                    "data": job.data,
                    "error": job.error,
                    "log": log,
                    "createdAt": job.created_at,
                    "updatedAt": job.updated_at,
                    "runAt": job.promote_at,
                }
            )
        return details

    def requeue(self, job_id: int) -> None:
        """Put a failed or complete job back in the queue (attempts start over)."""
        # One atomic step: the job moves only if it is failed or complete right now.
        if self.queue.restart(job_id, only_from=("failed", "complete")):
            return
        job = self.queue.get_job(job_id)
        if job is None:
            raise JobNotFound(f"job {job_id} not found")
        raise JobBusy(f"job {job_id} is {job.state}: only failed or complete jobs can be requeued")

    def shutdown(self) -> None:
        """Stop the workers (active jobs finish or go back) and close the connections."""
        self.queue.shutdown()
        self.redis.close()


# -- the web app ---------------------------------------------------------------------------

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Jobs</title>
<style>
body {{ font-family: sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; }}
th, td {{ border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }}
td.state-failed {{ color: #b00; }} td.state-complete {{ color: #070; }}
pre {{ margin: 0; white-space: pre-wrap; }}
#status {{ min-height: 1.5em; font-weight: bold; }}
</style>
</head>
<body>
<h1>Jobs</h1>
<p id="status" role="status"></p>
<table>
<thead><tr><th>ID</th><th>Name</th><th>Identifier</th><th>State</th><th>Attempts</th>
<th>Runs</th><th>Data</th><th>Error</th><th>Log</th><th>Created</th><th>Updated</th>
<th></th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
<script>
const FIELDS = ["state", "attempts", "runs", "error", "log", "updated"];
function cells(job) {{
  return {{
    state: job.state, attempts: job.attempts + "/" + job.maxAttempts, runs: String(job.runs),
    error: job.error || "", log: job.log.join("\\n"),
    updated: job.updatedAt ? new Date(job.updatedAt).toISOString() : ""
  }};
}}
async function refresh() {{
  const reply = await fetch("/api/job-details");
  if (!reply.ok) return;
  let unknown = 0;
  for (const job of await reply.json()) {{
    const row = document.querySelector('tr[data-job-id="' + job.id + '"]');
    if (!row) {{ unknown += 1; continue; }}
    const values = cells(job);
    for (const field of FIELDS) row.querySelector("." + field).textContent = values[field];
    row.querySelector(".state").className = "state state-" + job.state;
    row.querySelector("button").disabled = !["failed", "complete"].includes(job.state);
  }}
  if (unknown) document.getElementById("status").textContent =
    unknown + " new job(s): reload the page to see them";
}}
async function requeue(button) {{
  const jobId = Number(button.closest("tr").dataset.jobId);
  const reply = await fetch("/api/requeue-job", {{
    method: "POST", headers: {{"Content-Type": "application/json"}},
    body: JSON.stringify({{jobId: jobId}})
  }});
  const body = await reply.json();
  document.getElementById("status").textContent =
    reply.ok ? "Job " + jobId + " requeued" : "Job " + jobId + ": " + body.error;
  refresh();
}}
document.querySelectorAll("button.requeue").forEach(
  (button) => button.addEventListener("click", () => requeue(button)));
setInterval(refresh, 1000);
</script>
</body>
</html>
"""

ROW = (
    '<tr data-job-id="{id}"><td>{id}</td><td>{name}</td><td>{identifier}</td>'
    '<td class="state state-{state}">{state}</td><td class="attempts">{attempts}</td>'
    '<td class="runs">{runs}</td><td><pre>{data}</pre></td><td class="error">{error}</td>'
    '<td><pre class="log">{log}</pre></td><td>{created}</td><td class="updated">{updated}</td>'
    '<td><button class="requeue"{disabled}>Requeue</button></td></tr>'
)


def render_row(job: dict) -> str:
    """One table row; every value from the job is HTML-escaped."""
    e = html.escape
    return ROW.format(
        id=int(job["id"]),
        name=e(job["name"]),
        identifier=e(job["identifier"] or ""),
        state=e(job["state"] or ""),
        attempts=f"{job['attempts']}/{job['maxAttempts']}",
        runs=job["runs"],
        data=e(json.dumps(job["data"], ensure_ascii=False)),
        error=e(job["error"] or ""),
        log=e("\n".join(job["log"])),
        created=iso(job["createdAt"]),
        updated=iso(job["updatedAt"]),
        disabled="" if job["state"] in ("failed", "complete") else " disabled",
    )


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def create_app(manager: JobManager) -> FastAPI:
    """The job page and its JSON API, on ``manager``."""
    app = FastAPI(title="Job manager", description="Task 16: jobs, their details, requeue.")

    @app.get("/api/job-details")
    def job_details():
        return manager.job_details()

    @app.post("/api/requeue-job")
    async def requeue_job(request: Request):
        usage = 'the body must be JSON like {"jobId": 3}'
        try:
            body = json.loads(await request.body())
        except ValueError:
            return error(422, f"{usage}; it is not JSON")
        job_id = body.get("jobId") if isinstance(body, dict) else None
        if isinstance(job_id, str) and job_id.isascii() and job_id.isdigit():
            job_id = int(job_id)
        if not isinstance(job_id, int) or isinstance(job_id, bool):
            return error(422, f"{usage}; jobId must be an integer")
        try:
            await asyncio.to_thread(manager.requeue, job_id)
        except JobNotFound as exc:
            return error(404, str(exc))
        except JobBusy as exc:
            return error(409, str(exc))
        return {"status": "requeued", "jobId": job_id}

    @app.get("/", response_class=HTMLResponse)
    def job_page():
        return PAGE.format(rows="\n".join(render_row(job) for job in manager.job_details()))

    @app.exception_handler(pykue.RedisUnavailable)
    @app.exception_handler(redis.ConnectionError)
    async def redis_unavailable(request, exc):
        return JSONResponse({"error": f"Redis unavailable: {exc}"}, status_code=503)

    return app


# -- the demo --------------------------------------------------------------------------------

# (data, name, identifier) of the jobs main() enqueues: the second one repeats an identifier.
DEMO_JOBS = [
    ({"to": "ada@example.com", "subject": "Welcome"}, "send_email", "welcome-ada"),
    ({"to": "ada@example.com", "subject": "Welcome!"}, "send_email", "welcome-ada"),
    ({"to": "bob", "subject": "Welcome"}, "send_email", "welcome-bob"),
    ({"path": "avatars/42.png", "width": 128}, "resize_image", "avatar-42"),
]


def send_email(job) -> bool:
    """Demo handler: "sends" an email; an address without @ cannot be sent to."""
    say(f"Sending email to {job.data['to']}")
    return "@" in job.data["to"]


def resize_image(job) -> bool:
    """Demo handler: raises, since the image does not exist."""
    say(f"Resizing {job.data['path']} to {job.data['width']}px")
    raise FileNotFoundError(f"{job.data['path']} does not exist")


def main() -> None:
    try:
        config = load_config()
    except (ValueError, KeyError) as exc:
        print(f"config.json: {exc}", file=sys.stderr)
        sys.exit(2)
    manager = JobManager(config["redis_url"], config["retries"], config["concurrency"], report=say)
    manager.define("send_email", send_email)
    manager.define("resize_image", resize_image)
    for data, name, identifier in DEMO_JOBS:
        try:
            job_id, created = manager.now(data, name, identifier)
        except (pykue.RedisUnavailable, redis.ConnectionError) as exc:
            print(f"Redis unavailable: {exc}", file=sys.stderr)
            sys.exit(1)
        if created:
            print(f"Job {job_id} created for identifier {identifier}")
        else:
            print(f"Job {job_id} already exists for identifier {identifier}")
    print(f"Job page: http://{config['host']}:{config['port']}/")
    manager.start()
    # uvicorn re-raises the signal that stopped it; as KeyboardInterrupt it ends quietly.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        uvicorn.run(create_app(manager), host=config["host"], port=config["port"], access_log=False)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        manager.shutdown()


if __name__ == "__main__":
    main()
