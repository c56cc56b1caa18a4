"""Job-queue throughput: pykue next to a raw redis-py loop, RQ and BullMQ-Python, in one run.

Usage (from the repository root, in the venv)::

    pip install -r requirements-bench.txt      # RQ and BullMQ rows; pykue/raw need nothing more
    python benchmarks/bench_queues.py           # N=5000 jobs, concurrency 1 and 2, 5 rounds
    python benchmarks/bench_queues.py --jobs 200 --rounds 1 --only raw,pykue

What is measured, for every system alike:

1. The queue is empty and the Redis is flushed. N no-op jobs are enqueued with the
   system's bulk (pipelined) producer call; that time gives the *enqueue* rate.
2. Then the clock restarts and worker(s) are started with a handler that does nothing.
   The clock stops when the N-th job is *finished in Redis*. N / that time is the
   *processing* rate, the jobs/s of the table. Enqueueing is not in it.

Also shown: CPU time per job of the worker process and of redis-server while processing
(robust on a busy machine, unlike jobs/s), the enqueue rate, and end-to-end jobs/s =
N / (enqueue + processing).

Every measurement runs in a fresh child process (same interpreter, same Redis, flushed
in between), and rounds are interleaved across systems, so that noise from a busy
machine is spread over all rows. Compare ratios within one run, not numbers across runs.

Rows:
  raw     producer LPUSHes N items; consumer thread(s) BRPOP until N are taken: one round
          trip per job and no bookkeeping at all. The practical ceiling.
  pykue   queue.create_bulk() on a producer queue object (shut down before the clock
          starts, as RQ's and BullMQ's producers do not listen for events), then
          queue.process(type, handler, concurrency=C) with a plain ``(job)`` handler on
          another; done when queue.count("complete") reaches N (polled every 5 ms).
  pykue-events  Kue's usage: the same queue object creates the jobs, runs them and
          waits for their events (wait_for_jobs); done when every "complete" event
          has reached the creator.
  rq      Queue.enqueue_many(), then SimpleWorker.work(burst=True) (no fork per job). RQ
          has no in-process concurrency: concurrency 2 is two SimpleWorkers in two threads
          (without the per-job SIGALRM timeout, which only works in the main thread).
  bullmq  Queue.addBulk(), then Worker(concurrency=C); done at the N-th "completed" event.

Concurrency is always within ONE worker process (threads or asyncio tasks, as the
library does it), never extra processes.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SYSTEMS = ("raw", "pykue", "pykue-events", "rq", "bullmq")
LABELS = {
    "raw": "raw redis-py LPUSH/BRPOP loop",
    "pykue": "pykue",
    "pykue-events": "pykue, creator hears events",
    "rq": "RQ SimpleWorker (burst)",
    "bullmq": "BullMQ-Python",
}
# What each row needs importable; missing ones are skipped with a message.
NEEDS = {
    "raw": ["redis"],
    "pykue": ["pykue"],
    "pykue-events": ["pykue"],
    "rq": ["rq"],
    "bullmq": ["bullmq"],
}
# RQ and BullMQ use commands fakeredis's TCP server lacks (INFO, CLIENT SETNAME ...).
REAL_REDIS_ONLY = ("rq", "bullmq")
JOB_TYPE = "noop"
BATCH = 1000  # jobs per pipelined enqueue call


class Phase:
    """Wall-clock and CPU time between start() and the first stop().

    CPU is the whole worker process (all its threads), and, when ``server_cpu`` is given
    (a function returning Redis's ``used_cpu_user + used_cpu_sys``), Redis's CPU too:
    both are far less sensitive than wall-clock time to other load on the machine.
    """

    wall_s: float | None = None
    cpu_s: float | None = None
    server_cpu_s: float | None = None

    def __init__(self, server_cpu=None) -> None:
        self._server_cpu = server_cpu

    def start(self) -> None:
        self._server = self._server_cpu() if self._server_cpu else None
        self._wall, self._cpu = time.perf_counter(), time.process_time()

    def stop(self) -> None:
        if self.wall_s is None:
            self.wall_s = time.perf_counter() - self._wall
            self.cpu_s = time.process_time() - self._cpu
            if self._server is not None:
                self.server_cpu_s = self._server_cpu() - self._server


def noop(*_args, **_kwargs) -> None:
    """The job every system runs: nothing."""


def payload(i: int) -> dict:
    return {"n": i}


# --- one measurement (runs in a child process) -------------------------------------------


def measure_raw(url: str, jobs: int, concurrency: int, enq: Phase, run: Phase) -> None:
    import redis

    key = "bench:raw"
    producer = redis.Redis.from_url(url)
    enq.start()
    for start in range(0, jobs, BATCH):
        pipe = producer.pipeline(transaction=False)
        for i in range(start, min(start + BATCH, jobs)):
            pipe.lpush(key, json.dumps(payload(i)))
        pipe.execute()
    enq.stop()

    stop = b"__stop__"
    taken = itertools.count(1)  # next() on it is atomic under the GIL
    clients = [redis.Redis.from_url(url) for _ in range(concurrency)]
    for client in clients:
        client.ping()  # connect before the clock starts, like the other rows

    def consume(client) -> None:
        while True:
            _, item = client.brpop(key, timeout=0)
            if item == stop:
                return
            noop(json.loads(item))
            if next(taken) == jobs:
                run.stop()
                client.lpush(key, *[stop] * concurrency)

    run.start()
    threads = [threading.Thread(target=consume, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def measure_pykue(url: str, jobs: int, concurrency: int, enq: Phase, run: Phase) -> None:
    import pykue

    # The producer is a queue object of its own, shut down before the workers start: a
    # pykue creator listens for its jobs' events, which the RQ and BullMQ producers do
    # not do (row "pykue-events" measures that case).
    producer = pykue.create_queue(redis_url=url, prefix="bench")
    datas = [payload(i) for i in range(jobs)]
    enq.start()
    producer.create_bulk(JOB_TYPE, datas)
    enq.stop()
    producer.shutdown(timeout=5)

    def handler(job):
        return None

    queue = pykue.create_queue(redis_url=url, prefix="bench")
    queue.count("complete")  # connect before the clock starts
    run.start()
    queue.process(JOB_TYPE, handler, concurrency=concurrency)
    # Poll the count of complete jobs in Redis: about 200 cheap round trips a second,
    # against thousands for the worker; 5 ms resolution on a run of a second or more.
    while queue.count("complete") < jobs:
        time.sleep(0.005)
    run.stop()
    queue.shutdown(timeout=5)


def measure_pykue_events(url: str, jobs: int, concurrency: int, enq: Phase, run: Phase) -> None:
    import pykue

    # Kue's use: one queue object creates the jobs, hears their events (pub/sub) and waits
    # for them (wait_for_jobs), while its workers run them in the same process.
    queue = pykue.create_queue(redis_url=url, prefix="bench")
    datas = [payload(i) for i in range(jobs)]
    enq.start()
    queue.create_bulk(JOB_TYPE, datas)
    enq.stop()

    def handler(job):
        return None

    run.start()
    queue.process(JOB_TYPE, handler, concurrency=concurrency)
    if not queue.wait_for_jobs(timeout=3600):  # every job this queue object saved
        raise RuntimeError("wait_for_jobs returned False")
    run.stop()
    queue.shutdown(timeout=5)


def measure_rq(url: str, jobs: int, concurrency: int, enq: Phase, run: Phase) -> None:
    import redis
    from rq import Queue, SimpleWorker
    from rq.timeouts import BaseDeathPenalty

    class NoTimeout(BaseDeathPenalty):
        """No per-job timeout: RQ's default one uses SIGALRM, which only the main thread has."""

        def setup_death_penalty(self) -> None:
            pass

        def cancel_death_penalty(self) -> None:
            pass

    class ThreadWorker(SimpleWorker):
        """A SimpleWorker that can run in a thread (signals belong to the main thread)."""

        death_penalty_class = NoTimeout

        def _install_signal_handlers(self) -> None:
            pass

    connection = redis.Redis.from_url(url)
    queue = Queue("bench", connection=connection)
    enq.start()
    for start in range(0, jobs, BATCH):
        queue.enqueue_many(
            [
                Queue.prepare_data(noop, args=(payload(i),))
                for i in range(start, min(start + BATCH, jobs))
            ]
        )
    enq.stop()

    # Concurrency 1: RQ's own SimpleWorker as shipped, in the main thread.
    worker_class = SimpleWorker if concurrency == 1 else ThreadWorker
    workers = [
        worker_class([queue], connection=redis.Redis.from_url(url), name=f"bench-{i}")
        for i in range(concurrency)
    ]
    run.start()
    if concurrency == 1:
        workers[0].work(burst=True, logging_level="WARNING")
    else:
        threads = [
            threading.Thread(target=w.work, kwargs={"burst": True, "logging_level": "WARNING"})
            for w in workers
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    run.stop()
    done = queue.finished_job_registry.count
    if done != jobs:
        raise RuntimeError(f"RQ finished {done} jobs, expected {jobs}")


def measure_bullmq(url: str, jobs: int, concurrency: int, enq: Phase, run: Phase) -> None:
    from bullmq import Queue, Worker

    async def main() -> None:
        queue = Queue("bench", {"connection": url})
        enq.start()
        for start in range(0, jobs, BATCH):
            await queue.addBulk(
                [
                    {"name": JOB_TYPE, "data": payload(i)}
                    for i in range(start, min(start + BATCH, jobs))
                ]
            )
        enq.stop()

        all_done = asyncio.Event()
        completed = 0

        def on_completed(*_args) -> None:
            nonlocal completed
            completed += 1
            if completed == jobs:
                run.stop()
                all_done.set()

        async def process(job, token):
            return None

        run.start()
        worker = Worker("bench", process, {"connection": url, "concurrency": concurrency})
        worker.on("completed", on_completed)
        await all_done.wait()
        await worker.close(force=True)
        await queue.close()

    asyncio.run(main())


MEASURES = {
    "raw": measure_raw,
    "pykue": measure_pykue,
    "pykue-events": measure_pykue_events,
    "rq": measure_rq,
    "bullmq": measure_bullmq,
}


def server_cpu_reader(url: str):
    """A function returning Redis's CPU seconds so far, or None (fakeredis has no INFO)."""
    import redis

    client = redis.Redis.from_url(url)
    lock = threading.Lock()  # stop() may run in any worker thread

    def read() -> float:
        with lock:
            info = client.info("cpu")
        return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])

    try:
        read()
    except redis.ResponseError:
        return None
    return read


