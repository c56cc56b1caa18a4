"""Every FastAPI app's ``/docs`` works without the internet (issue 17 point 3).

``protect(app)`` (pykue/web/guard.py) serves Swagger UI from the installed
``fastapi-offline`` package at ``/docs-assets`` instead of a CDN. Each app runs as a real
server (harness/webserver.py) and Chromium opens its ``/docs`` with every request to a
host other than loopback aborted: the page must load nothing from outside and list every
operation of the app's OpenAPI schema.

The apps: tasks 12 (``9-stock.py``), 13 (``100-seat.py``) and 16 (``103-job_manager.py``)
from solutions/, and ``python -m pykue dashboard``; task 15 (``102-message_queue.py``)
joins the list by itself once it uses ``protect()``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from harness.browser import chromium, loopback_only
from harness.webserver import HOST, WebServer, server_env, start_script
from toolkit.redis_servers import free_port

SOLUTIONS = Path(__file__).resolve().parents[1] / "solutions"
SCRIPTS = ["9-stock.py", "100-seat.py", "102-message_queue.py", "103-job_manager.py"]
APPS = [name for name in SCRIPTS if "protect(" in (SOLUTIONS / name).read_text("utf-8")]
APPS.append("pykue dashboard")


def start(app: str, env: dict[str, str]) -> WebServer:
    if app != "pykue dashboard":
        return start_script(SOLUTIONS / app, env, label=app)
    port = free_port(HOST)
    argv = [sys.executable, "-m", "pykue", "dashboard", "--port", str(port), "--host", HOST]
    return WebServer(argv, server_env(env, port), cwd=SOLUTIONS.parent, label=app, port=port)


def operations(schema: dict) -> set[tuple[str, str]]:
    """(METHOD, path) of every operation of an OpenAPI schema."""
    methods = {"get", "put", "post", "delete", "patch", "head", "options"}
    return {
        (method.upper(), path)
        for path, item in schema["paths"].items()
        for method in item
        if method in methods
    }


@pytest.mark.parametrize("app", APPS)
def test_docs_list_every_operation_offline(app, env):
    from playwright.sync_api import expect

    server = start(app, env)
    try:
        server.wait_ready()
        wanted = operations(server.http.get("/openapi.json").json())
        assert wanted, f"{app}: the OpenAPI schema lists no operation"
        with chromium() as browser:
            page = browser.new_page()
            page.set_default_timeout(15_000)
            refused = loopback_only(page)
            page.goto(server.url + "/docs")
            blocks = page.locator(".opblock")
            expect(blocks).to_have_count(len(wanted))
            shown = set()
            for i in range(blocks.count()):
                block = blocks.nth(i)
                method = block.locator(".opblock-summary-method").inner_text().strip()
                path = block.locator(".opblock-summary-path").get_attribute("data-path")
                shown.add((method.upper(), path))
            assert shown == wanted, f"{app}: /docs shows {sorted(shown)}, not {sorted(wanted)}"
            assert refused == [], f"{app}: /docs asked the internet for {refused}"
    finally:
        server.kill()
