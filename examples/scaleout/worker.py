"""One pykue worker process; start several of them on the same queue to scale out.

    python examples/scaleout/worker.py [--redis URL] [--prefix scale] [--type work]
                                       [--concurrency 1] [--work-ms 2] [--mode work|hang]
                                       [--go]

Every worker process on the same Redis and prefix shares the queue's jobs: Redis hands
each job to exactly one of them (the Lua script that moves a job to ``active`` is
atomic). ``--redis`` also takes ``redis+cluster://host:port`` for a Redis Cluster.

Each execution is recorded in Redis, in keys that carry the queue's hash tag (so they
live on the queue's cluster node too):

- ``{prefix}:runs``  hash job id -> how many times a handler ran it (1 unless a worker died)
- ``{prefix}:by_worker``  hash worker name -> how many jobs it ran

Modes: ``work`` sleeps ``--work-ms`` ms (0: no-op) and returns ``{"worker": NAME}``; a
job whose data has ``"progress": true`` also reports progress 50 % and logs a line, one
with ``"fail": "why"`` fails with that message. ``hang`` records the run and never
finishes (a worker to kill in stall tests).

``--go``: wait for a token on ``{prefix}:go`` (BLPOP) before processing, so a benchmark
can start several workers and release them at once. Prints ``ready`` when it is waiting
(or processing), and exits 0 on SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
import threading
import time

import pykue


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--redis", default=None, help="Redis URL (default env REDIS_URL)")
    parser.add_argument("--prefix", default="scale")
    parser.add_argument("--type", default="work")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--lease-ms", type=int, default=10_000)
    parser.add_argument("--work-ms", type=float, default=2)
    parser.add_argument("--mode", choices=["work", "hang"], default="work")
    parser.add_argument("--name", default=f"{socket.gethostname()}:{os.getpid()}")
    parser.add_argument("--go", action="store_true", help="wait for a token on {prefix}:go")
    args = parser.parse_args()

    queue = pykue.create_queue(args.redis, prefix=args.prefix, lease_ms=args.lease_ms)
    runs, by_worker = queue.keys.base + "runs", queue.keys.base + "by_worker"
    pause = args.work_ms / 1000

    def record(job) -> None:
        queue.client.hincrby(runs, job.id, 1)
        queue.client.hincrby(by_worker, args.name, 1)

    def work(job):
        record(job)
        data = job.data if isinstance(job.data, dict) else {}
        if data.get("progress"):
            job.progress(50, 100)
            job.log("worker %s ran job %s", args.name, job.id)
        if pause:
            time.sleep(pause)
        if data.get("fail"):
            raise Exception(data["fail"])
        return {"worker": args.name}

    def hang(job, done):
        record(job)
        threading.Event().wait()

    if args.go:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        print("ready", flush=True)
        try:
            queue.client.blpop([queue.keys.base + "go"], timeout=0)
        except KeyboardInterrupt:
            return
    queue.process(args.type, work if args.mode == "work" else hang, args.concurrency)
    if not args.go:
        print("ready", flush=True)
    queue.run()


if __name__ == "__main__":
    main()
