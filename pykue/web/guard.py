"""What every web app of this repository shares: safe defaults at the door, and serving.

``protect(app)`` installs, in one place, what each app would otherwise repeat:

- a Host allow-list (``ALLOWED_HOSTS``, default: the localhost names and ``HOST``), so a
  DNS-rebinding page cannot talk to the app through a name of its own;
- state changes (POST, PUT, PATCH, DELETE) only from the app's own pages or from
  non-browser clients: ``Sec-Fetch-Site: cross-site|same-site`` or a foreign ``Origin``
  is refused with 403, and a request with neither header must send its body as JSON
  (415 otherwise: a cross-site ``<form>`` or ``text/plain`` fetch cannot);
- a body limit (413) and JSON checked at the door (400): no NaN or Infinity, no lone
  surrogates, no nesting deeper than ``MAX_DEPTH``, nothing Python cannot parse back;
- one error handler: Redis down, too slow, loading or full is a 503 with the cause;
- ``/docs`` and ``/redoc`` served from an installed package, so they work offline;
- the OpenAPI schema lists those statuses.

``serve(app)`` binds HOST:PORT first (a taken port is one clear line, exit 1), then runs
uvicorn until Ctrl+C or SIGTERM and returns normally (exit 0).
"""

from __future__ import annotations

import errno
import json
import math
import os
import signal
import socket
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse, JSONResponse
from redis import exceptions as redis_errors
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pykue.errors import RedisUnavailable
from pykue.job import MAX_DEPTH, has_lone_surrogate  # nesting levels; text UTF-8 cannot carry

MAX_BODY = 1_000_000  # bytes of a request body, unless protect(max_body=...) says otherwise
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
ASSETS = "/docs-assets"  # where the Swagger UI and ReDoc files are served

# Redis errors that mean "not now", not "your request is wrong": answered 503.
UNAVAILABLE = (
    redis_errors.ConnectionError,
    redis_errors.TimeoutError,
    redis_errors.BusyLoadingError,
    redis_errors.ReadOnlyError,
    redis_errors.OutOfMemoryError,
    redis_errors.MasterDownError,
    redis_errors.ClusterDownError,
    redis_errors.TryAgainError,
    RedisUnavailable,
)


# -- JSON at the door -----------------------------------------------------------------


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:40]} is too large for a number")
    return value


def value_problem(value: Any, max_depth: int = MAX_DEPTH) -> str | None:
    """Why ``value`` cannot be stored as JSON and read back unchanged, or None if it can.

    Walks the value iteratively (no recursion limit): every string (keys too) must be
    encodable as UTF-8 (no lone surrogates), every float finite, nesting at most
    ``max_depth`` levels, and only JSON's types may appear.
    """
    todo: list[tuple[Any, int]] = [(value, 1)]
    while todo:
        item, level = todo.pop()
        if isinstance(item, str):
            if has_lone_surrogate(item):
                return "text holds a lone surrogate (such as \\ud800), which is not valid Unicode"
        elif isinstance(item, float):
            if not math.isfinite(item):
                return f"{item} is not a JSON number"
        elif isinstance(item, dict | list):
            if level > max_depth:
                return f"JSON nests deeper than {max_depth} levels"
            if isinstance(item, dict):
                for key, child in item.items():
                    if not isinstance(key, str):
                        return f"object key {key!r} is not text"
                    todo += [(key, level), (child, level + 1)]
            else:
                todo += [(child, level + 1) for child in item]
        elif item is not None and not isinstance(item, bool | int):
            return f"{type(item).__name__} is not a JSON type"
    return None


def json_problem(raw: bytes, max_depth: int = MAX_DEPTH) -> str | None:
    """Why the body ``raw`` is not JSON this app can take, or None if it is."""
    try:
        value = json.loads(
            raw.decode("utf-8"), parse_constant=_reject_constant, parse_float=_finite_float
        )
    except UnicodeDecodeError:
        return "the body is not UTF-8 text"
    except RecursionError:
        return f"the body nests deeper than {max_depth} levels"
    except ValueError as exc:
        return f"the body is not valid JSON: {str(exc)[:200]}"
    return value_problem(value, max_depth)


# -- the middleware -------------------------------------------------------------------


def allowed_hosts(bound: str | None = None) -> set[str]:
    """``ALLOWED_HOSTS`` (comma-separated names, ``*`` for any), else localhost and the
    address the app binds (``bound``, default env HOST)."""
    configured = os.environ.get("ALLOWED_HOSTS", "").strip()
    if configured:
        return {name.strip().lower().strip("[]") for name in configured.split(",") if name.strip()}
    names = set(LOCAL_HOSTS)
    bound = (os.environ.get("HOST", "") if bound is None else bound).strip().lower().strip("[]")
    if bound and bound not in ("0.0.0.0", "::"):
        names.add(bound)
    return names


