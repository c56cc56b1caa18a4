"""Grader fixture for task 9: make "sending" a notification take a while.

The task 9 grader puts this folder first on PYTHONPATH of the learner's processor, so
Python imports it at start-up. When ``GRADER_SEND_SECONDS`` is set, the thread that
prints a ``Sending notification ...`` line waits that long after the line, as a call to a
real SMS gateway would. Each job then stays active long enough for the grader to see how
many jobs the processor runs at the same time.

Lines are written whole (``print`` writes the text and the newline separately, so two
threads printing at once could glue their lines together); nothing else changes.
"""

import os
import sys
import threading
import time

HOLD_SECONDS = float(os.environ.get("GRADER_SEND_SECONDS", "0") or 0)


class SlowSend:
    """``sys.stdout`` that writes whole lines and holds the thread after a notification."""

    def __init__(self, stream) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self._pending = threading.local()

    def write(self, text: str) -> int:
        pending = getattr(self._pending, "text", "") + text
        *lines, rest = pending.split("\n")
        self._pending.text = rest
        for line in lines:
            with self._lock:
                self._stream.write(line + "\n")
                self._stream.flush()
            if line.startswith("Sending notification"):
                time.sleep(HOLD_SECONDS)
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


if HOLD_SECONDS > 0:
    sys.stdout = SlowSend(sys.stdout)
