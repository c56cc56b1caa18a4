"""Path parameters of the JSON API, checked: a job id, a state, a type, a Kue range."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pykue.keys import STATES
from pykue.web.errors import ApiError

MAX_TYPE = 200  # characters of a job type
ORDERS = ("asc", "desc")
# The OpenAPI schema publishes these patterns (pykue.web.schema); parsing uses the same.
ID_PATTERN = "^[1-9][0-9]{0,14}$"
FROM_PATTERN = "^(0|[1-9][0-9]{0,11})$"  # below 10^12: Redis wants 64-bit ints
TO_PATTERN = "^(-1|0|[1-9][0-9]{0,11})$"  # -1: to the end


def job_id(raw: str) -> int:
    """A job id: a positive integer (400 otherwise)."""
    if not re.fullmatch(ID_PATTERN, raw):
        raise ApiError(400, f"job id must be a positive integer, not {raw!r}")
    return int(raw)


def state(raw: str) -> str:
    """One of pykue's five states (400 otherwise: Kue would store any word as a state)."""
    if raw not in STATES:
        raise ApiError(400, f"unknown state {raw!r}: use one of {', '.join(STATES)}")
    return raw


def job_type(raw: str) -> str:
    """A job type: 1..MAX_TYPE characters of valid Unicode."""
    if not raw or len(raw) > MAX_TYPE:
        raise ApiError(400, f"job type must be 1..{MAX_TYPE} characters")
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError(400, "job type must be valid Unicode text") from None
    return raw


@dataclass(frozen=True)
class Range:
    """Kue's ``from..to`` (inclusive; ``to`` -1 = to the end) and ``asc``/``desc``."""

    first: int
    last: int
    order: str

    @property
    def desc(self) -> bool:
        return self.order == "desc"

    def of(self, items: list) -> list:
        """This range of ``items``."""
        return items[self.first : None if self.last == -1 else self.last + 1]


def job_range(start: str, stop: str, order: str = "asc") -> Range:
    """Parse ``start..stop`` and ``order`` (400 with the reason when they are wrong).

    A range that ends before it starts is empty, as in Kue (Redis ZRANGE 5 2).
    """
    if not re.fullmatch(FROM_PATTERN, start) or not re.fullmatch(TO_PATTERN, stop):
        raise ApiError(
            400,
            f"range must be FROM..TO, FROM an integer in 0..10^12-1, TO one in -1..10^12-1 "
            f"(-1 = to the end), not {start[:30]}..{stop[:30]}",
        )
    if order not in ORDERS:
        raise ApiError(400, f"order must be asc or desc, not {order[:30]!r}")
    first, last = int(start), int(stop)
    if last != -1 and last < first:
        first, last = 1, 0  # empty
    return Range(first, last, order)