def child_main(args: argparse.Namespace) -> int:
    enq, run = Phase(), Phase(server_cpu_reader(args.redis_url))
    MEASURES[args.child](args.redis_url, args.jobs, args.concurrency, enq, run)
    if enq.wall_s is None or run.wall_s is None:
        raise RuntimeError("the measurement did not finish")
    result = {
        "enqueue_s": enq.wall_s,
        "process_s": run.wall_s,
        "process_cpu_s": run.cpu_s,
        "server_cpu_s": run.server_cpu_s,
    }
    print(json.dumps(result), flush=True)
    return 0


# --- the run (parent process) ------------------------------------------------------------


def start_redis(kind: str):
    """Our own Redis on a free port (never 6379): real redis-server, else fakeredis, loudly."""
    sys.path.insert(0, str(REPO_ROOT / "scripts"))
    from toolkit.redis_servers import start_any

    if kind == "real":
        try:
            return start_any("real")
        except RuntimeError as exc:
            print(f"!! could not start redis-server ({exc}); falling back to fakeredis", flush=True)
    server = start_any("fake")
    print(
        "!! NOTE: running on fakeredis (a Python Redis in this process). These numbers say\n"
        "!! almost nothing about real throughput; install redis-server for a real benchmark.",
        flush=True,
    )
    return server


