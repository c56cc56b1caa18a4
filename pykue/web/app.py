"""``create_app(queue)``: the dashboard app, assembled from its parts.

The route table is :mod:`pykue.web.routes`; :func:`pykue.web.guard.protect` adds what every
app of this repository has at the door (Host allow-list, same-origin state changes, body
limit, JSON checks, 503 when Redis is unavailable, offline /docs).
"""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from pykue.queue import Queue
from pykue.web import errors, guard, page, routes
from pykue.web.token import Token

MAX_BODY = 1_000_000  # bytes of a request body (POST /job)


def create_app(
    queue: Queue,
    *,
    token: Token | str | None = None,
    hosts: Iterable[str] | None = None,
) -> FastAPI:
    """The dashboard app on ``queue`` (the caller shuts the queue down).

    ``token``: required on every state change when given (a :class:`Token` or its text);
    ``hosts``: the Host names served (default: :func:`pykue.web.guard.allowed_hosts`).
    """
    app = FastAPI(
        title="pykue dashboard",
        description=(
            "Kue-compatible JSON API (Kue 0.11.6's routes, replies and job JSON) and an "
            "HTML dashboard for one pykue queue."
        ),
        version="2.0",
    )
    app.state.queue = queue
    app.state.token = token if isinstance(token, Token) else Token(token)
    app.include_router(routes.router)
    app.state.route_table = routes.router.routes  # for the Allow header of a 405
    app.add_api_route(
        "/", page.page, methods=["GET"], response_class=HTMLResponse, include_in_schema=False
    )
    guard.protect(app, max_body=MAX_BODY, hosts=hosts)
    errors.install(app)
    return app
