"""Job-queue throughput: pykue next to a raw redis-py loop, its Python peers and Kue, in one run.

Usage (from the repository root, in the venv)::

    pip install -r requirements-bench.txt      # the peer rows; raw/pykue need nothing more
    python benchmarks/bench_queues.py           # N=3000 jobs, modes drain,e2e,live, 3 rounds
    python benchmarks/bench_queues.py --jobs 300 --rounds 1 --only raw,pykue --mode e2e

Every measurement: the Redis (our own redis-server on a free port) is flushed; a fresh
measurement process starts the worker in a process of its OWN (Python, or Node for Kue)
and waits until it has connected (not timed); the measurement process is the producer.
Three modes, for every system alike:

  drain  the producer enqueues N no-op jobs with the system's bulk (pipelined) call, then
         tells the worker to start; time = start -> N-th job finished in Redis.
         Processing only: enqueueing is not in it.
  e2e    the producer saves N jobs ONE AT A TIME (raw: one LPUSH per job; each call waits
         for its reply), then tells the worker to start; time = first save -> N-th job
         finished in Redis. The save loop alone (with an idle worker) gives the enqueue rate.
  live   the worker is already running (waiting for jobs) when the producer saves N jobs
         one at a time; time = first save -> N-th job finished in Redis.

"Finished in Redis" is reported by the worker with its time.monotonic() (CLOCK_MONOTONIC,
the same clock in every process on Linux, and in Node's process.hrtime): the moment a
completion count in Redis reaches N, or the library's own after-completion hook fires
for the N-th time (arq, SAQ, Huey, Dramatiq, BullMQ). Also measured per job: worker CPU
(user+sys of the worker process while it runs), redis-server CPU, and Redis memory per
kept job (``INFO memory`` used_memory after N finished jobs minus before the first save,
/ N: what a system keeps of a finished job by default).

Rounds are interleaved (round 1 of every mode and system, then round 2 ...), and every
ratio is taken WITHIN a round (rate / raw loop's rate in the same mode and round), then
the median and min-max over the rounds are printed: on a shared machine compare these
ratios, not jobs/s across runs.

Rows:
  raw           redis-py, one LPUSH per job; thread(s) BRPOP and json-decode: one round
                trip per job, no bookkeeping at all. The practical ceiling.
  pykue         job.save() one at a time (create_bulk in drain) from a producer queue object
                that is shut down after its saves; queue.process(type, handler, concurrency=C)
                in the worker; finished when queue.count("complete") reaches N.
  pykue-prefetch  the same with queue.process(type, handler, prefetch=16): the worker takes
                up to 16 jobs per script call and finishes them in the call that takes the
                next 16 (each job still leased and fenced on its own).
  pykue-events  Kue's and the course's usage: the producer is the creator and waits for
                all its jobs' "complete" events (wait_for_jobs); time ends when it has them.
  rq            RQ SimpleWorker (no fork per job), work(max_jobs=N); RQ has no in-process
                concurrency, so only c=1.
  bullmq        BullMQ-Python 2.15 (the newest that accepts redis-py 5.x) Worker(concurrency=C);
                finished at the N-th "completed" event.
  arq           arq Worker(max_jobs=C, poll_delay=1 ms: the default 0.5 s sleep between polls
                would cap it at C jobs per 0.5 s); finished at the N-th after_job_end hook.
  saq           SAQ Worker(concurrency=C); finished at the N-th after_process hook.
  huey          Huey RedisHuey, thread consumer (workers=C); the N-th SIGNAL_COMPLETE.
  dramatiq      Dramatiq RedisBroker Worker(worker_threads=C, worker_timeout=100 ms: the
                idle poll); finished at the N-th after_ack (the message left Redis).
  kue           Kue 0.11.6 itself on Node.js, installed by ``npm install kue@0.11.6`` into
                run/kue-0.11.6/ at benchmark time (skipped, with the reason, when node or
                npm is missing or the install fails). Its drain "bulk" fires all saves at once.

All four Python peers tried install beside the pinned redis-py 5.2.1 without changing it
(``pip install --dry-run``), so all four are kept and pinned in requirements-bench.txt.
Concurrency is always within ONE worker process (threads or asyncio tasks, as the library
does it), never extra processes. Systems without a bulk enqueue call (arq, SAQ, Huey,
Dramatiq) enqueue one at a time in drain mode too; drain measures processing only.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import platform
import queue as queue_module
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import bench_systems as systems

REPO_ROOT = Path(__file__).resolve().parents[1]
SYSTEMS = (
    "raw",
    "pykue",
    "pykue-prefetch",
    "pykue-events",
    "rq",
    "bullmq",
    "arq",
    "saq",
    "huey",
    "dramatiq",
    "kue",
)
MODES = ("drain", "e2e", "live")
LABELS = {
    "raw": "raw redis-py LPUSH/BRPOP loop",
    "pykue": "pykue",
    "pykue-prefetch": f"pykue, prefetch={systems.PREFETCH}",
    "pykue-events": "pykue, creator hears events",
    "rq": "RQ SimpleWorker",
    "bullmq": "BullMQ-Python",
    "arq": "arq",
    "saq": "SAQ",
    "huey": "Huey",
    "dramatiq": "Dramatiq",
    "kue": f"Kue {systems.KUE_VERSION} (Node)",
}
# What each row needs importable; missing ones are skipped with a message.
NEEDS = {
    "raw": ["redis"],
    "pykue": ["pykue"],
    "pykue-prefetch": ["pykue"],
    "pykue-events": ["pykue"],
    "rq": ["rq"],
    "bullmq": ["bullmq"],
    "arq": ["arq"],
    "saq": ["saq"],
    "huey": ["huey"],
    "dramatiq": ["dramatiq"],
    "kue": [],
}
# Dramatiq's own default is 8 threads (it prefetches 2 per thread and sleeps while full).
DEFAULT_CONCURRENCY = {"pykue": (1, 2, 4), "bullmq": (1, 2), "kue": (1, 2), "dramatiq": (1, 8)}
MAX_CONCURRENCY = {"rq": 1}
# The peers use commands fakeredis's TCP server lacks or differs on (INFO, CLIENT ...).
FAKE_OK = ("raw", "pykue", "pykue-prefetch", "pykue-events")
LIVE_SETTLE_S = 0.3  # a live worker starts this long before it reports "ready"
READY_TIMEOUT_S = 60
WARM_UP_JOBS = 50


# --- the line protocol between processes ------------------------------------------------
# A peer process prints "BENCH <json>" lines (other output is ignored) and reads plain
# lines: "go" (start now) and "stop" (shut down and exit).


def say(**fields) -> None:
    print("BENCH " + json.dumps(fields), flush=True)


class Peer:
    """A process speaking the line protocol; its lines are read by a thread."""

    def __init__(self, cmd: list[str], cwd: Path, env: dict | None = None) -> None:
        self.proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue_module.Queue = queue_module.Queue()
        self.errors: list[str] = []
        threading.Thread(target=self._read, args=(self.proc.stdout, True), daemon=True).start()
        threading.Thread(target=self._read, args=(self.proc.stderr, False), daemon=True).start()

    def _read(self, stream, protocol: bool) -> None:
        for line in stream:
            if not protocol:
                self.errors.append(line.rstrip())
            elif line.startswith("BENCH "):
                self.lines.put(json.loads(line[6:]))
        if protocol:
            self.lines.put(None)  # end of output

    def expect(self, key: str, timeout: float = READY_TIMEOUT_S) -> dict:
        """The next message; it must contain ``key``."""
        try:
            message = self.lines.get(timeout=timeout)
        except queue_module.Empty:
            raise RuntimeError(f"no {key!r} from {self.name()} in {timeout:.0f} s") from None
        if message is None or key not in message:
            time.sleep(0.2)  # let the stderr reader catch the last words
            tail = self.errors[-1] if self.errors else f"exit {self.proc.poll()}"
            raise RuntimeError(f"{self.name()} did not report {key!r}: {tail}")
        return message

    def send(self, line: str) -> None:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def name(self) -> str:
        return Path(self.proc.args[1]).name + " " + " ".join(self.proc.args[2:4])

    def stop(self, timeout: float = 10) -> None:
        if self.proc.poll() is None:
            try:
                self.send("stop")
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class WorkerContext:
    """What a worker (bench_systems.*_worker) gets: the run's settings and the protocol."""

    def __init__(self, url: str, jobs: int, concurrency: int, mode: str) -> None:
        self.url, self.jobs, self.concurrency, self.mode = url, jobs, concurrency, mode
        self._cpu0 = None

    def begin(self, start) -> None:
        """Live: ``start()``, settle, report "ready". Else: report "ready", wait for "go",
        ``start()``. ``start`` None: the caller starts a blocking loop right after."""
        if self.mode == "live":
            self._cpu0 = time.process_time()
            if start is None:  # the ready report must come from elsewhere
                threading.Timer(LIVE_SETTLE_S, lambda: say(ready=True)).start()
                return
            start()
            time.sleep(LIVE_SETTLE_S)
            say(ready=True)
            return
        say(ready=True)
        sys.stdin.readline()  # "go"
        self._cpu0 = time.process_time()
        if start is not None:
            start()

    async def begin_async(self, start) -> None:
        if self.mode == "live":
            self._cpu0 = time.process_time()
            start()
            await asyncio.sleep(LIVE_SETTLE_S)
            say(ready=True)
            return
        say(ready=True)
        await asyncio.to_thread(sys.stdin.readline)
        self._cpu0 = time.process_time()
        start()

    def finished(self) -> None:
        """The N-th job is finished in Redis: report when, then wait for "stop"."""
        done_at = time.monotonic()
        say(done_at=done_at, cpu_s=time.process_time() - self._cpu0)
        sys.stdin.readline()  # "stop" (or end of input)


