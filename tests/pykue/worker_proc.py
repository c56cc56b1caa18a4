"""A pykue worker process for the tests: ``worker_proc.py URL MODE [options]``.

Modes: ``notify`` — progress 0/50 then complete ("job blacklisted" fails);
``record`` — RPUSH "<id>:<pid>" to ``{t}:ran`` then complete (fault test);
``hang`` — RPUSH as record, then never finish (a worker we kill).
Prints ``ready`` once processing, exits 0 on SIGTERM.
"""

from __future__ import annotations

import argparse
import os
import threading
import time

import pykue


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("mode", choices=["notify", "record", "hang"])
    parser.add_argument("--type", default="work")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--lease-ms", type=int, default=400)
    parser.add_argument("--work-ms", type=float, default=2)
    args = parser.parse_args()
    queue = pykue.create_queue(args.url, prefix="t", lease_ms=args.lease_ms)
    pid = os.getpid()

    def notify(job, done):
        job.progress(0, 100)
        if job.data.get("blacklisted"):
            done(Exception(f"job {job.id} blacklisted"))
            return
        job.progress(50, 100, {"half": True})
        job.log("sending %s", job.id)
        done(None, {"sent": job.id})

    def record(job, done):
        queue.client.rpush("{t}:ran", f"{job.id}:{pid}")
        time.sleep(args.work_ms / 1000)
        done()

    def hang(job, done):
        queue.client.rpush("{t}:ran", f"{job.id}:{pid}")
        threading.Event().wait()

    queue.process(
        args.type,
        {"notify": notify, "record": record, "hang": hang}[args.mode],
        concurrency=args.concurrency,
    )
    print("ready", flush=True)
    queue.run()


if __name__ == "__main__":
    main()
