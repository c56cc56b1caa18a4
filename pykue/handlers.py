"""Running a handler on a job: the three handler forms, ``done``, and what came out."""

from __future__ import annotations

import asyncio
import inspect
import sys
import threading
import traceback
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pykue.errors import RedisUnavailable

if TYPE_CHECKING:
    from pykue.job import Job


def handler_kind(handler: Callable[..., Any]) -> str:
    """ "async", "done" (takes job, done) or "return" (takes job)."""
    if inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(
        getattr(handler, "__call__", None)  # noqa: B004
    ):
        return "async"
    try:
        params = [
            p
            for p in inspect.signature(handler).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
        ]
    except (TypeError, ValueError):
        return "return"
    if len(params) >= 2 or any(p.kind is p.VAR_POSITIONAL for p in params):
        return "done"
    return "return"


def error_text(err: Any) -> str:
    """The message of a failure given as an exception, a string or anything else."""
    if isinstance(err, BaseException):
        return str(err) or type(err).__name__
    return str(err)


class _Done:
    """The ``done`` callback of one job run: first call wins, later calls warn."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.event = threading.Event()
        self.outcome: tuple[str, Any] | None = None

    def __call__(self, err: Any = None, result: Any = None) -> None:
        if self.event.is_set():
            warnings.warn(
                f"pykue: done() called more than once for job {self.job.id}; ignored",
                RuntimeWarning,
                stacklevel=2,
            )
            return
        if err is not None and err is not False:
            self.outcome = failure(err)
        else:
            self.outcome = ("complete", result)
        self.event.set()


def run_handler(
    handler: Callable[..., Any],
    job: Job,
    abandon: threading.Event,
    loop: asyncio.AbstractEventLoop | None = None,
    kind: str | None = None,
) -> tuple[str | None, Any]:
    """Run ``handler`` on ``job``: ("complete", result) | ("failed", message) |
    ("retry", message) | (None, None).

    "retry": the handler failed with :class:`RedisUnavailable` (a pykue call in it, such as
    ``job.log()``, could not reach Redis, or Redis is full): not the job's failure.
    (None, None) means ``abandon`` was set (shutdown) before a done-style handler finished.
    """
    kind = kind or handler_kind(handler)
    try:
        if kind == "done":
            done = _Done(job)
            try:
                handler(job, done)
            except Exception as exc:
                if not done.event.is_set():
                    return failure(exc)
                traceback.print_exc(file=sys.stderr)
            while not done.event.wait(0.2):
                if abandon.is_set():
                    return None, None
            return done.outcome  # type: ignore[return-value]
        if kind == "async":
            coro = handler(job)
        else:
            coro = handler(job)
            if not inspect.isawaitable(coro):
                return "complete", coro
        if loop is None:
            return "complete", asyncio.run(coro)
        return "complete", loop.run_until_complete(coro)
    except Exception as exc:
        return failure(exc)


def failure(err: Any) -> tuple[str, str]:
    """("retry", message) for a Redis failure, else ("failed", message)."""
    return ("retry" if isinstance(err, RedisUnavailable) else "failed"), error_text(err)