def python_env() -> dict:
    paths = [str(REPO_ROOT), str(REPO_ROOT / "scripts"), str(Path(__file__).resolve().parent)]
    return dict(os.environ, PYTHONPATH=os.pathsep.join(paths))


def start_peer(args: argparse.Namespace, role: str) -> Peer:
    """The worker (role "work") or, for Kue, the Node producer (role "produce")."""
    if args.child == "kue":
        script = systems.kue_dir(REPO_ROOT) / "bench.js"
        live = "live" if args.mode == "live" else "wait"
        cmd = ["node", str(script), role, args.redis_url, str(args.jobs), str(args.concurrency)]
        return Peer([*cmd, live], cwd=script.parent)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", args.child]
    cmd += ["--mode", args.mode, "--redis-url", args.redis_url, "--jobs", str(args.jobs)]
    cmd += ["--concurrency", str(args.concurrency)]
    return Peer(cmd, cwd=REPO_ROOT, env=python_env())


def worker_main(args: argparse.Namespace) -> int:
    ctx = WorkerContext(args.redis_url, args.jobs, args.concurrency, args.mode)
    systems.WORKERS[args.worker](ctx)
    sys.stdout.flush()
    os._exit(0)  # daemon threads of some libraries may still block in a read


# --- one measurement (the measurement process) ----------------------------------------------


