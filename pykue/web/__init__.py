"""pykue's dashboard: Kue's JSON API (same routes and shapes) and an HTML page, on FastAPI.

``create_app(queue)`` builds the app; ``python -m pykue dashboard`` serves it on
127.0.0.1:3000. Every state change is one Lua script (see :mod:`pykue.admin`). Errors are
JSON ``{"error": "..."}`` with a real status: 400 bad input, 404 no such job, 413 body too
large, 503 Redis unreachable.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from pykue import admin
from pykue.errors import JobDataError, PykueError, RedisUnavailable
from pykue.keys import STATES
from pykue.queue import Queue

PAGE = Path(__file__).with_name("dashboard.html")
MAX_BODY = 1_000_000  # bytes of a POST /job body
MAX_BATCH = 1000  # jobs in one POST /job list
MAX_INDEX = 10**12  # range bounds beyond this are refused (Redis wants 64-bit ints)
MAX_TYPE = 200  # characters of a job type
MAX_DEPTH = 64  # nesting levels of a job's data
ORDERS = ("asc", "desc")


class ApiError(Exception):
    """An error answered as ``{"error": message}`` with ``status``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _job_id(raw: str) -> int:
    if not raw.isascii() or not raw.isdigit() or len(raw) > 15 or int(raw) < 1:
        raise ApiError(400, f"job id must be a positive integer, not {raw!r}")
    return int(raw)


def _state(raw: str) -> str:
    if raw not in STATES:
        raise ApiError(400, f"unknown state {raw!r}: use one of {', '.join(STATES)}")
    return raw


def _type(raw: str) -> str:
    if not raw or len(raw) > MAX_TYPE:
        raise ApiError(400, f"job type must be 1..{MAX_TYPE} characters")
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError(400, "job type must be valid Unicode text") from None
    return raw


def _depth(value: Any) -> int:
    """How deeply ``value`` nests lists and objects (iteratively: no recursion limit)."""
    deepest, todo = 0, [(value, 1)]
    while todo:
        item, level = todo.pop()
        if isinstance(item, (list, dict)):
            deepest = max(deepest, level)
            if level <= MAX_DEPTH:
                children = item.values() if isinstance(item, dict) else item
                todo += [(child, level + 1) for child in children]
    return deepest


def _range(start: str, stop: str, order: str) -> tuple[int, int, str]:
    """Kue's ``from..to`` (inclusive; to -1 = to the end) and ``asc``/``desc``."""
    try:
        first, last = int(start), int(stop)
    except ValueError:
        raise ApiError(400, f"range must be FROM..TO with integers, not {start}..{stop}") from None
    if not 0 <= first <= MAX_INDEX or not -1 <= last <= MAX_INDEX:
        raise ApiError(400, f"range {start}..{stop}: FROM must be >= 0, TO >= -1 (-1 = to the end)")
    if last != -1 and last < first:
        raise ApiError(400, f"range {start}..{stop}: TO is before FROM")
    if order not in ORDERS:
        raise ApiError(400, f"order must be asc or desc, not {order!r}")
    return first, last, order


def _script_hash(html: str) -> str:
    """CSP source for the page's one inline script (nothing else may run)."""
    match = re.search(r"<script>(.*?)</script>", html, re.S)
    digest = hashlib.sha256(match.group(1).encode() if match else b"").digest()
    return "'sha256-" + base64.b64encode(digest).decode() + "'"


