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
  failed or complete job back in the queue so it runs again (attempts start over);
  ``find(identifier)`` is the id of the job saved with that identifier (or None);
  ``requeue_failed()`` requeues every failed job and returns their ids.
- ``shutdown()`` stops the workers and closes the connections.

Every run appends a line to the job's log (``attempt 1/4 failed: ...``); the log keeps
the lines of earlier runs when a job is requeued, so ``runs`` counts all of them.

``PopQueue(db_url, redis_url, db_name, collection_name, retries)`` (given) is the same
manager in pop-queue's shape: see its docstring.

Configuration: ``config.json`` next to this file (optional) with any of
``{"redis_url": "redis://localhost:6379/0", "retries": 3, "concurrency": 2,
"host": "127.0.0.1", "port": 1245, "ui_folder": null}``; the environment variables
``REDIS_URL``, ``HOST``, ``PORT`` and ``UI_FOLDER`` override the file.

The web app (``create_app(manager)``, FastAPI, behind ``protect()``):

- ``GET /api/job-details`` -> a JSON list, by id: ``{"id", "name", "identifier",
  "state", "attempts", "maxAttempts", "runs", "data", "error", "log", "createdAt",
  "updatedAt", "runAt"}`` and, with pop-queue's names, ``"status"`` (``"done"`` for a
  complete job, ``"failed"``, else the state), ``"pickedAt"`` (when the current or last
  run started; null while waiting), ``"finishedAt"`` (when it completed or failed for
  good; else null) and ``"progress"`` (percent). Times in epoch ms or null.
