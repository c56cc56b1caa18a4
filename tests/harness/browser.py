"""Headless Debian chromium (``/usr/bin/chromium``) driven by Playwright, for every browser
test of the repository (task 16's pages, the pykue dashboard, ``/docs`` offline).

:func:`chromium` skips the test, saying why, where chromium or the playwright package is
missing (``apt-get install -y chromium``; ``pip install -r requirements.txt``; no
``playwright install`` needed). :data:`OVERFLOWING` and :data:`WRAPPED_TIMES` are layout
probes for ``page.evaluate``; :func:`loopback_only` cuts a page off from the internet.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})

# Boxes of visible elements that reach past the viewport (inside a scrolling box: fine).
OVERFLOWING = """() => {
  const width = document.documentElement.clientWidth;
  const scrolls = (el) => {
    for (let p = el.parentElement; p; p = p.parentElement) {
      const style = getComputedStyle(p);
      if (style.overflowX === "auto" || style.overflowX === "scroll") return true;
    }
    return false;
  };
  return Array.from(document.querySelectorAll("body *"))
    .filter((el) => el.getClientRects().length && !scrolls(el))
    .filter((el) => el.getBoundingClientRect().right > width + 0.5)
    .map((el) => el.tagName + "#" + el.id + "." + el.className + " right=" +
                 el.getBoundingClientRect().right);
}"""
# Timestamps (elements of class "time") whose text takes more than one line box.
WRAPPED_TIMES = """() => Array.from(document.querySelectorAll(".time"))
  .filter((el) => el.textContent.trim())
  .filter((el) => { const r = document.createRange(); r.selectNodeContents(el);
                    return r.getClientRects().length > 1; })
  .map((el) => el.id + ": " + el.textContent)"""


def skip_without_browser() -> None:
    if not CHROMIUM.is_file():
        pytest.skip(f"browser test: {CHROMIUM} is not installed (apt-get install -y chromium)")
    if importlib.util.find_spec("playwright") is None:
        pytest.skip("browser test: the playwright package is not installed (requirements.txt)")


@contextmanager
def chromium() -> Iterator[Any]:
    """A launched headless chromium (a Playwright ``Browser``), closed afterwards."""
    skip_without_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


def loopback_only(page: Any) -> list[str]:
    """Abort every request ``page`` makes to a host other than this machine's loopback;
    returns the (growing) list of the URLs refused."""
    refused: list[str] = []

    def route(handle: Any) -> None:
        url = handle.request.url
        if url.startswith(("data:", "blob:")) or urlsplit(url).hostname in LOOPBACK:
            handle.continue_()
        else:
            refused.append(url)
            handle.abort("internetdisconnected")

    page.route("**/*", route)
    return refused