def redis_info(url: str) -> dict:
    """used_memory and CPU seconds of the Redis; empty when it has no INFO (fakeredis)."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        info = client.info("memory")
        info.update(client.info("cpu"))
        return {  # without the Lua script cache: it is per server (FLUSHALL keeps it)
            "memory": int(info["used_memory"]) - int(info.get("used_memory_scripts", 0)),
            "cpu": float(info["used_cpu_user"]) + float(info["used_cpu_sys"]),
        }
    except (redis.RedisError, KeyError, ValueError):
        return {}
    finally:
        client.close()


def make_producer(args: argparse.Namespace):
    if args.child == "kue":
        return systems.KueProducer(start_peer(args, "produce"))
    return systems.PRODUCERS[args.child](args.redis_url)


def measure(args: argparse.Namespace) -> dict:
    empty = redis_info(args.redis_url)  # flushed, and nobody else connected yet
    worker = start_peer(args, "work")
    producer = None
    try:
        worker.expect("ready")
        producer = make_producer(args)
        before = redis_info(args.redis_url)
        first, last = producer.produce(args.jobs, bulk=args.mode == "drain")
        go_at = time.monotonic()
        if args.mode != "live":
            worker.send("go")
        producer.after_saves()
        creator_done = producer.wait_done()
        report = worker.expect("done_at", timeout=args.timeout)
        after = redis_info(args.redis_url)
        start = go_at if args.mode == "drain" else first
        end = creator_done if creator_done is not None else report["done_at"]
        result = {
            "enqueue_s": last - first,
            "process_s": end - start,
            "worker_cpu_s": report["cpu_s"],
            "server_cpu_s": after["cpu"] - before["cpu"] if before and after else None,
        }
    finally:
        worker.stop()
        if producer is not None:
            producer.close()
    # Memory once every client of the run has gone (their buffers are freed): what is
    # left is what the system keeps of N finished jobs.
    time.sleep(0.1)
    kept = redis_info(args.redis_url)
    result["memory_bytes"] = kept["memory"] - empty["memory"] if empty and kept else None
    return result


def child_main(args: argparse.Namespace) -> int:
    print(json.dumps(measure(args)), flush=True)
    os._exit(0)  # a library's leftover non-daemon thread must not hold the process


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


def prepare_kue() -> str | None:
    """Install Kue into run/ (once) and write the Node script; the reason when it cannot."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        return "node and npm are not both installed"
    folder = systems.kue_dir(REPO_ROOT)
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "node_modules" / "kue" / "package.json").exists():
        (folder / "package.json").write_text('{"private": true}\n')
        print(f"-- installing kue@{systems.KUE_VERSION} into {folder} (npm) ...", flush=True)
        try:
            done = subprocess.run(
                ["npm", "install", "--no-audit", "--no-fund", f"kue@{systems.KUE_VERSION}"],
                cwd=folder,
                capture_output=True,
                text=True,
                timeout=600,
            )
        except subprocess.TimeoutExpired:
            return "npm install kue timed out"
        if done.returncode != 0:
            tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
            return f"npm install kue failed: {tail}"
    (folder / "bench.js").write_text(systems.KUE_SCRIPT)
    return None


