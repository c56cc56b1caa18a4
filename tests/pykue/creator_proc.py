"""A creator for the tests: saves one job nobody processes, then waits for it.

``creator_proc.py URL`` prints ``created N``, then ``finished True|False`` when
``wait_for_jobs`` returns (Ctrl+C and SIGTERM make it return False, cleanly).
"""

from __future__ import annotations

import sys

import pykue


def main() -> None:
    queue = pykue.create_queue(sys.argv[1], prefix="t")
    job = queue.create("nobody-runs-this", {}).save()
    print(f"created {job.id}", flush=True)
    finished = queue.wait_for_jobs()
    print(f"finished {finished}", flush=True)
    queue.shutdown()


if __name__ == "__main__":
    main()
