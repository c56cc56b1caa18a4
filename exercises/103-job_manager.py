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

import asyncio  # noqa: F401  (TODO: asyncio.to_thread in requeue-job)
import html  # noqa: F401  (TODO: html.escape in render_row)
import inspect  # noqa: F401  (TODO: inspect.iscoroutinefunction in _wrap)
import json  # noqa: F401  (TODO: load_config, requeue-job, render_row)
import os  # noqa: F401  (TODO: os.environ in load_config)
import signal
import sys
import threading
import time  # noqa: F401  (TODO: time.time() and time.sleep() in now())
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
    # TODO: update config from the JSON file at ``path`` when it exists
    # TODO: then let the environment win: REDIS_URL -> redis_url, HOST -> host, PORT -> port
    # TODO: make retries, concurrency and port ints
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
        # TODO: remember the handler; if start() was already called, start its workers too
        pass

    def now(self, data, name: str, identifier: str, run_at: int | None = None) -> Enqueued:
        """Enqueue a job unless ``identifier`` already has one; see the module docstring."""
        # TODO: create the pykue job (retries + 1 attempts; run_at -> delay in ms) with
        #       .unique(identifier), which checks and creates in one atomic step, save it,
        #       and return Enqueued(job.id, not job.duplicate)
        raise NotImplementedError("TODO: now()")

    def start(self) -> None:
        """Start the workers of every defined job name."""
        # TODO: for every defined name: self.queue.process(name, self._wrap(...), concurrency)
        pass

    def _wrap(self, name: str, handler):
        """A pykue handler: run ``handler``, turn a false result into a failure, log, report."""
        # TODO: return a pykue handler ``run(job)`` (async when ``handler`` is) that calls
        #       ``handler(job)``; a true result completes the job; a false result or an
        #       exception fails the attempt: raise an exception with the message
        #       ("handler returned False" or the exception's text), so pykue retries it.
        #       Log every run on the job (job.log) and report the lines of the docstring
        #       through self.report (attempt = job.attempts_made + 1, of job.max_attempts).
        raise NotImplementedError("TODO: _wrap()")

    def job_details(self) -> list[dict]:
        """Every job, by id, as plain JSON data."""
        # TODO: self.queue.jobs() with their identifiers (job.unique_key) and logs, as
        #       dicts with the keys listed in the module docstring
        return []

    def requeue(self, job_id: int) -> None:
        """Put a failed or complete job back in the queue (attempts start over)."""
        # TODO: self.queue.restart(job_id, only_from=("failed", "complete")) moves the job
        #       back (attempts start over) in one atomic step; when it returns False, raise
        #       JobNotFound for an unknown id, else JobBusy
        raise NotImplementedError("TODO: requeue()")

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
    # TODO: fill ROW from the job's fields, every value from the job HTML-escaped
    #       (html.escape); data as JSON text; the button disabled unless failed/complete
    return ""


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
        # TODO: read the body (await request.body()); not JSON, not an object or no integer
        #       jobId (a string of digits is fine) -> 422 with a clear "error" message;
        #       run manager.requeue in a thread (asyncio.to_thread): JobNotFound -> 404,
        #       JobBusy -> 409, else {"status": "requeued", "jobId": job_id}
        return error(501, "TODO: requeue-job")

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
    # TODO: manager.now(...) each demo job; print "Job N created for identifier X" or
    #       "Job N already exists for identifier X" (Redis unreachable: message, exit 1)
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