def skip_reason(system: str, server_kind: str | None) -> str | None:
    """Why ``system`` cannot run: packages first (server_kind None), then the server."""
    if server_kind is None:
        missing = [name for name in NEEDS[system] if importlib.util.find_spec(name) is None]
        if missing:
            return f"{', '.join(missing)} not installed (pip install -r requirements-bench.txt)"
        return None
    if server_kind == "fake" and system not in FAKE_OK:
        return "it does not run on fakeredis"
    return prepare_kue() if system == "kue" else None


def keep_runnable(chosen: list[str], server_kind: str | None) -> list[str]:
    runnable = []
    for system in chosen:
        reason = skip_reason(system, server_kind)
        if reason:
            print(f"-- skipping {system}: {reason}", flush=True)
        else:
            runnable.append(system)
    return runnable


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


def run_child(mode: str, system: str, concurrency: int, args: argparse.Namespace, url: str) -> dict:
    """One measurement in a fresh interpreter; returns its timings or an error."""
    flush(url)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", system, "--mode", mode]
    cmd += ["--redis-url", url, "--jobs", str(args.jobs), "--concurrency", str(concurrency)]
    timeout = args.timeout or 120 + args.jobs / 10  # RQ runs ~300 jobs/s; this catches hangs
    cmd += ["--timeout", str(timeout)]
    try:
        done = subprocess.run(
            cmd,
            env=python_env(),
            capture_output=True,
            text=True,
            timeout=timeout + 30,
            cwd=REPO_ROOT,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"exit {done.returncode}: {tail}"}
    return json.loads(lines[-1])


def warm_up(plan: list, args: argparse.Namespace, url: str) -> None:
    """One small untimed run per system first: imports come from a warm disk cache, and
    the Redis holds each system's Lua scripts before the memory of any row is measured."""
    small = argparse.Namespace(**{**vars(args), "jobs": min(args.jobs, WARM_UP_JOBS)})
    for system in dict(plan):
        result = run_child("live", system, 1, small, url)
        if "error" in result:
            print(f"  warm-up {system}: ERROR {result['error']}", flush=True)


def fmt_rate(value: float) -> str:
    return f"{value:,.0f}"


def parse_list(text: str, allowed, convert=str) -> list:
    items = [convert(x.strip()) for x in text.split(",") if x.strip()]
    bad = [x for x in items if x not in allowed]
    if bad:
        raise argparse.ArgumentTypeError(f"unknown: {bad}; choose from {list(allowed)}")
    return items


def concurrencies_for(system: str, wanted: list[int] | None) -> list[int]:
    chosen = wanted or list(DEFAULT_CONCURRENCY.get(system, (1,)))
    limit = MAX_CONCURRENCY.get(system, 64)
    return [c for c in chosen if c <= limit] or [1]