def missing_modules(system: str) -> list[str]:
    return [name for name in NEEDS[system] if importlib.util.find_spec(name) is None]


def describe_client() -> str:
    import redis

    try:
        from redis.utils import HIREDIS_AVAILABLE
    except ImportError:  # pragma: no cover - very old or very new redis-py
        HIREDIS_AVAILABLE = False
    parser = getattr(getattr(redis, "connection", None), "DefaultParser", None)
    parser_name = parser.__name__ if parser else "?"
    hiredis = "active" if HIREDIS_AVAILABLE and "iredis" in parser_name else "NOT active"
    return f"redis-py {redis.__version__}, hiredis {hiredis} (parser {parser_name})"


def server_version(url: str) -> str:
    import redis

    client = redis.Redis.from_url(url)
    try:
        return str(client.info("server").get("redis_version", "?"))
    except redis.ResponseError:  # fakeredis has no INFO
        return "?"
    finally:
        client.close()


def flush(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    client.flushall()
    client.close()


def run_child(system: str, concurrency: int, args: argparse.Namespace, url: str) -> dict:
    """One measurement in a fresh interpreter; returns its timings or an error."""
    flush(url)
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        system,
        "--redis-url",
        url,
        "--jobs",
        str(args.jobs),
        "--concurrency",
        str(concurrency),
    ]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "scripts")]))
    timeout = args.timeout or 120 + args.jobs / 10  # RQ runs ~200 jobs/s; this catches hangs
    try:
        done = subprocess.run(
            cmd, env=env, capture_output=True, text=True, timeout=timeout, cwd=REPO_ROOT
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"exit {done.returncode}: {tail}"}
    return json.loads(lines[-1])