def _host_name(host: str) -> str:
    """The name part of a Host header (``[::1]:80`` -> ``::1``, ``a:1245`` -> ``a``)."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _netloc(scheme: str, netloc: str) -> str:
    """``netloc`` with the scheme's default port made explicit, for comparison."""
    netloc = netloc.lower()
    if netloc.endswith("]") or ":" not in netloc.rsplit("]", 1)[-1]:
        netloc += ":443" if scheme == "https" else ":80"
    return netloc


def cross_site_problem(headers: Headers, scheme: str) -> tuple[int, str] | None:
    """(status, why) when a state-changing request may come from another site's page."""
    site = headers.get("sec-fetch-site")
    if site in ("cross-site", "same-site"):
        return 403, "refused: a page of another site may not change this app's state"
    origin = headers.get("origin")
    if origin is not None:
        parts = urlsplit(origin)
        if origin == "null" or _netloc(parts.scheme, parts.netloc) != _netloc(
            scheme, headers.get("host", "")
        ):
            return 403, f"refused: a page of {origin} may not change this app's state"
        return None
    if site is None and _has_body(headers) and not _is_json(headers):
        return 415, "send the body as JSON, with Content-Type: application/json"
    return None


def _has_body(headers: Headers) -> bool:
    return headers.get("content-length", "0") not in ("", "0") or "transfer-encoding" in headers


def _is_json(headers: Headers) -> bool:
    kind = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return kind == "application/json" or kind.endswith("+json")


class Guard:
    """ASGI middleware: Host allow-list, same-origin state changes, body limit, JSON check."""

    def __init__(self, app: ASGIApp, *, hosts: Iterable[str], max_body: int) -> None:
        self.app = app
        self.hosts = set(hosts)
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        host = headers.get("host", "")
        if "*" not in self.hosts and _host_name(host) not in self.hosts:
            names = ", ".join(sorted(self.hosts))
            await self._refuse(
                scope, receive, send, 400,
                f"Host {host!r} is not served here (allowed: {names}; set ALLOWED_HOSTS)",
            )  # fmt: skip
            return
        if scope["type"] == "http" and scope["method"] not in SAFE_METHODS:
            problem = cross_site_problem(headers, scope.get("scheme", "http"))
            if problem is None:
                problem, receive = await self._read_body(headers, receive)
            if problem is not None:
                await self._refuse(scope, receive, send, *problem)
                return
        await self.app(scope, receive, send)

    async def _read_body(
        self, headers: Headers, receive: Receive
    ) -> tuple[tuple[int, str] | None, Receive]:
        """Read the whole body (at most ``max_body`` bytes), check it, and replay it."""
        too_large = (413, f"the body is larger than {self.max_body} bytes")
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_body:
            return too_large, receive
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return too_large, receive
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if body and _is_json(headers):
            why = json_problem(body)
            if why is not None:
                return (400, why), receive
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        return None, replay

    @staticmethod
    async def _refuse(
        scope: Scope, receive: Receive, send: Send, status: int, message: str
    ) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        await JSONResponse({"error": message}, status_code=status)(scope, receive, send)


# -- errors, docs, schema -------------------------------------------------------------


async def redis_unavailable(_request: Request, exc: Exception) -> JSONResponse:
    """Redis is down, too slow, loading or full: 503 with the cause, never a bare 500."""
    cause = str(exc) or type(exc).__name__
    if isinstance(exc, redis_errors.OutOfMemoryError) or cause.startswith("OOM"):
        cause = f"Redis is full (maxmemory reached): {cause}"
    return JSONResponse(
        {"status": "Redis unavailable", "error": cause},
        status_code=503,
        headers={"Retry-After": "1"},
    )


async def redis_refused(request: Request, exc: Exception) -> JSONResponse:
    """A script run out of memory shows as a plain error reply: still a 503."""
    if "OOM" in str(exc):
        return await redis_unavailable(request, exc)
    return JSONResponse({"error": f"Redis refused a command: {exc}"}, status_code=500)


def _static_folder() -> Path:
    """The Swagger UI and ReDoc files shipped by the ``fastapi_offline`` package."""
    import fastapi_offline

    return Path(fastapi_offline.__file__).with_name("static")


