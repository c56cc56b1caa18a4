"""The dashboard's optional token: required on every state change when it is set.

``python -m pykue dashboard --token T`` (or env ``PYKUE_DASHBOARD_TOKEN``) makes every
state change (``POST``/``PUT``/``DELETE`` and Kue's ``GET /inactive/:id``) need it; reads
stay open. Two ways to send it:

- ``Authorization: Bearer T`` (curl, scripts, Kue API clients);
- the session cookie, for pages: the dashboard's own page signs in with
  ``POST /session {"token": T}`` (it asks when a change answers 401, or takes
  ``/#token=T`` from its address, which never reaches the server or its logs), and the
  server sets an HttpOnly, SameSite=Strict cookie. Kue's UI served at the same origin
  sends that cookie with its own requests, so it works unchanged once you signed in on
  our page.

The cookie holds an HMAC of the token, not the token; SameSite=Strict keeps other sites'
pages from sending it (the same-origin checks of :mod:`pykue.web.guard` refuse them too).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os

from fastapi import Request, Response

from pykue.web.errors import ApiError
from pykue.web.guard import cross_site_problem

TOKEN_ENV = "PYKUE_DASHBOARD_TOKEN"
COOKIE = "pykue_session"
MIN_LENGTH = 16
WRONG_TOKEN_DELAY = 0.2  # seconds before answering a wrong token (slows guessing)


class Token:
    """The token a dashboard requires on state changes (none: no check)."""

    def __init__(self, secret: str | None) -> None:
        if secret is not None and len(secret) < MIN_LENGTH:
            raise ValueError(f"the dashboard token must be at least {MIN_LENGTH} characters")
        self.secret = secret

    @classmethod
    def from_env(cls, given: str | None = None) -> Token:
        """``given`` (``--token``), else env PYKUE_DASHBOARD_TOKEN, else no token."""
        return cls(given or os.environ.get(TOKEN_ENV) or None)

    @property
    def required(self) -> bool:
        return self.secret is not None

    def session_value(self) -> str:
        """What the session cookie holds: an HMAC of the token."""
        assert self.secret is not None
        return hmac.new(
            self.secret.encode(), b"pykue dashboard session", hashlib.sha256
        ).hexdigest()

    def matches(self, given: str) -> bool:
        return self.secret is not None and hmac.compare_digest(given.encode(), self.secret.encode())

    def accepts(self, request: Request) -> bool:
        """True if no token is set, or ``request`` carries it (header or cookie)."""
        if self.secret is None:
            return True
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and self.matches(value.strip()):
            return True
        cookie = request.cookies.get(COOKIE, "")
        return hmac.compare_digest(cookie.encode(), self.session_value().encode())


NEEDED = (
    "this dashboard needs its token for changes: send Authorization: Bearer TOKEN, "
    "or sign in on the dashboard's page"
)


def require_token(request: Request) -> None:
    """Dependency of every state-changing route: 401 without the token (when one is set)."""
    if not request.app.state.token.accepts(request):
        raise ApiError(401, NEEDED, {"WWW-Authenticate": 'Bearer realm="pykue dashboard"'})


def same_site_only(request: Request) -> None:
    """Dependency of a state change that Kue makes with GET (``/inactive/:id``): refused
    from another site's page, as :mod:`pykue.web.guard` refuses other methods."""
    problem = cross_site_problem(request.headers, request.url.scheme)
    if problem is not None:
        raise ApiError(*problem)


def session_state(request: Request) -> dict[str, bool]:
    """``GET /session``: is a token required, and does this client have it?"""
    token: Token = request.app.state.token
    return {"tokenRequired": token.required, "signedIn": token.required and token.accepts(request)}


async def sign_in(request: Request, given: str) -> Response:
    """``POST /session``: the right token sets the session cookie (204); else 401."""
    token: Token = request.app.state.token
    response = Response(status_code=204)
    if not token.required:
        return response
    if not token.matches(given):
        await asyncio.sleep(WRONG_TOKEN_DELAY)
        raise ApiError(401, "wrong token")
    response.set_cookie(
        COOKIE,
        token.session_value(),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


def sign_out() -> Response:
    """``DELETE /session``: forget the session cookie (204)."""
    response = Response(status_code=204)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response