def fmt_rate(value: float) -> str:
    return f"{value:,.0f}"


def parse_list(text: str, allowed, convert=str) -> list:
    items = [convert(x.strip()) for x in text.split(",") if x.strip()]
    bad = [x for x in items if x not in allowed]
    if bad:
        raise argparse.ArgumentTypeError(f"unknown: {bad}; choose from {list(allowed)}")
    return items


def main_run(args: argparse.Namespace) -> int:
    systems = parse_list(args.only, SYSTEMS)
    concurrencies = parse_list(args.concurrency_list, range(1, 65), int)
    runnable = []
    for system in systems:
        missing = missing_modules(system)
        if missing:
            print(
                f"-- skipping {system}: {', '.join(missing)} not installed "
                "(pip install -r requirements-bench.txt)",
                flush=True,
            )
        else:
            runnable.append(system)
    if not runnable:
        print("nothing to run", flush=True)
        return 1

    server = start_redis(args.server)
    try:
        if server.kind == "fake":
            for system in [s for s in runnable if s in REAL_REDIS_ONLY]:
                print(f"-- skipping {system}: it does not run on fakeredis", flush=True)
                runnable.remove(system)
        url = server.url
        print(f"# Job-queue throughput, {args.jobs} no-op jobs, median of {args.rounds} rounds")
        print(f"- Python {platform.python_version()}, {describe_client()}")
        where = (
            f"Redis {server_version(url)} (redis-server)"
            if server.kind == "real"
            else "FAKEREDIS (not a real Redis: these numbers mean little)"
        )
        print(f"- {where} on port {server.port}; {os.cpu_count()} CPUs; {platform.platform()}")
        print(
            "- jobs/s = N / (worker start -> N-th job finished in Redis), enqueue not included;\n"
            "  × raw loop = against the raw loop at the same concurrency; worker CPU and Redis\n"
            "  CPU = user+sys time of the worker process and of redis-server per job while\n"
            "  processing (far less sensitive to a busy machine than jobs/s); end-to-end =\n"
            "  N / (enqueue + processing)"
        )
        print(flush=True)
        results: dict[tuple[str, int], list[dict]] = {}
        for rnd in range(1, args.rounds + 1):
            for system in runnable:
                for conc in concurrencies:
                    result = run_child(system, conc, args, url)
                    results.setdefault((system, conc), []).append(result)
                    if "error" in result:
                        note = f"ERROR {result['error']}"
                    else:
                        note = (
                            f"{fmt_rate(args.jobs / result['process_s'])} jobs/s, "
                            f"{result['process_cpu_s'] * 1e6 / args.jobs:.0f} µs CPU/job, "
                            f"Redis {(result['server_cpu_s'] or 0) * 1e6 / args.jobs:.0f} "
                            f"(enqueue {fmt_rate(args.jobs / result['enqueue_s'])} jobs/s)"
                        )
                    print(f"  round {rnd} {system:<6} c={conc}: {note}", flush=True)
        print()
        print_table(results, runnable, concurrencies, args.jobs)
        if server.kind == "fake":
            print("!! measured on fakeredis: do not compare these numbers with anything.")
    finally:
        server.stop()
    failed = any("error" in r for rs in results.values() for r in rs)
    return 1 if failed else 0