def _parse_job_spec(spec: Any, where: str) -> tuple[str, Any, dict[str, Any]]:
    if not isinstance(spec, dict):
        raise ApiError(400, f'{where} must be an object {{"type", "data", "options"}}')
    unknown = set(spec) - {"type", "data", "options"}
    if unknown:
        raise ApiError(400, f"{where} has unknown keys {sorted(unknown)}: use type, data, options")
    job_type = spec.get("type")
    if not isinstance(job_type, str):
        raise ApiError(400, f"{where}.type must be a string (the job type)")
    _type(job_type)
    options = spec.get("options") or {}
    if not isinstance(options, dict):
        raise ApiError(400, f"{where}.options must be an object")
    allowed = {"priority", "attempts", "delay", "ttl", "backoff", "removeOnComplete", "searchKeys"}
    unknown = set(options) - allowed
    if unknown:
        raise ApiError(
            400, f"{where}.options has unknown keys {sorted(unknown)}: use {sorted(allowed)}"
        )
    data = spec.get("data", {})
    if _depth(data) > MAX_DEPTH:
        raise ApiError(400, f"{where}.data nests deeper than {MAX_DEPTH} levels")
    return job_type, data, options


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def create_app(queue: Queue) -> FastAPI:
    """The dashboard app on ``queue`` (the caller shuts the queue down)."""
    app = FastAPI(
        title="pykue dashboard",
        description="Kue-compatible JSON API and an HTML dashboard for one pykue queue.",
        version="1.0",
    )
    html = PAGE.read_text(encoding="utf-8")
    csp = (
        f"default-src 'none'; script-src {_script_hash(html)}; style-src 'unsafe-inline'; "
        "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    )

    @app.exception_handler(ApiError)
    async def api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, exc.message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "error"
        if exc.status_code == 404 and message == "Not Found":
            message = "no such route (see /docs)"
        return _error(exc.status_code, message)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("path", "body"))
            parts.append(f"{where}: {err.get('msg')}" if where else str(err.get("msg")))
        return _error(400, "; ".join(parts) or "invalid request")

    @app.exception_handler(RedisUnavailable)
    async def redis_down(_request: Request, exc: RedisUnavailable) -> JSONResponse:
        return _error(503, str(exc))

    @app.exception_handler(PykueError)
    async def pykue_error(_request: Request, exc: PykueError) -> JSONResponse:
        if isinstance(exc, JobDataError):
            return _error(400, str(exc))
        return _error(503, str(exc))

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page() -> HTMLResponse:
        return HTMLResponse(
            html,
            headers={
                "Content-Security-Policy": csp,
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer",
                "Cache-Control": "no-store",
            },
        )

    @app.get("/stats", summary="Counts per state (Kue's /stats)")
    def stats() -> dict[str, Any]:
        counts = queue.counts()
        body: dict[str, Any] = {f"{state}Count": counts[state] for state in STATES}
        body["workTime"] = None  # Kue's total work time; pykue does not keep it
        return body

    @app.get("/job/types", summary="Every job type")
    def job_types() -> list[str]:
        return queue.types()

    @app.get("/job/{job_id}", summary="One job as Kue's JSON")
    def get_job(job_id: str) -> JSONResponse:
        found = admin.get_job_json(queue, _job_id(job_id))
        if found is None:
            raise ApiError(404, f"job {job_id} not found")
        return JSONResponse(found)

    @app.get("/job/{job_id}/log", summary="A job's log lines")
    def get_log(job_id: str) -> list[str]:
        lines = admin.job_log(queue, _job_id(job_id))
        if lines is None:
            raise ApiError(404, f"job {job_id} not found")
        return lines

    def listing(state: str | None, job_type: str | None, rng: tuple[int, int, str]) -> JSONResponse:
        first, last, order = rng
        return JSONResponse(admin.list_jobs_json(queue, state, job_type, first, last, order))

    @app.get("/jobs/{job_type}/{state}/stats", summary="Count of one type in one state")
    def type_state_stats(job_type: str, state: str) -> dict[str, int]:
        return {"count": queue.count(_state(state), _type(job_type))}

    @app.get("/jobs/{job_type}/{state}/{start}..{stop}/{order}", summary="Jobs of type and state")
    def jobs_type_state(
        job_type: str, state: str, start: str, stop: str, order: str
    ) -> JSONResponse:
        return listing(_state(state), _type(job_type), _range(start, stop, order))

    @app.get("/jobs/{job_type}/{state}/{start}..{stop}", include_in_schema=False)
    def jobs_type_state_asc(job_type: str, state: str, start: str, stop: str) -> JSONResponse:
        return listing(_state(state), _type(job_type), _range(start, stop, "asc"))

    @app.get("/jobs/{state}/{start}..{stop}/{order}", summary="Jobs in one state")
    def jobs_state(state: str, start: str, stop: str, order: str) -> JSONResponse:
        return listing(_state(state), None, _range(start, stop, order))

    @app.get("/jobs/{state}/{start}..{stop}", include_in_schema=False)
    def jobs_state_asc(state: str, start: str, stop: str) -> JSONResponse:
        return listing(_state(state), None, _range(start, stop, "asc"))

    @app.get("/jobs/{start}..{stop}/{order}", summary="Every job, by id")
    def jobs_all(start: str, stop: str, order: str) -> JSONResponse:
        return listing(None, None, _range(start, stop, order))

    @app.get("/jobs/{start}..{stop}", include_in_schema=False)
    def jobs_all_asc(start: str, stop: str) -> JSONResponse:
        return listing(None, None, _range(start, stop, "asc"))

    @app.put("/job/{job_id}/state/{state}", summary="Move a job (inactive = restart)")
    def put_state(job_id: str, state: str) -> dict[str, str]:
        number = _job_id(job_id)
        _state(state)
        try:
            found = admin.set_state(queue, number, state)
        except ValueError as exc:
            raise ApiError(400, str(exc)) from None
        if not found:
            raise ApiError(404, f"job {job_id} not found")
        return {"message": "updated state"}

    @app.put("/job/{job_id}/priority/{priority}", summary="Change a job's priority")
    def put_priority(job_id: str, priority: str) -> dict[str, str]:
        number = _job_id(job_id)
        try:
            found = admin.set_priority(queue, number, priority)
        except ValueError as exc:
            raise ApiError(400, str(exc)) from None
        if not found:
            raise ApiError(404, f"job {job_id} not found")
        return {"message": "updated priority"}

    @app.delete("/job/{job_id}", summary="Delete a job")
    def delete_job(job_id: str) -> dict[str, str]:
        number = _job_id(job_id)
        if not admin.remove(queue, number):
            raise ApiError(404, f"job {job_id} not found")
        return {"message": f"job {number} removed"}

    @app.post(
        "/job",
        status_code=201,
        summary="Create a job or a list of jobs",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "example": {
                                "type": "email",
                                "data": {"to": "bob@example.com"},
                                "options": {"priority": "high", "attempts": 3, "delay": 0},
                            }
                        }
                    }
                },
            }
        },
    )
    async def post_job(request: Request) -> Any:
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > MAX_BODY:
            raise ApiError(413, f"body larger than {MAX_BODY} bytes")
        raw = await request.body()
        if len(raw) > MAX_BODY:
            raise ApiError(413, f"body larger than {MAX_BODY} bytes")
        try:
            body = json.loads(raw, parse_constant=_reject_constant)
        except (ValueError, RecursionError) as exc:
            raise ApiError(400, f"body must be JSON: {str(exc)[:200]}") from None
        specs = body if isinstance(body, list) else [body]
        if not specs or len(specs) > MAX_BATCH:
            raise ApiError(400, f"a list of jobs must hold 1..{MAX_BATCH} jobs")
        where = "job" if not isinstance(body, list) else "job[{}]"
        parsed = [_parse_job_spec(s, where.format(i)) for i, s in enumerate(specs)]
        jobs = []
        for i, (job_type, data, options) in enumerate(parsed):
            try:
                jobs.append(admin.build_job(queue, job_type, data, options))
            except JobDataError as exc:
                raise ApiError(400, f"{where.format(i)}: {exc}") from None
            except (ValueError, TypeError, RecursionError) as exc:
                raise ApiError(400, f"{where.format(i)}: {str(exc)[:300]}") from None
        created = [
            {"message": "job created", "id": admin.save_quietly(queue, job).id} for job in jobs
        ]
        return created if isinstance(body, list) else created[0]

    return app
