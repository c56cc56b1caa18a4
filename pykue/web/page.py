"""The dashboard's own HTML page (``dashboard.html``), served with a strict CSP.

The page's one inline script is allowed by its hash; nothing else may run, load or be
framed, so job data shown on it can never act as code even if it got past escaping.
"""

from __future__ import annotations

import base64
import hashlib
import re
from functools import cache
from pathlib import Path

from fastapi.responses import HTMLResponse

PAGE = Path(__file__).with_name("dashboard.html")


def script_hash(html: str) -> str:
    """CSP source for the page's one inline script."""
    match = re.search(r"<script>(.*?)</script>", html, re.S)
    digest = hashlib.sha256(match.group(1).encode() if match else b"").digest()
    return "'sha256-" + base64.b64encode(digest).decode() + "'"


@cache
def _page() -> tuple[str, dict[str, str]]:
    html = PAGE.read_text(encoding="utf-8")
    csp = (
        f"default-src 'none'; script-src {script_hash(html)}; style-src 'unsafe-inline'; "
        "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    )
    headers = {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }
    return html, headers


def page() -> HTMLResponse:
    """The page, with its security headers."""
    html, headers = _page()
    return HTMLResponse(html, headers=headers)