def print_table(results, systems, concurrencies, jobs: int) -> None:
    """The Markdown table: medians over the rounds that worked; ratio to the raw loop."""
    rows = []
    for system in systems:
        for conc in concurrencies:
            ok = [r for r in results[(system, conc)] if "error" not in r]
            if not ok:
                rows.append({"system": system, "conc": conc})
                continue
            rates = [jobs / r["process_s"] for r in ok]
            rows.append(
                {
                    "system": system,
                    "conc": conc,
                    "rate": statistics.median(rates),
                    "low": min(rates),
                    "high": max(rates),
                    "cpu_us": statistics.median(r["process_cpu_s"] * 1e6 / jobs for r in ok),
                    "server_us": (
                        statistics.median(r["server_cpu_s"] * 1e6 / jobs for r in ok)
                        if all(r.get("server_cpu_s") is not None for r in ok)
                        else None
                    ),
                    "enqueue": statistics.median(jobs / r["enqueue_s"] for r in ok),
                    "e2e": statistics.median(jobs / (r["enqueue_s"] + r["process_s"]) for r in ok),
                }
            )
    raw = {row["conc"]: row["rate"] for row in rows if row["system"] == "raw" and "rate" in row}
    print(
        "| system | concurrency | jobs/s (median) | × raw loop | jobs/s range "
        "| worker CPU µs/job | Redis CPU µs/job | enqueue jobs/s | end-to-end jobs/s |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        label = LABELS[row["system"]]
        if "rate" not in row:
            print(f"| {label} | {row['conc']} | failed | – | – | – | – | – | – |")
            continue
        ratio = f"{row['rate'] / raw[row['conc']]:.2f}×" if row["conc"] in raw else "–"
        print(
            f"| {label} | {row['conc']} | {fmt_rate(row['rate'])} | {ratio} "
            f"| {fmt_rate(row['low'])}–{fmt_rate(row['high'])} | {row['cpu_us']:.0f} "
            f"| {'–' if row['server_us'] is None else format(row['server_us'], '.0f')} "
            f"| {fmt_rate(row['enqueue'])} | {fmt_rate(row['e2e'])} |"
        )
    print(flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=5000, help="jobs per measurement (5000)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds; the table shows medians")
    parser.add_argument(
        "--only", default=",".join(SYSTEMS), help=f"comma list of {','.join(SYSTEMS)}"
    )
    parser.add_argument(
        "--concurrency-list",
        default="1,2",
        metavar="LIST",
        help="concurrencies to measure (default 1,2)",
    )
    parser.add_argument(
        "--server",
        choices=("real", "fake"),
        default="real",
        help="redis-server on a free port (default), or embedded fakeredis",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="seconds allowed per measurement (default 120 + jobs/10)",
    )
    # Internal: one measurement in a child process.
    parser.add_argument("--child", choices=SYSTEMS, help=argparse.SUPPRESS)
    parser.add_argument("--redis-url", help=argparse.SUPPRESS)
    parser.add_argument("--concurrency", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.jobs < 1 or args.rounds < 1:
        parser.error("--jobs and --rounds must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        return child_main(args)
    try:
        return main_run(args)
    except argparse.ArgumentTypeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
