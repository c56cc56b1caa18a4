"""Grader fixture for task 9: waits that make the processor's threads show how they run.

The task 9 grader puts this folder first on PYTHONPATH of the learner's processor, so
Python imports it at start-up. The output itself is untouched: every write goes
through at once. Two switches, from the environment, add waits:

- ``GRADER_SEND_SECONDS``: a job's first ``job.progress(...)`` call (every correct
  processor reports 0 out of 100 first) waits that long, as a call to a real SMS
  gateway would, so each job stays active long enough for the grader to see how many
  jobs run at the same time, however the processor writes its lines (``print``,
  ``sys.stdout.write``, ``os.write``...).
- ``GRADER_MEET_SECONDS``: a write that ends a thread's output in the middle of a line
  (``print()`` writes the text, then the newline, in two writes) waits until another
  thread writes, at most that long (and at most three times per process). Two threads
  printing around the same moment then really interleave, as they do on a loaded
  machine, so a line glued to another one shows every time instead of once in a while.
  Whole lines written in one write never wait.
"""

import os
import sys
import threading
import time

HOLD_SECONDS = float(os.environ.get("GRADER_SEND_SECONDS", "0") or 0)
MEET_SECONDS = float(os.environ.get("GRADER_MEET_SECONDS", "0") or 0)
MEETINGS = 3  # half-written lines that wait for another thread, per process


class GraderStdout:
    """``sys.stdout`` with the waits described above; the output itself is untouched."""

    def __init__(self, stream) -> None:
        self._stream = stream
        self._wrote = threading.Condition()
        self._writes = 0
        self._meetings_left = MEETINGS
        self._line = threading.local()  # this thread's text since its last newline

    def write(self, text: str) -> int:
        with self._wrote:
            self._stream.write(text)
            self._stream.flush()
            self._writes += 1
            mark = self._writes
            self._wrote.notify_all()
        self._line.text = (getattr(self._line, "text", "") + text).rpartition("\n")[2]
        if MEET_SECONDS and self._line.text and not text.endswith("\n"):
            self._meet(mark)
        return len(text)

    def _meet(self, mark: int) -> None:
        """Wait until another thread wrote after write number ``mark`` (bounded)."""
        with self._wrote:
            if self._meetings_left <= 0:
                return
            self._meetings_left -= 1
            self._wrote.wait_for(lambda: self._writes > mark, MEET_SECONDS)

    def flush(self) -> None:
        self._stream.flush()

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def hold_first_progress() -> None:
    """Make each job's first ``progress`` call wait ``HOLD_SECONDS`` (see above)."""
    try:
        from pykue.job import Job
    except ImportError:  # the processor's own import then says what is missing
        return
    report = Job.progress
    held: set[int] = set()
    lock = threading.Lock()

    def progress(self, *args, **kwargs):
        percent = report(self, *args, **kwargs)
        with lock:
            first = self.id not in held
            held.add(self.id)
        if first:
            time.sleep(HOLD_SECONDS)
        return percent

    Job.progress = progress


if HOLD_SECONDS > 0:
    hold_first_progress()
if MEET_SECONDS > 0:
    sys.stdout = GraderStdout(sys.stdout)