- ``POST /api/requeue-job`` with ``{"jobId": 3}`` (an int, a string of digits, or the
  identifier given to ``now()``: ``{"jobId": "welcome-bob"}``) -> ``{"message": "Job
  requeued successfully", "status": "requeued", "jobId": 3}``; with no body at all
  (what pop-queue's own page sends) every failed job is requeued: ``{"message": ...,
  "status": "requeued", "jobIds": [2, 3]}``. A body that is not such an object -> 400;
  unknown job or identifier -> 404; a job that is not failed or complete, or no failed
  job to requeue -> 409; the reply always has ``"error"`` with a message when it is not
  200. Redis down -> 503 (``protect()``).
- ``GET /`` -> an HTML page: one row per job with its details and a Requeue button
  that calls the API. Everything from a job is HTML-escaped (data holding
  ``<script>`` shows as text). The page refreshes its rows every second. Its template
  (``PAGE``, ``ROW``) is given: keep its classes, the browser test looks for them.
- ``/ui/``: with ``ui_folder`` set, the files of that folder (for instance pop-queue's
  own ``ui/index.html``, ``app.js`` and ``styles.css``), served at the app's origin.

Run as a script (``python 103-job_manager.py``), it defines two job names
(``send_email``, ``resize_image``), enqueues four jobs (two with the same identifier)
and prints, on a fresh database, exactly::

    Job 1 created for identifier welcome-ada
    Job 1 already exists for identifier welcome-ada
    Job 2 created for identifier welcome-bob
    Job 3 created for identifier avatar-42
    Job page: http://127.0.0.1:1245/

then starts the workers and the web server (the page line comes once the port is
bound; a port in use is one line on stderr naming ``PORT=``, exit code 1). The jobs
run at the same time, so lines of different jobs interleave, but each job's lines come
in this order (retries = 3)::

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
import re
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

try:
    import redis
    from fastapi import FastAPI, Request
    from fastapi.responses import HTMLResponse, JSONResponse
    from starlette.staticfiles import StaticFiles

    import pykue
    from pykue.web.guard import allowed_hosts, json_problem, protect, serve
except ModuleNotFoundError as missing:
    sys.exit(f"{missing}: run `. .venv/bin/activate` first, or use scripts/run")

CONFIG_FILE = Path(__file__).with_name("config.json")
DEFAULTS = {
    "redis_url": "redis://localhost:6379/0",
    "retries": 3,
    "concurrency": 2,
    "host": "127.0.0.1",
    "port": 1245,
    "ui_folder": None,
}
ENVIRONMENT = (("redis_url", "REDIS_URL"), ("host", "HOST"), ("port", "PORT"))
ENVIRONMENT += (("ui_folder", "UI_FOLDER"),)
PREFIX = "jobmanager"  # the pykue queue's prefix and the start of our own keys
MAX_BODY = 100_000  # bytes of a request body (pop-queue's express.json() takes 100 kB)

_print_lock = threading.Lock()


def say(line: str) -> None:
    """Print one line; worker threads print through this so their lines never mix."""
    with _print_lock:
        print(line, flush=True)


def load_config(path: Path = CONFIG_FILE) -> dict:
    """DEFAULTS, updated from ``path`` (if it exists), then from the environment."""
    config = dict(DEFAULTS)
    if path.is_file():
        config.update(json.loads(path.read_text(encoding="utf-8")))
    for key, variable in ENVIRONMENT:
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
            finished = job.state in ("complete", "failed")
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
                    "status": "done" if job.state == "complete" else job.state,
                    "pickedAt": job.started_at
                    if job.state not in ("inactive", "delayed")
                    else None,
                    "finishedAt": job.updated_at if finished else None,
                    "progress": job.progress_percent,
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

    def find(self, identifier: str) -> int | None:
        """The id of the job saved with ``identifier`` (given to ``now()``), or None."""
        found = self.redis.hget(self.queue.keys.unique, identifier)
        return int(found) if found else None

    def requeue_failed(self) -> list[int]:
        """Requeue every failed job (each in one atomic step); the ids requeued."""
        failed = self.queue.jobs("failed")
        return [job.id for job in failed if self.queue.restart(job.id, only_from=("failed",))]

    def shutdown(self) -> None:
        """Stop the workers (active jobs finish or go back) and close the connections."""
        self.queue.shutdown()
        self.redis.close()


class PopQueue(JobManager):
    """The manager in pop-queue's shape (given): ``PopQueue(db_url, redis_url, db_name,
    collection_name, retries)`` and ``now(job, name, identifier, score, priority, delay)``.

    Everything lives in Redis here: ``db_url``, ``db_name`` and ``collection_name`` are
    taken for the shape and not used; ``redis_url`` and ``retries`` default to
    ``config.json`` / REDIS_URL. ``retries`` counts runs in all, as pop-queue's does (3:
    a job runs at most 3 times). ``now()`` with an identifier it already knows re-queues
    that job, as pop-queue does: a complete or failed job runs again (same id, its log
    kept), a waiting or running one is left to run (one job, never two). ``score`` and
    ``priority`` are accepted and not used (pop-queue computes its score itself);
    ``delay`` is in milliseconds."""

    def __init__(
        self,
        db_url=None,
        redis_url=None,
        db_name=None,
        collection_name=None,
        retries=None,
        *,
        concurrency: int = 2,
        report=None,
    ):
        config = load_config()
        runs = config["retries"] + 1 if retries is None else max(1, int(retries))
        super().__init__(redis_url or config["redis_url"], runs - 1, concurrency, report)

    def now(self, job, name, identifier, score=None, priority=0, delay=0) -> Enqueued:
        """Enqueue ``job`` (its data) as ``name``; a known ``identifier`` is re-queued."""
        run_at = int(time.time() * 1000) + int(delay) if delay else None
        enqueued = super().now(job, name, identifier, run_at)
        if not enqueued.created:
            self.queue.restart(enqueued.job_id, only_from=("failed", "complete"))
        return enqueued


# -- the web app ---------------------------------------------------------------------------

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Jobs</title>
<style>
* {{ box-sizing: border-box; }}
body {{ font-family: system-ui, sans-serif; margin: 0; background: #f4f5f7; color: #222; }}
header {{ background: #2d3142; color: #fff; padding: 10px 16px; }}
h1 {{ font-size: 18px; margin: 0; }}
main {{ padding: 16px; }}
#status {{ min-height: 1.4em; font-size: 14px; font-weight: bold; margin: 0 0 8px; }}
table {{ border-collapse: collapse; width: 100%; font-size: 14px; background: #fff;
         table-layout: fixed; }}
th, td {{ text-align: left; vertical-align: top; padding: 6px 8px;
          border-bottom: 1px solid #e3e3e3; overflow-wrap: anywhere; }}
th {{ font-size: 13px; color: #555; white-space: nowrap; }}
col.id {{ width: 3em; }} col.job {{ width: 17%; }} col.state {{ width: 6.5em; }}
col.attempts {{ width: 5.5em; }} col.runs {{ width: 3.5em; }} col.times {{ width: 16.5em; }}
col.button {{ width: 7.5em; }}
.identifier, .label {{ color: #666; font-size: 13px; }}
.time, .when {{ white-space: nowrap; font-variant-numeric: tabular-nums; }}
.state-failed {{ color: #b00020; font-weight: bold; }}
.state-complete {{ color: #1b7a2e; font-weight: bold; }}
.state-active {{ color: #0b5cad; }} .state-delayed {{ color: #8a6d00; }}
pre {{ margin: 2px 0 6px; font-size: 12px; background: #f0f0f0; padding: 4px 6px;
       overflow-x: auto; max-height: 12em; }}
pre.data {{ white-space: pre-wrap; overflow-wrap: anywhere; }}
pre.log {{ white-space: pre; }}
pre:empty {{ display: none; }}
.error {{ color: #b00020; margin: 2px 0 4px; }}
button {{ padding: 6px 10px; cursor: pointer; white-space: nowrap; }}
@media (max-width: 760px) {{
  main {{ padding: 8px; }}
  table, tbody, tr, td {{ display: block; width: 100%; }}
  thead, colgroup {{ display: none; }}
  tr {{ background: #fff; margin-bottom: 10px; border: 1px solid #ddd; border-radius: 6px; }}
  td {{ border: 0; padding: 4px 10px; }}
  td[data-label] {{ display: inline-block; width: auto; padding-right: 14px; }}
  td[data-label]::before {{ content: attr(data-label) ": "; color: #666; font-size: 13px; }}
}}
</style>
</head>
<body>
<header><h1>Jobs</h1></header>
<main>
<p id="status" role="status"></p>
<table>
<colgroup><col class="id"><col class="job"><col class="state"><col class="attempts">
<col class="runs"><col class="times"><col class="details"><col class="button"></colgroup>
<thead><tr><th>ID</th><th>Job</th><th>State</th><th>Attempts</th><th>Runs</th>
<th>Times</th><th>Data, error and log</th><th></th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
</main>
<script>
const FIELDS = ["state", "attempts", "runs", "error", "log"];
function local(ms) {{
  return ms ? new Date(ms).toLocaleString("sv-SE") : "";  // 2026-11-22 18:00:00, local
}}
function showTimes(root) {{
  root.querySelectorAll("time[data-ms]").forEach((el) => {{
    el.textContent = local(Number(el.dataset.ms));
  }});
}}
function cells(job) {{
  return {{
    state: job.state, attempts: job.attempts + "/" + job.maxAttempts, runs: String(job.runs),
    error: job.error || "", log: job.log.join("\\n")
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
    const updated = row.querySelector(".updated");
    updated.dataset.ms = job.updatedAt || "";
    updated.textContent = local(job.updatedAt);
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
showTimes(document);
document.querySelectorAll("button.requeue").forEach(
  (button) => button.addEventListener("click", () => requeue(button)));
setInterval(refresh, 1000);
</script>
</body>
</html>
"""

ROW = (
    '<tr data-job-id="{id}"><td data-label="ID">{id}</td>'
    '<td><b class="name">{name}</b><div class="identifier">{identifier}</div></td>'
    '<td data-label="State" class="state state-{state}">{state}</td>'
    '<td data-label="Attempts" class="attempts">{attempts}</td>'
    '<td data-label="Runs" class="runs">{runs}</td>'
    '<td><div class="when"><span class="label">Created </span>'
    '<time class="time created" data-ms="{created_ms}">{created}</time></div>'
    '<div class="when"><span class="label">Updated </span>'
    '<time class="time updated" data-ms="{updated_ms}">{updated}</time></div></td>'
    '<td><pre class="data">{data}</pre><div class="error">{error}</div>'
    '<pre class="log">{log}</pre></td>'
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
        created_ms=job["createdAt"] or "",
        created=iso(job["createdAt"]),
        updated_ms=job["updatedAt"] or "",
        updated=iso(job["updatedAt"]),
        disabled="" if job["state"] in ("failed", "complete") else " disabled",
    )


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def printable(value):
    """``value`` with every lone surrogate (text UTF-8 cannot carry) shown as U+FFFD (given).

    Job data in Redis may hold one (written by another client, or before pykue refused
    them); sent as it is, it would make the page and the API fail instead of showing it.
    """
    text = json.dumps(value, ensure_ascii=False)
    fixed = LONE_SURROGATE.sub("\ufffd", text)  # a valid pair is one code point in Python
    return value if fixed == text else json.loads(fixed)


class BadRequest(ValueError):
    """A requeue-job body that names no job."""


USAGE = (
    'send {"jobId": 3} (a job id, or the identifier given to now()), '
    "or no body at all to requeue every failed job"
)


def job_reference(raw: bytes) -> int | str | None:
    """What a requeue-job body names: a job id, an identifier, or None (no body: every
    failed job); raises BadRequest saying what is wrong."""
    if not raw.strip():
        return None
    problem = json_problem(raw)  # not JSON, too deep, NaN, lone surrogates ...
    if problem is not None:
        raise BadRequest(f"{problem}; {USAGE}")
    body = json.loads(raw)
    job_id = body.get("jobId") if isinstance(body, dict) else None
    if isinstance(job_id, bool) or not isinstance(job_id, int | str) or job_id == "":
        raise BadRequest(f"jobId must be a job id or an identifier; {USAGE}")
    if isinstance(job_id, str) and job_id.isascii() and job_id.isdigit() and len(job_id) < 19:
        return int(job_id)
    return job_id


REQUEUE_BODY = {
    "requestBody": {
        "required": False,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["jobId"],
                    "properties": {
                        "jobId": {
                            "anyOf": [{"type": "integer"}, {"type": "string", "minLength": 1}],
                            "description": "a job id, or the identifier given to now()",
                        }
                    },
                }
            }
        },
    }
}
REQUEUE_ERRORS = {
    400: {"description": "The body names no job"},
    404: {"description": "No job has this id or identifier"},
    409: {"description": "The job is not failed or complete, or no job failed"},
}


def create_app(manager: JobManager, hosts=None, ui_folder: str | None = None) -> FastAPI:
    """The job page and its JSON API, on ``manager``; ``ui_folder`` is served at /ui/."""
    app = FastAPI(title="Job manager", description="Task 16: jobs, their details, requeue.")

    @app.get("/api/job-details")
    def job_details():
        return printable(manager.job_details())

    @app.post("/api/requeue-job", responses=REQUEUE_ERRORS, openapi_extra=REQUEUE_BODY)
    async def requeue_job(request: Request):
        try:
            reference = job_reference(await request.body())
        except BadRequest as exc:
            return error(400, str(exc))
        done = {"message": "Job requeued successfully", "status": "requeued"}
        if reference is None:
            requeued = await asyncio.to_thread(manager.requeue_failed)
            if not requeued:
                return error(409, "no failed job to requeue")
            return {**done, "jobIds": requeued}
        job_id = reference
        if isinstance(reference, str):
            job_id = await asyncio.to_thread(manager.find, reference)
            if job_id is None:
                return error(404, f"no job has the identifier {reference!r}")
        try:
            await asyncio.to_thread(manager.requeue, job_id)
        except JobNotFound as exc:
            return error(404, str(exc))
        except JobBusy as exc:
            return error(409, str(exc))
        return {**done, "jobId": job_id}

    @app.get("/", response_class=HTMLResponse)
    def job_page():
        rows = "\n".join(render_row(job) for job in printable(manager.job_details()))
        return PAGE.format(rows=rows)

    if ui_folder:
        app.mount("/ui", StaticFiles(directory=ui_folder, html=True), name="ui")
    return protect(app, max_body=MAX_BODY, hosts=hosts)


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
            say(f"Job {job_id} created for identifier {identifier}")
        else:
            say(f"Job {job_id} already exists for identifier {identifier}")
    app = create_app(manager, allowed_hosts(config["host"]), config["ui_folder"])

    def listening(url: str) -> None:  # the port is bound: the page can be reached
        say(f"Job page: {url}/")
        manager.start()

    try:
        serve(
            app, on_listening=listening, host=config["host"], port=config["port"], access_log=False
        )
    finally:
        manager.shutdown()


if __name__ == "__main__":
    main()
