"""The exceptions pykue raises, so callers can catch them by meaning."""

from __future__ import annotations


class PykueError(Exception):
    """Base class of every pykue error."""


class JobDataError(PykueError, TypeError):
    """Job data (or a handler's result) that JSON cannot carry."""


class RedisUnavailable(PykueError, ConnectionError):
    """Redis could not be reached or answered with an error; says where and why."""

    def __init__(self, url: str, reason: object) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"cannot reach Redis at {url}: {reason}")


class JobNotFound(PykueError, KeyError):
    """The job does not exist (never saved, or removed)."""
