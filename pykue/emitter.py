"""JS-style callbacks: ``on(event, fn)``, and calling ``fn`` with as many args as it takes."""

from __future__ import annotations

import inspect
import sys
import traceback
from collections.abc import Callable
from typing import Any

_arity_cache: dict[Any, tuple[int | None, int]] = {}


def arity(fn: Callable[..., Any]) -> tuple[int | None, int]:
    """(positional params ``fn`` accepts or None for ``*args``, how many are required)."""
    try:
        return _arity_cache[fn]
    except (KeyError, TypeError):
        pass
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        result: tuple[int | None, int] = (None, 0)
    else:
        count: int | None = 0
        required = 0
        for p in params:
            if p.kind is p.VAR_POSITIONAL:
                count = None
            elif p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
                if count is not None:
                    count += 1
                if p.default is p.empty:
                    required += 1
        result = (count, required)
    try:
        _arity_cache[fn] = result
    except TypeError:
        pass
    return result


def call_js_style(fn: Callable[..., Any], args: tuple | list) -> Any:
    """Call ``fn`` like JavaScript would: extra args dropped, missing required ones None."""
    accepts, required = arity(fn)
    args = list(args)
    if len(args) < required:
        args += [None] * (required - len(args))
    return fn(*args) if accepts is None else fn(*args[:accepts])


class Emitter:
    """``on(event, fn)`` / ``emit(event, *args)``; a failing callback is reported on stderr."""

    def __init__(self) -> None:
        self._listeners: dict[str, list[Callable[..., Any]]] = {}

    def on(self, event: str, fn: Callable[..., Any]):
        """Call ``fn`` each time ``event`` happens; returns self (chainable)."""
        self._listeners.setdefault(event, []).append(fn)
        return self

    def _fire(self, event: str, args: tuple | list) -> None:
        for fn in list(self._listeners.get(event, ())):
            try:
                call_js_style(fn, args)
            except Exception:  # a callback's bug must not stop the others or the thread
                print(f"pykue: exception in {event!r} callback:", file=sys.stderr)
                traceback.print_exc(file=sys.stderr)
