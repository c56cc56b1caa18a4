"""The exceptions pykue raises, so callers can catch them by meaning."""

from __future__ import annotations

import redis


class PykueError(Exception):
    """Base class of every pykue error."""


class JobDataError(PykueError, TypeError):
    """Job data (or a handler's result) that JSON cannot carry."""


class RedisUnavailable(PykueError, ConnectionError):
    """Redis could not be reached, timed out or is full (out of memory); says where and why.

    Raised ``from None``: the cause is in the message, not in a chained redis-py traceback.
    """

    def __init__(self, url: str, reason: object) -> None:
        self.url = url
        self.reason = reason
        if is_out_of_memory(reason):
            super().__init__(f"Redis at {url} is out of memory (maxmemory reached): {reason}")
        else:
            super().__init__(f"cannot reach Redis at {url}: {reason}")


class JobNotFound(PykueError, KeyError):
    """The job does not exist (never saved, or removed)."""


def is_transient(exc: BaseException) -> bool:
    """Whether a redis-py error may pass by itself: Redis unreachable, too slow, or out of
    memory (``maxmemory`` reached: "OOM command not allowed"), as opposed to a refused
    command."""
    return isinstance(exc, (redis.ConnectionError, redis.TimeoutError)) or is_out_of_memory(exc)


def is_out_of_memory(exc: object) -> bool:
    """Whether ``exc`` is Redis refusing a write because ``maxmemory`` is reached."""
    if isinstance(exc, redis.OutOfMemoryError):
        return True
    return isinstance(exc, redis.ResponseError) and "OOM command not allowed" in str(exc)