def print_header(args: argparse.Namespace, server, modes: list[str]) -> None:
    url = server.url
    print(f"# Job-queue throughput, {args.jobs} no-op jobs, {args.rounds} interleaved rounds")
    print(f"- Python {platform.python_version()}, {describe_client()}")
    where = (
        f"Redis {server_version(url)} (redis-server)"
        if server.kind == "real"
        else "FAKEREDIS (not a real Redis: these numbers mean little)"
    )
    print(f"- {where} on port {server.port}; {os.cpu_count()} CPUs; {platform.platform()}")
    print(
        f"- modes: {', '.join(modes)}; × raw loop = median over the rounds of (jobs/s ÷ the raw\n"
        "  loop's jobs/s in the same mode and round); see python benchmarks/bench_queues.py -h"
    )
    print(flush=True)


def run_note(args: argparse.Namespace, result: dict) -> str:
    if "error" in result:
        return f"ERROR {result['error']}"
    memory = result.get("memory_bytes")
    return (
        f"{fmt_rate(args.jobs / result['process_s'])} jobs/s, "
        f"enqueue {fmt_rate(args.jobs / result['enqueue_s'])}/s, "
        f"worker {result['worker_cpu_s'] * 1e6 / args.jobs:.0f} µs CPU/job"
        + ("" if memory is None else f", {memory / args.jobs:.0f} B/kept job")
    )


def main_run(args: argparse.Namespace) -> int:
    chosen = parse_list(args.only, SYSTEMS)
    modes = parse_list(args.mode, MODES)
    wanted = parse_list(args.concurrency_list, range(1, 65), int) if args.concurrency_list else None
    installed = keep_runnable(chosen, None)
    if not installed:
        print("nothing to run", flush=True)
        return 1
    server = start_redis(args.server)
    results: dict[tuple[str, str, int], list[dict]] = {}
    try:
        runnable = keep_runnable(installed, server.kind)
        if not runnable:
            print("nothing to run", flush=True)
            return 1
        print_header(args, server, modes)
        plan = [(s, c) for s in runnable for c in concurrencies_for(s, wanted)]
        if args.warm_up:
            warm_up(plan, args, server.url)
        for rnd in range(args.rounds):
            for mode in modes:
                for system, conc in plan:
                    result = run_child(mode, system, conc, args, server.url)
                    results.setdefault((mode, system, conc), []).append(result)
                    note = run_note(args, result)
                    print(f"  round {rnd + 1} {mode:<5} {system:<12} c={conc}: {note}", flush=True)
        print()
        for mode in modes:
            print_table(mode, results, plan, args.jobs)
        if len(modes) > 1:
            print_summary(modes, results, plan, args.jobs)
        if server.kind == "fake":
            print("!! measured on fakeredis: do not compare these numbers with anything.")
    finally:
        server.stop()
    failed = any("error" in r for rs in results.values() for r in rs)
    return 1 if failed else 0


# --- the tables ---------------------------------------------------------------------------


def same_round_ratios(runs: list[dict], raw_runs: list[dict] | None, field: str) -> list[float]:
    """rate / raw rate, round by round (lower time = higher rate), rounds where both worked."""
    if not raw_runs:
        return []
    return [
        raw[field] / run[field]
        for run, raw in zip(runs, raw_runs, strict=False)
        if "error" not in run and "error" not in raw
    ]


def row_stats(mode: str, system: str, conc: int, results: dict, jobs: int) -> dict | None:
    runs = results.get((mode, system, conc), [])
    ok = [r for r in runs if "error" not in r]
    if not ok:
        return None
    raw_runs = results.get((mode, "raw", 1))
    ratios = same_round_ratios(runs, raw_runs, "process_s")
    enqueue_ratios = same_round_ratios(runs, raw_runs, "enqueue_s")

    def median_of(field: str, scale: float = 1e6 / jobs) -> float | None:
        values = [r[field] for r in ok if r.get(field) is not None]
        return statistics.median(values) * scale if values else None

    return {
        "rate": statistics.median(jobs / r["process_s"] for r in ok),
        "ratio": statistics.median(ratios) if ratios else None,
        "ratio_range": (min(ratios), max(ratios)) if ratios else None,
        "enqueue": statistics.median(jobs / r["enqueue_s"] for r in ok),
        "enqueue_ratio": statistics.median(enqueue_ratios) if enqueue_ratios else None,
        "cpu_us": median_of("worker_cpu_s"),
        "server_us": median_of("server_cpu_s"),
        "bytes": median_of("memory_bytes", 1 / jobs),
    }


def fmt(value: float | None, spec: str) -> str:
    return "–" if value is None else format(value, spec)


