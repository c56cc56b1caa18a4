"""Stop signals: Ctrl+C (SIGINT) and SIGTERM make ``wait_for_jobs()`` and ``run()`` return.

A creator script saves jobs, prints, then waits; a signal that lands just before the wait
starts must still end the wait cleanly. So the first ``save()``/``process()`` in the main
thread installs a guard on signals still at their defaults: a signal that comes outside a
wait is held for a moment; a wait that starts within that moment returns at once, and if
none starts, the signal takes its default effect (KeyboardInterrupt, or termination).
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
GRACE = 1.0  # s a signal outside a wait is held before it takes its default effect

_lock = threading.Lock()
_guarded = False
_pending: set[int] = set()  # held signals no wait has taken yet
_expired: set[int] = set()  # held too long: to take their default effect


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _default(sig: int):
    return signal.default_int_handler if sig == signal.SIGINT else signal.SIG_DFL


def _held(sig: int, frame) -> None:
    with _lock:
        if sig in _expired:  # re-delivered by _expire: nobody waited, act as the default
            _expired.discard(sig)
            act = True
        else:
            _pending.add(sig)
            act = False
    if act:
        if sig == signal.SIGINT:
            raise KeyboardInterrupt
        signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
        return
    timer = threading.Timer(GRACE, _expire, args=(sig,))
    timer.daemon = True
    timer.start()


def _expire(sig: int) -> None:
    with _lock:
        if sig not in _pending:
            return  # a wait took it
        _pending.discard(sig)
        _expired.add(sig)
    os.kill(os.getpid(), sig)  # runs _held again, in the main thread


def install_guard() -> None:
    """Hold stop signals that arrive outside a wait (main thread, default handlers only)."""
    global _guarded
    if _guarded or not _in_main_thread():
        return
    _guarded = True
    for sig in STOP_SIGNALS:
        if signal.getsignal(sig) is _default(sig):
            signal.signal(sig, _held)


@contextmanager
def stop_event() -> Iterator[threading.Event]:
    """An Event set by SIGINT/SIGTERM while inside (at once if one was just held)."""
    stop = threading.Event()
    if not _in_main_thread():
        yield stop
        return
    old = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in STOP_SIGNALS}
    with _lock:
        if _pending:
            _pending.clear()
            stop.set()
    try:
        yield stop
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
