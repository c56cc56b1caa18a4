"""A worker stopped between ``process()`` and ``run()`` still exits cleanly.

A SIGTERM that lands after ``process()`` has started the worker threads but before
``run()`` waits (a supervisor that stops a worker as soon as it is up) is held, and
``run()`` then returns at once, exit code 0, instead of the process dying of the signal.
"""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import REPO

WORKER = """
import os, signal, sys
import pykue
queue = pykue.create_queue(sys.argv[1], prefix="t")
queue.process("work", lambda job: None)
os.kill(os.getpid(), signal.SIGTERM)  # before run() waits
queue.run(timeout=1)
print("stopped cleanly", flush=True)
"""


def test_sigterm_before_run_waits_is_a_clean_stop(redis_url):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run(
        [sys.executable, "-c", WORKER, redis_url],
        capture_output=True,
        text=True,
        env=env,
        timeout=20,
    )
    assert (done.returncode, done.stdout) == (0, "stopped cleanly\n"), done.stderr
