"""The dashboard's errors: ``{"error": "..."}`` with a real status, one handler each.

Kue answers most errors with 200 and ``{"error": ...}``; we send the same body with the
status that says what happened (400 bad input, 401 no token, 404 no such job), so that
HTTP clients and monitoring see the failure. Kue's UI shows neither (it ignores both).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from redis import exceptions as redis_errors
from starlette.exceptions import HTTPException as StarletteHTTPException

from pykue.errors import JobDataError, PykueError
from pykue.web.guard import redis_unavailable


class ApiError(Exception):
    """An error answered as ``{"error": message}`` with ``status`` (and ``headers``)."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


def error_reply(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The JSON body every error of the dashboard has."""
    return JSONResponse({"error": message}, status_code=status, headers=headers)


async def _api_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_reply(exc.status, exc.message, exc.headers)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    message = exc.detail if isinstance(exc.detail, str) else "error"
    if exc.status_code == 404 and message == "Not Found":
        message = "no such route (see /docs)"
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request))
    return error_reply(exc.status_code, message, headers)


def allowed_methods(request: Request) -> list[str]:
    """Every method some route answers at this path (Starlette names only the first)."""
    methods: set[str] = set()
    for route in getattr(request.app.state, "route_table", ()):
        if route.path_regex.match(request.url.path):
            if getattr(route, "name", "") == NOT_ALLOWED:
                return ["GET"]  # /job/search, /job/types: not ids of /job/{job_id}
            methods |= route.methods or set()
    return sorted(methods - {"HEAD"}) or ["GET"]


NOT_ALLOWED = "method_not_allowed"  # the name of routes that only answer 405


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("path", "body", "query"))
        parts.append(f"{where}: {err.get('msg')}" if where else str(err.get("msg")))
    return error_reply(400, "; ".join(parts) or "invalid request")


async def _pykue_error(_request: Request, exc: Exception) -> JSONResponse:
    # RedisUnavailable (a PykueError too) is answered by pykue.web.guard: 503 with the cause
    if isinstance(exc, JobDataError):
        return error_reply(400, str(exc))
    return error_reply(503, str(exc), {"Retry-After": "1"})


async def _unreachable(request: Request, exc: Exception) -> JSONResponse:
    # the dashboard reads Redis directly: say which Redis, as pykue's own errors do
    return await redis_unavailable(request, request.app.state.queue.unavailable(exc))


def install(app: FastAPI) -> None:
    """Register the handlers on ``app`` (after :func:`pykue.web.guard.protect`)."""
    app.add_exception_handler(redis_errors.ConnectionError, _unreachable)
    app.add_exception_handler(redis_errors.TimeoutError, _unreachable)
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(PykueError, _pykue_error)
