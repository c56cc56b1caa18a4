"""The dashboard served for tests: ``create_app(queue)`` in uvicorn, in a thread, on a free
port of 127.0.0.1; ``.http`` is a keep-alive client on it.

A test module's fixture: ``yield from serving(make_queue())``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import uvicorn
from conftest import wait_until
from starlette.types import ASGIApp

from pykue.web import create_app
from toolkit.redis_servers import free_port


class Served:
    """``app`` (default ``create_app(queue, **options)``) served in a thread."""

    def __init__(self, queue, app: ASGIApp | None = None, **options: Any) -> None:
        self.queue = queue
        self.app = app or create_app(queue, **options)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        wait_until(lambda: self.server.started, "the dashboard to start", timeout=10)
        self.http = httpx.Client(base_url=self.url, timeout=10, trust_env=False)

    def close(self) -> None:
        self.http.close()
        self.server.should_exit = True
        self.thread.join(5)


def serving(queue, app: ASGIApp | None = None, **options: Any) -> Iterator[Served]:
    """For a fixture: the dashboard on ``queue`` until the test ends."""
    served = Served(queue, app, **options)
    try:
        yield served
    finally:
        served.close()
