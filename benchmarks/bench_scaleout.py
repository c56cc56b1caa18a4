"""Scale-out: 1, 2, 4 ... pykue worker PROCESSES on one queue; jobs/s and who took what.

Usage (from the repository root, in the venv)::

    python benchmarks/bench_scaleout.py                      # 2000 jobs of 2 ms, 1/2/4 workers
    python benchmarks/bench_scaleout.py --work-ms 0          # no-op jobs: pykue's own overhead
    python benchmarks/bench_scaleout.py --jobs 500 --workers 1,3 --concurrency 2
    python benchmarks/bench_scaleout.py --redis redis+cluster://127.0.0.1:7000   # a cluster

Without ``--redis`` it starts its own redis-server on a free port (never 6379), or
embedded fakeredis when no redis-server is installed (or with ``--fake``).

For each worker count N, with the queue emptied first:

1. N jobs-worth of work is enqueued with ``queue.create_bulk`` (pipelined);
2. N processes of ``examples/scaleout/worker.py`` start and wait on a "go" list, so
   their start-up (imports, connections) is not timed;
3. the clock starts when "go" is given and stops when ``count("complete")`` reaches the
   job count (polled every 5 ms). jobs/s = jobs / that time.

Every handler run does ``HINCRBY {prefix}:runs <id> 1`` and ``HINCRBY {prefix}:by_worker
<worker> 1``, so the table also shows each worker's share of the jobs and how many jobs
ran more than once. That must be 0: a job runs twice only when its worker stalls (lease
lapses), which does not happen here. On a machine with C cores, expect jobs/s to grow
while the workers mostly wait (``--work-ms`` sleep) and to flatten once C processes
and redis-server compete for the CPU.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
WORKER = REPO_ROOT / "examples" / "scaleout" / "worker.py"
sys.path.insert(0, str(REPO_ROOT / "scripts"))
sys.path.insert(0, str(REPO_ROOT))

import pykue  # noqa: E402
from toolkit.redis_servers import redis_binary, start_any  # noqa: E402


def start_workers(url: str, prefix: str, count: int, args: argparse.Namespace) -> list:
    env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=str(REPO_ROOT))
    procs = []
    for n in range(1, count + 1):
        cmd = [sys.executable, str(WORKER), "--redis", url, "--prefix", prefix, "--go"]
        cmd += ["--name", f"w{n}", "--work-ms", str(args.work_ms)]
        cmd += ["--concurrency", str(args.concurrency)]
        procs.append(
            subprocess.Popen(
                cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
            )
        )
    for proc in procs:
        line = proc.stdout.readline()
        if line.strip() != "ready":
            stop_workers(procs)
            raise SystemExit(f"a worker did not start (said {line!r})")
    return procs


def stop_workers(procs: list) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()


def clear(queue: pykue.Queue) -> None:
    """Delete every key of the queue (works on a cluster too: they share one slot)."""
    keys = list(queue.client.scan_iter(match=queue.keys.base + "*", count=1000))
    for start in range(0, len(keys), 500):
        for key in keys[start : start + 500]:
            queue.client.delete(key)


def measure(url: str, workers: int, args: argparse.Namespace) -> dict:
    prefix = f"scale{workers}"
    queue = pykue.create_queue(url, prefix=prefix)
    try:
        clear(queue)
        queue.create_bulk("work", [{"n": n} for n in range(args.jobs)])
        queue.hub.stop()  # the producer does not follow its jobs' events
        procs = start_workers(url, prefix, workers, args)
        try:
            started = time.perf_counter()
            queue.client.rpush(queue.keys.base + "go", *["1"] * workers)
            deadline = time.monotonic() + args.timeout
            while queue.count("complete") < args.jobs:
                if time.monotonic() > deadline:
                    raise SystemExit(f"timed out: {queue.counts()}")
                time.sleep(0.005)
            elapsed = time.perf_counter() - started
        finally:
            stop_workers(procs)
        runs = queue.client.hgetall(queue.keys.base + "runs")
        by_worker = queue.client.hgetall(queue.keys.base + "by_worker")
        total = sum(int(v) for v in by_worker.values())
        shares = [int(by_worker.get(f"w{n}", 0)) for n in range(1, workers + 1)]
        return {
            "workers": workers,
            "rate": args.jobs / elapsed,
            "shares": "/".join(f"{round(100 * s / total)}" for s in shares) + " %",
            "counts": "/".join(str(s) for s in shares),
            "twice": sum(1 for v in runs.values() if int(v) > 1),
            "missing": args.jobs - len(runs),
        }
    finally:
        queue.shutdown(timeout=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--workers", default="1,2,4", help="comma-separated worker counts")
    parser.add_argument("--work-ms", type=float, default=2, help="sleep per job (0: no-op)")
    parser.add_argument("--concurrency", type=int, default=1, help="threads per worker process")
    parser.add_argument("--redis", default=None, help="use this Redis instead of starting one")
    parser.add_argument("--fake", action="store_true", help="start embedded fakeredis")
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()
    counts = [int(x) for x in args.workers.split(",") if x.strip()]

    server = None
    url = args.redis
    if url is None:
        server = start_any("fake" if args.fake or not redis_binary() else "real")
        url = server.url
    try:
        kind = server.kind if server else url.split("://")[0]
        print(
            f"pykue scale-out: {args.jobs} jobs of {args.work_ms:g} ms, "
            f"{args.concurrency} thread(s) per worker process, Redis: {kind}; "
            f"{os.cpu_count()} CPUs, Python {platform.python_version()}\n"
        )
        print("| workers | jobs/s | share of jobs per worker | jobs per worker | run twice |")
        print("|--:|--:|:--|:--|--:|")
        for workers in counts:
            row = measure(url, workers, args)
            twice = str(row["twice"]) + (
                f" ({row['missing']} never ran!)" if row["missing"] else ""
            )
            print(
                f"| {row['workers']} | {row['rate']:.0f} | {row['shares']} | {row['counts']} "
                f"| {twice} |",
                flush=True,
            )
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