MODE_TITLES = {
    "drain": "drain-only: bulk enqueue first, then time the worker alone",
    "e2e": "end to end: save one at a time, then drain; first save -> N-th finished",
    "live": "live: the worker already waits while the producer saves one at a time",
}


def print_table(mode: str, results: dict, plan: list, jobs: int) -> None:
    """The Markdown table of one mode: medians over the rounds, same-round ratios."""
    print(f"## {mode} — {MODE_TITLES[mode]}")
    print()
    print(
        "| system | c | jobs/s | × raw loop | × raw min–max | enqueue jobs/s | enqueue × raw "
        "| worker CPU µs/job | Redis CPU µs/job | Redis B/kept job |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for system, conc in plan:
        stats = row_stats(mode, system, conc, results, jobs)
        label = LABELS[system]
        if stats is None:
            print(f"| {label} | {conc} | failed | – | – | – | – | – | – | – |")
            continue
        span = stats["ratio_range"]
        print(
            f"| {label} | {conc} | {fmt_rate(stats['rate'])} | {fmt(stats['ratio'], '.2f')} "
            f"| {'–' if span is None else f'{span[0]:.2f}–{span[1]:.2f}'} "
            f"| {fmt_rate(stats['enqueue'])} | {fmt(stats['enqueue_ratio'], '.2f')} "
            f"| {fmt(stats['cpu_us'], '.0f')} | {fmt(stats['server_us'], '.0f')} "
            f"| {fmt(stats['bytes'], '.0f')} |"
        )
    print(flush=True)


def ratio_cell(stats: dict | None) -> str:
    """ "0.35 (0.30–0.41)": the median same-round ratio and its min–max over the rounds."""
    if stats is None:
        return "failed"
    span = stats["ratio_range"]
    return fmt(stats["ratio"], ".2f") + ("" if span is None else f" ({span[0]:.2f}–{span[1]:.2f})")


def print_summary(modes: list[str], results: dict, plan: list, jobs: int) -> None:
    """One line per row and every mode: jobs/s and the same-round ratio to the raw loop;
    then the save() loop against raw LPUSH, worker CPU and memory (e2e, else first mode)."""
    print("## summary — medians; × raw = same-round ratio to the raw loop (min–max)")
    print()
    base = "e2e" if "e2e" in modes else modes[0]
    head = [f"{mode} jobs/s | {mode} × raw" for mode in modes]
    head += [f"enqueue × raw ({base})", f"worker CPU µs/job ({base})", f"Redis B/kept job ({base})"]
    print("| system | c | " + " | ".join(head) + " |")
    print("|---|---:|" + "---:|" * (2 * len(modes) + 3))
    for system, conc in plan:
        cells = []
        for mode in modes:
            stats = row_stats(mode, system, conc, results, jobs)
            cells += ["–" if stats is None else fmt_rate(stats["rate"]), ratio_cell(stats)]
        stats = row_stats(base, system, conc, results, jobs) or {}
        cells += [
            fmt(stats.get("enqueue_ratio"), ".2f"),
            fmt(stats.get("cpu_us"), ".0f"),
            fmt(stats.get("bytes"), ".0f"),
        ]
        print(f"| {LABELS[system]} | {conc} | " + " | ".join(cells) + " |")
    print(flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=3000, help="jobs per measurement (3000)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (3)")
    parser.add_argument(
        "--only", default=",".join(SYSTEMS), help=f"comma list of {','.join(SYSTEMS)}"
    )
    parser.add_argument(
        "--mode", default=",".join(MODES), help=f"comma list of {','.join(MODES)} (all)"
    )
    parser.add_argument(
        "--concurrency-list",
        default="",
        metavar="LIST",
        help="concurrencies for every system that has them (default: pykue 1,2,4; "
        "bullmq and kue 1,2; the others 1)",
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
    parser.add_argument(
        "--warm-up",
        action=argparse.BooleanOptionalAction,
        default=True,
        help=f"one untimed {WARM_UP_JOBS}-job run per system first (default: on)",
    )
    # Internal: one measurement (--child) or its worker (--worker) in a child process.
    parser.add_argument("--child", choices=SYSTEMS, help=argparse.SUPPRESS)
    parser.add_argument("--worker", choices=SYSTEMS, help=argparse.SUPPRESS)
    parser.add_argument("--redis-url", help=argparse.SUPPRESS)
    parser.add_argument("--concurrency", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.jobs < 1 or args.rounds < 1:
        parser.error("--jobs and --rounds must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        return worker_main(args)
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