def offline_docs(app: FastAPI) -> None:
    """Replace FastAPI's CDN-backed ``/docs`` and ``/redoc`` with locally served ones."""
    docs, redoc, redirect = app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url
    cdn_pages = (docs, redoc, redirect)
    app.router.routes[:] = [
        r for r in app.router.routes if getattr(r, "path", None) not in cdn_pages
    ]
    app.mount(ASSETS, StaticFiles(directory=_static_folder()), name="docs-assets")
    title = app.title
    if docs and app.openapi_url:

        @app.get(docs, include_in_schema=False)
        def swagger_page() -> HTMLResponse:
            return get_swagger_ui_html(
                openapi_url=app.openapi_url,
                title=f"{title} - Swagger UI",
                oauth2_redirect_url=redirect,
                swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
                swagger_css_url=f"{ASSETS}/swagger-ui.css",
                swagger_favicon_url=f"{ASSETS}/favicon.png",
                swagger_ui_parameters={"validatorUrl": None},
            )

        if redirect:

            @app.get(redirect, include_in_schema=False)
            def swagger_redirect() -> HTMLResponse:
                return get_swagger_ui_oauth2_redirect_html()

    if redoc and app.openapi_url:

        @app.get(redoc, include_in_schema=False)
        def redoc_page() -> HTMLResponse:
            return get_redoc_html(
                openapi_url=app.openapi_url,
                title=f"{title} - ReDoc",
                redoc_js_url=f"{ASSETS}/redoc.standalone.js",
                redoc_favicon_url=f"{ASSETS}/favicon.png",
                with_google_fonts=False,
            )


COMMON_RESPONSES = {
    "503": {"description": "Redis is unreachable, too slow or full (the cause is in the body)"},
}
STATE_CHANGE_RESPONSES = {
    "400": {"description": "The body is not JSON this app can store"},
    "403": {"description": "Refused: the request came from another site's page"},
    "413": {"description": "The body is too large"},
    "415": {"description": "The body is not JSON"},
}


def document_statuses(app: FastAPI) -> None:
    """Add the statuses that ``protect`` can answer to every operation of the schema."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            for operations in schema.get("paths", {}).values():
                for method, operation in operations.items():
                    responses = operation.setdefault("responses", {})
                    extra = dict(COMMON_RESPONSES)
                    if method.upper() not in SAFE_METHODS:
                        extra |= STATE_CHANGE_RESPONSES
                    for status, response in extra.items():
                        responses.setdefault(status, response)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def protect(
    app: FastAPI, *, max_body: int = MAX_BODY, hosts: Iterable[str] | None = None
) -> FastAPI:
    """Install this module's protections on ``app`` (see the module docstring); returns it."""
    app.add_middleware(Guard, hosts=allowed_hosts() if hosts is None else hosts, max_body=max_body)
    for error in UNAVAILABLE:
        app.add_exception_handler(error, redis_unavailable)
    app.add_exception_handler(redis_errors.ResponseError, redis_refused)
    offline_docs(app)
    document_statuses(app)
    return app


# -- serving ----------------------------------------------------------------------------


def _listen_address() -> tuple[str, int]:
    host = os.environ.get("HOST", "127.0.0.1").strip() or "127.0.0.1"
    text = os.environ.get("PORT", "1245").strip()
    if not text.isdigit() or not 0 < int(text) < 65536:
        sys.exit(f"PORT must be a number from 1 to 65535, not {text!r}")
    return host, int(text)


def bind(host: str, port: int) -> socket.socket:
    """A socket bound to host:port, or exit 1 with one line saying why it cannot be."""
    try:
        family, kind, proto, _name, address = socket.getaddrinfo(
            host.strip("[]"), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except (OSError, socket.gaierror) as exc:
        sys.exit(f"cannot listen on {host}:{port}: {exc}")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            sys.exit(
                f"Port {port} on {host} is already in use: is another server still running? "
                f"Stop it (Ctrl+C in its terminal), or choose another port, e.g. PORT={port + 1}"
            )
        if exc.errno == errno.EACCES:
            sys.exit(f"Port {port} needs administrator rights: choose one above 1023 with PORT=")
        sys.exit(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    sock.set_inheritable(True)
    return sock


def serve(
    app: ASGIApp,
    *,
    on_listening: Callable[[str], None] | None = None,
    host: str | None = None,
    port: int | None = None,
    **uvicorn_options: Any,
) -> None:
    """Serve ``app`` on HOST:PORT until Ctrl+C or SIGTERM, then return (exit code 0).

    ``host`` and ``port`` default to env HOST and PORT (127.0.0.1:1245). The port is
    bound before anything is printed, so a taken port is one clear line (exit 1) and
    ``on_listening(url)`` runs only once the app can really be reached.
    """
    import uvicorn

    if host is None or port is None:
        env_host, env_port = _listen_address()
        host = env_host if host is None else host
        port = env_port if port is None else port
    sock = bind(host, port)
    if on_listening is not None:
        shown = f"[{host}]" if ":" in host else host
        on_listening(f"http://{shown}:{port}")
    # uvicorn re-raises the signal that stopped it; as KeyboardInterrupt it ends quietly.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, **uvicorn_options))
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
